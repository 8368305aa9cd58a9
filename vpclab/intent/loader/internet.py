"""The internet edge: internet hosts, internet gateways and the instances' public IPs.

Every address outside the VPCs comes from the documentation ranges (RFC 5737), so nothing
the emulation sends can mean a real host. ``public_ip: true`` takes the first free address of
203.0.113.0/24 in file order, after every address the file names itself.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_address
from .ipv6 import host_ipv6
from .reporter import Known, Reporter

RANGES_TEXT = ", ".join(str(network) for network in m.DOCUMENTATION_RANGES)


def check_reserved_server_name(r: Reporter, data: dict) -> None:
    servers = data.get("servers")
    if not isinstance(servers, list):
        return
    for n, server in enumerate(servers):
        if server["name"] == m.INTERNET_CARD:
            r.report(
                ("servers", n, "name"),
                f"'{m.INTERNET_CARD}' is reserved: it names the card of the emulated internet",
            )


def build_internet_gateways(r: Reporter, known: Known, data: dict) -> None:
    """Each VPC's internet gateway (one at most, as in AWS), with a name no other VPC uses."""
    owners: dict[str, int] = {}
    for v, vpc in enumerate(data["vpcs"]):
        name = vpc.get("internet_gateway")
        if name is None:
            continue
        path = ("vpcs", v, "internet_gateway")
        if name in owners:
            r.report(
                path,
                f"internet gateway '{name}' is already attached to VPC "
                f"'{data['vpcs'][owners[name]]['name']}'; a gateway attaches to one VPC",
            )
            continue
        owners[name] = v
        known.internet_gateways[vpc["name"]] = m.InternetGateway(format_path(path), name, vpc["name"])


def _outside_address(r: Reporter, known: Known, path: DocPath, text, what: str) -> Optional[IPv4Address]:
    """An address of the emulated internet: parsed, documentation range, in no VPC."""
    address = r.parsed(path, parse_address, text)
    if address is None:
        return None
    if not any(address in network for network in m.DOCUMENTATION_RANGES):
        r.report(
            path,
            f"{address} is not a documentation address; {what} must be in {RANGES_TEXT} "
            "(RFC 5737), so the emulation never uses a real host's address",
        )
        return None
    if address in m.AWS_VPN_ENDPOINTS:
        r.report(
            path,
            f"{address} is AWS's: vpclab's VPN tunnels take {m.AWS_VPN_ENDPOINTS} as their outside addresses",
        )
        return None
    for vpc, cidrs in known.vpc_cidrs.items():
        if any(address in cidr for cidr in cidrs):
            r.report(path, f"{address} is inside VPC '{vpc}' ({', '.join(map(str, cidrs))})")
            return None
    return address


def build_internet_hosts(r: Reporter, known: Known, data: dict) -> tuple[m.InternetHost, ...]:
    """The hosts of ``internet.hosts``: unique names (also among instances), unique addresses."""
    hosts_data = data.get("internet", {}).get("hosts", [])
    path = ("internet", "hosts")
    r.unique_names(hosts_data, path, "internet host")
    instances = {
        instance["name"]: ("vpcs", v, "instances", i)
        for v, vpc in enumerate(data["vpcs"])
        for i, instance in enumerate(vpc.get("instances", []))
    }
    hosts = []
    cards = {server.name for server in known.servers} | {m.INTERNET_CARD}
    for n, host in enumerate(hosts_data):
        if host["name"] in cards:
            r.report(path + (n, "name"), f"'{host['name']}' names a card (a server or the internet's)")
            continue
        if host["name"] in instances:
            r.report(
                path + (n, "name"),
                f"'{host['name']}' is already an instance ({format_path(instances[host['name']])})",
            )
            continue
        address = _outside_address(r, known, path + (n, "ip"), host["ip"], "an internet host's address")
        if address is None:
            continue
        if address in known.outside_addresses:
            r.report(
                path + (n, "ip"),
                f"{address} is already used by {format_path(known.outside_addresses[address])}",
            )
            continue
        known.outside_addresses[address] = path + (n, "ip")
        ipv6 = host_ipv6(r, known, path + (n, "ipv6"), host["ipv6"]) if "ipv6" in host else None
        hosts.append(m.InternetHost(format_path(path + (n,)), host["name"], address, ipv6=ipv6))
    return tuple(hosts)


def assign_public_ips(r: Reporter, known: Known, data: dict) -> None:
    """Fill ``known.public_ips`` ((VPC index, instance index) -> address) and
    ``known.nat_public_ips`` (NAT gateways, which always have one): the Elastic IPs a file names
    first, then the automatic ones from the pool, instances before NAT gateways, in file order."""
    automatic = []
    pinned = (data.get("numbering") or {}).get("public_ips") or {}  # automatic ones, as given
    for family, kind, found, default in (
        ("instances", "public IP", known.public_ips, False),
        ("nat_gateways", "NAT gateway's Elastic IP", known.nat_public_ips, True),
    ):
        for v, vpc in enumerate(data["vpcs"]):
            for i, owner in enumerate(vpc.get(family, [])):
                wanted = owner.get("public_ip", default)
                path: tuple = ("vpcs", v, family, i, "public_ip")
                if wanted is True and family == "instances" and owner.get("state") == "stopped":
                    continue  # AWS releases an automatic public IP when the instance stops
                if (
                    wanted is True
                    and family == "instances"
                    and isinstance(pinned.get(owner.get("name")), str)
                ):
                    wanted, path = pinned[owner["name"]], ("numbering", "public_ips", owner["name"])
                if wanted is True:
                    automatic.append((path, found, (v, i)))
                elif isinstance(wanted, str):
                    address = _outside_address(r, known, path, wanted, f"a {kind}")
                    if address is None:
                        continue
                    if address in known.outside_addresses:
                        r.report(
                            path,
                            f"{address} is already used by {format_path(known.outside_addresses[address])}",
                        )
                        continue
                    known.outside_addresses[address] = path
                    found[v, i] = address
    automatic_ones = {
        i.get("name") for vpc in data["vpcs"] for i in vpc.get("instances", []) if i.get("public_ip") is True
    }
    for name in pinned:
        if name not in automatic_ones:
            r.report(
                ("numbering", "public_ips", name),
                f"no instance '{name}' with public_ip: true to keep one for",
            )
    released = (data.get("numbering") or {}).get("released_public_ips") or {}  # stopped, then started
    pool = [
        address
        for address in m.PUBLIC_IP_POOL.hosts()
        if address not in known.outside_addresses
        and not any(address in cidr for cidrs in known.vpc_cidrs.values() for cidr in cidrs)
    ]
    for path, found, key in automatic:
        name = data["vpcs"][key[0]][path[2]][key[1]].get("name") if path[0] == "vpcs" else None
        avoided = str(released.get(name)) if found is known.public_ips else None  # AWS: a new one
        given = next((a for a in pool if str(a) != avoided), None)
        if given is None:
            r.report(path, f"no public IP left in {m.PUBLIC_IP_POOL}")
            continue
        pool.remove(given)
        known.outside_addresses[given] = path
        found[key] = given
