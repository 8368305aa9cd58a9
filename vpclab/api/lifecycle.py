"""EC2 API calls that launch, terminate, stop and start instances and create and delete NAT
gateways and VPCs, as vpclab's runtime changes (pure, as ``calls``): RunInstances,
TerminateInstances, StopInstances, StartInstances, CreateNatGateway, DeleteNatGateway,
CreateVpc, DeleteVpc.

RunInstances launches MaxCount instances into one subnet (``SubnetId``, or the first network
interface's), with the groups it names (else the VPC's default group). Each instance's
private address is the design's choice (the subnet's lowest free one, as AWS assigns it), and
moto is told it: the call reaches moto as one RunInstances per instance, each naming its
address, and the answers are merged into one. An instance is named by its Name tag (once;
another instance of that name, or a second instance of the call, is named by its id).

CreateVpc makes a VPC of its ``CidrBlock`` (named by its Name tag, else its id), in the
Region the call was signed for; its main route table, default NACL and default group are the
ones moto made with it, known by their ids from then on."""

from __future__ import annotations

import re
from typing import Optional
from xml.etree import ElementTree

from .params import NEW, ApiRefusal, Change, Ids, group_names, members, numbered, tagged_name

MAX_COUNT = 20  # AWS's default On-Demand limit for a new account is about this many instances


def launch_name(number: int) -> str:
    """A launched instance's name in the trial, before moto answers with its id."""
    return f"{NEW}-{number}"


def _first_interface(params: dict) -> dict:
    interfaces = members(params, "NetworkInterface")
    return interfaces[0] if interfaces else {}


def run_instances(params: dict, ids: Ids, running: dict) -> list[Change]:
    """RunInstances: a launch per instance (MaxCount, at most MAX_COUNT)."""
    interface = _first_interface(params)
    subnet_id = params.get("SubnetId") or interface.get("SubnetId")
    if not subnet_id:
        raise ApiRefusal("VPCIdNotSpecified", "No default VPC for this user: name a SubnetId")
    vpc, subnet = ids.key(subnet_id, "subnet", "SubnetID")
    names = group_names(
        ids,
        numbered(params, "SecurityGroupId") + numbered(interface, "SecurityGroupId"),
        vpc,
        lambda group, owner: ApiRefusal(
            "InvalidParameter", f"Security group {group} and subnet {subnet_id} belong to different networks."
        ),
    )
    names += numbered(params, "SecurityGroup")  # by name
    try:
        low, count = int(params.get("MinCount", 1)), int(params.get("MaxCount", 1))
    except ValueError:
        raise ApiRefusal("InvalidParameterValue", "MinCount and MaxCount are numbers") from None
    if not 1 <= low <= count:
        raise ApiRefusal(
            "InvalidParameterValue", f"MinCount {low} and MaxCount {count}: 1 <= MinCount <= MaxCount"
        )
    if count > MAX_COUNT:
        raise ApiRefusal(
            "InstanceLimitExceeded", f"vpclab launches at most {MAX_COUNT} instances a call, not {count}"
        )
    address = params.get("PrivateIpAddress") or interface.get("PrivateIpAddress")
    if address and count > 1:
        raise ApiRefusal(
            "InvalidParameterCombination",
            "Cannot specify an IP address when launching more than one instance",
        )
    launch: dict = {"vpc": vpc, "subnet": subnet}
    if names:
        launch["security_groups"] = names
    if address:
        launch["ip"] = address
    if str(interface.get("AssociatePublicIpAddress", "false")).lower() == "true":
        launch["public_ip"] = True
    profile = params.get("IamInstanceProfile.Name")
    if profile:
        launch["iam_role"] = profile  # the profile's role, named alike (as Terraform's usually are)
    return [("launch-instance", {**launch, "name": launch_name(n)}) for n in range(1, count + 1)]


def terminate_instances(params: dict, ids: Ids) -> list[Change]:
    """TerminateInstances: each instance it names."""
    named = numbered(params, "InstanceId")
    if not named:
        raise ApiRefusal("MissingParameter", "The request must contain the parameter InstanceId")
    return [("terminate-instance", {"instance": ids.key(i, "instance", "InstanceID")}) for i in named]


def stop_or_start_instances(action: str, params: dict, ids: Ids) -> list[Change]:
    """StopInstances (Hibernate too: the network sees a stopped instance), StartInstances."""
    named = numbered(params, "InstanceId")
    if not named:
        raise ApiRefusal("MissingParameter", "The request must contain the parameter InstanceId")
    operation = "stop-instance" if action == "StopInstances" else "start-instance"
    return [(operation, {"instance": ids.key(i, "instance", "InstanceID")}) for i in named]


def vpc_objects(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """CreateVpc (an IPv4 CidrBlock; its Name tag unless a VPC has that name), DeleteVpc."""
    if action == "DeleteVpc":
        return [("delete-vpc", {"name": ids.key(params.get("VpcId", ""), "vpc", "VpcID")})]
    if not params.get("CidrBlock"):
        raise ApiRefusal("MissingParameter", "vpclab creates a VPC from an IPv4 CidrBlock")
    if str(params.get("AmazonProvidedIpv6CidrBlock", "false")).lower() == "true":
        raise ApiRefusal(
            "UnsupportedOperation",
            "vpclab takes a VPC's IPv6 CIDR from the design file, not from the API yet",
        )
    name = tagged_name(params)
    if name is None or any(v.get("name") == name for v in running.get("vpcs", [])):
        name = NEW
    return [("create-vpc", {"name": name, "cidr": params["CidrBlock"]})]


def nat_gateway_objects(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    """CreateNatGateway (public: in SubnetId, with AllocationId's Elastic IP; its Name tag,
    else its id), DeleteNatGateway."""
    if action == "DeleteNatGateway":
        name = ids.key(params.get("NatGatewayId", ""), "nat_gateway", "NatGatewayID")
        vpc = next(
            (
                v["name"]
                for v in running.get("vpcs", [])
                for g in v.get("nat_gateways", [])
                if g["name"] == name
            ),
            None,
        )
        if vpc is None:  # deleted already: AWS keeps it a while, deleted
            raise ApiRefusal("NatGatewayNotFound", f"The NAT gateway {params['NatGatewayId']} was not found")
        return [("delete-nat-gateway", {"vpc": vpc, "name": name})]
    if params.get("ConnectivityType", "public") != "public":
        raise ApiRefusal("UnsupportedOperation", "vpclab emulates public NAT gateways only, not private ones")
    vpc, subnet = ids.key(params.get("SubnetId", ""), "subnet", "SubnetID")
    if not params.get("AllocationId"):
        raise ApiRefusal("MissingParameter", "a public NAT gateway needs an AllocationId (an Elastic IP)")
    address = ids.key(params["AllocationId"], "elastic_ip", "AllocationID")
    holders = [
        i["name"]
        for v in running.get("vpcs", [])
        for i in v.get("instances", [])
        if i.get("public_ip") == address
    ]
    holders += [
        g["name"]
        for v in running.get("vpcs", [])
        for g in v.get("nat_gateways", [])
        if g.get("public_ip") == address
    ]
    if holders:
        raise ApiRefusal(
            "Resource.AlreadyAssociated", f"Elastic IP address {address} is already associated ({holders[0]})"
        )
    name = tagged_name(params) or NEW
    return [("create-nat-gateway", {"vpc": vpc, "subnet": subnet, "name": name, "public_ip": address})]


def per_instance(params: dict, addresses: list[Optional[str]]) -> list[dict]:
    """RunInstances as moto gets it: one call per instance, each naming its address."""
    calls = []
    for address in addresses:
        one = {**params, "MinCount": "1", "MaxCount": "1"}
        if address is not None:
            key = "NetworkInterface.1.PrivateIpAddress" if _first_interface(params) else "PrivateIpAddress"
            one[key] = address
        calls.append(one)
    return calls


ITEMS = re.compile(rb"(<instancesSet>)(.*)(</instancesSet>)", re.S)


def merged(answers: list[bytes]) -> bytes:
    """moto's answers to ``per_instance``'s calls as one reservation's answer (the first's,
    with every instance)."""
    first = answers[0]
    found = ITEMS.search(first)
    if found is None or len(answers) == 1:
        return first
    items = b"".join(m.group(2) for m in (ITEMS.search(a) for a in answers) if m is not None)
    return first[: found.start(2)] + items + first[found.end(2) :]


def launched(answer: bytes) -> list[tuple[str, str]]:
    """(instance id, its primary network interface's id) of each instance moto launched."""
    found = []
    for item in ElementTree.fromstring(answer).findall("{*}instancesSet/{*}item"):
        interface = item.find("{*}networkInterfaceSet/{*}item/{*}networkInterfaceId")
        found.append((item.findtext("{*}instanceId", ""), "" if interface is None else interface.text or ""))
    return found


def named_launches(
    planned: list[Change], answer: bytes, params: dict, running: dict, ids: Ids
) -> list[Change]:
    """The launches named as the API knows them (its Name tag once, else its instance id),
    their ids recorded."""
    taken = {i.get("name") for v in running.get("vpcs", []) for i in v.get("instances", [])}
    tag = tagged_name(params)
    named = []
    for (operation, arguments), (instance_id, interface_id) in zip(planned, launched(answer), strict=True):
        name = tag if tag and tag not in taken and len(planned) == 1 else instance_id
        named.append((operation, {**arguments, "name": name, "description": instance_id}))
        ids.add("instance", name, instance_id)
        if interface_id:
            ids.add("network_interface", name, interface_id)
    return named


def signed_region(authorization: str, default: str) -> str:
    """The Region a request was signed for (SigV4's credential scope), else ``default``."""
    found = re.search(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/", authorization or "")
    return found.group(1) if found else default


def vpc_defaults(ec2, vpc_id: str) -> dict[str, str]:
    """The ids of what AWS (moto) made with a new VPC: its main route table, default NACL,
    default group and its first CIDR's association."""
    at = [{"Name": "vpc-id", "Values": [vpc_id]}]
    tables = ec2.describe_route_tables(Filters=at + [{"Name": "association.main", "Values": ["true"]}])
    acls = ec2.describe_network_acls(Filters=at + [{"Name": "default", "Values": ["true"]}])
    groups = ec2.describe_security_groups(Filters=at + [{"Name": "group-name", "Values": ["default"]}])
    association = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlockAssociationSet"][0]
    return {
        "route_table": tables["RouteTables"][0]["RouteTableId"],
        "network_acl": acls["NetworkAcls"][0]["NetworkAclId"],
        "security_group": groups["SecurityGroups"][0]["GroupId"],
        "vpc_cidr_association": association["AssociationId"],
        "cidr": association["CidrBlock"],
    }


def record_vpc(ids: Ids, name: str, defaults: dict[str, str]) -> None:
    """A new VPC's defaults by the keys the design knows them by."""
    ids.add("route_table", (name, "main"), defaults["route_table"])
    ids.add("network_acl", (name, "default"), defaults["network_acl"])
    ids.add("security_group", (name, "default"), defaults["security_group"])
    ids.add("vpc_cidr_association", (name, defaults["cidr"]), defaults["vpc_cidr_association"])


LIFECYCLE = (
    "RunInstances",
    "TerminateInstances",
    "StopInstances",
    "StartInstances",
    "CreateVpc",
    "DeleteVpc",
    "CreateNatGateway",
    "DeleteNatGateway",
)


def changes(action: str, params: dict, ids: Ids, running: dict) -> list[Change]:
    if action == "RunInstances":
        return run_instances(params, ids, running)
    if action == "TerminateInstances":
        return terminate_instances(params, ids)
    if action in ("StopInstances", "StartInstances"):
        return stop_or_start_instances(action, params, ids)
    if action.endswith("NatGateway"):
        return nat_gateway_objects(action, params, ids, running)
    return vpc_objects(action, params, ids, running)
