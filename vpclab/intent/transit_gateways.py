"""Runtime changes that create and delete transit gateways, their VPC attachments and route
tables (what the EC2 API's CreateTransitGateway, CreateTransitGatewayVpcAttachment,
CreateTransitGatewayRouteTable and their Delete calls do; the shell's ``tgw-create``...).

A transit gateway made with AWS's defaults has a default route table: every attachment made
later is associated with it and propagates into it (``association_default_route_table`` and
``propagation_default_route_table`` name it in the design). AWS refuses to delete a gateway
that still has attachments, or a route table still associated (DependencyViolation here);
a deleted attachment's static routes and its VPC's routes to the gateway become blackholes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from .errors import ChangeError, DependencyViolation
from .resources import blackhole

DEFAULTS = ("association_default_route_table", "propagation_default_route_table")


def _tgw(data: dict, name: str) -> dict:
    for tgw in data.get("transit_gateways", []):
        if tgw.get("name") == name:
            return tgw
    raise ChangeError(f"no transit gateway '{name}'")


def create_transit_gateway(
    intent,
    data,
    name: str,
    default_table: Optional[str] = None,
    asn: Optional[int] = None,
    associate: bool = True,
    propagate: bool = True,
) -> str:
    """A transit gateway; with ``default_table``, its default route table, which new
    attachments are associated with (``associate``) and propagate into (``propagate``), as
    AWS's defaults are."""
    if any(t.get("name") == name for t in data.get("transit_gateways", [])):
        raise ChangeError(f"there is a transit gateway named '{name}' already")
    tgw: dict = {"name": name}
    if asn is not None:
        tgw["asn"] = int(asn)
    if default_table:
        tgw["route_tables"] = [{"name": default_table}]
        for key, wanted in zip(DEFAULTS, (associate, propagate), strict=True):
            if wanted:
                tgw[key] = default_table
    data.setdefault("transit_gateways", []).append(tgw)
    table = f" (default route table '{default_table}')" if default_table else ""
    return f"created transit gateway '{name}'{table}"


def delete_transit_gateway(intent, data, name: str) -> str:
    """Delete a transit gateway without attachments; VPC routes to it become blackholes."""
    tgw = _tgw(data, name)
    if tgw.get("attachments"):
        held = ", ".join(a["name"] for a in tgw["attachments"])
        raise DependencyViolation(f"transit gateway '{name}' still has attachments {held}")
    data["transit_gateways"] = [t for t in data["transit_gateways"] if t is not tgw]
    blackholed = sum(blackhole(vpc.get("route_tables", []), "transit_gateway", name) for vpc in data["vpcs"])
    routes = f"; {blackholed} route(s) to it are blackholes now" if blackholed else ""
    return f"deleted transit gateway '{name}'{routes}"


def create_tgw_attachment(intent, data, tgw: str, name: str, vpc: str, subnets: list) -> str:
    """A VPC attachment in one subnet per AZ; associated with and propagating into the
    gateway's default route tables, if it has them."""
    gateway = _tgw(data, tgw)
    if any(a.get("name") == name for a in gateway.get("attachments", [])):
        raise ChangeError(f"transit gateway '{tgw}' already has an attachment named '{name}'")
    if any(a.get("vpc") == vpc for a in gateway.get("attachments", [])):
        raise ChangeError(
            f"VPC '{vpc}' is attached to transit gateway '{tgw}' already (one attachment a VPC)"
        )
    gateway.setdefault("attachments", []).append({"name": name, "vpc": vpc, "subnets": list(subnets)})
    joined = []
    for key, field in zip(DEFAULTS, ("associations", "propagations"), strict=True):
        table = next((t for t in gateway.get("route_tables", []) if t["name"] == gateway.get(key)), None)
        if table is not None:
            table.setdefault(field, []).append(name)
            joined.append(f"{field[:-1]} in '{table['name']}'")
    also = f" ({', '.join(joined)})" if joined else ""
    return f"attached VPC '{vpc}' to transit gateway '{tgw}' as '{name}'{also}"


def delete_tgw_attachment(intent, data, tgw: str, name: str) -> str:
    """Delete an attachment: it leaves its associations and propagations; static routes to it
    become blackholes."""
    gateway = _tgw(data, tgw)
    attachment = next((a for a in gateway.get("attachments", []) if a.get("name") == name), None)
    if attachment is None:
        raise ChangeError(f"no attachment '{name}' on transit gateway '{tgw}'")
    gateway["attachments"] = [a for a in gateway["attachments"] if a is not attachment]
    for table in gateway.get("route_tables", []):
        for field in ("associations", "propagations"):
            if name in table.get(field, []):
                table[field] = [a for a in table[field] if a != name]
    blackholed = blackhole(gateway.get("route_tables", []), "attachment", name)
    own = [v for v in data["vpcs"] if v.get("name") == attachment.get("vpc")]  # its VPC's routes to the TGW
    blackholed += sum(blackhole(vpc.get("route_tables", []), "transit_gateway", tgw) for vpc in own)
    routes = f"; {blackholed} route(s) through it are blackholes now" if blackholed else ""
    return f"deleted attachment '{name}' of transit gateway '{tgw}'{routes}"


def create_tgw_route_table(intent, data, tgw: str, name: str) -> str:
    """A route table of a transit gateway (no routes, nothing associated)."""
    gateway = _tgw(data, tgw)
    if any(t.get("name") == name for t in gateway.get("route_tables", [])):
        raise ChangeError(f"transit gateway '{tgw}' already has a route table named '{name}'")
    gateway.setdefault("route_tables", []).append({"name": name})
    return f"created route table '{name}' of transit gateway '{tgw}'"


def delete_tgw_route_table(intent, data, tgw: str, name: str) -> str:
    """Delete a route table nothing is associated with (nor the gateway's default one)."""
    gateway = _tgw(data, tgw)
    table = next((t for t in gateway.get("route_tables", []) if t.get("name") == name), None)
    if table is None:
        raise ChangeError(f"no route table '{name}' in transit gateway '{tgw}'")
    if table.get("associations"):
        held = ", ".join(table["associations"])
        raise DependencyViolation(f"route table '{name}' of '{tgw}' is still associated with {held}")
    if name in (gateway.get(key) for key in DEFAULTS):
        raise DependencyViolation(f"route table '{name}' is transit gateway '{tgw}''s default route table")
    gateway["route_tables"] = [t for t in gateway["route_tables"] if t is not table]
    return f"deleted route table '{name}' of transit gateway '{tgw}'"


TGW_OPERATIONS: dict[str, Callable] = {
    "create-transit-gateway": create_transit_gateway,
    "delete-transit-gateway": delete_transit_gateway,
    "create-tgw-attachment": create_tgw_attachment,
    "delete-tgw-attachment": delete_tgw_attachment,
    "create-tgw-route-table": create_tgw_route_table,
    "delete-tgw-route-table": delete_tgw_route_table,
}
