"""Connections between VPCs: peerings and transit gateways (attachments, route tables)."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_any_network
from .accounts import over_quota, place
from .hybrid import check_asn
from .reporter import Known, Reporter


def build_peerings(r: Reporter, known: Known, data: dict) -> tuple[m.Peering, ...]:
    peerings_data = data.get("peerings", [])
    r.unique_names(peerings_data, ("peerings",), "peering")
    active_pairs: dict[frozenset, str] = {}
    active_per_vpc: Counter = Counter()
    peerings = []
    for index, peering in enumerate(peerings_data):
        path = ("peerings", index)
        ends = [peering["requester"], peering["accepter"]]
        missing = [
            (key, vpc)
            for key, vpc in zip(("requester", "accepter"), ends, strict=True)
            if vpc not in known.vpc_cidrs
        ]
        for key, vpc in missing:
            r.report(path + (key,), f"no VPC named '{vpc}'")
        if missing:
            continue
        if ends[0] == ends[1]:
            r.report(path, f"a VPC cannot peer with itself ('{ends[0]}')")
            continue
        status = peering_status(r, path, peering)
        if status in ("active", "pending-acceptance"):  # AWS fails a request whose CIDRs overlap
            check_peering_overlap(r, known, path, *ends)
        pair = frozenset(ends)
        if status == "active":
            active_per_vpc.update(ends)
            if pair in active_pairs:
                r.report(
                    path,
                    f"'{ends[0]}' and '{ends[1]}' already have an active "
                    f"peering '{active_pairs[pair]}' (AWS allows one)",
                )
            active_pairs.setdefault(pair, peering["name"])
        regions = {known.places[end][1] for end in ends}
        peerings.append(
            m.Peering(format_path(path), peering["name"], ends[0], ends[1], status, len(regions) > 1)
        )
    for vpc, count in active_per_vpc.items():
        index = next(i for i, p in enumerate(peerings_data) if vpc in (p["requester"], p["accepter"]))
        over_quota(
            r, known, ("peerings", index), "peerings_per_vpc", count, f"active peerings of VPC '{vpc}'"
        )
    return tuple(peerings)


def peering_status(r: Reporter, path: DocPath, peering: dict) -> str:
    """Its ``status`` (default active); ``deleted: true``, from before contract v3, is status deleted."""
    if peering.get("deleted") and peering.get("status", "deleted") != "deleted":
        r.report(path + ("status",), f"status {peering['status']} contradicts 'deleted: true'")
    return peering.get("status", "deleted" if peering.get("deleted") else "active")


def check_peering_overlap(r: Reporter, known: Known, path, requester: str, accepter: str) -> None:
    for mine in known.vpc_cidrs[requester]:
        for theirs in known.vpc_cidrs[accepter]:
            if mine.overlaps(theirs):
                r.report(
                    path,
                    f"'{requester}' ({mine}) and '{accepter}' ({theirs}) "
                    "have overlapping CIDRs; AWS rejects such a peering",
                )


def build_transit_gateways(r: Reporter, known: Known, data: dict) -> tuple[m.TransitGateway, ...]:
    tgws_data = data.get("transit_gateways", [])
    r.unique_names(tgws_data, ("transit_gateways",), "transit gateway")
    all_attachments = [
        (t, a) for t, tgw in enumerate(tgws_data) for a in range(len(tgw.get("attachments", [])))
    ]
    seen: dict[str, DocPath] = {}
    for t, a in all_attachments:
        name = tgws_data[t]["attachments"][a]["name"]
        path = ("transit_gateways", t, "attachments", a, "name")
        if name in seen:
            r.report(path, f"attachment '{name}' is already defined at {format_path(seen[name][:-1])}")
        seen.setdefault(name, path)
    check_attachment_subnet_count(r, tgws_data, all_attachments)
    return tuple(build_transit_gateway(r, known, t, tgw) for t, tgw in enumerate(tgws_data))


def check_attachment_subnet_count(r: Reporter, tgws_data: list, all_attachments: list) -> None:
    """The VNI names the attachment subnet a packet arrived through: at most MAX of them."""
    served: set = set()
    for t, a in all_attachments:
        attachment = tgws_data[t]["attachments"][a]
        served |= {(attachment.get("vpc"), subnet) for subnet in attachment.get("subnets", [])}
        if len(served) > m.MAX_ATTACHMENT_SUBNETS:
            r.report(
                ("transit_gateways", t, "attachments", a, "subnets"),
                f"at most {m.MAX_ATTACHMENT_SUBNETS} subnets may serve TGW attachments "
                "(the VXLAN VNI names the one a packet arrived through)",
            )
            return


def build_transit_gateway(r: Reporter, known: Known, t: int, tgw: dict) -> m.TransitGateway:
    path = ("transit_gateways", t)
    account, region = place(r, known, path, tgw)
    shared = tuple(tgw.get("shared_with", []))
    for n, name in enumerate(shared):
        if name not in {a.name for a in known.accounts}:
            r.report(path + ("shared_with", n), f"no account named '{name}' in 'accounts'")
    owner = Owner(account, region, shared, tgw.get("auto_accept_shared_attachments", False))
    listed = [
        build_attachment(r, known, path + ("attachments", a), tgw["name"], att, owner)
        for a, att in enumerate(tgw.get("attachments", []))
    ]
    attachments = tuple(listed + implicit_hybrid_attachments(r, known, path, tgw["name"], listed))
    over_quota(
        r, known, path + ("attachments",), "attachments_per_transit_gateway", len(attachments), "attachments"
    )
    attached_vpcs = Counter(att.vpc for att in attachments if att.peering is None and not att.hybrid)
    peered = Counter(att.peering for att in attachments if att.peering is not None)
    for a, att in enumerate(attachments):
        if att.peering is not None and peered[att.peering] > 1:
            r.report(
                path + ("attachments", a, "peering"),
                f"'{tgw['name']}' has more than one attachment for TGW peering '{att.peering}'",
            )
    for a, att in enumerate(attachments):
        if attached_vpcs[att.vpc] > 1:
            r.report(
                path + ("attachments", a, "vpc"),
                f"VPC '{att.vpc}' is attached to '{tgw['name']}' more than once",
            )
    names = {att.name for att in attachments}
    tables_data = tgw.get("route_tables", [])
    r.unique_names(tables_data, path + ("route_tables",), "TGW route table")
    associated: dict[str, DocPath] = {}
    tables = []
    for t, table in enumerate(tables_data):
        table_path = path + ("route_tables", t)
        for key in ("associations", "propagations"):
            for n, name in enumerate(table.get(key, [])):
                if name not in names:
                    r.report(
                        table_path + (key, n), f"no attachment '{name}' on transit gateway '{tgw['name']}'"
                    )
        peering_names = {att.name for att in attachments if att.peering is not None}
        for n, name in enumerate(table.get("propagations", [])):
            if name in peering_names:
                r.report(
                    table_path + ("propagations", n),
                    f"'{name}' is a TGW peering attachment: it takes static routes only (AWS), "
                    "no propagation",
                )
        for n, name in enumerate(table.get("associations", [])):
            if name in associated:
                r.report(
                    table_path + ("associations", n),
                    f"attachment '{name}' is already associated with "
                    f"{format_path(associated[name])}; an attachment is "
                    "associated with exactly one TGW route table",
                )
            associated.setdefault(name, table_path)
        tables.append(build_tgw_table(r, known, table_path, table, names))
    table_names = {table["name"] for table in tgw.get("route_tables", [])}
    for key in ("association_default_route_table", "propagation_default_route_table"):
        if key in tgw and tgw[key] not in table_names:
            r.report(path + (key,), f"no route table '{tgw[key]}' in transit gateway '{tgw['name']}'")
    referencing = tgw.get("security_group_referencing_support", False)
    asn = tgw.get("asn", m.AMAZON_SIDE_ASN)
    check_asn(r, path + ("asn",), asn, m.AMAZON_ASN_RANGES, "a transit gateway")
    return m.TransitGateway(
        format_path(path),
        tgw["name"],
        attachments,
        tuple(tables),
        referencing,
        *owner,
        vpn_ecmp_support=tgw.get("vpn_ecmp_support", True),
        asn=asn,
    )


class Owner(NamedTuple):
    """A TGW's account, Region, the accounts it is shared with, and whether it accepts their
    attachments itself."""

    account: str
    region: str
    shared_with: tuple[str, ...]
    auto_accept: bool


def attachment_status(r: Reporter, known: Known, path, tgw_name: str, att: dict, owner: Owner) -> str:
    """A TGW attaches only VPCs of its Region, of its own account or of one it is shared with;
    another account's attachment is pending-acceptance until accepted, unless the TGW accepts
    shared attachments itself (AWS's default: it does not)."""
    account, region = known.places[att["vpc"]]
    if region != owner.region:
        r.report(
            path + ("vpc",),
            f"VPC '{att['vpc']}' is in {region} and transit gateway '{tgw_name}' in {owner.region}: "
            "a transit gateway attaches only VPCs of its own Region (join Regions with a TGW peering)",
        )
    if account != owner.account and account not in owner.shared_with:
        r.report(
            path + ("vpc",),
            f"VPC '{att['vpc']}' belongs to account '{account}'; transit gateway '{tgw_name}' of account "
            f"'{owner.account}' is not shared with it (add it to 'shared_with': AWS RAM)",
        )
    cross = account != owner.account and not owner.auto_accept
    return att.get("status", "pending-acceptance" if cross else "available")


def build_peering_attachment(r: Reporter, known: Known, path, tgw_name: str, att: dict) -> m.Attachment:
    """A TGW peering attachment: it names a TGW peering this TGW is an end of, nothing else."""
    for key in ("vpc", "subnets", "security_group_referencing_support"):
        if key in att:
            r.report(path + (key,), f"a TGW peering attachment has no '{key}' (it attaches a TGW, not a VPC)")
    peering = next((p for p in known.tgw_peerings if p["name"] == att["peering"]), None)
    if peering is None:
        r.report(
            path + ("peering",), f"no TGW peering named '{att['peering']}' in 'transit_gateway_peerings'"
        )
    elif tgw_name not in (peering["requester"], peering["accepter"]):
        r.report(
            path + ("peering",),
            f"TGW peering '{peering['name']}' joins '{peering['requester']}' and '{peering['accepter']}', "
            f"not '{tgw_name}'",
        )
    return m.Attachment(format_path(path), tgw_name, att["name"], "", (), peering=att["peering"])


def build_hybrid_attachment(r: Reporter, known: Known, path, tgw_name: str, att: dict) -> m.Attachment:
    """A VPN attachment (a VPN connection to this TGW) or a Direct Connect gateway attachment
    (a DX gateway associated with it): nothing else."""
    kinds = [key for key in ("vpn", "direct_connect_gateway", "peering") if key in att]
    if len(kinds) > 1:
        r.report(path, f"an attachment attaches one thing: not both '{kinds[0]}' and '{kinds[1]}'")
    for key in ("vpc", "subnets", "security_group_referencing_support"):
        if key in att:
            r.report(
                path + (key,),
                f"a {kinds[0].replace('_', ' ')} attachment has no '{key}' (it attaches no VPC)",
            )
    if "vpn" in att:
        item = next((c for c in known.vpn_connection_items if c["name"] == att["vpn"]), None)
        if item is None:
            r.report(path + ("vpn",), f"no VPN connection named '{att['vpn']}' in 'vpn_connections'")
        elif item.get("transit_gateway") != tgw_name:
            r.report(
                path + ("vpn",), f"VPN connection '{att['vpn']}' does not end on transit gateway '{tgw_name}'"
            )
        return m.Attachment(format_path(path), tgw_name, att["name"], "", (), vpn=att["vpn"])
    gateway = att["direct_connect_gateway"]
    item = next((g for g in known.dx_gateway_items if g["name"] == gateway), None)
    if item is None:
        r.report(path + ("direct_connect_gateway",), f"no Direct Connect gateway named '{gateway}'")
    elif not any(a.get("transit_gateway") == tgw_name for a in item.get("associations", [])):
        r.report(
            path + ("direct_connect_gateway",),
            f"Direct Connect gateway '{gateway}' is not associated with transit gateway '{tgw_name}' "
            f"(add {{transit_gateway: {tgw_name}, allowed_prefixes: [...]}} to its associations)",
        )
    return m.Attachment(format_path(path), tgw_name, att["name"], "", (), direct_connect_gateway=gateway)


def implicit_hybrid_attachments(r: Reporter, known: Known, path, tgw_name: str, listed) -> list[m.Attachment]:
    """The attachments AWS creates by itself for a VPN connection to this TGW and for a Direct
    Connect gateway associated with it, unless the file lists them: named after the connection
    or the gateway."""
    names = {a.name for a in listed}
    made = []
    wanted = [
        (("vpn_connections", c), item["name"], {"vpn": item["name"]})
        for c, item in enumerate(known.vpn_connection_items)
        if item.get("transit_gateway") == tgw_name and not any(a.vpn == item["name"] for a in listed)
    ]
    wanted += [
        (("direct_connect_gateways", g), item["name"], {"direct_connect_gateway": item["name"]})
        for g, item in enumerate(known.dx_gateway_items)
        if any(a.get("transit_gateway") == tgw_name for a in item.get("associations", []))
        and not any(a.direct_connect_gateway == item["name"] for a in listed)
    ]
    for origin, name, kind in wanted:
        if name in names:
            r.report(
                path + ("attachments",),
                f"AWS attaches {format_path(origin)} to '{tgw_name}' as attachment '{name}', a name "
                "already taken: list its attachment with another name",
            )
            continue
        names.add(name)
        made.append(m.Attachment(format_path(origin), tgw_name, name, "", (), **kind))
    return made


def build_attachment(r: Reporter, known: Known, path, tgw_name: str, att: dict, owner: Owner) -> m.Attachment:
    if "vpn" in att or "direct_connect_gateway" in att:
        return build_hybrid_attachment(r, known, path, tgw_name, att)
    if "peering" in att:
        return build_peering_attachment(r, known, path, tgw_name, att)
    if "vpc" not in att or "subnets" not in att:
        r.report(path, "an attachment needs 'vpc' and 'subnets' (a VPC's) or 'peering' (a TGW peering's)")
        return m.Attachment(format_path(path), tgw_name, att["name"], att.get("vpc", ""), ())
    vpc = att["vpc"]
    if vpc not in known.subnets:
        r.report(path + ("vpc",), f"no VPC named '{vpc}'")
        return m.Attachment(format_path(path), tgw_name, att["name"], vpc, ())
    status = attachment_status(r, known, path, tgw_name, att, owner)
    if not att["subnets"]:
        r.report(path + ("subnets",), "an attachment needs at least one subnet")
    azs: dict[str, str] = {}
    for n, subnet in enumerate(att["subnets"]):
        if subnet not in known.subnets[vpc]:
            r.report(path + ("subnets", n), f"no subnet '{subnet}' in VPC '{vpc}'")
            continue
        draft = known.subnets[vpc][subnet]
        if draft.ipv6_native:
            r.report(
                path + ("subnets", n),
                f"subnet '{subnet}' is IPv6-only: vpclab attaches a TGW through subnets with an IPv4 CIDR",
            )
            continue
        az = draft.az
        if az in azs:
            r.report(
                path + ("subnets", n),
                f"subnets '{azs[az]}' and '{subnet}' are both "
                f"in AZ {az}; an attachment takes one subnet per AZ",
            )
        azs.setdefault(az, subnet)
    referencing = att.get("security_group_referencing_support", True)
    return m.Attachment(
        format_path(path), tgw_name, att["name"], vpc, tuple(att["subnets"]), referencing, status
    )


def build_tgw_table(r: Reporter, known: Known, path, table: dict, attachments: set) -> m.TgwRouteTable:
    routes = []
    destinations: dict[m.IPNetwork, int] = {}
    for n, route in enumerate(table.get("routes", [])):
        route_path = path + ("routes", n)
        destination = r.parsed(route_path + ("destination",), parse_any_network, route["destination"])
        targets = [key for key in ("attachment", "blackhole") if route.get(key)]
        if len(targets) != 1:
            r.report(route_path, "a TGW route needs exactly one of 'attachment' or 'blackhole: true'")
            continue
        if route.get("attachment") and route["attachment"] not in attachments:
            r.report(
                route_path + ("attachment",), f"no attachment '{route['attachment']}' on this transit gateway"
            )
            continue
        if destination is None:
            continue
        if destination in destinations:
            r.report(
                route_path + ("destination",),
                f"{destination} already has a static route in this table "
                f"(routes[{destinations[destination]}])",
            )
            continue
        destinations[destination] = n
        routes.append(
            m.TgwRoute(
                format_path(route_path), destination, route.get("attachment"), bool(route.get("blackhole"))
            )
        )
    return m.TgwRouteTable(
        format_path(path),
        table["name"],
        tuple(table.get("associations", [])),
        tuple(table.get("propagations", [])),
        tuple(routes),
    )


def build_tgw_peerings(r: Reporter, known: Known, data: dict) -> tuple[m.TransitGatewayPeering, ...]:
    """TGW peerings: two TGWs, each with an attachment that names the peering."""
    peerings_data = data.get("transit_gateway_peerings", [])
    r.unique_names(peerings_data, ("transit_gateway_peerings",), "TGW peering")
    tgws = {tgw.name: tgw for tgw in known.transit_gateways}
    built = []
    for index, peering in enumerate(peerings_data):
        path = ("transit_gateway_peerings", index)
        ends = [peering["requester"], peering["accepter"]]
        for key, end in zip(("requester", "accepter"), ends, strict=True):
            if end not in tgws:
                r.report(path + (key,), f"no transit gateway named '{end}'")
            elif tgws[end].peering_attachment(peering["name"]) is None:
                r.report(
                    path + (key,),
                    f"transit gateway '{end}' has no attachment for this peering "
                    f"(add {{name: ..., peering: {peering['name']}}} to its attachments)",
                )
        if ends[0] == ends[1]:
            r.report(path, f"a transit gateway cannot peer with itself ('{ends[0]}')")
        built.append(
            m.TransitGatewayPeering(
                format_path(path), peering["name"], ends[0], ends[1], peering.get("status", "active")
            )
        )
    return tuple(built)
