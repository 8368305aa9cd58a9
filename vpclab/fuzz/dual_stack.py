"""The fuzzer's dual-stack ingredient: IPv6 CIDRs on some VPCs, /64s on their subnets (and
sometimes an IPv6-only subnet with an instance), IPv6 routes over peerings, to internet or
egress-only internet gateways and through appliances (a middlebox route's /64 twin), IPv6
rules in the groups and NACLs, the internet host's IPv6 address, and routes over a transit
gateway to other VPCs' /56s (which its tables propagate)."""

from __future__ import annotations

import random
from typing import Any

ALL_IPV6 = "::/0"


def dual_stack(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes make some of the design's VPCs dual-stack (every VPC's CIDR its own /56)."""
    if rng.random() >= 0.4:
        return
    vpcs = [vpc for vpc in data["vpcs"] if rng.random() < 0.7]
    for vpc in vpcs:
        _ipv6_vpc(vpc, data["vpcs"].index(vpc) + 1, rng)
        _through_appliances(vpc, rng)
    _over_transit_gateways(vpcs, rng)
    named = {vpc["name"]: vpc for vpc in vpcs}
    for peering in data.get("peerings", ()):
        requester, accepter = named.get(peering["requester"]), named.get(peering["accepter"])
        if requester is None or accepter is None:
            continue
        for mine, other in ((requester, accepter), (accepter, requester)):
            if rng.random() < 0.85:  # sometimes one side forgets its route, as in IPv4
                _route(mine, {"destination": other["ipv6_cidr"], "peering": peering["name"]})
    if "internet" in data:
        data["internet"]["hosts"][0]["ipv6"] = "2001:db8:ffff::10"
        for vpc in vpcs:
            _to_the_internet(vpc, rng)
    for vpc in vpcs:
        _rules(vpc, [v["ipv6_cidr"] for v in vpcs if v is not vpc], rng)


def _ipv6_vpc(vpc: dict, number: int, rng: random.Random) -> None:
    vpc["ipv6_cidr"] = f"2001:db8:{number:x}00::/56"
    base = f"2001:db8:{number:x}00"
    for n, subnet in enumerate(vpc["subnets"]):
        subnet["ipv6_cidr"] = f"{base}:{n + 1:x}::/64"
    if rng.random() < 0.35:  # an IPv6-only subnet, with an instance in it
        name = f"s6{number}"
        vpc["subnets"].append(
            {"name": name, "ipv6_cidr": f"{base}:ff::/64", "ipv6_native": True, "az": rng.choice("ab")}
        )
        groups = [g["name"] for g in vpc.get("security_groups", ())]
        vpc["instances"].append(
            {"name": f"w{number}", "subnet": name, "security_groups": rng.sample(["default", *groups], 1)}
        )


def _over_transit_gateways(vpcs: list[dict], rng: random.Random) -> None:
    """A dual-stack VPC's table that sends IPv4 to a TGW often sends IPv6 there too: the whole
    documentation space (its own /56 stays local), which the TGW's tables route by the /56s
    they propagate."""
    for vpc in vpcs:
        for table in vpc["route_tables"]:
            tgws = sorted({r["transit_gateway"] for r in table["routes"] if r.get("transit_gateway")})
            if tgws and rng.random() < 0.8:
                table["routes"] = [
                    *table["routes"],
                    {"destination": "2001:db8::/32", "transit_gateway": tgws[0]},
                ]


def _through_appliances(vpc: dict, rng: random.Random) -> None:
    """Most routes to an appliance for a subnet's IPv4 CIDR get their IPv6 twin, the /64."""
    sixes = {s["cidr"]: s["ipv6_cidr"] for s in vpc["subnets"] if "cidr" in s and "ipv6_cidr" in s}
    for table in vpc["route_tables"]:
        twins = [
            {"destination": sixes[r["destination"]], "instance": r["instance"]}
            for r in table["routes"]
            if r.get("instance") and r.get("destination") in sixes and rng.random() < 0.7
        ]
        if twins:
            table["routes"] = [*table["routes"], *twins]  # a new list: the generator shares some


def _route(vpc: dict, route: dict) -> None:
    table = vpc["route_tables"][0]
    if all(r.get("destination") != route["destination"] for r in table["routes"]):
        table["routes"] = [*table["routes"], route]  # a new list: the generator shares some


def _to_the_internet(vpc: dict, rng: random.Random) -> None:
    """IPv6 to the internet: through the VPC's internet gateway, or an egress-only one."""
    if "internet_gateway" in vpc and rng.random() < 0.7:
        _route(vpc, {"destination": ALL_IPV6, "internet_gateway": vpc["internet_gateway"]})
    elif rng.random() < 0.6:
        gateway = f"eigw-{vpc['name']}"
        vpc["egress_only_internet_gateway"] = gateway
        _route(vpc, {"destination": ALL_IPV6, "egress_only_internet_gateway": gateway})


def _rules(vpc: dict, others: list[str], rng: random.Random) -> None:
    """IPv6 rules: a group created with rules allows IPv4 out only, so IPv6 out is written;
    some ingress from anywhere or a peer's /56; NACL rules of both kinds. (New lists: the
    generator shares some between VPCs.)"""
    cidrs = [ALL_IPV6, vpc["ipv6_cidr"], *others]
    for group in vpc.get("security_groups", ()):
        if rng.random() < 0.7:
            group["egress"] = [*group.get("egress", ()), {"protocol": "all", "cidr": ALL_IPV6}]
        added = [{**_traffic(rng), "cidr": rng.choice(cidrs)} for _ in range(rng.randint(0, 2))]
        group["ingress"] = [*group["ingress"], *added]
    for nacl in vpc.get("nacls", ()):
        for direction in ("ingress", "egress"):
            taken = {r["rule"] for r in nacl[direction]}
            free = [n for n in range(15, 300, 10) if n not in taken]
            rules = list(nacl[direction])
            for number in sorted(rng.sample(free, rng.randint(0, 2))):
                action = "allow" if rng.random() < 0.7 else "deny"
                rules.append({"rule": number, **_traffic(rng), "cidr": rng.choice(cidrs), "action": action})
            if rng.random() < 0.6 and 901 not in taken:
                rules.append({"rule": 901, "protocol": "all", "cidr": ALL_IPV6, "action": "allow"})
            nacl[direction] = rules


def _traffic(rng: random.Random) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.3:
        return {"protocol": "icmpv6"}
    if kind < 0.4:
        return {"protocol": "icmpv6", "icmp_type": 128}
    if kind < 0.8:
        low = rng.choice([22, 80, 443, 1000, 8000])
        return {"protocol": "tcp", "ports": f"{low}-{low + rng.choice([0, 100])}" if low >= 1000 else low}
    return {"protocol": "all"}
