"""Runtime changes to a running design, as edits of its YAML data (pure, no switch).

The running intent is the topology's YAML data; a change edits that data and reloads it
through the same loader, so every change is validated exactly like a file and ``restore``
puts back what the original file said. The controller then diffs the compiled flows and
sends only those that changed (see ``differ``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Optional

import yaml

from . import model as m
from .errors import TopologyError, format_path
from .loader import load_topology


class ChangeError(Exception):
    """A change that cannot be applied; the message says why."""


class Intent:
    """The running design: the original YAML data and the current, changed data."""

    def __init__(self, source: str, data: dict):
        self.source = source
        self.original = copy.deepcopy(data)
        self.data = copy.deepcopy(data)
        self.topology = self._load(self.data)

    @classmethod
    def from_file(cls, source: str) -> Intent:
        with open(source, encoding="utf-8") as handle:
            return cls(source, yaml.safe_load(handle))

    def _load(self, data: dict) -> m.Topology:
        try:
            return load_topology(self.source, yaml.safe_dump(data, sort_keys=False))
        except TopologyError as error:
            raise ChangeError(
                "; ".join(f"{format_path(p.path)}: {p.message}" for p in error.problems)
            ) from None

    def apply(self, operation: str, **arguments) -> m.Topology:
        """Apply one change by name (see OPERATIONS); on error nothing changes."""
        if operation not in OPERATIONS:
            raise ChangeError(f"unknown change '{operation}' (known: {', '.join(OPERATIONS)})")
        changed = copy.deepcopy(self.data)
        try:
            OPERATIONS[operation](self, changed, **arguments)
        except TypeError as error:
            raise ChangeError(f"{operation}: {error}") from None
        self.topology = self._load(changed)
        self.data = changed
        return self.topology


# -- finding things in the data ----------------------------------------------------------------
def _named(items: list, name: str, what: str, where: str = "") -> dict:
    for item in items:
        if item.get("name") == name:
            return item
    raise ChangeError(f"no {what} '{name}'{where}")


def _tgw_table(data: dict, tgw: str, table: str) -> dict:
    gateway = _named(data.get("transit_gateways", []), tgw, "transit gateway")
    return _named(gateway.get("route_tables", []), table, "route table", f" in transit gateway '{tgw}'")


def _security_group(data: dict, name: str) -> dict:
    vpc_name, _, group = name.rpartition("/")
    for vpc in data["vpcs"]:
        if vpc_name and vpc["name"] != vpc_name:
            continue
        for sg in vpc.get("security_groups", []):
            if sg["name"] == group:
                return sg
    if group == "default" and vpc_name:
        vpc = _named(data["vpcs"], vpc_name, "VPC")
        vpc.setdefault("security_groups", []).append(
            {"name": "default", "ingress": [{"protocol": "all", "security_group": "default"}]}
        )
        return vpc["security_groups"][-1]
    raise ChangeError(f"no security group '{name}' (a VPC's default SG is 'VPC/default')")


def _nacl(data: dict, vpc: str, name: str) -> dict:
    return _named(_named(data["vpcs"], vpc, "VPC").get("nacls", []), name, "NACL", f" in VPC '{vpc}'")


def _direction(direction: str) -> str:
    if direction not in ("ingress", "egress"):
        raise ChangeError(f"direction must be ingress or egress, not '{direction}'")
    return direction


# -- the changes -------------------------------------------------------------------------------
def tgw_route(
    intent, data, tgw: str, table: str, cidr: str, attachment: Optional[str] = None, blackhole: bool = False
) -> None:
    """Add or replace the static route for ``cidr`` (to an attachment, or a blackhole)."""
    routes = _tgw_table(data, tgw, table).setdefault("routes", [])
    route = (
        {"destination": cidr, "blackhole": True}
        if blackhole
        else {"destination": cidr, "attachment": attachment}
    )
    for index, existing in enumerate(routes):
        if existing["destination"] == cidr:
            routes[index] = route
            return
    routes.append(route)


def blackhole(intent, data, tgw: str, table: str, cidr: str) -> None:
    """Turn the TGW route for ``cidr`` into a blackhole (adding one if there is none)."""
    tgw_route(intent, data, tgw, table, cidr, blackhole=True)


def remove_tgw_route(intent, data, tgw: str, table: str, cidr: str) -> None:
    routes = _tgw_table(data, tgw, table).get("routes", [])
    kept = [r for r in routes if r["destination"] != cidr]
    if len(kept) == len(routes):
        raise ChangeError(f"no static route for {cidr} in {tgw}/{table}")
    _tgw_table(data, tgw, table)["routes"] = kept


def restore_tgw_route(intent, data, tgw: str, table: str, cidr: str) -> None:
    """Put the route for ``cidr`` back as the original file had it (or remove it)."""
    original_table = _tgw_table(intent.original, tgw, table)
    original = [r for r in original_table.get("routes", []) if r["destination"] == cidr]
    current = _tgw_table(data, tgw, table)
    routes = [r for r in current.get("routes", []) if r["destination"] != cidr]
    current["routes"] = routes + copy.deepcopy(original)
    if not current["routes"] and "routes" not in original_table:
        del current["routes"]


def _list_edit(key: str, add: bool) -> Callable:
    def edit(intent, data, tgw: str, table: str, attachment: str) -> None:
        entries = _tgw_table(data, tgw, table).setdefault(key, [])
        if add and attachment not in entries:
            entries.append(attachment)
        elif not add:
            if attachment not in entries:
                raise ChangeError(f"'{attachment}' is not in {key} of {tgw}/{table}")
            entries.remove(attachment)

    edit.__doc__ = f"{'Add' if add else 'Remove'} an attachment {'to' if add else 'from'} {key}."
    return edit


def delete_peering(intent, data, peering: str) -> None:
    """The peering is deleted: routes to it become blackholes (AWS state blackhole)."""
    _named(data.get("peerings", []), peering, "peering")["deleted"] = True


def restore_peering(intent, data, peering: str) -> None:
    entry = _named(data.get("peerings", []), peering, "peering")
    original = _named(intent.original.get("peerings", []), peering, "peering")
    entry.pop("deleted", None)
    if original.get("deleted"):
        entry["deleted"] = True


def add_sg_rule(intent, data, security_group: str, direction: str, rule: dict) -> None:
    group = _security_group(data, security_group)
    direction = _direction(direction)
    if direction == "egress" and "egress" not in group:
        group["egress"] = [{"protocol": "all", "cidr": "0.0.0.0/0"}]  # make the default explicit
    group.setdefault(direction, []).append(dict(rule))


def remove_sg_rule(intent, data, security_group: str, direction: str, rule: dict) -> None:
    """Remove the rule equal to ``rule`` (same keys and values)."""
    group = _security_group(data, security_group)
    direction = _direction(direction)
    if direction == "egress" and "egress" not in group:
        group["egress"] = [{"protocol": "all", "cidr": "0.0.0.0/0"}]
    rules = group.get(direction, [])
    if dict(rule) not in rules:
        raise ChangeError(f"security group '{security_group}' has no {direction} rule {rule}")
    rules.remove(dict(rule))


def add_nacl_rule(intent, data, vpc: str, nacl: str, direction: str, rule: dict) -> None:
    _nacl(data, vpc, nacl).setdefault(_direction(direction), []).append(dict(rule))


def remove_nacl_rule(intent, data, vpc: str, nacl: str, direction: str, number: int) -> None:
    rules = _nacl(data, vpc, nacl).get(_direction(direction), [])
    kept = [r for r in rules if r["rule"] != number]
    if len(kept) == len(rules):
        raise ChangeError(f"NACL '{nacl}' has no {direction} rule {number}")
    _nacl(data, vpc, nacl)[direction] = kept


OPERATIONS: dict[str, Callable] = {
    "tgw-route": tgw_route,
    "blackhole": blackhole,
    "remove-tgw-route": remove_tgw_route,
    "restore-tgw-route": restore_tgw_route,
    "remove-propagation": _list_edit("propagations", add=False),
    "add-propagation": _list_edit("propagations", add=True),
    "remove-association": _list_edit("associations", add=False),
    "add-association": _list_edit("associations", add=True),
    "delete-peering": delete_peering,
    "restore-peering": restore_peering,
    "add-sg-rule": add_sg_rule,
    "remove-sg-rule": remove_sg_rule,
    "add-nacl-rule": add_nacl_rule,
    "remove-nacl-rule": remove_nacl_rule,
}
