"""Smaller variants of a topology's YAML data, coarse first (pure): whole VPCs, peerings,
transit gateways, instances, then single routes and rules. Each variant removes one thing
and whatever names it; the loader decides whether the variant is still valid."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Data = dict[str, Any]


def variants(data: Data, keep: set[str]) -> Iterator[Data]:
    """Every one-step reduction of ``data`` that keeps the instances named in ``keep``."""
    for vpc in data["vpcs"]:
        if not any(i["name"] in keep for i in vpc.get("instances", [])):
            yield _without_vpc(data, vpc["name"])
    for peering in data.get("peerings", []):
        yield _without_peering(data, peering["name"])
    for tgw in data.get("transit_gateways", []):
        yield _without_tgw(data, tgw["name"])
    for v, vpc in enumerate(data["vpcs"]):
        for n, instance in enumerate(vpc.get("instances", [])):
            if instance["name"] not in keep:
                yield _edited(data, lambda d, v=v, n=n: d["vpcs"][v]["instances"].pop(n))
    yield from _list_items(data)


def _edited(data: Data, edit) -> Data:
    changed = copy.deepcopy(data)
    edit(changed)
    return changed


def _list_items(data: Data) -> Iterator[Data]:
    """Drop one route, SG rule, NACL rule, subnet, TGW route table entry or static route."""
    for v, vpc in enumerate(data["vpcs"]):
        for t, table in enumerate(vpc.get("route_tables", [])):
            for r in range(len(table.get("routes", []))):
                yield _edited(data, lambda d, v=v, t=t, r=r: d["vpcs"][v]["route_tables"][t]["routes"].pop(r))
        for kind in ("security_groups", "nacls"):
            for g, group in enumerate(vpc.get(kind, [])):
                for direction in ("ingress", "egress"):
                    for r in range(len(group.get(direction) or [])):
                        yield _edited(
                            data, lambda d, v=v, k=kind, g=g, w=direction, r=r: d["vpcs"][v][k][g][w].pop(r)
                        )
        for s in range(len(vpc["subnets"])):
            yield _edited(data, lambda d, v=v, s=s: d["vpcs"][v]["subnets"].pop(s))
    for g, tgw in enumerate(data.get("transit_gateways", [])):
        for t, table in enumerate(tgw["route_tables"]):
            for key in ("routes", "propagations", "associations"):
                for r in range(len(table.get(key, []))):
                    yield _edited(
                        data,
                        lambda d, g=g, t=t, k=key, r=r: d["transit_gateways"][g]["route_tables"][t][k].pop(r),
                    )


def _without_peering(data: Data, name: str) -> Data:
    return _without_route_target(data, "peerings", "peering", name)


def _without_tgw(data: Data, name: str) -> Data:
    return _without_route_target(data, "transit_gateways", "transit_gateway", name)


def _without_route_target(data: Data, kind: str, route_key: str, name: str) -> Data:
    """Without the peering or TGW ``name``, and without the VPC routes that point at it."""
    changed = copy.deepcopy(data)
    changed[kind] = [item for item in changed[kind] if item["name"] != name]
    for vpc in changed["vpcs"]:
        for table in vpc.get("route_tables", []):
            table["routes"] = [r for r in table.get("routes", []) if r.get(route_key) != name]
    return changed


def _without_vpc(data: Data, name: str) -> Data:
    changed = copy.deepcopy(data)
    changed["vpcs"] = [v for v in changed["vpcs"] if v["name"] != name]
    for peering in [p for p in changed.get("peerings", []) if name in (p["requester"], p["accepter"])]:
        changed = _without_peering(changed, peering["name"])
    for tgw in changed.get("transit_gateways", []):
        gone = {a["name"] for a in tgw["attachments"] if a["vpc"] == name}
        tgw["attachments"] = [a for a in tgw["attachments"] if a["name"] not in gone]
        for table in tgw["route_tables"]:
            for key in ("associations", "propagations"):
                table[key] = [a for a in table.get(key, []) if a not in gone]
            table["routes"] = [r for r in table.get("routes", []) if r.get("attachment") not in gone]
    for vpc in changed["vpcs"]:  # SG rules that named the VPC's groups
        for group in vpc.get("security_groups", []):
            for direction in ("ingress", "egress"):
                if group.get(direction):
                    group[direction] = [r for r in group[direction] if not _names_vpc(r, name, data)]
    return changed


def _names_vpc(rule: dict, vpc: str, data: Data) -> bool:
    reference = rule.get("security_group")
    if reference is None:
        return False
    if "/" in reference:
        return reference.split("/")[0] == vpc
    groups = next(v.get("security_groups", []) for v in data["vpcs"] if v["name"] == vpc)
    return any(g["name"] == reference for g in groups)


def shrink(data: Data, keep: set[str], still_fails, valid, budget: int = 40, log=print) -> Data:
    """Greedily apply one-step reductions while ``still_fails(variant)``; ``valid(variant)``
    filters out what the loader refuses (cheap), and at most ``budget`` variants are tried
    with ``still_fails`` (costly: a live run each)."""
    tried = 0
    improved = True
    while improved and tried < budget:
        improved = False
        for variant in variants(data, keep):
            if not valid(variant):
                continue
            tried += 1
            if still_fails(variant):
                data, improved = variant, True
                log(f"  shrunk to {_size(data)}")
                break
            if tried >= budget:
                break
    return data


def _size(data: Data) -> str:
    instances = sum(len(v.get("instances", [])) for v in data["vpcs"])
    rules = sum(
        len(g.get(d) or [])
        for v in data["vpcs"]
        for kind in ("security_groups", "nacls")
        for g in v.get(kind, [])
        for d in ("ingress", "egress")
    )
    return f"{len(data['vpcs'])} VPCs, {instances} instances, {rules} rules"
