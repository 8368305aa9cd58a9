"""Random valid topologies for the differential fuzzer (pure; one seed, one design).

What the generator mixes: VPCs that reuse the same CIDR when nothing connects them, peerings
(never between overlapping VPCs, as AWS refuses), a transit gateway with several route
tables, static and blackhole routes, an inspection VPC that traffic hairpins through, NACLs
with allow/deny mixes and partial ephemeral ranges, SG rules naming SGs (own and peered VPC),
protocol 47, secondary VPC CIDRs, subnets in two AZs and attachments that miss one, a
PrivateLink service with an endpoint to it from another VPC, the internet (internet gateways,
public IPs, twin private addresses with public IPs, NAT gateways), instance MTUs that differ
along a path, appliances (no source/destination check, middlebox routes through them),
gateway endpoints to S3 or DynamoDB with prefix lists in SG rules and routes, a second
Region and account for a VPC nothing ties to its Region, and dual stack (``dual_stack``).
"""

from __future__ import annotations

import random
from ipaddress import IPv4Network
from typing import Any

from .dual_stack import dual_stack

MAX_INSTANCES = 8
PORTS = [22, 80, 443, "1000-2000", "1024-65535", "32768-45000", "45001-60999", "0-65535", 53]
PROTOCOLS = ["all", "tcp", "tcp", "udp", "icmp", 47]
ICMP_TYPES = [
    {"icmp_type": 8},
    {"icmp_type": 0, "icmp_code": 0},
    {"icmp_type": 3, "icmp_code": 4},
    {"icmp_type": -1},
]


class _Design:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.vpcs: list[dict[str, Any]] = []
        self.peerings: list[dict[str, Any]] = []
        self.linked: set[tuple[int, int]] = set()  # VPC pairs that a peering or the TGW joins
        self.referencing: list[int] = []  # VPCs on a TGW with SG referencing support on

    # -- address plan --------------------------------------------------------------------
    def numbers(self, count: int, tgw_members: set[int]) -> list[int]:
        """The second octet of each VPC's CIDR: unconnected VPCs may reuse one (overlap)."""
        numbers: list[int] = []
        for v in range(count):
            joined = {
                numbers[u]
                for u in range(v)
                if (u, v) in self.linked or (u in tgw_members and v in tgw_members)
            }
            reuse = [n for n in set(numbers) if n not in joined]
            if reuse and self.rng.random() < 0.4:
                numbers.append(self.rng.choice(sorted(reuse)))
            else:
                numbers.append(max(numbers, default=0) + 1)
        return numbers

    def rule_cidr(self, v: int) -> str:
        vpc = self.vpcs[v]
        choices = ["0.0.0.0/0", "10.0.0.0/8", vpc["cidr"][0], self.rng.choice(self.vpcs)["cidr"][0]]
        subnet = self.rng.choice(self.rng.choice(self.vpcs)["subnets"])["cidr"]
        return self.rng.choice([*choices, subnet])

    def traffic(self) -> dict[str, Any]:
        protocol = self.rng.choice(PROTOCOLS)
        rule: dict[str, Any] = {"protocol": protocol}
        if protocol in ("tcp", "udp") and self.rng.random() < 0.8:
            rule["ports"] = self.rng.choice(PORTS)
        if protocol == "icmp" and self.rng.random() < 0.5:
            rule.update(self.rng.choice(ICMP_TYPES))
        return rule


def generate(seed: int) -> dict[str, Any]:
    """One random topology as YAML data (what a user would write)."""
    design = _Design(seed)
    rng = design.rng
    count = rng.randint(2, 4)
    tgw_members = set(rng.sample(range(count), rng.randint(2, count))) if rng.random() < 0.6 else set()
    for u in range(count):
        for v in range(u + 1, count):
            if rng.random() < 0.35 and not (u in tgw_members and v in tgw_members):
                design.linked.add((u, v))
    numbers = design.numbers(count, tgw_members)
    if tgw_members and rng.random() < 0.5:
        design.referencing = sorted(tgw_members)
    for v, number in enumerate(numbers):
        design.vpcs.append(_vpc(design, v, number))
    for u, v in sorted(design.linked):
        if _overlap(design.vpcs[u], design.vpcs[v]):
            continue
        name = f"p{u}{v}"
        design.peerings.append({"name": name, "requester": f"v{u}", "accepter": f"v{v}"})
        for a, b in ((u, v), (v, u)):
            if rng.random() < 0.85:  # sometimes one side forgets its route
                _add_route(design.vpcs[a], {"destination": design.vpcs[b]["cidr"][0], "peering": name})
    for v in range(count):
        _security(design, v)
        _instances(design, v, count)
    data: dict[str, Any] = {
        "name": f"fz{seed}",
        "servers": [{"name": "s1", "az": "a"}, {"name": "s2", "az": "b"}],
        "vpcs": design.vpcs,
    }
    if design.peerings:
        data["peerings"] = design.peerings
    if tgw_members:
        data["transit_gateways"] = [_transit_gateway(design, sorted(tgw_members))]
    _privatelink(data, random.Random(f"{seed}:privatelink"))  # its own draws: older seeds keep their design
    _internet(data, random.Random(f"{seed}:internet"))
    _mtus(data, random.Random(f"{seed}:mtu"))
    _appliances(data, random.Random(f"{seed}:appliance"))
    _gateway_endpoints(data, random.Random(f"{seed}:gateway-endpoint"))
    _network_load_balancer(data, random.Random(f"{seed}:nlb"))
    _regions(data, random.Random(f"{seed}:regions"))
    dual_stack(data, random.Random(f"{seed}:ipv6"))
    return data


def _regions(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes a second Region (and account): a VPC that nothing ties to its Region (no
    TGW attachment, no endpoint, no prefix list of a Region, no SG reference across a peering,
    as AWS refuses between Regions) moves to eu-west-1 in another account, with servers of its
    own; its peerings become inter-Region (8500 bytes)."""
    if rng.random() >= 0.25:
        return
    tied = {a["vpc"] for t in data.get("transit_gateways", []) for a in t["attachments"]}
    tied |= {e["vpc"] for e in data.get("vpc_endpoints", [])} | {
        s["vpc"] for s in data.get("endpoint_services", [])
    }
    tied |= {b["vpc"] for b in data.get("network_load_balancers", [])}
    if "prefix_lists" in data:
        tied |= {v["name"] for v in data["vpcs"]}
    for vpc in data["vpcs"]:
        names = {g["name"] for g in vpc.get("security_groups", [])} | {f"{vpc['name']}/default"}
        for other in data["vpcs"]:
            rules = [
                r
                for g in other.get("security_groups", [])
                for d in ("ingress", "egress")
                for r in g.get(d, [])
            ]
            named = {r.get("security_group") for r in rules}
            if other is not vpc and (named & names or any("/" in str(n) for n in named)):
                tied |= {vpc["name"], other["name"]}
    movable = [v for v in data["vpcs"] if v["name"] not in tied]
    if not movable:
        return
    moved = rng.choice(movable)
    data["regions"] = [{"name": "us-east-1"}, {"name": "eu-west-1"}]
    data["accounts"] = [{"name": "home", "id": "111111111111"}, {"name": "away", "id": "222222222222"}]
    data["servers"] = [{**server, "region": "us-east-1"} for server in data["servers"]] + [
        {"name": "e1", "az": "a", "region": "eu-west-1"},
        {"name": "e2", "az": "b", "region": "eu-west-1"},
    ]
    moved.update(region="eu-west-1", account="away")


SERVICES = {"s3": "192.0.2.0/28", "dynamodb": "192.0.2.16/28"}  # vpclab's blocks in us-east-1


def _network_load_balancer(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes an internal NLB reached directly in one VPC: a node in a subnet of one or both
    AZs, its instances there as targets (one sometimes unhealthy), a TCP listener (sometimes to
    another target port, sometimes UDP too), cross-zone on or off; mostly an SG that admits the
    clients on the target port (they keep their own address). Checks every 300 s, as above."""
    if rng.random() >= 0.35:
        return
    vpc = rng.choice(data["vpcs"])
    zones: dict[str, str] = {}
    for subnet in rng.sample(vpc["subnets"], len(vpc["subnets"])):
        zones.setdefault(subnet["az"], subnet["name"])
    if len(zones) > 1 and rng.random() < 0.3:
        zones.pop(rng.choice(sorted(zones)))
    az_of = {s["name"]: s["az"] for s in vpc["subnets"]}
    targets = [i["name"] for i in vpc["instances"] if az_of[i["subnet"]] in zones]
    if not targets:
        return
    listener: dict[str, Any] = {"port": rng.choice([80, 443]), "protocol": "tcp"}
    if rng.random() < 0.4:
        listener["target_port"] = rng.choice([22, 8080])
    balancer: dict[str, Any] = {
        "name": "direct-nlb",
        "vpc": vpc["name"],
        "subnets": sorted(zones.values()),
        "listeners": [listener] + ([{"port": 53, "protocol": "udp"}] if rng.random() < 0.2 else []),
        "targets": targets,
        "enable_cross_zone_load_balancing": rng.random() < 0.5,
        "health_check": {"interval": 300},
    }
    if len(targets) > 1 and rng.random() < 0.2:
        balancer["unhealthy_targets"] = [rng.choice(targets)]
    if rng.random() < 0.75:
        port = listener.get("target_port", listener["port"])
        vpc["security_groups"].append(
            {
                "name": "nlbt",
                "ingress": [
                    {"protocol": "tcp", "ports": port, "cidr": rng.choice(["10.0.0.0/8", vpc["cidr"][0]])}
                ],
            }
        )
        for instance in vpc["instances"]:
            if instance["name"] in targets:
                instance["security_groups"] = [*instance["security_groups"], "nlbt"]
    data["network_load_balancers"] = [balancer]


def _gateway_endpoints(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes gateway endpoints (S3 or DynamoDB) in some VPCs, on some of their route
    tables; SG egress rules that name the service's prefix list, NACL rules for its block, and
    a customer-managed prefix list in an SG rule and a blackhole route."""
    if rng.random() >= 0.35:
        return
    endpoints = []
    for vpc in data["vpcs"]:
        if rng.random() >= 0.6:
            continue
        service = rng.choice(sorted(SERVICES))
        tables = [t["name"] for t in vpc["route_tables"] if rng.random() < 0.7] or [
            vpc["route_tables"][0]["name"]
        ]
        endpoints.append(
            {"name": f"ep-{vpc['name']}", "vpc": vpc["name"], "vpc_endpoint_type": "Gateway",
             "service": service, "route_tables": tables}
        )  # fmt: skip
        listed = f"com.amazonaws.us-east-1.{service}"
        for group in vpc.get("security_groups", []):
            if rng.random() < 0.5:
                port = rng.choice([443, 80, "0-65535"])
                group.setdefault("egress", []).append(
                    {"protocol": "tcp", "ports": port, "prefix_list": listed}
                )
        for nacl in vpc.get("nacls", []):
            if rng.random() < 0.5:
                rule = (
                    max((r["rule"] for r in nacl.get("ingress", []) + nacl.get("egress", [])), default=0) + 1
                )
                action = rng.choice(["allow", "allow", "deny"])
                for direction in ("ingress", "egress"):
                    nacl.setdefault(direction, []).append(
                        {"rule": rule, "protocol": "tcp", "cidr": SERVICES[service], "action": action}
                    )
    if not endpoints:
        return
    data.setdefault("vpc_endpoints", []).extend(endpoints)
    if rng.random() < 0.5:
        data["prefix_lists"] = [
            {"name": "offices", "entries": [{"cidr": "172.16.0.0/16"}, {"cidr": "172.17.0.0/16"}]}
        ]
        vpc = rng.choice(data["vpcs"])
        vpc["route_tables"][0]["routes"].append({"destination_prefix_list": "offices", "blackhole": True})
        for group in vpc.get("security_groups", [])[:1]:
            group.setdefault("ingress", []).append({"protocol": "tcp", "ports": 22, "prefix_list": "offices"})


def _appliances(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes an appliance: an instance without source/destination check (verify sends from
    addresses not its own through it), and in a VPC of two subnets or more sometimes middlebox
    routes through it: a subnet's table sends another subnet's CIDR to it (never its own
    subnet's table: what it forwards would come straight back), sometimes the way back too. A
    routed appliance gets an SG of CIDR rules (AWS's rules for middlebox routing: see check)."""
    if rng.random() >= 0.4:
        return
    vpc = rng.choice([v for v in data["vpcs"] if v["instances"]])
    box = rng.choice(vpc["instances"])
    box["source_dest_check"] = False
    others = [s for s in vpc["subnets"] if s["name"] != box["subnet"]]
    if not others or rng.random() >= 0.7:
        return
    cidr = rng.choice(["10.0.0.0/8", vpc["cidr"][0], "0.0.0.0/0"])
    rules = (
        [{"protocol": "all", "cidr": cidr}]
        if rng.random() < 0.6
        else [{"protocol": "tcp", "ports": 80, "cidr": cidr}]
    )
    vpc["security_groups"].append({"name": "box", "ingress": rules})
    box["security_groups"] = ["box"]
    source = rng.choice(others)
    target = rng.choice([s for s in vpc["subnets"] if s is not source])
    _route_through(vpc, source, target["cidr"], box["name"])
    if target["name"] != box["subnet"] and rng.random() < 0.6:
        _route_through(vpc, target, source["cidr"], box["name"])


def _route_through(vpc: dict, subnet: dict, destination: str, box: str) -> None:
    """Route ``destination`` (a subnet's CIDR) to ``box`` in ``subnet``'s own table: a copy of
    the table it used, unless it had one to itself."""
    used = subnet.get("route_table", "main")
    if subnet.get("route_table") is None or any(
        s is not subnet and s.get("route_table") == used for s in vpc["subnets"]
    ):
        source = next(t for t in vpc["route_tables"] if t["name"] == used)
        name = f"via-{subnet['name']}"
        vpc["route_tables"].append({"name": name, "routes": [dict(r) for r in source["routes"]]})
        subnet["route_table"] = name
    table = next(t for t in vpc["route_tables"] if t["name"] == subnet["route_table"])
    table["routes"].append({"destination": destination, "instance": box})


def _internet(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes the internet: a host on it, internet gateways on some VPCs (a default route to
    them in the main table, unless one is there), public IPs on some of their instances (VPCs
    that reuse a CIDR then have twin private addresses with public IPs), and sometimes a NAT
    gateway in such a VPC that a second route table's subnet reaches the internet through."""
    if rng.random() >= 0.45:
        return
    data["internet"] = {"hosts": [{"name": "client", "ip": "198.51.100.10"}]}
    for vpc in data["vpcs"]:
        if rng.random() >= 0.6:
            continue
        gateway = f"igw-{vpc['name']}"
        vpc["internet_gateway"] = gateway
        _add_route(vpc, {"destination": "0.0.0.0/0", "internet_gateway": gateway})
        for instance in vpc["instances"]:
            if rng.random() < 0.5:
                instance["public_ip"] = True
        main = vpc["route_tables"][0]["routes"]
        through_igw = any(r.get("internet_gateway") == gateway for r in main)
        if len(vpc["subnets"]) < 2 or not through_igw or rng.random() >= 0.4:
            continue
        public, private = vpc["subnets"][0], rng.choice(vpc["subnets"][1:])
        vpc["nat_gateways"] = [{"name": f"nat-{vpc['name']}", "subnet": public["name"]}]
        routes = [dict(r) for r in main if r["destination"] != "0.0.0.0/0"]
        routes.append({"destination": "0.0.0.0/0", "nat_gateway": f"nat-{vpc['name']}"})
        vpc["route_tables"].append({"name": "private", "routes": routes})
        private["route_table"] = "private"


def _mtus(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes instances whose MTU differs from their neighbours' (1500 or 8000, not 9001)."""
    if rng.random() >= 0.3:
        return
    for vpc in data["vpcs"]:
        for instance in vpc["instances"]:
            if rng.random() < 0.35:
                instance["mtu"] = rng.choice([1500, 8000])


def _privatelink(data: dict[str, Any], rng: random.Random) -> None:
    """Sometimes a PrivateLink service in one VPC and an endpoint to it from another (their
    CIDRs may overlap): an NLB over the provider's instances in the AZs it covers, listeners
    (sometimes to another target port, sometimes UDP too), sometimes one target unhealthy, the
    endpoint's interfaces in the consumer's subnets of those AZs, with one of its SGs. Its
    health checks run every 300 s: a verdict they reached during a run would not be the design
    trace reads."""
    vpcs = data["vpcs"]
    if len(vpcs) < 2 or rng.random() >= 0.4:
        return
    provider, consumer = rng.sample(vpcs, 2)
    zones: dict[str, str] = {}
    for subnet in provider["subnets"]:
        zones.setdefault(subnet["az"], subnet["name"])
    az_of = {s["name"]: s["az"] for s in provider["subnets"]}
    targets = [i["name"] for i in provider["instances"] if az_of[i["subnet"]] in zones]
    interfaces: dict[str, str] = {}
    for subnet in consumer["subnets"]:
        if subnet["az"] in zones:
            interfaces.setdefault(subnet["az"], subnet["name"])
    if not targets or not interfaces:
        return
    listener: dict[str, Any] = {"port": rng.choice([80, 443, 8443]), "protocol": "tcp"}
    if rng.random() < 0.3:
        listener["target_port"] = rng.choice([22, 443, 8080])
    listeners = [listener] + ([{"port": 53, "protocol": "udp"}] if rng.random() < 0.3 else [])
    balancer: dict[str, Any] = {
        "name": "nlb",
        "subnets": sorted(zones.values()),
        "listeners": listeners,
        "targets": targets,
        "health_check": {"interval": 300},
    }
    if len(targets) > 1 and rng.random() < 0.25:
        balancer["unhealthy_targets"] = [rng.choice(targets)]
    groups = ["default", *(g["name"] for g in consumer["security_groups"])]
    if rng.random() < 0.75:  # mostly an SG made for the endpoint, so that calls get through
        opened = {
            "protocol": "tcp",
            "ports": listener["port"],
            "cidr": rng.choice(["10.0.0.0/8", *consumer["cidr"]]),
        }
        consumer["security_groups"].append({"name": "epg", "ingress": [opened]})
        groups = ["epg"]
    if rng.random() < 0.75:  # and the targets admit the NLB's addresses
        port = listener.get("target_port", listener["port"])
        provider["security_groups"].append(
            {"name": "tg", "ingress": [{"protocol": "tcp", "ports": port, "cidr": provider["cidr"][0]}]}
        )
        for instance in provider["instances"]:
            if instance["name"] in targets:
                instance["security_groups"] = [*instance["security_groups"], "tg"]
    data["endpoint_services"] = [
        {
            "name": "svc",
            "vpc": provider["name"],
            "load_balancer": balancer,
            "private_dns_name": "svc.fuzz.example",
        }
    ]
    data["vpc_endpoints"] = [
        {
            "name": "ep",
            "vpc": consumer["name"],
            "service": "svc",
            "subnets": sorted(interfaces.values()),
            "security_groups": [rng.choice(groups)],
        }
    ]


def _overlap(a: dict, b: dict) -> bool:
    return any(IPv4Network(x).overlaps(IPv4Network(y)) for x in a["cidr"] for y in b["cidr"])


def _vpc(design: _Design, v: int, number: int) -> dict[str, Any]:
    rng = design.rng
    cidrs = [f"10.{number}.0.0/16"]
    if rng.random() < 0.25:
        cidrs.append(f"10.{100 + number}.0.0/16")  # a secondary CIDR, unique like the first
    subnets = []
    for n in range(rng.randint(1, 3)):
        base = cidrs[-1] if n == 2 and len(cidrs) > 1 else cidrs[0]
        prefix = base.split(".")[:2]
        subnets.append(
            {"name": f"s{n}", "cidr": f"{prefix[0]}.{prefix[1]}.{n + 1}.0/24", "az": rng.choice("ab")}
        )
    return {
        "name": f"v{v}",
        "cidr": cidrs,
        "subnets": subnets,
        "route_tables": [{"name": "main", "main": True, "routes": []}],
    }


def _add_route(vpc: dict, route: dict) -> None:
    """Add a route to the VPC's main table, unless the local route covers its destination or
    the table already has one for it (AWS refuses both)."""
    destination = IPv4Network(route["destination"])
    routes = vpc["route_tables"][0]["routes"]
    if any(destination.subnet_of(IPv4Network(c)) for c in vpc["cidr"]):
        return
    if all(r["destination"] != route["destination"] for r in routes):
        routes.append(route)


def _security(design: _Design, v: int) -> None:
    rng, vpc = design.rng, design.vpcs[v]
    peered = [
        p["requester"] if p["accepter"] == f"v{v}" else p["accepter"]
        for p in design.peerings
        if f"v{v}" in (p["requester"], p["accepter"])
    ]
    referenced = [f"v{u}" for u in design.referencing if u != v and v in design.referencing]
    groups = []
    for n in range(rng.randint(1, 2)):
        group: dict[str, Any] = {
            "name": f"g{v}{n}",
            "ingress": [_sg_rule(design, v, peered + referenced) for _ in range(rng.randint(0, 4))],
        }
        if rng.random() < 0.3:
            group["egress"] = [_sg_rule(design, v, peered) for _ in range(rng.randint(0, 2))]
        groups.append(group)
    vpc["security_groups"] = groups
    if rng.random() < 0.7:
        vpc["nacls"] = [{"name": "n", "ingress": _nacl_rules(design, v), "egress": _nacl_rules(design, v)}]
        for subnet in vpc["subnets"]:
            if rng.random() < 0.6:
                subnet["nacl"] = "n"
    if rng.random() < 0.3:  # a blackhole for one subnet of some VPC
        target = rng.choice(rng.choice(design.vpcs)["subnets"])["cidr"]
        _add_route(vpc, {"destination": target, "blackhole": True})


def _sg_rule(design: _Design, v: int, peered: list[str]) -> dict[str, Any]:
    rng = design.rng
    rule = design.traffic()
    if rng.random() < 0.3:
        owner = rng.choice([f"v{v}", *peered])
        index = int(owner[1:])
        rule["security_group"] = rng.choice(
            ["default" if owner == f"v{v}" else f"{owner}/default", f"g{index}0"]
        )
    else:
        rule["cidr"] = design.rule_cidr(v)
    return rule


def _nacl_rules(design: _Design, v: int) -> list[dict[str, Any]]:
    rng = design.rng
    numbers = sorted(rng.sample(range(10, 300, 10), rng.randint(1, 5)))
    rules = []
    for number in numbers:
        rule = {"rule": number, **design.traffic(), "cidr": design.rule_cidr(v)}
        rule["action"] = "allow" if rng.random() < 0.7 else "deny"
        rules.append(rule)
    if rng.random() < 0.6:  # usually a final allow-all, sometimes not (everything else denied)
        rules.append({"rule": 900, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"})
    return rules


def _instances(design: _Design, v: int, count: int) -> None:
    rng, vpc = design.rng, design.vpcs[v]
    budget = max(1, MAX_INSTANCES // count)
    instances = []
    for n in range(rng.randint(1, min(3, budget))):
        groups = [g["name"] for g in vpc["security_groups"]]
        chosen = rng.sample(["default", *groups], rng.randint(1, 2))
        instances.append(
            {"name": f"i{v}{n}", "subnet": rng.choice(vpc["subnets"])["name"], "security_groups": chosen}
        )
    vpc["instances"] = instances


def _transit_gateway(design: _Design, members: list[int]) -> dict[str, Any]:
    rng = design.rng
    attachments = []
    for v in members:
        subnets = design.vpcs[v]["subnets"]
        by_az = {s["az"]: s["name"] for s in subnets}
        covered = list(by_az.values()) if rng.random() < 0.8 else [subnets[0]["name"]]
        attachment: dict[str, Any] = {"name": f"a{v}", "vpc": f"v{v}", "subnets": covered}
        if design.referencing and rng.random() < 0.2:
            attachment["security_group_referencing_support"] = False
        attachments.append(attachment)
        _add_route(
            design.vpcs[v], {"destination": rng.choice(["10.0.0.0/8", "10.0.0.0/9"]), "transit_gateway": "t"}
        )
    names = [a["name"] for a in attachments]
    tables: list[dict[str, Any]] = []
    if len(members) >= 3 and rng.random() < 0.4:  # an inspection VPC: spokes hairpin through it
        inspection = names[0]
        spokes = names[1:]
        tables.append(
            {
                "name": "spokes",
                "associations": spokes,
                "propagations": [],
                "routes": [{"destination": "10.0.0.0/8", "attachment": inspection}],
            }
        )
        tables.append({"name": "insp", "associations": [inspection], "propagations": spokes, "routes": []})
        return _tgw(design, attachments, tables)
    unassociated = [n for n in names if rng.random() < 0.15]
    first: dict[str, Any] = {
        "name": "r0",
        "associations": [n for n in names if n not in unassociated],
        "propagations": [n for n in names if rng.random() < 0.8],
        "routes": [],
    }
    if rng.random() < 0.3:
        first["routes"].append({"destination": f"10.{rng.randint(1, 4)}.0.0/16", "blackhole": True})
    tables.append(first)
    if rng.random() < 0.4 and len(first["associations"]) > 1:  # a second table for one attachment
        moved = first["associations"].pop()
        tables.append(
            {
                "name": "r1",
                "associations": [moved],
                "propagations": [n for n in names if rng.random() < 0.6],
                "routes": [],
            }
        )
    return _tgw(design, attachments, tables)


def _tgw(design: _Design, attachments: list, tables: list) -> dict[str, Any]:
    tgw: dict[str, Any] = {"name": "t", "attachments": attachments, "route_tables": tables}
    if design.referencing:
        tgw["security_group_referencing_support"] = True
    return tgw
