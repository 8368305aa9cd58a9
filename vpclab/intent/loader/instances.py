"""Instances of one VPC: their subnet, private IP (AWS's first free), SGs and server placement."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_address, parse_ipv6_address
from .accounts import over_quota
from .ipv6 import assigned_ipv6
from .reporter import Known, Reporter
from .rules import resolve_sg

MAX_INSTANCE_NAME = 63  # a DNS label: instance names become host names


def build_instances(
    r: Reporter, known: Known, v: int, vpc: dict, subnets: tuple[m.Subnet, ...]
) -> tuple[m.Instance, ...]:
    """Build the instances of ``vpcs[v]``."""
    by_name = {subnet.name: subnet for subnet in subnets}
    entries = []  # (index, data, subnet or None)
    for i, instance in enumerate(vpc.get("instances", [])):
        subnet = by_name.get(instance["subnet"])
        if subnet is None and instance["subnet"] not in known.subnets[vpc["name"]]:
            r.report(
                ("vpcs", v, "instances", i, "subnet"),
                f"no subnet '{instance['subnet']}' in VPC '{vpc['name']}'",
            )
        entries.append((i, instance, subnet))
    addresses = _assign_addresses(r, v, entries)
    given_ipv6 = given_addresses(
        r, v, entries, "ipv6", parse_ipv6_address, lambda s: s.ipv6_cidr, lambda s: s.reserved_addresses_v6
    )
    used_ipv6 = set(given_ipv6.values())
    result = []
    for i, instance, subnet in entries:
        path = ("vpcs", v, "instances", i)
        groups = resolve_security_groups(r, known, path, vpc["name"], instance)
        server = place_on_server(r, known, path, instance, subnet)
        if subnet is None or groups is None or server is None:
            continue
        if (addresses.get(i) is None and not subnet.ipv6_native) or (
            "ipv6" in instance and i not in given_ipv6
        ):
            continue  # a bad address, already reported
        if subnet.ipv6_native and (v, i) in known.public_ips:
            r.report(
                path + ("public_ip",), f"subnet '{subnet.name}' is IPv6-only: no public IPv4 address here"
            )
            continue
        ipv6 = given_ipv6.get(i) or assigned_ipv6(subnet, addresses.get(i), used_ipv6)
        if ipv6 is not None:
            used_ipv6.add(ipv6)
        result.append(
            m.Instance(
                format_path(path),
                vpc["name"],
                subnet.name,
                instance["name"],
                addresses.get(i),
                groups,
                server,
                known.public_ips.get((v, i)),
                m.MetadataOptions(**instance.get("metadata_options", {})),
                instance.get("iam_role"),
                instance.get("source_dest_check", True),
                instance.get("mtu", m.INSTANCE_MTU),
                aws_id_of(instance),
                r.parsed(path + ("aws_public_ip",), parse_address, instance["aws_public_ip"])
                if "aws_public_ip" in instance
                else None,
                ipv6=ipv6,
                state=instance.get("state", "running"),
            )
        )
    return tuple(result)


def _assign_addresses(r: Reporter, v: int, entries) -> dict[int, IPv4Address]:
    """Explicit IPs are checked first; the others get the first free non-reserved address."""
    addresses = given_addresses(
        r, v, entries, "ip", parse_address, lambda s: s.cidr, lambda s: s.reserved_addresses
    )
    used = {address: i for i, address in addresses.items()}
    for i, instance, subnet in entries:
        if "ip" in instance or subnet is None or subnet.cidr is None:
            continue  # given, or IPv6-only
        reserved = subnet.reserved_addresses
        address = next((a for a in subnet.cidr if a not in reserved and a not in used), None)
        if address is None:
            r.report(
                ("vpcs", v, "instances", i, "subnet"),
                f"subnet '{subnet.name}' ({subnet.cidr}) has no free address left",
            )
            continue
        used[address] = i
        addresses[i] = address
    return addresses


def given_addresses(r: Reporter, v: int, entries, key: str, parser, block, reserved) -> dict:
    """Index -> the address the file gives an instance under ``key`` (``ip``, ``ipv6``):
    inside its subnet's ``block(subnet)``, none of ``reserved(subnet)``, used once."""
    used: dict = {}
    for i, instance, subnet in entries:
        if key not in instance or subnet is None:
            continue
        path = ("vpcs", v, "instances", i, key)
        address = r.parsed(path, parser, instance[key])
        network = block(subnet)
        if address is None:
            continue
        if network is None and key == "ip":
            r.report(path, f"subnet '{subnet.name}' is IPv6-only (ipv6_native): its instances have no IPv4")
        elif network is None:
            r.report(path, f"subnet '{subnet.name}' has no IPv6 CIDR: set its 'ipv6_cidr' (a /64)")
        elif address not in network:
            r.report(path, f"{address} is outside subnet '{subnet.name}' ({network})")
        elif address in reserved(subnet):
            r.report(
                path, f"{address} is reserved by AWS in {network} (the first four addresses and the last one)"
            )
        elif address in used:
            r.report(path, f"{address} is already used by vpcs[{v}].instances[{used[address]}]")
        else:
            used[address] = i
    return {i: address for address, i in used.items()}


def resolve_security_groups(r: Reporter, known: Known, path, vpc: str, interface: dict):
    """The SGs of an instance (or an endpoint's interfaces): ``default`` unless listed."""
    names = interface.get("security_groups", ["default"])
    if over_quota(
        r, known, path + ("security_groups",), "security_groups_per_interface", len(names), "security groups"
    ):
        return None
    refs = []
    for n, name in enumerate(names):
        ref = resolve_sg(r, known, path + ("security_groups", n), vpc, name, allow_peered=False)
        if ref is None:
            return None
        if ref in refs:
            r.report(path + ("security_groups", n), f"security group '{name}' is listed twice")
            return None
        refs.append(ref)
    return tuple(refs)


ANY_AWS_ID = re.compile(r"[a-z]+(?:-[a-z]+)*-[0-9a-z]+")  # i-0a1b2c3d, or a test's i-web01


def aws_id_of(item: dict) -> Optional[str]:
    """The AWS id an imported object's description starts with (`vpclab import` writes it)."""
    words = str(item.get("description", "")).split()
    return words[0] if words and ANY_AWS_ID.fullmatch(words[0].rstrip(",")) else None


def same_zone(region: str, az: str, other: str) -> bool:
    """Are ``az`` and ``other`` one AZ of ``region`` (``a`` and ``us-east-1a`` are)?"""
    zone = m.Region("", region).zone
    return zone(az) == zone(other)


def place_on_server(r: Reporter, known: Known, path, instance: dict, subnet):
    """The named server (checked against the subnet's AZ), or the least loaded eligible one
    (for an instance, or a NAT gateway's translations)."""
    if subnet is None:
        return None
    servers = known.servers
    region = known.places[subnet.vpc][1]
    if "server" in instance:
        server = next((s for s in servers if s.name == instance["server"]), None)
        if server is None:
            names = ", ".join(s.name for s in servers)
            r.report(path + ("server",), f"no server '{instance['server']}' (servers: {names})")
            return None
        if server.region is not None and server.region != region:
            r.report(
                path + ("server",),
                f"server '{server.name}' is in Region {server.region} but "
                f"subnet '{subnet.name}' is in Region {region} (VPC '{subnet.vpc}')",
            )
            return None
        if server.az is not None and not same_zone(region, server.az, subnet.az):
            r.report(
                path + ("server",),
                f"server '{server.name}' is in AZ {server.az} but "
                f"subnet '{subnet.name}' is in AZ {subnet.az}",
            )
            return None
        known.server_load[server.name] += 1
        return server.name
    eligible = [
        s
        for s in servers
        if s.region in (None, region) and (s.az is None or same_zone(region, s.az, subnet.az))
    ]
    if not eligible:
        where = f"AZ {subnet.az}" if len(known.regions) == 1 else f"AZ {subnet.az} of Region {region}"
        r.report(
            path + ("subnet",),
            f"no server is in {where} (subnet '{subnet.name}'); add one to 'servers'",
        )
        return None
    server = min(eligible, key=lambda s: known.server_load[s.name])
    known.server_load[server.name] += 1
    return server.name


def check_instance_names(r: Reporter, data: dict) -> None:
    """Instance names are unique across the file and at most a DNS label long."""
    seen: dict[str, DocPath] = {}
    for v, vpc in enumerate(data["vpcs"]):
        for i, instance in enumerate(vpc.get("instances", [])):
            path = ("vpcs", v, "instances", i, "name")
            name = instance["name"]
            if name in seen:
                r.report(path, f"instance '{name}' is already defined at {format_path(seen[name][:-1])}")
            seen.setdefault(name, path)
            if len(name) > MAX_INSTANCE_NAME:
                r.report(
                    path,
                    f"'{name}' is {len(name)} characters; instance names are at "
                    f"most {MAX_INSTANCE_NAME} (a DNS label)",
                )
