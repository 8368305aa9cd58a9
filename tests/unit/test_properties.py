"""Property tests on random small topologies: trace never crashes and keeps AWS's symmetries."""

from dataclasses import replace
from ipaddress import IPv4Network

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpclab.intent import model as m
from vpclab.oracle.trace import trace

PROTOCOLS = [("icmp", None), ("tcp", 22), ("tcp", 443), ("udp", 53)]
SG_RULE = st.sampled_from(
    [
        {"protocol": "all", "cidr": "10.0.0.0/8"},
        {"protocol": "tcp", "ports": 22, "cidr": "0.0.0.0/0"},
        {"protocol": "icmp", "cidr": "10.1.0.0/16"},
        {"protocol": "icmp", "icmp_type": 8, "cidr": "10.0.0.0/8"},
        {"protocol": "icmp", "icmp_type": 3, "icmp_code": 4, "cidr": "0.0.0.0/0"},
        {"protocol": "tcp", "ports": "400-500", "security_group": "default"},
        {"protocol": "udp", "cidr": "10.0.0.0/16"},
    ]
)
NACL_RULE = st.fixed_dictionaries(
    {
        "rule": st.integers(1, 300),
        "action": st.sampled_from(["allow", "deny"]),
        "cidr": st.sampled_from(["0.0.0.0/0", "10.0.0.0/16", "10.1.1.0/24"]),
        "protocol": st.sampled_from(["all", "tcp", "udp", "icmp"]),
    }
).map(lambda r: {**r, **RULE_DETAIL.get((r["protocol"], r["rule"] % 3), {})})
RULE_DETAIL = {  # some NACL rules narrowed to a port range or an ICMP type (echo, echo reply, other)
    ("tcp", 1): {"ports": "32768-45000"},
    ("icmp", 0): {"icmp_type": 0},
    ("icmp", 1): {"icmp_type": 8, "icmp_code": 0},
    ("icmp", 2): {"icmp_type": 11},
}


def unique_numbers(rules):
    seen, result = set(), []
    for rule in rules:
        if rule["rule"] not in seen:
            seen.add(rule["rule"])
            result.append(rule)
    return result


@st.composite
def topologies(draw):
    vpc_count = draw(st.integers(1, 3))
    vpcs = []
    for v in range(vpc_count):
        subnets = [
            {"name": f"s{n}", "cidr": f"10.{v}.{n + 1}.0/24", "az": draw(st.sampled_from("ab"))}
            for n in range(draw(st.integers(1, 2)))
        ]
        nacl = {
            "name": "n",
            "ingress": unique_numbers(draw(st.lists(NACL_RULE, max_size=4))),
            "egress": unique_numbers(draw(st.lists(NACL_RULE, max_size=4))),
        }
        for subnet in subnets:
            if draw(st.booleans()):
                subnet["nacl"] = "n"
        sg = {"name": f"g{v}", "ingress": draw(st.lists(SG_RULE, max_size=3))}
        if draw(st.booleans()):
            sg["egress"] = draw(st.lists(SG_RULE, max_size=2))
        routes = []
        vpcs.append(
            {
                "name": f"v{v}",
                "cidr": f"10.{v}.0.0/16",
                "subnets": subnets,
                "nacls": [nacl],
                "security_groups": [sg],
                "route_tables": [{"name": "rt", "main": True, "routes": routes}],
                "instances": [
                    {
                        "name": f"i{v}{n}",
                        "subnet": draw(st.sampled_from(subnets))["name"],
                        "security_groups": draw(
                            st.sampled_from([["default"], [f"g{v}"], ["default", f"g{v}"]])
                        ),
                    }
                    for n in range(draw(st.integers(1, 2)))
                ],
            }
        )
    data = {"name": "prop", "servers": [{"name": "s1", "az": "a"}, {"name": "s2", "az": "b"}], "vpcs": vpcs}
    if vpc_count > 1 and draw(st.booleans()):
        data["peerings"] = [
            {"name": "p01", "requester": "v0", "accepter": "v1", "deleted": draw(st.booleans())}
        ]
        vpcs[0]["route_tables"][0]["routes"].append({"destination": "10.1.0.0/16", "peering": "p01"})
        vpcs[1]["route_tables"][0]["routes"].append({"destination": "10.0.0.0/16", "peering": "p01"})
    elif vpc_count > 1:
        attachments = [
            {"name": f"a{v}", "vpc": f"v{v}", "subnets": [vpcs[v]["subnets"][0]["name"]]}
            for v in range(vpc_count)
        ]
        names = [a["name"] for a in attachments]
        data["transit_gateways"] = [
            {
                "name": "t",
                "attachments": attachments,
                "route_tables": [
                    {
                        "name": "rt",
                        "associations": names,
                        "propagations": draw(st.lists(st.sampled_from(names), unique=True)),
                        "routes": draw(
                            st.sampled_from([[], [{"destination": "10.2.0.0/16", "blackhole": True}]])
                        ),
                    }
                ],
            }
        ]
        for vpc in vpcs:
            vpc["route_tables"][0]["routes"].append({"destination": "10.0.0.0/8", "transit_gateway": "t"})
        if draw(st.booleans()):  # SG referencing across the TGW: inbound rules name the next VPC's SG
            data["transit_gateways"][0]["security_group_referencing_support"] = True
            attachments[0]["security_group_referencing_support"] = draw(st.booleans())
            for v, vpc in enumerate(vpcs):
                peer_group = f"g{(v + 1) % vpc_count}"
                vpc["security_groups"][0]["ingress"].append({"protocol": "tcp", "security_group": peer_group})
    return data


def build(data):
    import yaml

    from vpclab.intent.loader import load_topology

    return load_topology("prop.yaml", yaml.safe_dump(data))


def allow_all_sgs(topology: m.Topology) -> m.Topology:
    """The same topology with every SG allowing everything both ways."""
    everything = (m.SGRule("any", m.Traffic(), cidr=IPv4Network("0.0.0.0/0")),)
    vpcs = tuple(
        replace(
            vpc,
            security_groups=tuple(
                replace(g, ingress=everything, egress=everything) for g in vpc.security_groups
            ),
        )
        for vpc in topology.vpcs
    )
    return replace(topology, vpcs=vpcs)


def pairs(topology):
    return [(a, b) for a in topology.instances for b in topology.instances if a != b]


def protocol_number(name):
    return m.PROTOCOL_NUMBERS[name]


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(topologies(), st.sampled_from(PROTOCOLS))
def test_trace_never_crashes_and_names_a_reason(data, probe):
    topology = build(data)
    for source, target in pairs(topology):
        result = trace(topology, source, target.ip, protocol_number(probe[0]), probe[1])
        assert result.accepted == (result.reason is None)
        assert result.rule is not None or result.reason in ("no-route",)
        assert result.hops[-1].result == ("pass" if result.accepted else "drop")


@SETTINGS
@given(topologies(), st.sampled_from(PROTOCOLS))
def test_security_groups_never_decide_the_return_direction(data, probe):
    """SGs are stateful: the reply's fate depends on NACLs and routes only."""
    topology = build(data)
    opened = allow_all_sgs(topology)
    for source, target in pairs(topology):
        args = (protocol_number(probe[0]), probe[1])
        original = trace(topology, source, target.ip, *args)
        assert not (original.direction == "return" and original.reason in ("sg-ingress", "sg-egress"))
        if original.accepted or original.direction == "return":
            unguarded = trace(opened, source, target.ip, *args)
            assert (unguarded.accepted, unguarded.reason) == (original.accepted, original.reason)


@SETTINGS
@given(topologies(), st.integers(32768, 60999))
def test_ports_failing_agrees_with_pinned_source_ports(data, client_port):
    topology = build(data)
    for source, target in pairs(topology):
        whole = trace(topology, source, target.ip, 6, 443)
        pinned = trace(topology, source, target.ip, 6, 443, source_port=client_port)
        failing = [tuple(map(int, r.split("-"))) for r in (whole.ports_failing or "").split(",") if r]
        in_failing = any(low <= client_port <= high for low, high in failing)
        if whole.direction == "forward" and not whole.accepted:
            assert (pinned.accepted, pinned.reason) == (False, whole.reason)
        else:
            assert pinned.accepted == (not in_failing)


@SETTINGS
@given(topologies(), st.sampled_from(PROTOCOLS))
def test_compiled_flows_agree_with_trace(data, probe):
    """The Nitro cards' flows (run on a fake fabric) decide exactly as trace does."""
    from fakeswitch import FakeFabric, connection, decided_alike

    from controller.compiler import compile_topology

    topology = build(data)
    fabric = FakeFabric(compile_topology(topology))
    protocol, port = protocol_number(probe[0]), probe[1]
    for source, target in pairs(topology):
        expected = trace(topology, source, target.ip, protocol, port, source_port=40000 if port else None)
        accepted, direction, origin = connection(fabric, source.name, target.name, protocol, port)
        assert decided_alike(expected, accepted, direction, origin), f"{source.name}->{target.name}"
