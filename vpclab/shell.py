"""The Mininet CLI with VPC verbs: look at the running design, change it, break it.

The static verbs (trace, routes, sg) read the *running* intent from Hyperplane, so after a
change they describe the changed design; when the controller is down they use the last known.
"""

from __future__ import annotations

import inspect
import re

from mininet.cli import CLI

from controller.client import ApiError
from controller.compiler import compile_topology
from controller.pipeline import STAGES, TABLE
from controller.plan import cookie_of
from nitro_switch import faults
from vpclab.arguments import UsageError, resolve_destination
from vpclab.intent import model as m
from vpclab.intent.changes import Intent
from vpclab.intent.values import parse_protocol
from vpclab.oracle.routing import tgw_routes
from vpclab.oracle.trace import trace
from vpclab.render import render_verdict

from .shell_changes import ChangeVerbs


class VpcCLI(ChangeVerbs, CLI):
    """Mininet's CLI over a running emulation, plus VPC verbs (`help` lists them)."""

    prompt = "vpclab> "

    def __init__(self, emulation, **kwargs):
        self.emulation = emulation
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
            answer = self.emulation.api.change(operation, **arguments)
        except ApiError as error:
            self.say(f"*** refused: {error}")
            return
        touched = ", ".join(
            f"{server} +{c['added']}/-{c['deleted']}" for server, c in answer["changed"].items()
        )
        self.say(f"*** {answer.get('summary') or 'done'}")
        self.say(f"    flows changed in {answer['elapsed_ms']} ms: {touched}")

    # -- static views ------------------------------------------------------------------------
    def do_trace(self, line):
        """Usage: trace SRC DST [tcp|udp|icmp|N] [PORT]  -- follow a connection statically."""
        words = line.split()
        if len(words) < 2:
            return self.usage(self.do_trace)
        topology = self.topology()
        try:
            source = topology.instance(words[0])
            target = resolve_destination(topology, words[1])
            protocol = parse_protocol(words[2] if len(words) > 2 else "icmp")
            port = int(words[3]) if len(words) > 3 else None
        except KeyError:
            return self.say(f"*** no instance '{words[0]}'")
        except (UsageError, ValueError) as error:
            return self.say(f"*** {error}")
        self.say(render_verdict(trace(topology, source, target, protocol, port)))

    def do_routes(self, line):
        """Usage: routes INSTANCE | routes tgw NAME  -- effective routes, longest prefix first."""
        words = line.split()
        topology = self.topology()
        if len(words) == 2 and words[0] == "tgw":
            try:
                tgw = topology.transit_gateway(words[1])
            except KeyError:
                return self.say(f"*** no transit gateway '{words[1]}'")
            for table in tgw.route_tables:
                self.say(f"TGW route table {table.name}: associated {', '.join(table.associations) or '-'}")
                for route in sorted(
                    tgw_routes(topology, tgw, table), key=lambda r: (-r.destination.prefixlen, r.propagated)
                ):
                    self.say(f"  {route.describe():48s} [{route.origin}]")
            return None
        if len(words) != 1:
            return self.usage(self.do_routes)
        try:
            instance = topology.instance(words[0])
        except KeyError:
            return self.say(f"*** no instance '{words[0]}'")
        vpc = topology.vpc(instance.vpc)
        table = vpc.route_table(vpc.subnet(instance.subnet).route_table)
        self.say(f"{instance.name} ({instance.ip}) in {vpc.name}/{instance.subnet}: route table {table.name}")
        for route in sorted(table.routes, key=lambda r: -r.destination.prefixlen):
            state = (
                " (blackhole: peering deleted)"
                if route.peering and topology.peering(route.peering).deleted
                else ""
            )
            self.say(f"  {route.describe() + state:48s} [{route.origin}]")
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
        """Usage: flows SERVER [STAGE]  -- the Nitro card's flows, each with its YAML origin."""
        words = line.split()
        servers = self.emulation.servers_by_name
        if not words or words[0] not in servers or (len(words) > 1 and words[1] not in TABLE):
            self.usage(self.do_flows)
            return self.say(f"servers: {', '.join(servers)}; stages: {', '.join(STAGES)}")
        if not faults.card_is_up(self.emulation, words[0]):
            return self.say(f"*** {words[0]}'s Nitro card is down: recover nitro {words[0]}")
        origins = {cookie_of(f.origin): f.origin for f in compile_topology(self.topology()).flows[words[0]]}
        arguments = [f"table={TABLE[words[1]]}"] if len(words) > 1 else []
        for flow_line in servers[words[0]].ofctl("dump-flows", *arguments).splitlines()[1:]:
            cookie = re.search(r"cookie=0x([0-9a-f]+)", flow_line)
            table = re.search(r"table=(\d+)", flow_line)
            origin = origins.get(int(cookie.group(1), 16), "?") if cookie else "?"
            stage = STAGES[int(table.group(1))] if table else "classify"
            text = re.sub(r"cookie=0x[0-9a-f]+, duration=[0-9.]+s, table=\d+, ", "", flow_line.strip())
            self.say(f"{stage:16s} {text}\n{'':16s}   <- {origin}")
        return None

    # -- faults ------------------------------------------------------------------------------
    def do_fail(self, line):
        """Usage: fail nitro SERVER | fail link SERVER | fail controller  -- inject a fault."""
        return self._fault(line, failing=True)

    def do_recover(self, line):
        """Usage: recover nitro SERVER | recover link SERVER | recover controller [--discard-changes]"""
        return self._fault(line, failing=False)

    def _fault(self, line: str, failing: bool):
        words = line.split()
        method = self.do_fail if failing else self.do_recover
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
