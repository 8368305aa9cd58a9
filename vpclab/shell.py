"""The Mininet CLI with VPC verbs: look at the running design, change it, break it.

The static verbs (trace, routes, sg) read the *running* intent from Hyperplane, so after a
change they describe the changed design; when the controller is down they use the last known.
"""

from __future__ import annotations

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


class VpcCLI(CLI):
    """Mininet's CLI over a running emulation, plus VPC verbs (`help` lists them)."""

    prompt = "vpclab> "

    def __init__(self, emulation, **kwargs):
        self.emulation = emulation
        self.last_topology = emulation.topology
        super().__init__(emulation.hosts.net, **kwargs)

    # -- helpers -----------------------------------------------------------------------------
    def topology(self) -> m.Topology:
        try:
            data = self.emulation.api.call("intent")["data"]
            self.last_topology = Intent(self.emulation.topology.source, data).topology
        except ApiError:
            self.stdout.write("(controller unreachable: showing the last known design)\n")
        return self.last_topology

    def say(self, text: str) -> None:
        self.stdout.write(text.rstrip("\n") + "\n")

    def usage(self, method) -> None:
        self.say(method.__doc__.strip().splitlines()[0])

    def change(self, operation: str, **arguments) -> None:
        try:
            answer = self.emulation.api.change(operation, **arguments)
        except ApiError as error:
            self.say(f"*** refused: {error}")
            return
        touched = ", ".join(
            f"{server} +{c['added']}/-{c['deleted']}" for server, c in answer["changed"].items()
        )
        self.say(f"*** done in {answer['elapsed_ms']} ms; flows changed: {touched}")

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

    # -- changes -----------------------------------------------------------------------------
    def do_blackhole(self, line):
        """Usage: blackhole TGW TABLE CIDR  -- the TGW route for CIDR becomes a blackhole."""
        words = line.split()
        if len(words) != 3:
            return self.usage(self.do_blackhole)
        return self.change("blackhole", tgw=words[0], table=words[1], cidr=words[2])

    def do_restore(self, line):
        """Usage: restore TGW TABLE CIDR  -- put the TGW route for CIDR back as the file had it."""
        words = line.split()
        if len(words) != 3:
            return self.usage(self.do_restore)
        return self.change("restore-tgw-route", tgw=words[0], table=words[1], cidr=words[2])

    def do_peering_delete(self, line):
        """Usage: peering-delete NAME  -- delete a peering (its routes become blackholes)."""
        if not line.strip():
            return self.usage(self.do_peering_delete)
        return self.change("delete-peering", peering=line.strip())

    def do_peering_restore(self, line):
        """Usage: peering-restore NAME  -- re-create a deleted peering."""
        if not line.strip():
            return self.usage(self.do_peering_restore)
        return self.change("restore-peering", peering=line.strip())

    def do_fail(self, line):
        """Usage: fail nitro SERVER | fail link SERVER | fail controller  -- inject a fault."""
        return self._fault(line, failing=True)

    def do_recover(self, line):
        """Usage: recover nitro SERVER | recover link SERVER | recover controller"""
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
            else:
                self.emulation.restart_controller()
            return self.say(f"*** controller {'killed' if failing else 'restarted and reconciled'}")
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

    def default(self, line):
        """Mininet treats unknown first words as node names; map our dashed verbs first."""
        first, _, rest = line.partition(" ")
        method = getattr(self, "do_" + first.replace("-", "_"), None)
        if method is not None and "-" in first:
            return method(rest)
        return super().default(line)
