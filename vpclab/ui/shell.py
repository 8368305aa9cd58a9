"""The Mininet CLI with VPC verbs: look at the running design, change it, break it.

The static verbs (trace, routes, sg) read the *running* intent from Hyperplane, so after a
change they describe the changed design; when the controller is down they use the last known.
"""

from __future__ import annotations

import difflib
import inspect
import os
from typing import Optional

from mininet.cli import CLI

from agents.flowlog_records import FIELDS, interface_id, read_records
from controller.compiler import compile_card
from controller.hyperplane.client import ApiError
from nitro_switch import faults
from vpclab.errors import OperationFailed
from vpclab.inspection.capture import DEFAULT_SECONDS, record, summary
from vpclab.inspection.flowdump import FlowQuery, HitCounter, parse_dump
from vpclab.inspection.why import explain
from vpclab.intent import model as m
from vpclab.intent.changes import Intent
from vpclab.intent.origins import aws_id, origin_name
from vpclab.intent.values import ICMP_PROTOCOLS, parse_protocol
from vpclab.layout.pipeline import STAGE_AT, STAGES, TABLE, TunnelKey
from vpclab.layout.plan import Plan, cookie_of
from vpclab.oracle.propagation import propagated_vgw_routes, tgw_table_view
from vpclab.oracle.trace import trace
from vpclab.ui.arguments import UsageError, dns_note, resolve_destination, resolve_source
from vpclab.ui.render import render_verdict
from vpclab.ui.shell_changes import ChangeVerbs
from vpclab.ui.shell_resources import ResourceVerbs
from vpclab.ui.shell_sites import SiteVerbs
from vpclab.ui.verb_groups import VERB_GROUPS


class VpcCLI(ChangeVerbs, ResourceVerbs, SiteVerbs, CLI):
    """Mininet's CLI over a running emulation, plus VPC verbs (`help` lists them)."""

    prompt = "vpclab> "

    def __init__(self, emulation, **kwargs):
        self.emulation = emulation
        self.hits = HitCounter()  # each card's counters at the user's last `flows`
        super().__init__(emulation.hosts.net, **kwargs)

    # -- helpers -----------------------------------------------------------------------------
    def running_data(self) -> dict:
        """The running design's YAML data: the controller's, or the last applied one."""
        try:
            return self.emulation.api.call("intent")["data"]
        except ApiError:
            self.say("(controller unreachable: showing the design last applied to the cards)")
            return self.emulation.applied_intent().data

    def topology(self) -> m.Topology:
        return Intent(self.emulation.topology.source, self.running_data()).topology

    def say(self, text: str) -> None:
        self.stdout.write(text.rstrip("\n") + "\n")

    def usage(self, method) -> None:
        self.say(inspect.cleandoc(method.__doc__))

    def change(self, operation: str, **arguments) -> None:
        try:
            answer = self.emulation.change(operation, **arguments)
        except OperationFailed as error:  # refused (ApiError), or a host not built (BuildError)
            self.say(f"*** refused: {error}")
            return
        touched = ", ".join(
            f"{server} +{c['added']}/-{c['deleted']}" for server, c in answer["changed"].items()
        )
        self.say(f"*** {answer.get('summary') or 'done'}")
        if "scheduled_in_s" in answer:
            delay = answer["scheduled_in_s"]
            self.say(f"    reaches the cards in {delay:g} s (the controller's propagation delay): {touched}")
        else:
            self.say(f"    flows changed in {answer['elapsed_ms']} ms: {touched}")

    # -- static views ------------------------------------------------------------------------
    def do_trace(self, line):
        """Usage: trace SRC DST [tcp|udp|icmp|icmpv6|N] [PORT] [-6]  -- follow a connection
        statically (-6: between their IPv6 addresses; a ping is then ICMPv6 echo)."""
        data = self.running_data()
        topology = Intent(self.emulation.topology.source, data).topology
        asked = self.connection(line, topology, self.do_trace)
        if asked:
            self.say(render_verdict(trace(topology, *asked), lambda origin: aws_id(data, origin)))

    def connection(self, line: str, topology: m.Topology, verb) -> Optional[tuple]:
        """SRC DST [PROTOCOL] [PORT] [-6] of ``line`` as (source, address, protocol, port), or
        None (after saying what is wrong). With -6 (or an IPv6 DST), the IPv6 addresses."""
        words = line.split()
        ipv6 = "-6" in words
        words = [word for word in words if word != "-6"]
        if len(words) < 2:
            self.usage(verb)
            return None
        try:
            source = resolve_source(topology, words[0])
            address = resolve_destination(topology, words[1], source, ipv6)
            resolved = dns_note(topology, words[1], source, ipv6)
            if resolved:
                self.say(f"dns      {resolved}")
            protocol = parse_protocol(words[2] if len(words) > 2 else "icmp")
            if protocol in ICMP_PROTOCOLS:  # a ping, in the destination's family (as ping does)
                protocol = m.PROTOCOL_NUMBERS["icmpv6" if address.version == 6 else "icmp"]
            port = int(words[3]) if len(words) > 3 else None
        except (UsageError, ValueError) as error:
            self.say(f"*** {error}")
            return None
        return source, address, protocol, port

    def do_why(self, line):
        """Usage: why SRC DST [tcp|udp|icmp|N] [PORT] [-6]  -- one packet through the real flows.
        ovs-appctl ofproto/trace on the sender's card, over the tunnel to the receiver's card,
        every flow with the YAML object it comes from; then the reply; then whether the static
        trace agrees. SRC is an instance or a site's host (from the tunnel or link its site's
        router takes); internet gateways and NAT are not followed, and a packet for a site is
        followed to the tunnel or link it leaves by."""
        data = self.running_data()
        topology = Intent(self.emulation.topology.source, data).topology
        asked = self.connection(line, topology, self.do_why)
        if asked is None:
            return None
        source, address, protocol, port = asked
        entry = None
        if isinstance(source, m.SiteHost):
            entry = self.emulation.sites.way_to(source.site, str(address))
            if entry is None:
                return self.say(f"*** {source.site}'s router has no route to {address} by a tunnel or link")
        elif not isinstance(source, m.Instance):
            return self.say(
                "*** why follows packets from an instance or a site's host (not from the internet)"
            )
        servers = self.emulation.servers_by_name
        down = [name for name in servers if not faults.card_is_up(self.emulation, name)]
        if down:
            return self.say(f"*** {', '.join(down)}: Nitro card down (recover it first)")
        explained = explain(topology, data, servers, source, address, protocol, port, entry)
        return self.say("\n".join(explained.lines))

    def do_routes(self, line):
        """Usage: routes INSTANCE | routes tgw NAME  -- every route, longest prefix first; for a
        TGW, each candidate marked * if it carries its prefix's traffic, and why (or why not)."""
        words = line.split()
        topology = self.topology()
        if len(words) == 2 and words[0] == "tgw":
            return self._tgw_routes(topology, words[1])
        if len(words) != 1:
            return self.usage(self.do_routes)
        return self._instance_routes(topology, words[0])

    def _tgw_routes(self, topology: m.Topology, name: str) -> None:
        try:
            tgw = topology.transit_gateway(name)
        except KeyError:
            return self.say(f"*** no transit gateway '{name}'")
        for table in tgw.route_tables:
            self.say(f"TGW route table {table.name}: associated {', '.join(table.associations) or '-'}")
            for route, why in tgw_table_view(topology, tgw, table):
                mark = "*" if why.startswith("used") else " "
                self.say(f"  {mark} {route.describe():60s} {why}  [{route.origin}]")
        return None

    def _instance_routes(self, topology: m.Topology, name: str) -> None:
        try:
            instance = topology.instance(name)
        except KeyError:
            return self.say(f"*** no instance '{name}'")
        vpc = topology.vpc(instance.vpc)
        table = vpc.route_table(vpc.subnet(instance.subnet).route_table)
        self.say(f"{instance.name} ({instance.ip}) in {vpc.name}/{instance.subnet}: route table {table.name}")
        routes = [*table.routes, *propagated_vgw_routes(topology, vpc, table)]
        for route in sorted(routes, key=lambda r: -r.destination.prefixlen):
            peering = topology.peering(route.peering) if route.peering else None
            state = f" (blackhole: peering {peering.status})" if peering and not peering.active else ""
            beaten = route.propagated and any(
                r.destination == route.destination and not r.propagated for r in routes
            )
            state += " (not used: a static route comes first)" if beaten else ""
            self.say(f"  {route.describe() + state:48s} [{route.origin}]")
        return None

    def do_failover(self, line):
        """Usage: failover  -- the failover routes: each path's health, as the controller's
        route manager probes it, and the path the route takes now (*)."""
        if line.strip():
            return self.usage(self.do_failover)
        try:
            routes = self.emulation.api.call("failover")["routes"]
        except ApiError as error:
            return self.say(f"*** the controller does not answer: {error}")
        if not routes:
            return self.say("*** this design has no failover routes (a route with `failover: [...]`)")
        for route in routes:
            self.say(
                f"{route['vpc']}/{route['table']} {route['destination']}: "
                f"probes {route['source']} -> {route['target']}"
            )
            for n, path in enumerate(route["paths"]):
                mark = "*" if n == route["active"] else " "
                self.say(f"  {mark} {n + 1} {path['path']:28s} {path['health']}")
        return None

    def do_targets(self, line):
        """Usage: targets  -- the load balancers' targets: health as the NLB's checks find it;
        new connections go to the healthy ones (*)."""
        if line.strip():
            return self.usage(self.do_targets)
        try:
            targets = self.emulation.api.call("targets")["targets"]
        except ApiError as error:
            return self.say(f"*** the controller does not answer: {error}")
        if not targets:
            return self.say(
                "*** this design has no load balancers (endpoint_services, network_load_balancers)"
            )
        balancer = None
        for row in targets:
            if row["load_balancer"] != balancer:
                balancer = row["load_balancer"]
                self.say(f"{balancer}:")
            mark = "*" if row["healthy"] else " "
            self.say(f"  {mark} {row['target']:12s} {row['address']:21s} {row['health']}")
        return None

    def do_sg(self, line):
        """Usage: sg INSTANCE  -- the instance's security groups and their rules (a union)."""
        topology = self.topology()
        try:
            instance = topology.instance(line.strip())
        except KeyError:
            return self.usage(self.do_sg)
        for ref in instance.security_groups:
            group = topology.security_group(ref)
            self.say(f"{ref} [{group.origin}]")
            for direction in ("ingress", "egress"):
                rules = getattr(group, direction) or ()
                self.say(f"  {direction}: " + ("nothing" if not rules else ""))
                for rule in rules:
                    self.say(f"    {rule.describe():40s} [{rule.origin}]")
        return None

    def do_flows(self, line):
        """Usage: flows SERVER|INSTANCE [STAGE] [--drops] [--hits]  -- a Nitro card's flows.
        Each flow with its stage and the YAML object it comes from (by name, then its path).
        INSTANCE: only its server's flows that name its port, address, MAC or conntrack zone.
        --drops: only flows that drop; --hits: only flows whose packet counters moved since your
        last look at that card (since they were installed, at the first look)."""
        names = [word for word in line.split() if not word.startswith("--")]
        options = {word for word in line.split() if word.startswith("--")}
        data = self.running_data()
        topology = Intent(self.emulation.topology.source, data).topology
        plan = Plan(topology)
        servers = self.emulation.servers_by_name
        if (
            not 1 <= len(names) <= 2
            or options - {"--drops", "--hits"}
            or names[0] not in set(servers) | set(plan.instances)
            or names[1:]
            and names[1] not in TABLE
        ):
            self.usage(self.do_flows)
            return self.say(f"servers: {', '.join(servers)}; stages: {', '.join(STAGES)}")
        instance = None if names[0] in servers else plan.instances[names[0]]
        server = instance.instance.server if instance else names[0]
        if not faults.card_is_up(self.emulation, server):
            return self.say(f"*** {server}'s Nitro card is down: recover nitro {server}")
        flows = parse_dump(servers[server].ofctl("dump-flows", "--names"))
        moved = self.hits.look(server, flows)
        query = FlowQuery(TABLE.get(names[-1]), instance, "--drops" in options, "--hits" in options)
        shown = [flow for flow in flows if query.selects(flow, moved)]
        self.say(f"{server}: {len(shown)} of {len(flows)} flows{query.describe()}")
        origins = {cookie_of(f.origin): f.origin for f in compile_card(topology, server)}
        for flow in shown:
            origin = origins.get(flow.cookie, "?")
            named = origin_name(data, origin)
            path = f"  ({origin})" if named != origin else ""
            since = f" (+{moved[flow.table, flow.rule]})" if query.hits else ""
            self.say(f"{STAGE_AT[flow.table]:16s} {flow.rule}")
            self.say(f"{'':16s}   <- {named}{path}  [{flow.packets} packets{since}]")
        return None

    def do_capture(self, line):
        """Usage: capture SERVER|INSTANCE [SECONDS] [FILE]  -- a pcap for Wireshark.
        INSTANCE: its eth0, the packets it sends and receives; SERVER: its link to the
        underlay, VXLAN with the VNI in every packet. SECONDS: 5 unless given; FILE:
        capture-NAME.pcap in the current folder unless given."""
        words = line.split()
        servers, hosts = self.emulation.servers_by_name, self.emulation.hosts.hosts
        if not 1 <= len(words) <= 3 or words[0] not in set(servers) | set(hosts):
            self.usage(self.do_capture)
            return self.say(f"servers: {', '.join(servers)}; or an instance")
        try:
            seconds = float(words[1]) if len(words) > 1 else DEFAULT_SECONDS
        except ValueError:
            return self.say(f"*** {words[1]!r} is not a number of seconds")
        path = os.path.abspath(words[2] if len(words) > 2 else f"capture-{words[0]}.pcap")
        self.say(f"*** capturing on {words[0]} for {seconds:g} s")
        record(servers, hosts, words[0], seconds, path)
        plan = Plan(self.topology())
        vpcs = {plan.vni(vpc): vpc.name for vpc in plan.topology.vpcs}
        found = summary(path, lambda vni: vpcs.get(TunnelKey.read(vni, "VPC")))
        return self.say(f"{path}: {found}")

    def do_flowlogs(self, line):
        """Usage: flowlogs [INSTANCE] [--reject] [--last N]  -- the newest VPC Flow Log
        records (AWS's version 2, vpclab-rule: the YAML object that decided, - for an ACCEPT
        by connection state, and vpclab-path: the VPN tunnel or Direct Connect link to or from
        a site, - for none), of one instance's interface, only REJECTs, the last N (20 unless
        given). A record appears when its aggregation interval ends."""
        words, instance, rejects, last = line.split(), None, False, 20
        try:
            while words:
                word = words.pop(0)
                if word == "--reject":
                    rejects = True
                elif word == "--last":
                    last = int(words.pop(0))
                elif instance is None and not word.startswith("-"):
                    instance = word
                else:
                    raise ValueError(word)
        except (ValueError, IndexError):
            return self.usage(self.do_flowlogs)
        topology = self.topology()
        if not topology.flow_logs:
            return self.say(
                "*** this design has no flow logs: add `flow_logs:` to it, or start it with "
                "`vpclab up TOPO --flow-logs DIR` (a flow log per VPC)"
            )
        if instance is not None and instance not in {i.name for i in topology.instances}:
            return self.say(f"*** no instance '{instance}'")
        found = [
            (name, entry)
            for name, entry in read_records(self.emulation.flow_logs_dir)
            if (instance is None or entry.interface == interface_id(instance))
            and (not rejects or entry.action == "REJECT")
        ]
        if not found:
            waits = ", ".join(f"{f.name} {f.max_aggregation_interval} s" for f in topology.flow_logs)
            return self.say(f"*** no records yet (one is written when its interval ends: {waits})")
        self.say("flow-log " + " ".join(FIELDS))
        for name, entry in found[-last:]:
            self.say(f"{name} {entry.line()}")
        return None

    def do_where(self, line):
        """Usage: where INSTANCE  -- where an instance runs: server, card port, MAC, IP, SGs."""
        topology = self.topology()
        plan = Plan(topology)
        if line.strip() not in plan.instances:
            return self.usage(self.do_where)
        placed = plan.instances[line.strip()]
        instance = placed.instance
        vpc = topology.vpc(instance.vpc)
        subnet = vpc.subnet(instance.subnet)
        self.say(
            f"{instance.name}: {instance.ip} in {vpc.name}/{subnet.name} ({subnet.cidr}, AZ {subnet.az})"
        )
        underlay = plan.underlay_ip(instance.server)
        self.say(f"  server     {instance.server} (underlay {underlay}, VNI {plan.vni(vpc)})")
        self.say(f"  card port  {placed.interface} (ofport {placed.port}), conntrack zone {placed.zone}")
        self.say(f"  MAC        {placed.mac}")
        self.say(f"  SGs        {', '.join(map(str, instance.security_groups))}")
        return None

    # -- faults ------------------------------------------------------------------------------
    def do_fail(self, line):
        """Usage: fail nitro SERVER | fail link SERVER [--loss P%] [--rate R] | fail link region REGION
        | fail controller | fail tunnel CONNECTION N | fail dx CONNECTION
        -- inject a fault. A link with --loss or --rate stays up but drops P % of the packets
        at random and carries at most R (10mbit, 500kbit...), each way; no delay: this kernel
        has no netem. A VPN tunnel is cut; AWS's side finds out when its BGP hold time runs out
        (a static VPN: dead peer detection), and its VGW moves to the other tunnel (a TGW to
        the tunnels still up: with ECMP, the flows spread over those). A Direct Connect link is
        cut at the site's router: the site moves to its VPN at once, AWS after its hold time."""
        words = line.split()
        if words[:1] == ["link"] and len(words) > 2 and words[1] != "region":
            return self._impair(words[1], words[2:])
        return self._fault(line, failing=True)

    def do_recover(self, line):
        """Usage: recover nitro SERVER | recover link SERVER | recover link region REGION
        | recover controller [--discard-changes] | recover tunnel CONNECTION N | recover dx CONNECTION
        -- undo a fault (a link: up again, and whole). The restarted controller reconciles the
        cards to the running design, with its runtime changes; --discard-changes goes back to
        the topology file."""
        words = line.split()
        if words[:1] == ["link"] and len(words) == 2 and faults.link_impairment(self.emulation, words[1]):
            faults.impair_link(self.emulation, words[1], None)
            self.say(f"*** {words[1]}'s underlay link: whole again")
            if faults.link_is_up(self.emulation, words[1]):
                return None
        return self._fault(line, failing=False)

    def _impair(self, server: str, options: list[str]):
        if server not in self.emulation.servers_by_name or len(options) % 2:
            return self.usage(self.do_fail)
        given = dict(zip(options[::2], options[1::2], strict=True))
        if not set(given) <= {"--loss", "--rate"}:
            return self.usage(self.do_fail)
        try:
            impairment = faults.Impairment.parse(given.get("--loss"), given.get("--rate"))
        except ValueError as error:
            return self.say(f"*** {error}")
        if not impairment.loss and not impairment.rate:
            return self.say(f"*** nothing to impair: `recover link {server}` makes the link whole")
        faults.impair_link(self.emulation, server, impairment)
        return self.say(f"*** {server}'s underlay link {impairment.describe()}")

    def _fault(self, line: str, failing: bool):
        words = line.split()
        method = self.do_fail if failing else self.do_recover
        if words[:1] == ["tunnel"]:
            return self._tunnel(words[1:], failing)
        if words[:1] == ["dx"]:
            return self._link(words[1:], failing)
        if not words or words[0] not in ("nitro", "link", "controller"):
            return self.usage(method)
        if words[0] == "controller":
            if failing == (not self.emulation.controller_is_up()):
                return self.say(f"*** the controller is already {'down' if failing else 'up'}")
            if failing:
                self.emulation.kill_controller()
                return self.say("*** controller killed; the cards keep the flows they have")
            discard = words[1:] == ["--discard-changes"]
            if words[1:] and not discard:
                return self.usage(method)
            discarded = self.emulation.restart_controller(discard_changes=discard)
            if discard:
                return self.say(
                    f"*** controller restarted; {discarded} runtime changes discarded, "
                    "cards reconciled to the file"
                )
            return self.say("*** controller restarted; cards reconciled to the running design")
        if words[:2] == ["link", "region"]:
            return self._region_link(words[2:], failing)
        if len(words) != 2 or words[1] not in self.emulation.servers_by_name:
            return self.usage(method)
        kind, server = words
        what = f"{server}'s Nitro card" if kind == "nitro" else f"{server}'s underlay link"
        is_up = faults.card_is_up if kind == "nitro" else faults.link_is_up
        if failing == (not is_up(self.emulation, server)):
            return self.say(f"*** {what} is already {'failed' if failing else 'up'}")
        action = {
            ("nitro", True): faults.crash_card,
            ("nitro", False): faults.recover_card,
            ("link", True): faults.link_down,
            ("link", False): faults.link_up,
        }
        action[(kind, failing)](self.emulation, server)
        return self.say(f"*** {what}: {'failed' if failing else 'recovered'}")

    def _region_link(self, words: list[str], failing: bool):
        """``fail link region NAME``: the Region's link to the other Regions goes down."""
        method = self.do_fail if failing else self.do_recover
        if len(words) != 1:
            return self.usage(method)
        try:
            is_up = faults.region_link_is_up(self.emulation, words[0])
        except KeyError:
            regions = ", ".join(r.name for r in self.emulation.topology.regions)
            return self.say(
                f"*** no Region link '{words[0]}': this design's underlay has none for it ({regions})"
            )
        what = f"Region {words[0]}'s link to the other Regions"
        if failing == (not is_up):
            return self.say(f"*** {what} is already {'failed' if failing else 'up'}")
        (faults.region_link_down if failing else faults.region_link_up)(self.emulation, words[0])
        return self.say(f"*** {what}: {'failed' if failing else 'recovered'}")

    def do_help(self, line):
        """Usage: help [VERB]  -- the VPC verbs by what they do, then Mininet's; or one verb."""
        if line.strip():
            verb = line.strip().replace("-", "_")
            method = getattr(self, "do_" + verb, None)
            if method is None or not method.__doc__:
                return self.say(f"*** no verb '{line.strip()}': help lists them")
            return self.usage(method)
        for group, verbs in VERB_GROUPS.items():
            self.say(f"VPC verbs: {group}")
            for verb in verbs:
                doc = inspect.cleandoc(getattr(self, "do_" + verb.replace("-", "_")).__doc__)
                usage, _, rest = doc.removeprefix("Usage: ").replace("\n-- ", " -- ").partition(" -- ")
                usage, summary = usage.strip(), rest.split("\n")[0].split(". ")[0].rstrip(".")
                self.say(f"  {usage}\n  {'':8s}{summary}" if len(usage) > 52 else f"  {usage:52s}{summary}")
        ours = {verb.replace("-", "_") for verbs in VERB_GROUPS.values() for verb in verbs} | {"help", "EOF"}
        mininet = sorted(
            name[3:] for name in self.get_names() if name.startswith("do_") and name[3:] not in ours
        )
        self.say("Mininet verbs: " + " ".join(mininet))
        first, *others = self.emulation.topology.instances
        target = others[0].ip if others else first.ip
        self.say(
            "Run a command inside an instance or on a server (its Nitro card): NODE COMMAND, e.g.\n"
            f"  {first.name} ping -c 1 {target}\n  {first.server} ovs-ofctl -O OpenFlow13 dump-flows br-int\n"
            "help VERB (dashes as you type them: help sg-add) shows a verb's arguments."
        )
        return None

    def default(self, line):
        """A node's command (Mininet's), or an unknown verb: say which verb was meant."""
        first = line.split()[0] if line.split() else ""
        if first in self.mn:
            return super().default(line)
        verbs = [name[3:].replace("_", "-") for name in self.get_names() if name.startswith("do_")]
        close = difflib.get_close_matches(first.replace("_", "-"), verbs + list(self.mn), n=1)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        return self.say(f"*** unknown command '{first}'{guess} (help lists the verbs)")

    def onecmd(self, line):
        """Run one command; no exception inside a verb ends the session."""
        try:
            return super().onecmd(line)
        except Exception as error:
            verb = line.split()[0] if line.split() else ""
            self.say(f"*** {verb} failed: {error}")
            return False

    def parseline(self, line):
        """Dashed verbs as users type them (`sg-add`, `peering-delete`): Cmd would read `sg`."""
        first, _, rest = line.strip().partition(" ")
        if "-" in first and hasattr(self, "do_" + first.replace("-", "_")):
            return first.replace("-", "_"), rest.strip(), line
        return super().parseline(line)
