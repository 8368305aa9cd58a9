"""On-premises sites, virtual private gateways, Site-to-Site VPN and Direct Connect (contract v3),
checked as AWS checks them: ASNs in AWS's ranges and never the same on both ends of a session,
one VGW per VPC, static routes only on a static VPN to a VGW, a transit gateway's Direct Connect
association only with its allowed prefixes, a virtual interface only to a gateway associated
with what its type reaches."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Optional

from .. import model as m
from ..errors import format_path
from ..values import parse_address, parse_network
from .reporter import Known, Reporter


def build_hybrid(r: Reporter, known: Known, data: dict) -> m.Hybrid:
    sites = _sites(r, known, data)
    vgws = _vpn_gateways(r, known, data)
    known.vpn_gateways = {g.name: g for g in vgws}
    site_asns = {site.name: site.asn for site in sites}
    connections = _connections(r, known, data, site_asns)
    dx_gateways = _dx_gateways(r, known, data)
    dx_connections = _dx_connections(r, data, site_asns, dx_gateways)
    connections, dx_connections = _inside_cidrs(r, data, connections, dx_connections)
    return m.Hybrid(sites, vgws, connections, dx_gateways, dx_connections)


def _inside_cidrs(r: Reporter, data: dict, connections, links):
    """Each tunnel's inside /30 and each virtual interface's peering /30: as given (a /30 of
    169.254.0.0/16, none of AWS's reserved ones, none twice), else the next free one."""
    taken: dict[IPv4Network, str] = {}

    def given(path, text: str) -> Optional[IPv4Network]:
        cidr = r.parsed(path, parse_network, text)
        if cidr is None:
            return None
        if cidr.prefixlen != 30 or not cidr.subnet_of(m.INSIDE_RANGE):
            r.report(path, f"{cidr} is not a /30 of {m.INSIDE_RANGE} (AWS's rule for a BGP peering)")
        elif cidr in m.RESERVED_INSIDE:
            r.report(path, f"{cidr} is reserved by AWS")
        elif cidr in taken:
            r.report(path, f"{cidr} is already {taken[cidr]}'s")
        else:
            taken[cidr] = format_path(path)
            return cidr
        return None

    wanted = {}
    for c, item in enumerate(data.get("vpn_connections", [])):
        for n, text in enumerate(item.get("tunnel_inside_cidrs", [])):
            wanted[("vpn", c, n)] = given(("vpn_connections", c, "tunnel_inside_cidrs", n), text)
    for c, item in enumerate(data.get("direct_connect_connections", [])):
        if "peering_cidr" in item:
            wanted[("dx", c, 0)] = given(
                ("direct_connect_connections", c, "peering_cidr"), item["peering_cidr"]
            )
    free = _free_30s(taken)
    connections = tuple(
        replace(
            connection,
            inside_cidrs=tuple(wanted.get(("vpn", c, n)) or next(free) for n in range(connection.tunnels)),
        )
        for c, connection in enumerate(connections)
    )
    links = tuple(
        replace(link, peering_cidr=wanted.get(("dx", c, 0)) or next(free)) for c, link in enumerate(links)
    )
    return connections, links


def _free_30s(taken: dict):
    """The /30s of 169.254.0.0/16 from vpclab's first on, but those taken or reserved."""
    cidr = m.FIRST_INSIDE
    while True:
        if cidr not in taken and cidr not in m.RESERVED_INSIDE:
            yield cidr
        cidr = IPv4Network(f"{cidr.network_address + 4}/30")


def check_asn(r: Reporter, path, asn: int, ranges, whose: str) -> None:
    """``asn`` is one of AWS's ``ranges`` for ``whose`` (a customer gateway, a TGW...)."""
    if not any(low <= asn <= high for low, high in ranges):
        shown = " or ".join(f"{low}-{high}" for low, high in ranges)
        r.report(path, f"{asn} is not a valid ASN for {whose} (AWS: {shown})")


def _networks(r: Reporter, path, texts: list) -> list:
    """Each text of a list of CIDRs parsed (None where it is not one, reported at its index)."""
    return [r.parsed(path + (n,), parse_network, text) for n, text in enumerate(texts)]


def _sites(r: Reporter, known: Known, data: dict) -> tuple[m.OnPremises, ...]:
    items = data.get("on_premises", [])
    r.unique_names(items, ("on_premises",), "site")
    taken = {i["name"] for vpc in data["vpcs"] for i in vpc.get("instances", [])}
    taken |= {h["name"] for h in data.get("internet", {}).get("hosts", [])}
    host_ips: dict[IPv4Address, str] = {}
    built = []
    for s, site in enumerate(items):
        path = ("on_premises", s)
        check_asn(r, path + ("asn",), site["asn"], (m.CUSTOMER_ASN_RANGE,), "a customer gateway")
        public_ip = r.parsed(path + ("public_ip",), parse_address, site["public_ip"])
        if public_ip is not None:
            _outside_address(r, known, path + ("public_ip",), public_ip)
        cidrs = _networks(r, path + ("cidrs",), site["cidrs"])
        good = tuple(c for c in cidrs if c is not None)
        for n, cidr in enumerate(cidrs):
            if cidr is not None and cidr.prefixlen > 30:
                r.report(
                    path + ("cidrs", n), f"{cidr} is too small: the site's router takes its first address"
                )
        hosts = []
        for h, host in enumerate(site.get("hosts", [])):
            host_path = path + ("hosts", h)
            if host["name"] in taken:
                r.report(host_path + ("name",), f"'{host['name']}' already names an instance or another host")
            taken.add(host["name"])
            ip = r.parsed(host_path + ("ip",), parse_address, host["ip"])
            if ip is None:
                continue
            inside = [c for c in good if ip in c]
            if not inside:
                shown = ", ".join(map(str, good)) or "none"
                r.report(host_path + ("ip",), f"{ip} is not inside the site's cidrs ({shown})")
            elif any(ip in (c.network_address, c.broadcast_address) for c in inside):
                r.report(host_path + ("ip",), f"{ip} is reserved: a cidr's network and broadcast addresses")
            if ip in host_ips:
                r.report(host_path + ("ip",), f"{ip} is already the address of host '{host_ips[ip]}'")
            host_ips.setdefault(ip, host["name"])
            hosts.append(m.SiteHost(format_path(host_path), host["name"], ip, site["name"]))
        built.append(
            m.OnPremises(
                format_path(path),
                site["name"],
                site["asn"],
                public_ip or IPv4Address(0),
                good,
                tuple(hosts),
            )
        )
    return tuple(built)


def _outside_address(r: Reporter, known: Known, path, address: IPv4Address) -> None:
    """A customer gateway's outside address: on the emulated internet, never a real one."""
    if not any(address in block for block in m.DOCUMENTATION_RANGES):
        shown = ", ".join(map(str, m.DOCUMENTATION_RANGES))
        r.report(path, f"{address} is not in the documentation ranges ({shown}): emulated addresses only")
    elif address in m.AWS_VPN_ENDPOINTS:
        r.report(
            path,
            f"{address} is AWS's: vpclab's VPN tunnels take {m.AWS_VPN_ENDPOINTS} as their outside addresses",
        )
    elif address in known.outside_addresses:
        r.report(path, f"{address} is already used by {format_path(known.outside_addresses[address])}")
    else:
        known.outside_addresses[address] = path


def _vpn_gateways(r: Reporter, known: Known, data: dict) -> tuple[m.VpnGateway, ...]:
    items = data.get("vpn_gateways", [])
    r.unique_names(items, ("vpn_gateways",), "virtual private gateway")
    attached: dict[str, str] = {}
    built = []
    for g, gateway in enumerate(items):
        path = ("vpn_gateways", g)
        vpc = gateway["vpc"]
        if vpc not in known.vpc_cidrs:
            r.report(path + ("vpc",), f"no VPC named '{vpc}'")
        elif vpc in attached:
            r.report(
                path + ("vpc",),
                f"VPC '{vpc}' already has virtual private gateway '{attached[vpc]}' (AWS: one)",
            )
        attached.setdefault(vpc, gateway["name"])
        asn = gateway.get("asn", m.AMAZON_SIDE_ASN)
        check_asn(r, path + ("asn",), asn, m.AMAZON_ASN_RANGES, "a virtual private gateway")
        built.append(m.VpnGateway(format_path(path), gateway["name"], vpc, asn))
    return tuple(built)


def _gateway(r: Reporter, known: Known, path, item: dict) -> Optional[tuple[str, str, int]]:
    """The VGW or TGW ``item`` names (exactly one): (its key, its name, its ASN)."""
    kinds = [key for key in ("vpn_gateway", "transit_gateway") if key in item]
    if len(kinds) != 1:
        r.report(path, "name exactly one of 'vpn_gateway' or 'transit_gateway'")
        return None
    kind, name = kinds[0], item[kinds[0]]
    if kind == "vpn_gateway":
        if name not in known.vpn_gateways:
            r.report(path + (kind,), f"no virtual private gateway named '{name}' in 'vpn_gateways'")
            return None
        return kind, name, known.vpn_gateways[name].asn
    tgw = next((t for t in known.transit_gateways if t.name == name), None)
    if tgw is None:
        r.report(path + (kind,), f"no transit gateway named '{name}'")
        return None
    return kind, name, tgw.asn


def _connections(r: Reporter, known: Known, data: dict, site_asns: dict) -> tuple[m.VpnConnection, ...]:
    items = data.get("vpn_connections", [])
    r.unique_names(items, ("vpn_connections",), "VPN connection")
    most = (m.AWS_VPN_ENDPOINTS.num_addresses - 2) // m.VPN_TUNNELS
    if len(items) > most:  # their tunnels' outside addresses come from one block
        r.report(("vpn_connections", most), f"vpclab emulates at most {most} VPN connections")
    built = []
    for c, item in enumerate(items):
        path = ("vpn_connections", c)
        site = item["customer_gateway"]
        if site not in site_asns:
            r.report(path + ("customer_gateway",), f"no site named '{site}' in 'on_premises'")
        found = _gateway(r, known, path, item)
        routing = item.get("routing", "bgp")
        statics = tuple(
            n for n in _networks(r, path + ("static_routes",), item.get("static_routes", [])) if n is not None
        )
        if routing == "bgp" and "static_routes" in item:
            r.report(path + ("static_routes",), "static routes belong to a VPN with 'routing: static'")
        if found is not None:
            kind, name, asn = found
            if site in site_asns and site_asns[site] == asn:
                r.report(
                    path + ("customer_gateway",),
                    f"site '{site}' and {kind.replace('_', ' ')} '{name}' both have ASN {asn}: "
                    "a BGP session needs two (change the site's 'asn' or the gateway's)",
                )
            if routing == "static" and kind == "vpn_gateway" and not item.get("static_routes"):
                r.report(
                    path,
                    "a static VPN to a virtual private gateway needs 'static_routes' (the site's prefixes)",
                )
            if routing == "static" and kind == "transit_gateway" and "static_routes" in item:
                r.report(
                    path + ("static_routes",),
                    "on a transit gateway, a static VPN's routes are TGW routes: add them to a TGW route "
                    "table, with 'attachment:' the VPN's attachment (AWS)",
                )
        tunnels = item.get("tunnels", m.VPN_TUNNELS)
        down = tuple(sorted(set(item.get("tunnels_down", []))))
        for n in down:
            if n > tunnels:
                r.report(path + ("tunnels_down",), f"tunnel {n} does not exist: the connection has {tunnels}")
        learned = []
        for k, entry in enumerate(item.get("learned", [])):
            where = path + ("learned", k)
            if routing != "bgp":
                r.report(where, "a static VPN's tunnels learn nothing: its routes are configured")
            networks = _networks(r, where + ("prefixes",), entry["prefixes"])
            learned.append((entry["tunnel"], tuple(n for n in networks if n is not None)))
        built.append(
            m.VpnConnection(
                format_path(path),
                item["name"],
                site,
                item.get("vpn_gateway"),
                item.get("transit_gateway"),
                routing,
                statics,
                tunnels,
                tuple(n for n in down if n <= tunnels),
                learned=tuple(learned),
            )
        )
    return tuple(built)


def _dx_gateways(r: Reporter, known: Known, data: dict) -> tuple[m.DirectConnectGateway, ...]:
    items = data.get("direct_connect_gateways", [])
    r.unique_names(items, ("direct_connect_gateways",), "Direct Connect gateway")
    built = []
    for g, item in enumerate(items):
        path = ("direct_connect_gateways", g)
        asn = item.get("asn", m.AMAZON_SIDE_ASN)
        check_asn(r, path + ("asn",), asn, m.AMAZON_ASN_RANGES, "a Direct Connect gateway")
        associations = []
        seen: set = set()
        for a, association in enumerate(item.get("associations", [])):
            a_path = path + ("associations", a)
            found = _gateway(r, known, a_path, association)
            if found is None:
                continue
            kind, name, _ = found
            if (kind, name) in seen:
                r.report(
                    a_path, f"'{item['name']}' is already associated with {kind.replace('_', ' ')} '{name}'"
                )
                continue
            seen.add((kind, name))
            allowed = association.get("allowed_prefixes", [])
            prefixes = tuple(
                n for n in _networks(r, a_path + ("allowed_prefixes",), allowed) if n is not None
            )
            if kind == "transit_gateway" and not association.get("allowed_prefixes"):
                r.report(
                    a_path,
                    "a Direct Connect gateway's association with a transit gateway needs 'allowed_prefixes' "
                    "(AWS: they are what the sites hear)",
                )
            associations.append(
                m.DxAssociation(format_path(a_path), **{kind: name}, allowed_prefixes=prefixes)
            )
        built.append(m.DirectConnectGateway(format_path(path), item["name"], asn, tuple(associations)))
    return tuple(built)


def _dx_connections(
    r: Reporter, data: dict, site_asns: dict, gateways: tuple[m.DirectConnectGateway, ...]
) -> tuple[m.DirectConnectConnection, ...]:
    items = data.get("direct_connect_connections", [])
    r.unique_names(items, ("direct_connect_connections",), "Direct Connect connection")
    by_name = {g.name: g for g in gateways}
    built = []
    for c, item in enumerate(items):
        path = ("direct_connect_connections", c)
        site, gateway, vif = item["site"], item["gateway"], item.get("type", "private")
        if site not in site_asns:
            r.report(path + ("site",), f"no site named '{site}' in 'on_premises'")
        found = by_name.get(gateway)
        if found is None:
            r.report(path + ("gateway",), f"no Direct Connect gateway named '{gateway}'")
        else:
            reaches = "vpn_gateway" if vif == "private" else "transit_gateway"
            if not any(getattr(a, reaches) for a in found.associations):
                what = "virtual private gateway" if vif == "private" else "transit gateway"
                r.report(
                    path + ("type",),
                    f"a {vif} virtual interface reaches the {what}s its Direct Connect gateway is associated "
                    f"with, and '{gateway}' has none",
                )
            if site in site_asns and site_asns[site] == found.asn:
                r.report(
                    path + ("site",),
                    f"site '{site}' and Direct Connect gateway '{gateway}' both have ASN {found.asn}: "
                    "a BGP session needs two",
                )
        learned = None
        if "learned" in item:
            networks = _networks(r, path + ("learned",), item["learned"])
            learned = tuple(n for n in networks if n is not None)
        built.append(
            m.DirectConnectConnection(
                format_path(path),
                item["name"],
                site,
                gateway,
                vif,
                item.get("down", False),
                learned=learned,
                preference=item.get("preference", "medium"),
            )
        )
    return tuple(built)
