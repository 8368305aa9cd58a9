"""The shell's verbs for runtime changes, one per operation of Hyperplane's API, and the verbs
that show what changed (`changes`, `design`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import yaml

from controller.hyperplane.client import ApiError
from vpclab.intent.changes import flow_text
from vpclab.ui.rulespec import RuleSyntaxError, nacl_rule, sg_rule

DIRECTIONS = ("ingress", "egress")
SWITCHES = {"on": True, "off": False}


class ChangeVerbs:
    """Mixed into the shell: needs ``change``, ``say``, ``usage``, ``running_data`` and ``emulation``."""

    if TYPE_CHECKING:  # what the shell (vpclab.ui.shell.VpcCLI) provides
        emulation: Any

        def say(self, text: str) -> None: ...
        def usage(self, method) -> None: ...
        def change(self, operation: str, **arguments) -> None: ...
        def running_data(self) -> dict: ...

    def do_sg_add(self, line):
        """Usage: sg-add SG ingress|egress RULE  -- add a rule to a security group.
        RULE: PROTOCOL [PORTS|ICMP-TYPE[:CODE]] CIDR|SG, e.g. tcp 443 0.0.0.0/0, tcp 22 bastion-sg,
        icmp 8 10.0.0.0/8, or a YAML mapping {protocol: udp, ports: 53, cidr: 10.0.0.0/8}."""
        return self._sg_rule(line, "add-sg-rule", self.do_sg_add)

    def do_sg_remove(self, line):
        """Usage: sg-remove SG ingress|egress RULE  -- remove a security group's rule.
        RULE is written as for sg-add and must equal the rule (as `sg INSTANCE` or `design` shows it)."""
        return self._sg_rule(line, "remove-sg-rule", self.do_sg_remove)

    def _sg_rule(self, line, operation, verb):
        words = line.split()
        if len(words) < 3 or words[1] not in DIRECTIONS:
            return self.usage(verb)
        try:
            rule = sg_rule(words[2:])
        except RuleSyntaxError as error:
            return self.say(f"*** {error}")
        return self.change(operation, security_group=words[0], direction=words[1], rule=rule)

    def do_nacl_add(self, line):
        """Usage: nacl-add VPC NACL ingress|egress RULE  -- add a numbered rule to a NACL.
        RULE: NUMBER allow|deny PROTOCOL [PORTS|ICMP-TYPE[:CODE]] CIDR, e.g. 90 deny tcp 22 0.0.0.0/0."""
        words = line.split()
        if len(words) < 4 or words[2] not in DIRECTIONS:
            return self.usage(self.do_nacl_add)
        try:
            rule = nacl_rule(words[3:])
        except RuleSyntaxError as error:
            return self.say(f"*** {error}")
        return self.change("add-nacl-rule", vpc=words[0], nacl=words[1], direction=words[2], rule=rule)

    def do_nacl_remove(self, line):
        """Usage: nacl-remove VPC NACL ingress|egress NUMBER  -- remove the NACL rule with that number."""
        words = line.split()
        if len(words) != 4 or words[2] not in DIRECTIONS or not words[3].isdigit():
            return self.usage(self.do_nacl_remove)
        return self.change(
            "remove-nacl-rule", vpc=words[0], nacl=words[1], direction=words[2], number=int(words[3])
        )

    def do_tgw_route(self, line):
        """Usage: tgw-route TGW TABLE CIDR ATTACHMENT|blackhole  -- add or replace a static TGW route."""
        words = line.split()
        if len(words) != 4:
            return self.usage(self.do_tgw_route)
        tgw, table, cidr, target = words
        if target == "blackhole":
            return self.change("blackhole", tgw=tgw, table=table, cidr=cidr)
        return self.change("tgw-route", tgw=tgw, table=table, cidr=cidr, attachment=target)

    def do_tgw_route_remove(self, line):
        """Usage: tgw-route-remove TGW TABLE CIDR  -- remove a static TGW route."""
        return self._tgw_cidr(line, "remove-tgw-route", self.do_tgw_route_remove)

    def _tgw_cidr(self, line, operation, verb):
        words = line.split()
        if len(words) != 3:
            return self.usage(verb)
        return self.change(operation, tgw=words[0], table=words[1], cidr=words[2])

    def do_propagation(self, line):
        """Usage: propagation TGW TABLE ATTACHMENT on|off  -- propagate an attachment's CIDRs, or stop."""
        return self._attachment_list(line, "propagation", self.do_propagation)

    def do_association(self, line):
        """Usage: association TGW TABLE ATTACHMENT on|off  -- associate an attachment with a table, or not."""
        return self._attachment_list(line, "association", self.do_association)

    def _attachment_list(self, line, what, verb):
        words = line.split()
        if len(words) != 4 or words[3] not in SWITCHES:
            return self.usage(verb)
        operation = f"{'add' if SWITCHES[words[3]] else 'remove'}-{what}"
        return self.change(operation, tgw=words[0], table=words[1], attachment=words[2])

    def do_blackhole(self, line):
        """Usage: blackhole TGW TABLE CIDR  -- the TGW route for CIDR becomes a blackhole (added if none)."""
        return self._tgw_cidr(line, "blackhole", self.do_blackhole)

    def do_restore(self, line):
        """Usage: restore TGW TABLE CIDR  -- put the TGW route for CIDR back as the file had it."""
        return self._tgw_cidr(line, "restore-tgw-route", self.do_restore)

    def do_peering_request(self, line):
        """Usage: peering-request NAME REQUESTER-VPC ACCEPTER-VPC  -- request a peering: it is
        pending-acceptance (routes to it are blackholes) until peering-accept."""
        words = line.split()
        if len(words) != 3:
            return self.usage(self.do_peering_request)
        return self.change("request-peering", peering=words[0], requester=words[1], accepter=words[2])

    def do_peering_accept(self, line):
        """Usage: peering-accept NAME  -- the accepter accepts a pending peering: it is active."""
        return self._one_name(line, "accept-peering", self.do_peering_accept)

    def do_peering_reject(self, line):
        """Usage: peering-reject NAME  -- the accepter rejects a pending peering."""
        return self._one_name(line, "reject-peering", self.do_peering_reject)

    def _one_name(self, line, operation, verb):
        if len(line.split()) != 1:
            return self.usage(verb)
        return self.change(operation, peering=line.strip())

    def do_attachment_accept(self, line):
        """Usage: attachment-accept TGW ATTACHMENT  -- the TGW's owner accepts an attachment."""
        return self._attachment(line, "accept-attachment", self.do_attachment_accept)

    def do_attachment_reject(self, line):
        """Usage: attachment-reject TGW ATTACHMENT  -- the TGW's owner rejects an attachment."""
        return self._attachment(line, "reject-attachment", self.do_attachment_reject)

    def _attachment(self, line, operation, verb):
        words = line.split()
        if len(words) != 2:
            return self.usage(verb)
        return self.change(operation, tgw=words[0], attachment=words[1])

    def do_route_add(self, line):
        """Usage: route-add VPC TABLE CIDR peering|transit_gateway|internet_gateway|nat_gateway|instance NAME
        -- add a route to a VPC's route table, e.g. route-add prod main 10.2.0.0/16 peering prod-dev."""
        words = line.split()
        if len(words) != 5:
            return self.usage(self.do_route_add)
        vpc, table, destination, target, name = words
        return self.change(
            "add-route", vpc=vpc, table=table, destination=destination, target=target, name=name
        )

    def do_route_remove(self, line):
        """Usage: route-remove VPC TABLE CIDR  -- remove a VPC route table's route to CIDR."""
        words = line.split()
        if len(words) != 3:
            return self.usage(self.do_route_remove)
        return self.change("remove-route", vpc=words[0], table=words[1], destination=words[2])

    def do_peering_delete(self, line):
        """Usage: peering-delete NAME  -- delete a peering (its routes become blackholes)."""
        return self._one_name(line, "delete-peering", self.do_peering_delete)

    def do_peering_restore(self, line):
        """Usage: peering-restore NAME  -- re-create a deleted peering."""
        return self._one_name(line, "restore-peering", self.do_peering_restore)

    # -- what changed ----------------------------------------------------------------------------
    def do_changes(self, line):
        """Usage: changes  -- the runtime changes applied since bring-up, oldest first."""
        try:
            changes = self.emulation.api.call("changes")["changes"]
        except ApiError:
            self.say("(controller unreachable: showing the changes last applied)")
            changes = self.emulation.applied_changes()
        if not changes:
            return self.say("no runtime changes since bring-up")
        for n, change in enumerate(changes, 1):
            when = time.strftime("%H:%M:%S", time.localtime(change["time"]))
            arguments = " ".join(
                f"{k}={flow_text(v) if isinstance(v, dict) else v}" for k, v in change["arguments"].items()
            )
            problems = "; ".join(change.get("late", []) + change.get("refused", []))
            self.say(f"{n:3d} {when} {change['operation']} {arguments}")
            self.say(f"      {change.get('summary', '')}" + (f"  (problems: {problems})" if problems else ""))
        return None

    def do_design(self, line):
        """Usage: design [--yaml FILE]  -- the running design as a topology file (printed, or saved)."""
        words = line.split()
        if words and (len(words) != 2 or words[0] != "--yaml"):
            return self.usage(self.do_design)
        data = {k: v for k, v in self.running_data().items() if k != "numbering"}  # a new run numbers anew
        text = yaml.safe_dump(data, sort_keys=False)
        if not words:
            return self.say(text)
        try:
            with open(words[1], "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            return self.say(f"*** cannot write {words[1]}: {error.strerror}")
        return self.say(f"*** the running design is in {words[1]} (`vpclab check {words[1]}` accepts it)")
