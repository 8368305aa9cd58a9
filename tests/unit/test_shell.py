"""The Mininet shell's VPC verbs, run through onecmd() on a fake emulation (no root)."""

import ipaddress
import os
import re

import yaml
from os_ken.ofproto import ofproto_v1_3_parser as parser
from shell_script import shell
from vpc_fixtures import example

from controller.compiler import compile_topology
from controller.hyperplane.client import ApiError
from controller.hyperplane.core import Core
from nitro_switch.commands import BuildError
from vpclab.errors import VpclabError
from vpclab.intent.changes import Intent
from vpclab.layout.actions import Ct, Drop, Output
from vpclab.layout.pipeline import TABLE
from vpclab.layout.plan import Plan, cookie_of
from vpclab.ui.shell import VpcCLI

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class FakeApi:
    """Hyperplane's API as the shell uses it: the real core (``controller.hyperplane.core``),
    answering as the os-ken app does, with no card connected (a change ends at once)."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            self.core = Core(Intent(path, yaml.safe_load(handle)), [])
        self.down = False
        for index in self.core.servers:  # every card connects, reconciles and confirms at once
            self.core.card_connected(index)
            self.core.flow_dump(index, [], more=False)
        self.confirm()

    def confirm(self):
        """The cards answer every barrier the core sent."""
        for out in self.core.take():
            if isinstance(out.message, parser.OFPBarrierRequest):
                self.core.barrier_reply(out.message.xid)

    @property
    def intent(self):
        return self.core.intent

    @property
    def records(self):  # as the controller records changes
        return self.core.changes

    @property
    def changes(self):
        return [(record["operation"], record["arguments"]) for record in self.core.changes]

    @property
    def delay(self):
        return self.core.propagation_delay

    @delay.setter
    def delay(self, seconds):
        self.core.propagation_delay = seconds

    def call(self, command, **fields):
        if self.down:
            raise ApiError("cannot reach the controller on 127.0.0.1:1: Connection refused")
        try:
            if command != "change":
                return self.core.answer({"command": command, **fields})
            delivery = self.core.change(fields["operation"], fields.get("arguments", {}))
        except VpclabError as error:
            raise ApiError(str(error), error.code) from None
        if self.core.propagation_delay:
            return self.core.accepted(delivery)
        self.confirm()
        assert delivery.answer is not None
        return delivery.answer

    def change(self, operation, **arguments):
        return self.call("change", operation=operation, arguments=arguments)


class FakeServer:
    """A card whose dump-flows prints the compiled flows as ovs-ofctl would (cookie, table,
    counters, match fields, ports by name); ``packets`` sets a flow's counter by its index."""

    def __init__(self, name, flows, port_names, up=True):
        self.name, self.flows, self.port_names, self.up = name, flows, port_names, up
        self.packets = {}

    def daemon_pid(self, daemon):
        return os.getpid() if self.up else None

    def rule(self, each) -> str:
        fields = []
        for field, value in each.match:
            if field in ("nw_src", "nw_dst"):
                network = ipaddress.ip_network("/".join(value))
                value = network.network_address if network.prefixlen == 32 else network
            elif field == "in_port":
                value = self.port_names.get(value, value)
            elif isinstance(value, tuple):
                value = f"{value[0]:#x}/{value[1]:#x}"
            fields.append(f"{field}={value}")
        actions = []
        for action in each.actions:
            if isinstance(action, Output):
                actions.append(f"output:{self.port_names.get(action.port, action.port)}")
            elif isinstance(action, Ct):
                actions.append(
                    f"ct(commit,zone={action.zone})" if action.commit else f"ct(zone={action.zone})"
                )
            elif not isinstance(action, Drop):
                actions.append(action.describe().replace(" ", ":"))
        return f"priority={each.priority},{','.join(fields)} actions={','.join(actions) or 'drop'}"

    def ofctl(self, command, *arguments):
        if not self.up:
            raise BuildError("`ovs-ofctl dump-flows` failed: Connection refused")
        tables = [int(a.split("=")[1]) for a in arguments if a.startswith("table=")]
        table = tables[0] if tables else None
        lines = ["OFPST_FLOW reply (OF1.3) (xid=0x2):"]
        for index, each in enumerate(self.flows):
            if table is None or each.table == table:
                lines.append(
                    f" cookie={cookie_of(each.origin):#x}, duration=1.5s, table={each.table}, "
                    f"n_packets={self.packets.get(index, 0)}, n_bytes=0, {self.rule(each)}"
                )
        return "\n".join(lines)


class FakeEmulation:
    def __init__(self, name):
        path = os.path.join(ROOT, "topologies", name)
        self.topology = example(name)
        self.api = FakeApi(path)
        compiled = compile_topology(self.topology)
        plan = Plan(self.topology)
        self.servers_by_name = {
            server: FakeServer(server, flows, {p.port: p.interface for p in plan.on_server(server)})
            for server, flows in compiled.flows.items()
        }
        self.hosts = type("Hosts", (), {"net": {}})()

    def change(self, operation, **arguments):  # a host comes or goes only live
        return self.api.change(operation, **arguments)

    def applied_intent(self):
        return self.api.intent

    def applied_changes(self):
        return self.api.records


def test_trace_prints_the_hops_and_the_verdict():
    text = shell(FakeEmulation("three-tier.yaml"), "trace web1 app1 tcp 8080", "trace app1 db1 tcp 5432")
    assert "ACCEPTED (admitted by vpcs[0].security_groups[1].ingress[0])" in text
    assert "DROPPED: nacl-egress on the return path" in text


def test_trace_6_follows_the_ipv6_addresses_and_a_ping_is_icmpv6():
    text = shell(
        FakeEmulation("dual-stack.yaml"),
        "trace web1 build1 -6",
        "trace web1 build1",
        "trace client build1 tcp 22 -6",
        "trace worker1 web1",
    )
    assert "ACCEPTED (admitted by vpcs[1].security_groups[0].ingress[0])" in text  # icmpv6 from prod
    assert "DROPPED: sg-ingress on the forward path" in text  # over IPv4: no rule
    assert "DROPPED: eigw-unsolicited on the forward path" in text
    assert "DROPPED: no-ipv4 on the forward path" in text  # worker1 is IPv6-only


def test_trace_refuses_what_it_cannot_follow_in_one_line():
    text = shell(
        FakeEmulation("three-tier.yaml"), "trace nobody app1", "trace web1 10.20.2.4 tcp x", "trace web1"
    )
    assert "*** no instance, internet host or site host 'nobody'" in text
    assert "invalid literal" in text or "not" in text
    assert "Usage: trace SRC DST" in text


def test_routes_of_an_instance_and_of_a_tgw():
    emulation = FakeEmulation("tgw-blackhole.yaml")
    text = shell(emulation, "routes app1", "routes tgw core", "routes tgw nope")
    assert "app1 (10.1.1.4) in app/" in text and "-> transit gateway core" in text
    assert "TGW route table spokes: associated" in text
    assert "*** no transit gateway 'nope'" in text


def test_sg_lists_the_rules_with_their_origins():
    text = shell(FakeEmulation("three-tier.yaml"), "sg app1")
    assert "shop/app-sg [vpcs[0].security_groups[1]]" in text
    assert "tcp/8080 sg shop/web-sg" in text


def test_flows_names_each_flow_s_stage_and_origin():
    text = shell(FakeEmulation("three-tier.yaml"), "flows srv1 sg_ingress", "flows srv9")
    lines = text.splitlines()
    assert any(line.startswith("sg_ingress") for line in lines)
    # web1 (web-sg) is on srv1: its rule by name, then by path
    assert "<- shop/web-sg ingress[0]  (vpcs[0].security_groups[0].ingress[0])  [0 packets]" in text
    assert not any(line.startswith("classify") for line in lines)
    assert "Usage: flows SERVER" in text and "stages: classify" in text
    assert TABLE["sg_ingress"] > 0


def flow_lines(text: str) -> list[str]:
    """The flows a `flows` answer shows (not the count line, not the origins)."""
    return [line for line in text.splitlines() if line.split(" ")[0] in TABLE]


def test_flows_of_an_instance_are_those_that_name_its_port_address_mac_or_zone():
    emulation = FakeEmulation("peering.yaml")  # web1 and build1 are on srv1
    every = flow_lines(shell(emulation, "flows srv1"))
    web1 = flow_lines(shell(emulation, "flows web1"))
    assert 0 < len(web1) < len(every) and set(web1) <= set(every)
    assert all(
        ("web1" in line or "10.0.1.4" in line or "02:00:00:00:01:0a" in line or "zone=1)" in line)
        for line in web1
    )
    assert not any("in_port=build1" in line or "output:build1" in line for line in web1)
    text = shell(emulation, "flows web1 sg_ingress")
    assert text.startswith("srv1: ") and ", about web1, in sg_ingress" in text.splitlines()[0]
    assert flow_lines(text) and all(line.startswith("sg_ingress") for line in flow_lines(text))


def test_flows_drops_and_hits_filter_by_action_and_by_counters_that_moved():
    emulation = FakeEmulation("peering.yaml")
    card = emulation.servers_by_name["srv1"]
    drops = flow_lines(shell(emulation, "flows srv1 --drops"))
    assert drops and all(line.endswith("actions=drop") for line in drops)
    card.packets = {0: 3, 5: 1}
    text = shell(emulation, "flows srv1 --hits", "flows srv1 --hits")  # the second: nothing moved
    first, second = text.split("srv1: ")[1:]
    assert first.startswith("2 of ") and "[3 packets (+3)]" in first and "[1 packets (+1)]" in first
    assert second.startswith("0 of ")
    card.packets = {0: 5, 5: 1}
    again = shell(emulation, "flows srv1 --hits")  # a new session: counted from installation
    assert again.startswith("srv1: 2 of ") and "[5 packets (+5)]" in again


def test_where_says_server_port_mac_address_and_groups():
    text = shell(FakeEmulation("peering.yaml"), "where build1", "where nobody")
    assert "build1: 10.1.1.4 in dev/build (10.1.1.0/24, AZ a)" in text
    assert "server     srv1 (underlay 192.168.200.1, VNI 2)" in text
    assert "card port  build1 (ofport 2), conntrack zone 3" in text
    assert "MAC        02:00:00:00:03:0a" in text and "SGs        dev/build-sg" in text
    assert "Usage: where INSTANCE" in text


def test_with_a_propagation_delay_a_change_says_when_it_reaches_the_cards():
    emulation = FakeEmulation("tgw-blackhole.yaml")
    emulation.api.delay = 18.0
    text = shell(emulation, "blackhole core hub 10.2.0.0/16", "trace svc1 db1")
    delayed = (
        "reaches the cards in 18 s (the controller's propagation delay): srv1 +1/-1, srv2 +1/-1, srv3 +1/-1"
    )
    assert delayed in text
    assert "DROPPED: tgw-blackhole" in text  # the running design is the changed one at once


def test_a_change_verb_goes_through_the_api_and_the_views_follow_it():
    emulation = FakeEmulation("tgw-blackhole.yaml")
    text = shell(
        emulation,
        "blackhole core hub 10.2.0.0/16",
        "trace svc1 db1",
        "restore core hub 10.2.0.0/16",
        "trace svc1 db1",
        "blackhole core hub",
    )
    assert emulation.api.changes[0] == ("blackhole", {"tgw": "core", "table": "hub", "cidr": "10.2.0.0/16"})
    assert "*** added a static route for 10.2.0.0/16 in core/hub: a blackhole" in text
    assert re.search(r"flows changed in [0-9.]+ ms: srv1 \+1/-1, srv2 \+1/-1, srv3 \+1/-1\n", text)
    assert "removed the route for 10.2.0.0/16 from core/hub (the file has none)" in text
    assert text.index("DROPPED: tgw-blackhole") < text.index("ACCEPTED")
    assert "Usage: blackhole TGW TABLE CIDR" in text


def test_peering_verbs_with_dashes_as_users_type_them():
    emulation = FakeEmulation("peering.yaml")
    text = shell(
        emulation,
        "peering-delete prod-dev",
        "trace build1 web1 tcp 443",
        "peering-restore prod-dev",
        "peering-delete",
    )
    assert [c[0] for c in emulation.api.changes] == ["delete-peering", "restore-peering"]
    assert "DROPPED: blackhole" in text and "Usage: peering-delete NAME" in text


def test_a_failing_verb_prints_one_line_and_the_session_goes_on():
    emulation = FakeEmulation("peering.yaml")
    emulation.servers_by_name["srv2"].up = False
    text = shell(emulation, "flows srv2 classify", "sg web1")
    assert "*** srv2's Nitro card is down: recover nitro srv2" in text
    assert "prod/web-sg" in text  # the next command still ran

    def broken(*args):
        raise BuildError("`ovs-ofctl` failed: Connection refused")

    emulation.servers_by_name["srv2"].up = True
    emulation.servers_by_name["srv2"].ofctl = broken
    text = shell(emulation, "flows srv2", "sg web1")
    assert "*** flows failed: `ovs-ofctl` failed: Connection refused" in text
    assert "prod/web-sg" in text
    assert "Traceback" not in text


def test_a_refused_change_says_why():
    emulation = FakeEmulation("tgw-blackhole.yaml")  # the real core refuses it
    assert "*** refused: no transit gateway 'nope'" in shell(emulation, "blackhole nope hub 10.0.0.0/8")


def test_every_change_verb_says_what_it_did():
    emulation = FakeEmulation("three-tier.yaml")
    text = shell(
        emulation,
        "sg-add app-sg ingress tcp 9000-9100 10.20.1.0/24",
        "sg-add app-sg ingress icmp 8 web-sg",
        "sg-remove app-sg ingress tcp 9000-9100 10.20.1.0/24",
        "nacl-add shop app-nacl ingress 90 deny tcp 22 0.0.0.0/0",
        "nacl-remove shop app-nacl ingress 90",
        "sg-add app-sg sideways tcp 1 0.0.0.0/0",
        "sg-add app-sg ingress tcp",
        "nacl-add shop app-nacl ingress allow tcp 22 0.0.0.0/0",
        "sg-add app-sg ingress tcp 90-80 0.0.0.0/0",
    )
    assert [c[0] for c in emulation.api.changes] == [
        "add-sg-rule",
        "add-sg-rule",
        "remove-sg-rule",
        "add-nacl-rule",
        "remove-nacl-rule",
    ]
    assert emulation.api.changes[1][1]["rule"] == {
        "protocol": "icmp",
        "icmp_type": 8,
        "security_group": "web-sg",
    }
    assert (
        "added ingress rule {protocol: tcp, ports: 9000-9100, cidr: 10.20.1.0/24} to security group" in text
    )
    assert "removed ingress rule 90 from NACL shop/app-nacl" in text
    assert text.count("Usage: sg-add SG ingress|egress RULE") == 1  # 'sideways'
    assert "*** a security group rule is PROTOCOL" in text  # no peer
    assert "*** a NACL rule is NUMBER allow|deny" in text
    assert (
        "*** refused: vpcs[0].security_groups[1].ingress[2].ports: '90-80': the range starts after it ends"
        in text
    )


def test_tgw_verbs_and_nothing_to_restore():
    emulation = FakeEmulation("tgw-blackhole.yaml")
    text = shell(
        emulation,
        "restore core hub 10.2.0.0/16",
        "blackhole core hub 10.77.0.0/16",
        "tgw-route core hub 10.77.0.0/16 app-att",
        "tgw-route-remove core hub 10.77.0.0/16",
        "propagation core hub app-att off",
        "propagation core hub app-att on",
        "association core hub app-att maybe",
    )
    assert "nothing to restore: the route for 10.2.0.0/16 in core/hub is as the file has it" in text
    assert "added a static route for 10.77.0.0/16 in core/hub: a blackhole" in text
    assert "the static route for 10.77.0.0/16 in core/hub is now to attachment app-att" in text
    assert "removed the static route for 10.77.0.0/16 from core/hub" in text
    assert "removed 'app-att' from propagations of core/hub" in text
    assert "Usage: association TGW TABLE ATTACHMENT on|off" in text


def test_changes_and_design_show_the_running_design_even_with_the_controller_down(tmp_path):
    from vpclab.intent.loader import load_topology

    emulation = FakeEmulation("tgw-blackhole.yaml")
    saved = tmp_path / "running.yaml"
    text = shell(emulation, "changes", "blackhole core hub 10.2.0.0/16")
    assert "no runtime changes since bring-up" in text
    emulation.api.down = True
    text = shell(emulation, "changes", f"design --yaml {saved}", "trace svc1 db1")
    assert "(controller unreachable: showing the changes last applied)" in text
    assert "  1 " in text and "blackhole tgw=core table=hub cidr=10.2.0.0/16" in text
    assert "DROPPED: tgw-blackhole" in text  # the applied design, not the file's
    running = load_topology(str(saved))
    hub = next(t for t in running.transit_gateway("core").route_tables if t.name == "hub")
    assert any(r.blackhole and str(r.destination) == "10.2.0.0/16" for r in hub.static_routes)


def test_the_verbs_that_create_and_attach_objects_say_what_they_did():
    emulation = FakeEmulation("three-tier.yaml")
    text = shell(
        emulation,
        "sg-create shop ping-sg",
        "sg-add ping-sg ingress icmp 10.20.0.0/16",
        "instance-groups db1 db-sg ping-sg",
        "sg-delete shop ping-sg",
        "nacl-create shop quiet",
        "nacl-use shop db quiet",
        "nacl-delete shop quiet",
        "nacl-use shop db db-nacl",
        "nacl-delete shop quiet",
        "table-create shop db-rt",
        "table-use shop db db-rt",
        "table-use shop db main",
        "table-delete shop db-rt",
        "cidr-add shop 10.21.0.0/16",
        "subnet-create shop extra 10.21.1.0/24",
        "subnet-delete shop extra",
        "cidr-remove shop 10.21.0.0/16",
        "source-dest-check app1 off",
        "igw-attach shop igw-shop",  # refused: the run has no card for the internet
        "source-dest-check app1 sideways",
    )
    assert [c[0] for c in emulation.api.changes] == [
        "create-security-group",
        "add-sg-rule",
        "set-instance-groups",
        "create-nacl",
        "associate-nacl",
        "associate-nacl",
        "delete-nacl",
        "create-route-table",
        "associate-route-table",
        "associate-route-table",
        "delete-route-table",
        "add-vpc-cidr",
        "create-subnet",
        "delete-subnet",
        "remove-vpc-cidr",
        "set-source-dest-check",
    ]
    assert "*** refused: security group 'ping-sg' is still in use by instance db1" in text
    assert "*** refused: NACL 'quiet' is still in use by subnet db" in text
    assert "*** refused: the running emulation has no internet card: it came up without" in text
    assert "Usage: source-dest-check INSTANCE on|off" in text
    topology = emulation.api.intent.topology
    assert topology.instance("app1").source_dest_check is False
    assert [r.name for r in topology.instance("db1").security_groups] == ["db-sg", "ping-sg"]


def test_from_the_empty_design_the_verbs_make_a_vpc_launch_an_instance_and_give_it_the_internet():
    emulation = FakeEmulation("../vpclab/designs/empty.yaml")  # it has an internet host: the card
    text = shell(
        emulation,
        "vpc-create shop 10.20.0.0/16",
        "subnet-create shop web 10.20.1.0/24",
        "launch shop web web1",
        "launch shop web web2 ip=10.20.1.50",
        "launch shop web",
        "public-ip web1 203.0.113.9",
        "igw-attach shop igw-shop",
        "public-ip web1 203.0.113.9",
        "igw-detach shop igw-shop",
        "vpc-delete shop",
        "public-ip web1 none",
        "igw-detach shop igw-shop",
        "terminate web1",
        "terminate web1",
    )
    assert [c[0] for c in emulation.api.changes] == [
        "create-vpc",
        "create-subnet",
        "launch-instance",
        "launch-instance",
        "attach-internet-gateway",
        "set-public-ip",
        "set-public-ip",
        "detach-internet-gateway",
        "terminate-instance",
    ]
    assert "launched instance 'web1' in subnet 'web' of VPC 'shop' (10.20.1.4)" in text
    assert "launched instance 'web2' in subnet 'web' of VPC 'shop' (10.20.1.50)" in text
    assert "Usage: launch VPC SUBNET NAME [SG...] [ip=ADDRESS]" in text
    assert "*** refused: VPC 'shop' has no internet gateway: 203.0.113.9 would lead nowhere" in text
    assert "*** refused: VPC 'shop' has mapped public addresses (web1)" in text
    assert "*** refused: VPC 'shop' still has subnet web, internet gateway igw-shop" in text
    assert "detached internet gateway 'igw-shop' from VPC 'shop'" in text
    assert "*** refused: no instance 'web1'" in text
    assert [i.name for i in emulation.api.intent.topology.instances] == ["web2"]


def test_help_groups_every_vpc_verb_with_dashes_apart_from_mininet_s():
    from mininet.cli import CLI

    from vpclab.ui.shell import VERB_GROUPS

    ours = {name[3:].replace("_", "-") for name in dir(VpcCLI) if name.startswith("do_")}
    ours -= {name[3:].replace("_", "-") for name in dir(CLI) if name.startswith("do_")}
    grouped = [verb for verbs in VERB_GROUPS.values() for verb in verbs]
    assert sorted(grouped) == sorted(ours)  # a new verb must be given a group
    text = shell(FakeEmulation("peering.yaml"), "help", "help tgw-route-remove", "help nope")
    vpc_part, mininet_part = text.split("Mininet verbs: ")
    assert "VPC verbs: look" in vpc_part and "VPC verbs: break" in vpc_part
    assert "\n  peering-delete NAME " in vpc_part and "pingall" not in vpc_part
    assert "pingall" in mininet_part.splitlines()[0] and "trace" not in mininet_part.splitlines()[0]
    assert "web1 ping -c 1 10.0.1.5" in mininet_part  # an example from the running design
    assert "Usage: tgw-route-remove TGW TABLE CIDR" in text and "*** no verb 'nope'" in text


def test_an_instance_s_port_is_recognised_by_name_and_by_number():
    from vpclab.inspection.flowdump import DumpedFlow, about_instance

    web1 = Plan(example("peering.yaml")).instances["web1"]  # port 1, zone 1
    assert about_instance(DumpedFlow(0, 0, 0, "priority=10,in_port=1 actions=drop"), web1)
    assert about_instance(DumpedFlow(0, 0, 0, "priority=10,in_port=web1 actions=drop"), web1)
    assert not about_instance(DumpedFlow(0, 0, 0, "priority=10,in_port=11 actions=drop"), web1)
    assert not about_instance(DumpedFlow(0, 0, 0, "priority=1,ip,nw_dst=10.0.1.40 actions=drop"), web1)
    assert not about_instance(DumpedFlow(0, 0, 0, "priority=1,ip,nw_dst=10.0.1.4/31 actions=drop"), web1)
    assert not about_instance(DumpedFlow(0, 0, 0, "priority=1,actions=ct(zone=12)"), web1)


def test_an_unknown_command_suggests_the_verb_that_was_meant():
    text = shell(FakeEmulation("peering.yaml"), "sgadd web-sg ingress tcp 22 0.0.0.0/0", "xyzzy")
    assert "*** unknown command 'sgadd'; did you mean 'sg-add'? (help lists the verbs)" in text
    assert "*** unknown command 'xyzzy' (help lists the verbs)" in text


def test_trace_names_the_aws_ids_of_an_imported_design(tmp_path):
    from vpclab.aws_import import import_directory, render

    snapshot = os.path.join(ROOT, "tests", "data", "aws-configs", "test-transit-gateway", "aws_configs")
    path = tmp_path / "tgw.yaml"
    path.write_text(render(import_directory(snapshot), snapshot))
    text = shell(FakeEmulation(str(path)), "trace i-075e846ed41670385 i-0b14080af811fda3d tcp 22")
    assert text.rstrip().endswith(
        "(decided by transit_gateways[0].attachments[0] tgw-attach-07f5ec59e9f540021)"
    )


def test_failover_shows_each_path_and_the_one_the_route_takes():
    emulation = FakeEmulation("path-failover.yaml")
    emulation.api.change("failover", vpc="app", table="app-rt", destination="10.0.0.0/16", path=1)
    text = shell(emulation, "failover", "routes app1", "failover now")
    assert "app/app-rt 10.0.0.0/16: probes 10.1.1.1 -> 10.0.1.4" in text
    assert "    1 transit gateway core" in text and "  * 2 peering app-shared" in text
    assert "up (0/0 answered)" in text
    assert "10.0.0.0/16 -> peering app-shared (failover path 2 of 2)" in text
    assert "Usage: failover" in text
    assert "no failover routes" in shell(FakeEmulation("peering.yaml"), "failover")


def test_trace_to_a_dns_name_says_what_the_resolver_answered():
    text = shell(
        FakeEmulation("private-dns.yaml"), "trace web1 api.corp.internal", "trace build1 db.corp.internal"
    )
    assert (
        "dns      api.corp.internal is 10.0.1.4 (CNAME api.corp.internal -> web1.vpclab.internal), "
        "as VPC prod's resolver answers web1" in text
    )
    assert "*** 'db.corp.internal' does not resolve in VPC dev" in text


def test_the_verbs_stop_and_start_an_instance_and_make_and_delete_a_gateway_endpoint():
    emulation = FakeEmulation("two-tier.yaml")
    public = str(emulation.api.intent.topology.instance("web1").public_ip)
    text = shell(
        emulation,
        "stop web1",
        "stop web1",
        "start web1",
        "stop",
        "endpoint-create shop s3-ep s3 private-a-rt",
        "endpoint-tables s3-ep +private-b-rt -private-a-rt",
        "endpoint-tables s3-ep private-a-rt",
        "endpoint-delete s3-ep",
        "endpoint-delete s3-ep",
        "endpoint-interface shop sqs-ep com.amazonaws.us-east-1.sqs app-a sg=app-sg",
        "endpoint-subnets sqs-ep +app-b",
        "endpoint-delete sqs-ep",
    )
    assert [c[0] for c in emulation.api.changes] == [
        "stop-instance",
        "stop-instance",
        "start-instance",
        "create-vpc-endpoint",
        "modify-vpc-endpoint",
        "delete-vpc-endpoint",
        "create-vpc-endpoint",
        "modify-vpc-endpoint",
        "delete-vpc-endpoint",
    ]
    assert (
        "created interface endpoint 'sqs-ep' of VPC 'shop' to com.amazonaws.us-east-1.sqs (in app-a)" in text
    )
    assert "interface endpoint 'sqs-ep' is in app-a, app-b, groups app-sg" in text
    assert "deleted interface endpoint 'sqs-ep' (its network interfaces went with it)" in text
    assert f"stopped instance 'web1'; its public IP {public} is released" in text
    assert "instance 'web1' is stopped already" in text and "started instance 'web1'" in text
    assert "Usage: stop INSTANCE" in text and "Usage: endpoint-tables NAME +TABLE|-TABLE..." in text
    assert "created gateway endpoint 's3-ep' of VPC 'shop' to s3 (routes in private-a-rt)" in text
    assert "gateway endpoint 's3-ep' routes from private-b-rt" in text
    assert "*** refused: no VPC endpoint 's3-ep'" in text
