"""VPC Flow Logs: each names the resource it records (a VPC, VPC/subnet or an instance)."""

from __future__ import annotations

from typing import Optional

from .. import model as m
from ..errors import format_path
from .reporter import Reporter


def build_flow_logs(r: Reporter, data: dict, vpcs: tuple[m.Vpc, ...]) -> tuple[m.FlowLog, ...]:
    listed = data.get("flow_logs", [])
    r.unique_names(listed, ("flow_logs",), "flow log")
    built = []
    for n, entry in enumerate(listed):
        path = ("flow_logs", n)
        resource = _resource(r, path + ("resource",), entry["resource"], vpcs)
        if resource is None:
            continue
        vpc, subnet, instance = resource
        built.append(
            m.FlowLog(
                format_path(path),
                entry["name"],
                vpc,
                subnet,
                instance,
                entry.get("traffic_type", "ALL"),
                entry.get("max_aggregation_interval", m.DEFAULT_AGGREGATION_INTERVAL),
            )
        )
    return tuple(built)


def _resource(r: Reporter, path, text: str, vpcs) -> Optional[tuple]:
    """(vpc, subnet or None, instance or None) that ``text`` names, or None after reporting."""
    by_name = {vpc.name: vpc for vpc in vpcs}
    if "/" in text:
        vpc_name, subnet = text.split("/", 1)
        vpc = by_name.get(vpc_name)
        if vpc is None or subnet not in {s.name for s in vpc.subnets}:
            r.report(path, f"no subnet '{subnet}' in a VPC '{vpc_name}' (write VPC/SUBNET)")
            return None
        return vpc_name, subnet, None
    owners = [(vpc.name, None, i.name) for vpc in vpcs for i in vpc.instances if i.name == text]
    if text in by_name and owners:
        r.report(path, f"'{text}' names both a VPC and an instance: rename one of them")
        return None
    if text in by_name:
        return text, None, None
    if owners:
        return owners[0]
    names = ", ".join(sorted(by_name))
    r.report(path, f"no VPC or instance '{text}' (a VPC: {names}; a subnet: VPC/SUBNET; or an instance)")
    return None
