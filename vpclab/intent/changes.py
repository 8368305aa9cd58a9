"""Runtime changes to a running design, as edits of its YAML data (pure, no switch).

The running intent is the topology's YAML data; a change edits that data and reloads it
through the same loader, so every change is validated exactly like a file and ``restore``
puts back what the original file said. The controller then diffs the compiled flows and
sends only those that changed (see ``differ``).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from collections.abc import Callable
from typing import Optional

import yaml

from . import model as m
from .endpoints import ENDPOINT_OPERATIONS
from .errors import ChangeError, TopologyError, format_path
from .lifecycle import LIFECYCLE_OPERATIONS
from .loader import topology_from_data
from .resources import RESOURCE_OPERATIONS
from .transit_gateways import TGW_OPERATIONS


class Intent:
    """The running design: the original YAML data and the current, changed data."""

    def __init__(self, source: str, data: dict, original: Optional[dict] = None):
        self.source = source
        self.original = copy.deepcopy(original if original is not None else data)
        self.data = copy.deepcopy(data)
        self.topology = self._load(self.data)
        self.summary = ""  # what the last change did, in words
        # what refuses a changed design the running emulation cannot carry (it raises)
        self.refuse: Optional[Callable[[m.Topology], None]] = None

    @classmethod
    def from_file(cls, source: str) -> Intent:
        with open(source, encoding="utf-8") as handle:
            return cls(source, yaml.safe_load(handle))

    def _load(self, data: dict, valid_before: Optional[dict] = None) -> m.Topology:
        try:
            return topology_from_data(self.source, data, valid_before)
        except TopologyError as error:
            raise ChangeError(
                "; ".join(f"{format_path(p.path)}: {p.message}" for p in error.problems)
            ) from None

    def apply(self, operation: str, **arguments) -> m.Topology:
        """Apply one change by name (see OPERATIONS); on error nothing changes."""
        if operation not in OPERATIONS:
            close = difflib.get_close_matches(str(operation), OPERATIONS, n=1)
            guess = f"; did you mean '{close[0]}'?" if close else ""
            raise ChangeError(f"unknown change '{operation}'{guess} (known: {', '.join(OPERATIONS)})")
        changed = copy.deepcopy(self.data)
        try:
            summary = OPERATIONS[operation](self, changed, **arguments)
        except TypeError as error:
            raise ChangeError(f"{operation}: {error}") from None
        topology = self._load(changed, valid_before=self.data)
        if self.refuse is not None:
            self.refuse(topology)
        self.topology = topology
        self.data = changed
        self.summary = summary
        return self.topology

    # -- the running intent on disk (the run directory), so a restarted controller finds it --
    def save(self, path: str, changes: list) -> None:
        """Write the original and current data and the change log atomically (rename)."""
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(
                {"source": self.source, "original": self.original, "data": self.data, "changes": changes},
                handle,
            )
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: str) -> tuple[Intent, list]:
        """The intent and change log that ``save`` wrote."""
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
        return cls(state["source"], state["data"], state["original"]), state["changes"]


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
    entry = _named(data["vpcs"], vpc, "VPC")
    if name == "default" and not any(n.get("name") == "default" for n in entry.get("nacls", [])):
        allow_all = {"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}
        entry.setdefault("nacls", []).append(  # the implicit one, as the loader makes it (AWS's)
            {"name": "default", "ingress": [dict(allow_all)], "egress": [dict(allow_all)]}
        )
    return _named(entry.get("nacls", []), name, "NACL", f" in VPC '{vpc}'")


def _direction(direction: str) -> str:
    if direction not in ("ingress", "egress"):
        raise ChangeError(f"direction must be ingress or egress, not '{direction}'")
    return direction


# -- the changes -------------------------------------------------------------------------------
def tgw_route(
    intent, data, tgw: str, table: str, cidr: str, attachment: Optional[str] = None, blackhole: bool = False
) -> str:
    """Add or replace the static route for ``cidr`` (to an attachment, or a blackhole)."""
    if not blackhole and not attachment:
        raise ChangeError("tgw-route needs an attachment or blackhole")
    routes = _tgw_table(data, tgw, table).setdefault("routes", [])
    route = (
        {"destination": cidr, "blackhole": True}
        if blackhole
        else {"destination": cidr, "attachment": attachment}
    )
    target = "a blackhole" if blackhole else f"to attachment {attachment}"
    for index, existing in enumerate(routes):
        if existing["destination"] == cidr:
            if existing == route:
                return f"the static route for {cidr} in {tgw}/{table} is already {target}"
            routes[index] = route
            return f"the static route for {cidr} in {tgw}/{table} is now {target}"
    routes.append(route)
    return f"added a static route for {cidr} in {tgw}/{table}: {target}"


def blackhole(intent, data, tgw: str, table: str, cidr: str) -> str:
    """Turn the TGW route for ``cidr`` into a blackhole (adding one if there is none)."""
    return tgw_route(intent, data, tgw, table, cidr, blackhole=True)


def remove_tgw_route(intent, data, tgw: str, table: str, cidr: str) -> str:
    routes = _tgw_table(data, tgw, table).get("routes", [])
    kept = [r for r in routes if r["destination"] != cidr]
    if len(kept) == len(routes):
        raise ChangeError(f"no static route for {cidr} in {tgw}/{table}")
    _tgw_table(data, tgw, table)["routes"] = kept
    return f"removed the static route for {cidr} from {tgw}/{table}"


def restore_tgw_route(intent, data, tgw: str, table: str, cidr: str) -> str:
    """Put the route for ``cidr`` back as the original file had it (or remove it)."""
    original_table = _tgw_table(intent.original, tgw, table)
    original = [r for r in original_table.get("routes", []) if r["destination"] == cidr]
    current = _tgw_table(data, tgw, table)
    now = [r for r in current.get("routes", []) if r["destination"] == cidr]
    if now == original:
        return f"nothing to restore: the route for {cidr} in {tgw}/{table} is as the file has it"
    routes = [r for r in current.get("routes", []) if r["destination"] != cidr]
    current["routes"] = routes + copy.deepcopy(original)
    if not current["routes"] and "routes" not in original_table:
        del current["routes"]
    if not original:
        return f"removed the route for {cidr} from {tgw}/{table} (the file has none)"
    return f"restored the route for {cidr} in {tgw}/{table} as the file has it"


def _list_edit(key: str, add: bool) -> Callable:
    def edit(intent, data, tgw: str, table: str, attachment: str) -> str:
        entries = _tgw_table(data, tgw, table).setdefault(key, [])
        if add and attachment in entries:
            return f"'{attachment}' is already in {key} of {tgw}/{table}"
        if add:
            entries.append(attachment)
            return f"added '{attachment}' to {key} of {tgw}/{table}"
        if attachment not in entries:
            raise ChangeError(f"'{attachment}' is not in {key} of {tgw}/{table}")
        entries.remove(attachment)
        return f"removed '{attachment}' from {key} of {tgw}/{table}"

    edit.__doc__ = f"{'Add' if add else 'Remove'} an attachment {'to' if add else 'from'} {key}."
    return edit


def _status(entry: dict) -> str:
    return entry.get("status", "deleted" if entry.get("deleted") else "active")


def _set_status(entry: dict, status: str) -> None:
    entry.pop("deleted", None)
    entry["status"] = status


def request_peering(intent, data, peering: str, requester: str, accepter: str) -> str:
    """A peering request: pending-acceptance until the accepter's owner accepts it (AWS)."""
    peerings = data.setdefault("peerings", [])
    if any(entry.get("name") == peering for entry in peerings):
        raise ChangeError(f"a peering named '{peering}' already exists")
    peerings.append(
        {"name": peering, "requester": requester, "accepter": accepter, "status": "pending-acceptance"}
    )
    return f"requested peering '{peering}' from '{requester}' to '{accepter}': pending-acceptance"


def _answer_peering(accept: bool):
    def answer(intent, data, peering: str) -> str:
        entry = _named(data.get("peerings", []), peering, "peering")
        if _status(entry) != "pending-acceptance":
            verb = "accepted" if accept else "rejected"
            raise ChangeError(
                f"peering '{peering}' is {_status(entry)}: only a pending-acceptance one can be {verb}"
            )
        _set_status(entry, "active" if accept else "rejected")
        return f"peering '{peering}' is " + (
            "active: routes to it carry packets" if accept else "rejected: routes to it stay blackholes"
        )

    answer.__doc__ = f"The accepter's owner {'accepts' if accept else 'rejects'} a pending peering."
    return answer


def delete_peering(intent, data, peering: str) -> str:
    """The peering (active or pending) is deleted: routes to it become blackholes (AWS)."""
    entry = _named(data.get("peerings", []), peering, "peering")
    if _status(entry) in ("deleted", "rejected"):
        return f"peering '{peering}' is already {_status(entry)}"
    _set_status(entry, "deleted")
    return f"deleted peering '{peering}': its routes are now blackholes"


def restore_peering(intent, data, peering: str) -> str:
    entry = _named(data.get("peerings", []), peering, "peering")
    original = next((p for p in intent.original.get("peerings", []) if p.get("name") == peering), None)
    if original is None:
        raise ChangeError(f"peering '{peering}' is not in the file: delete it instead")
    if _status(entry) == _status(original):
        return f"nothing to restore: peering '{peering}' is as the file has it"
    _set_status(entry, _status(original))
    if _status(original) == "active":
        return f"re-created peering '{peering}'"
    return f"peering '{peering}' is {_status(original)} again, as the file has it"


def _answer_attachment(accept: bool):
    def answer(intent, data, tgw: str, attachment: str) -> str:
        gateway = _named(data.get("transit_gateways", []), tgw, "transit gateway")
        entry = _named(
            gateway.get("attachments", []), attachment, "attachment", f" on transit gateway '{tgw}'"
        )
        status = intent.topology.transit_gateway(tgw).attachment(attachment).status
        if status != "pending-acceptance":
            raise ChangeError(
                f"attachment '{attachment}' is {status}: only a pending-acceptance one can be answered"
            )
        entry["status"] = "available" if accept else "rejected"
        return f"attachment '{attachment}' of '{tgw}' is {entry['status']}"

    answer.__doc__ = f"The TGW's owner {'accepts' if accept else 'rejects'} another account's attachment."
    return answer


ROUTE_TARGETS = ("peering", "transit_gateway", "internet_gateway", "nat_gateway", "instance")


def add_route(intent, data, vpc: str, table: str, destination: str, target: str, name: str) -> str:
    """A route in a VPC's route table (the seed's step after a peering is accepted)."""
    if target not in ROUTE_TARGETS:
        raise ChangeError(f"a route goes to one of {', '.join(ROUTE_TARGETS)}, not '{target}'")
    routes = _route_table(data, vpc, table).setdefault("routes", [])
    if any(route.get("destination") == destination for route in routes):
        raise ChangeError(f"route table '{table}' of '{vpc}' already has a route to {destination}")
    routes.append({"destination": destination, target: name})
    return f"added route {destination} -> {target} {name} to {vpc}/{table}"


def remove_route(intent, data, vpc: str, table: str, destination: str) -> str:
    entry = _route_table(data, vpc, table)
    kept = [route for route in entry.get("routes", []) if route.get("destination") != destination]
    if len(kept) == len(entry.get("routes", [])):
        raise ChangeError(f"route table '{table}' of '{vpc}' has no route to {destination}")
    entry["routes"] = kept
    return f"removed the route to {destination} from {vpc}/{table}"


def _route_table(data: dict, vpc: str, table: str) -> dict:
    entry = _named(data["vpcs"], vpc, "VPC")
    if table == "main" and not any(
        t.get("name") == "main" or t.get("main") for t in entry.get("route_tables", [])
    ):
        entry.setdefault("route_tables", []).append({"name": "main", "main": True})  # the implicit one
    return _named(entry.get("route_tables", []), table, "route table", f" in VPC '{vpc}'")


def add_sg_rule(intent, data, security_group: str, direction: str, rule: dict) -> str:
    group = _security_group(data, security_group)
    direction = _direction(direction)
    if direction == "egress" and "egress" not in group:
        group["egress"] = [{"protocol": "all", "cidr": "0.0.0.0/0"}]  # make the default explicit
    if dict(rule) in group.get(direction, []):
        return f"security group '{security_group}' already has that {direction} rule"
    group.setdefault(direction, []).append(dict(rule))
    return f"added {direction} rule {flow_text(rule)} to security group '{security_group}'"


def remove_sg_rule(intent, data, security_group: str, direction: str, rule: dict) -> str:
    """Remove the rule equal to ``rule`` (same keys and values)."""
    group = _security_group(data, security_group)
    direction = _direction(direction)
    if direction == "egress" and "egress" not in group:
        group["egress"] = [{"protocol": "all", "cidr": "0.0.0.0/0"}]
    rules = group.get(direction, [])
    if dict(rule) not in rules:
        raise ChangeError(f"security group '{security_group}' has no {direction} rule {rule}")
    rules.remove(dict(rule))
    return f"removed {direction} rule {flow_text(rule)} from security group '{security_group}'"


def add_nacl_rule(intent, data, vpc: str, nacl: str, direction: str, rule: dict) -> str:
    rules = _nacl(data, vpc, nacl).setdefault(_direction(direction), [])
    if any(r["rule"] == rule.get("rule") for r in rules):
        raise ChangeError(f"NACL '{nacl}' already has {direction} rule {rule.get('rule')}; remove it first")
    rules.append(dict(rule))
    return f"added {direction} rule {flow_text(rule)} to NACL {vpc}/{nacl}"


def remove_nacl_rule(intent, data, vpc: str, nacl: str, direction: str, number: int) -> str:
    rules = _nacl(data, vpc, nacl).get(_direction(direction), [])
    kept = [r for r in rules if r["rule"] != number]
    if len(kept) == len(rules):
        raise ChangeError(f"NACL '{nacl}' has no {direction} rule {number}")
    _nacl(data, vpc, nacl)[direction] = kept
    return f"removed {direction} rule {number} from NACL {vpc}/{nacl}"


def failover(intent, data, vpc: str, table: str, destination: str, path: int, reason: str = "") -> str:
    """Make ``path`` (an index into the route's ``failover`` list) the route's active path."""
    tables = _named(data["vpcs"], vpc, "VPC").get("route_tables", [])
    routes = _named(tables, table, "route table", f" in VPC '{vpc}'").get("routes", [])
    route = next((r for r in routes if r["destination"] == destination and "failover" in r), None)
    if route is None:
        raise ChangeError(f"no failover route for {destination} in {vpc}/{table}")
    paths = route["failover"]
    if not 0 <= path < len(paths):
        raise ChangeError(f"the route for {destination} has paths 0 to {len(paths) - 1}, not {path}")
    ((kind, name),) = paths[path].items()
    said = f"{destination} in {vpc}/{table}"
    if route.get("active", 0) == path:
        return f"{said} already goes through {kind.replace('_', ' ')} {name}"
    if path:
        route["active"] = path
    else:
        route.pop("active", None)  # the primary, as a file without 'active' says
    because = f" ({reason})" if reason else ""
    return (
        f"{said} now goes through {kind.replace('_', ' ')} {name}, path {path + 1} of {len(paths)}{because}"
    )


def target_health(intent, data, load_balancer: str, target: str, healthy: bool, reason: str = "") -> str:
    """Mark ``target`` of ``load_balancer`` healthy or not (what its health checks found):
    new connections go only to the healthy targets; existing ones stay where they are."""
    balancer = next(
        (
            b
            for b in [s["load_balancer"] for s in data.get("endpoint_services", [])]
            + data.get("network_load_balancers", [])
            if b["name"] == load_balancer
        ),
        None,
    )
    if balancer is None:
        raise ChangeError(f"no load balancer '{load_balancer}'")
    if target not in balancer["targets"]:
        raise ChangeError(f"'{target}' is not a target of {load_balancer}")
    dead = [name for name in balancer.get("unhealthy_targets", []) if name != target]
    if not healthy:
        dead.append(target)
    was = target not in balancer.get("unhealthy_targets", [])
    if dead:
        balancer["unhealthy_targets"] = [name for name in balancer["targets"] if name in dead]
    else:
        balancer.pop("unhealthy_targets", None)
    state = "healthy" if healthy else "unhealthy"
    because = f" ({reason})" if reason else ""
    if was == healthy:
        return f"{load_balancer}: {target} is already {state}"
    return f"{load_balancer}: {target} is {state}{because}"


def tunnel_state(intent, data, connection: str, tunnel: int, up: bool, reason: str = "") -> str:
    """Mark a VPN connection's tunnel up or down (what its BGP session, or a static tunnel's
    dead peer detection, found): the gateway learns over the tunnels that are up."""
    item = next((c for c in data.get("vpn_connections", []) if c["name"] == connection), None)
    if item is None:
        raise ChangeError(f"no VPN connection '{connection}'")
    count = item.get("tunnels", m.VPN_TUNNELS)
    if not isinstance(tunnel, int) or not 1 <= tunnel <= count:
        raise ChangeError(f"{connection} has tunnels 1 to {count}, not {tunnel}")
    down = [n for n in item.get("tunnels_down", []) if n != tunnel] + ([] if up else [tunnel])
    was = tunnel not in item.get("tunnels_down", [])
    if down:
        item["tunnels_down"] = sorted(down)
    else:
        item.pop("tunnels_down", None)
    state = "up" if up else "down"
    if was == up:
        return f"{connection} tunnel {tunnel} is already {state}"
    return f"{connection} tunnel {tunnel} is {state}" + (f" ({reason})" if reason else "")


def dx_state(intent, data, connection: str, up: bool, reason: str = "") -> str:
    """Mark a Direct Connect link up or down (what its virtual interface's BGP session found):
    its gateway's VGWs and TGWs learn over the links that are up."""
    item = next((c for c in data.get("direct_connect_connections", []) if c["name"] == connection), None)
    if item is None:
        raise ChangeError(f"no Direct Connect connection '{connection}'")
    was = not item.get("down", False)
    if up:
        item.pop("down", None)
    else:
        item["down"] = True
    state = "up" if up else "down"
    if was == up:
        return f"Direct Connect {connection} is already {state}"
    return f"Direct Connect {connection} is {state}" + (f" ({reason})" if reason else "")


def bgp_learned(intent, data, connection: str, tunnel: int, prefixes: list, reason: str = "") -> str:
    """Record what AWS's end of a BGP session learned from the site: a VPN connection's tunnel
    (1-based), or a Direct Connect link (``tunnel`` 0). The gateways route by it."""
    if tunnel == 0:
        item = next((c for c in data.get("direct_connect_connections", []) if c["name"] == connection), None)
        if item is None:
            raise ChangeError(f"no Direct Connect connection '{connection}'")
        before = item.get("learned")
        item["learned"] = list(prefixes)
        what = f"Direct Connect {connection}"
    else:
        item = next((c for c in data.get("vpn_connections", []) if c["name"] == connection), None)
        if item is None:
            raise ChangeError(f"no VPN connection '{connection}'")
        if item.get("routing", "bgp") != "bgp":
            raise ChangeError(f"{connection} is a static VPN: its tunnels learn nothing over BGP")
        entries = [e for e in item.get("learned", []) if e["tunnel"] != tunnel]
        before = next((e["prefixes"] for e in item.get("learned", []) if e["tunnel"] == tunnel), None)
        item["learned"] = sorted(
            entries + [{"tunnel": tunnel, "prefixes": list(prefixes)}], key=lambda e: e["tunnel"]
        )
        what = f"{connection} tunnel {tunnel}"
    now = ", ".join(prefixes) or "nothing"
    if before is not None and list(before) == list(prefixes):
        return f"{what}: AWS already holds {now}"
    return f"{what}: AWS learned {now}" + (f" ({reason})" if reason else "")


def flow_text(rule: dict) -> str:
    """A rule as YAML flow text, e.g. {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}."""
    return yaml.safe_dump(dict(rule), default_flow_style=True, sort_keys=False).strip()


OPERATIONS: dict[str, Callable] = {
    "tgw-route": tgw_route,
    "blackhole": blackhole,
    "remove-tgw-route": remove_tgw_route,
    "restore-tgw-route": restore_tgw_route,
    "remove-propagation": _list_edit("propagations", add=False),
    "add-propagation": _list_edit("propagations", add=True),
    "remove-association": _list_edit("associations", add=False),
    "add-association": _list_edit("associations", add=True),
    "request-peering": request_peering,
    "accept-peering": _answer_peering(accept=True),
    "reject-peering": _answer_peering(accept=False),
    "delete-peering": delete_peering,
    "restore-peering": restore_peering,
    "accept-attachment": _answer_attachment(accept=True),
    "reject-attachment": _answer_attachment(accept=False),
    "add-route": add_route,
    "remove-route": remove_route,
    "add-sg-rule": add_sg_rule,
    "remove-sg-rule": remove_sg_rule,
    "add-nacl-rule": add_nacl_rule,
    "remove-nacl-rule": remove_nacl_rule,
    "failover": failover,
    "target-health": target_health,
    "tunnel-state": tunnel_state,
    "dx-state": dx_state,
    "bgp-learned": bgp_learned,
    **RESOURCE_OPERATIONS,
    **ENDPOINT_OPERATIONS,
    **LIFECYCLE_OPERATIONS,
    **TGW_OPERATIONS,
}
