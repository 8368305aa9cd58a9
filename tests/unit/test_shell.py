"""The Mininet shell's VPC verbs, run through onecmd() on a fake emulation (no root)."""

import io
import os

import yaml
from vpc_fixtures import example

from controller.compiler import compile_topology
from controller.pipeline import TABLE
from controller.plan import cookie_of
from nitro_switch.commands import BuildError
from vpclab.intent.changes import Intent
from vpclab.shell import VpcCLI

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class FakeApi:
    """Hyperplane's API as the shell uses it; changes go through a real Intent."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            self.intent = Intent(path, yaml.safe_load(handle))
        self.changes = []

    def call(self, command, **fields):
        assert command == "intent"
        return {"ok": True, "data": self.intent.data}

    def change(self, operation, **arguments):
        self.intent.apply(operation, **arguments)
        self.changes.append((operation, arguments))
        return {"ok": True, "elapsed_ms": 1.0, "changed": {"srv1": {"added": 1, "deleted": 0}}}


class FakeServer:
    """A card whose dump-flows prints the compiled flows as ovs-ofctl would (cookie, table)."""

    def __init__(self, name, flows, up=True):
        self.name, self.flows, self.up = name, flows, up

    def daemon_pid(self, daemon):
        return os.getpid() if self.up else None

    def ofctl(self, command, *arguments):
        if not self.up:
            raise BuildError("`ovs-ofctl dump-flows` failed: Connection refused")
        table = int(arguments[0].split("=")[1]) if arguments else None
        lines = ["OFPST_FLOW reply (OF1.3) (xid=0x2):"]
        for each in self.flows:
            if table is None or each.table == table:
                lines.append(
                    f" cookie={cookie_of(each.origin):#x}, duration=1.5s, table={each.table}, "
                    f"n_packets=0, n_bytes=0, priority={each.priority} actions=drop"
                )
        return "\n".join(lines)


class FakeEmulation:
    def __init__(self, name):
        path = os.path.join(ROOT, "topologies", name)
        self.topology = example(name)
        self.api = FakeApi(path)
        compiled = compile_topology(self.topology)
        self.servers_by_name = {s: FakeServer(s, f) for s, f in compiled.flows.items()}
        self.hosts = type("Hosts", (), {"net": {}})()


def shell(emulation, *commands) -> str:
    """Run ``commands`` through the shell (Mininet's batch mode); return what it printed."""
    import tempfile

    out = io.StringIO()
    with tempfile.NamedTemporaryFile("w", suffix=".cli", delete=False) as script:
        script.write("\n".join(commands) + "\n")
    with open(os.devnull, encoding="utf-8") as nothing:
        VpcCLI(emulation, stdin=nothing, stdout=out, script=script.name)
    os.unlink(script.name)
    return out.getvalue()


def test_trace_prints_the_hops_and_the_verdict():
    text = shell(FakeEmulation("three-tier.yaml"), "trace web1 app1 tcp 8080", "trace app1 db1 tcp 5432")
    assert "ACCEPTED (admitted by vpcs[0].security_groups[1].ingress[0])" in text
    assert "DROPPED: nacl-egress on the return path" in text


def test_trace_refuses_what_it_cannot_follow_in_one_line():
    text = shell(
        FakeEmulation("three-tier.yaml"), "trace nobody app1", "trace web1 10.20.2.4 tcp x", "trace web1"
    )
    assert "*** no instance 'nobody'" in text
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
    assert "<- vpcs[0].security_groups[0].ingress[0]" in text  # web1 (web-sg) is on srv1
    assert not any(line.startswith("classify") for line in lines)
    assert "Usage: flows SERVER" in text and "stages: classify" in text
    assert TABLE["sg_ingress"] > 0


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
    assert "*** done in 1.0 ms; flows changed: srv1 +1/-0" in text
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
    class Refusing(FakeApi):
        def change(self, operation, **arguments):
            from controller.client import ApiError

            raise ApiError("no transit gateway 'nope'")

    emulation = FakeEmulation("tgw-blackhole.yaml")
    emulation.api = Refusing(os.path.join(ROOT, "topologies", "tgw-blackhole.yaml"))
    assert "*** refused: no transit gateway 'nope'" in shell(emulation, "blackhole nope hub 10.0.0.0/8")
