# ruff: noqa: E501  (the table of outcomes keeps one Java assertion per line)
"""What Batfish's own Java tests assert about its AWS snapshots (issue 31, item 8), checked
against vpclab: each snapshot imported from its top folder, as a user passes it, then traced.

Each row is one assertion of a Java test in batfish/batfish
(``projects/batfish/src/test/java/org/batfish/representation/aws/AwsConfiguration*Test.java``,
Apache-2.0; the snapshots are in ``tests/data/aws-configs/`` with its licence): the flow it
traces and the disposition it asserts. Batfish's "any flow" is IP protocol 0; its internet
host sends from 8.8.8.8, here an emulated internet host at 198.51.100.8. A disposition
stands for the drop codes of vpclab's that mean it (``DISPOSITIONS``); EXITS_NETWORK is a
connection accepted after it left the network. Rows vpclab does not meet yet are strict
xfails naming why: they fail the suite the day they start to agree.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest
import yaml

from vpclab.aws_import import import_directory, render
from vpclab.intent.loader import load_topology
from vpclab.oracle.trace import trace

SNAPSHOTS = Path(__file__).resolve().parents[1] / "data" / "aws-configs"
INTERNET = IPv4Address("198.51.100.8")  # Batfish's internet host, 8.8.8.8 there
DISPOSITIONS = {
    "DENIED_IN": {
        "sg-ingress",
        "nacl-ingress",
        "nat-protocol",
        "nat-unsolicited",
        "nat-gateway-address",
        "no-listener",
    },
    "NO_ROUTE": {"no-route", "tgw-no-route", "vgw-no-route", "site-no-route"},
    "NULL_ROUTED": {"blackhole", "tgw-blackhole", "tgw-az-not-attached", "unassigned-address", "no-route"},
    "NEIGHBOR_UNREACHABLE": {"unassigned-address"},
}
ANY, TCP = (0, None), (6, 22)
NOT_YET = {
    "aws-ranges": "vpclab does not know which public ranges AWS owns (Batfish null-routes them)",
}

# (snapshot, Java test, source (an instance id, or "internet"), destination, traffic, disposition, not yet)
OUTCOMES = [
    ("test-vpc-peering", "VpcPeering.testFromAtoB", "i-06ba034d88c84ef07", "192.168.1.106", ANY, "DENIED_IN"),
    ("test-vpc-peering", "VpcPeering.testFromBtoA", "i-0b14080af811fda3d", "10.10.10.157", ANY, "DENIED_IN"),
    ("test-vpc-peering", "VpcPeering.testFromAtoUnusedSubnet", "i-06ba034d88c84ef07", "192.168.100.1", ANY, "NO_ROUTE"),
    ("test-vpc-peering", "VpcPeering.testFromBtoUnusedSubnet", "i-0b14080af811fda3d", "10.10.100.1", ANY, "NULL_ROUTED"),
    ("test-vpc-peering", "VpcPeering.testFromBtoUnusedIp", "i-0b14080af811fda3d", "10.10.10.11", ANY, "NEIGHBOR_UNREACHABLE"),
    ("test-vpc-peering-multi-account", "VpcPeeringCrossAccount.testFromAtoB", "i-07ae69cc808e8804e", "10.2.1.252", TCP, "ACCEPTED"),
    ("test-vpc-peering-multi-account", "VpcPeeringCrossAccount.testFromBtoA", "i-066ce0b1efbb5602c", "10.1.1.100", TCP, "ACCEPTED"),
    ("test-transit-gateway", "TransitGateway.testFromAtoB", "i-06ba034d88c84ef07", "192.168.1.106", ANY, "DENIED_IN"),
    ("test-transit-gateway", "TransitGateway.testFromBtoA", "i-0b14080af811fda3d", "10.10.10.157", ANY, "DENIED_IN"),
    ("test-transit-gateway", "TransitGateway.testFromA2toB", "i-075e846ed41670385", "192.168.1.106", ANY, "NULL_ROUTED"),
    ("test-transit-gateway", "TransitGateway.testFromBtoA2", "i-0b14080af811fda3d", "10.10.20.154", ANY, "DENIED_IN"),
    ("test-transit-gateway-multi-table", "TransitGatewayMultiTable.testFromAtoB", "i-06ba034d88c84ef07", "192.168.1.106", ANY, "DENIED_IN"),
    ("test-transit-gateway-multi-table", "TransitGatewayMultiTable.testFromBtoA", "i-0b14080af811fda3d", "10.10.10.157", ANY, "DENIED_IN"),
    ("test-transit-gateway-asymmetric-paths", "TransitGatewayAsymmetricPaths.testBatToFish", "i-04bbbcaefdd1937f9", "10.2.1.100", ANY, "DENIED_IN"),
    ("test-transit-gateway-asymmetric-paths", "TransitGatewayAsymmetricPaths.testFishToBat", "i-0973ce90749865a7f", "10.1.1.100", ANY, "DENIED_IN"),
    ("test-transit-gateway-multi-account", "TransitGatewayMultiAccount.testFromAtoB", "i-0bdf35d561be3d962", "10.2.1.183", TCP, "ACCEPTED"),
    ("test-transit-gateway-multi-account", "TransitGatewayMultiAccount.testFromBtoA", "i-03df168b3f73cc262", "10.1.1.100", TCP, "ACCEPTED"),
    ("test-transit-gateway-peering", "TransitGatewayPeering.testBatToFish", "i-08f3abb6471637c66", "192.168.1.100", ANY, "NO_ROUTE"),
    ("test-transit-gateway-peering", "TransitGatewayPeering.testBat2ToFish", "i-05e25e43074216229", "192.168.1.100", ANY, "DENIED_IN"),
    ("test-transit-gateway-peering", "TransitGatewayPeering.testFishToBat", "i-0afb0a59f6bf36397", "10.10.1.100", ANY, "NO_ROUTE"),
    ("test-transit-gateway-peering", "TransitGatewayPeering.testFishToBat2", "i-0afb0a59f6bf36397", "10.20.1.100", ANY, "NO_ROUTE"),
    ("test-nat-gateway", "NatGateway.testInstanceToInternet_bidirectional", "i-0a128d26e59be60f3", "8.8.8.8", (6, 80), "EXITS_NETWORK"),
    ("test-nat-gateway", "NatGateway.testUnsupportedIpProtocol", "i-0a128d26e59be60f3", "8.8.8.8", (107, None), "DENIED_IN"),
    ("test-nat-gateway", "NatGateway.testNonSessionPacket", "internet", "3.135.127.225", (6, 80), "DENIED_IN"),
    ("test-nat-gateway", "NatGateway.testIntraSubnetPacket", "i-0b31b509174d7f5de", "10.1.250.210", (6, 80), "DENIED_IN"),
    ("test-load-balancer", "LoadBalancer.testClientToLbTrace", "i-0c8ce8bbdd98cc4e8", "10.1.1.237", (6, 80), "ACCEPTED"),
    ("test-load-balancer", "LoadBalancer.testClientToLbTrace", "i-0c8ce8bbdd98cc4e8", "10.1.20.123", (6, 80), "ACCEPTED"),
    ("test-load-balancer", "LoadBalancer.testClientToLb_nonListenedPort", "i-0c8ce8bbdd98cc4e8", "10.1.1.237", (6, 81), "DENIED_IN"),
    ("test-load-balancer", "LoadBalancer.testClientToLb_nonListenedPort", "i-0c8ce8bbdd98cc4e8", "10.1.20.123", (6, 81), "DENIED_IN"),
    ("test-public-subnet", "PublicSubnet.testFromInternetToValidPublicIp", "internet", "18.216.80.133", (6, 80), "DENIED_IN"),
    ("test-public-subnet", "PublicSubnet.testFromInternetToInvalidPublicIp", "internet", "54.191.107.23", ANY, "NULL_ROUTED", "aws-ranges"),
    ("test-public-subnet", "PublicSubnet.testFromInternetToPrivateIp", "internet", "10.0.0.91", ANY, "NULL_ROUTED"),
    ("test-public-subnet", "PublicSubnet.testToInternet", "i-06669a407b2ef3ae5", "8.8.8.8", ANY, "EXITS_NETWORK"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testFromPrivateToPublicSubnet", "i-099cf38911942421c", "13.58.55.60", ANY, "NO_ROUTE"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testFromPrivateToPublicSubnet", "i-099cf38911942421c", "10.0.0.47", ANY, "DENIED_IN"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testFromPublicToPrivateSubnet", "i-094a9e5b545a4fde4", "10.0.1.204", ANY, "DENIED_IN"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testFromInternet", "internet", "13.58.55.60", ANY, "DENIED_IN"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testFromInternet", "internet", "10.0.0.47", ANY, "NULL_ROUTED"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testToInternet", "i-094a9e5b545a4fde4", "8.8.8.8", ANY, "EXITS_NETWORK"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testToInternet", "i-099cf38911942421c", "8.8.8.8", ANY, "NO_ROUTE"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testToSite", "i-094a9e5b545a4fde4", "19.168.0.0", ANY, "EXITS_NETWORK"),
    ("test-public-private-subnet", "PublicPrivateSubnet.testToSite", "i-099cf38911942421c", "19.168.0.0", ANY, "EXITS_NETWORK"),
    ("test-subnet", "Subnet.testInstanceToInstance", "i-08ef86e76fceabd8d", "10.10.1.44", ANY, "DENIED_IN"),
    ("test-subnet", "Subnet.testInstanceToOutsideSubnet", "i-08ef86e76fceabd8d", "10.10.0.1", ANY, "NULL_ROUTED"),
    ("test-vpc-endpoint-gateway", "VpcEndpointGateway.testFromSubnetPrivate_configuredAwsService", "i-01c6c0647fdccc89e", "52.216.237.77", (6, 443), "ACCEPTED"),
    ("test-vpc-endpoint-gateway", "VpcEndpointGateway.testFromSubnetPublic_configuredAwsService", "i-0464d440ca0ee9e34", "52.216.237.77", (6, 443), "ACCEPTED"),
    ("test-vpc-endpoint-gateway", "VpcEndpointGateway.testFromSubnetPrivate_otherAwsServices", "i-01c6c0647fdccc89e", "54.222.57.1", (6, 443), "NO_ROUTE"),
    ("test-vpc-endpoint-gateway", "VpcEndpointGateway.testFromSubnetPublic_otherAwsServices", "i-0464d440ca0ee9e34", "54.222.57.1", (6, 443), "EXITS_NETWORK"),
    ("test-vpc-endpoint-interface", "VpcEndpointInterface.testFromSubnetEndpoint", "i-0a0fbd0cfa774970f", "10.1.101.97", (6, 443), "ACCEPTED"),
    ("test-vpc-endpoint-interface", "VpcEndpointInterface.testFromSubnetNonEndpoint", "i-0eb6eb395a0d09117", "10.1.101.97", (6, 443), "ACCEPTED"),
    ("test-direct-connect-gateway", "DirectConnect.testFromOnPremToInstance", "onprem-router", "10.100.1.10", ANY, "ACCEPTED"),
    ("test-direct-connect-gateway", "DirectConnect.testFromInstanceToOnPrem", "i-dx01", "10.10.0.1", ANY, "ACCEPTED"),
    ("test-direct-connect-private-vif", "DirectConnectPrivateVif.testFromOnPremHighToInstance", "onprem-high", "10.50.1.10", ANY, "ACCEPTED"),
    ("test-direct-connect-private-vif", "DirectConnectPrivateVif.testInstanceToOnPremPrefersHighDxCommunity", "i-priv01", "10.20.0.1", ANY, "ACCEPTED"),
]  # fmt: skip
_designs: dict = {}


def design(name: str):
    """The snapshot imported from its top folder, with Batfish's internet host added."""
    if name not in _designs:
        imported = import_directory(str(SNAPSHOTS / name))
        data = yaml.safe_load(render(imported, name))
        data.setdefault("internet", {}).setdefault("hosts", []).append(
            {"name": "internet-host", "ip": str(INTERNET)}
        )
        _designs[name] = load_topology(f"{name}.yaml", yaml.safe_dump(data, sort_keys=False))
    return _designs[name]


def rows():
    for snapshot, test, source, destination, traffic, disposition, *why in OUTCOMES:
        marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[why[0]])] if why else []
        yield pytest.param(
            snapshot, source, destination, traffic, disposition, id=f"{test}-{destination}", marks=marks
        )


@pytest.mark.parametrize(("snapshot", "source", "destination", "traffic", "disposition"), list(rows()))
def test_trace_decides_as_batfishs_tests_assert(snapshot, source, destination, traffic, disposition):
    topology = design(snapshot)
    sender = topology.endpoint("internet-host" if source == "internet" else source)
    protocol, port = traffic
    address = topology.emulated_address(IPv4Address(destination))
    verdict = trace(topology, sender, address, protocol, port, 32768 if port is not None else None)
    said = f"{verdict.reason} ({verdict.direction}) at {verdict.rule}"
    if disposition == "ACCEPTED":
        assert verdict.accepted and not verdict.left_network, said
    elif disposition == "EXITS_NETWORK":
        assert verdict.accepted and verdict.left_network == destination, said
    else:
        assert not verdict.accepted and verdict.direction == "forward", said
        assert verdict.reason in DISPOSITIONS[disposition], said


def test_the_table_holds_every_java_test_of_these_snapshots_that_traces_a_flow():
    covered = {test.split(".")[0] for _, test, *_ in OUTCOMES}
    assert covered == {
        "VpcPeering", "VpcPeeringCrossAccount", "TransitGateway", "TransitGatewayMultiTable",
        "TransitGatewayAsymmetricPaths", "TransitGatewayMultiAccount", "TransitGatewayPeering",
        "NatGateway", "PublicSubnet", "PublicPrivateSubnet", "Subnet", "VpcEndpointGateway",
        "VpcEndpointInterface", "LoadBalancer", "DirectConnect", "DirectConnectPrivateVif",
    }  # fmt: skip
