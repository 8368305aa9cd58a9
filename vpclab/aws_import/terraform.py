"""A Terraform plan (``terraform show -json``) as the snapshot ``Mapper`` reads: each resource
vpclab models becomes the object AWS's describe-* call would answer once the plan is applied,
with the ids the plan does not know yet made of the resources' addresses. What AWS does on
apply is done here too: Terraform's new security groups lose AWS's default egress rule; a TGW
with default association and propagation gets its default route table (a VPC's main route
table, default NACL and default group are the design's defaults unless the plan manages them)."""

from __future__ import annotations

import json
import re
from typing import Optional

from .snapshot import FILES, ID_KEYS, infer_region
from .state import PUBLIC_ON_APPLY as PUBLIC
from .state import Skipped
from .terraform_filters import FilterResources
from .terraform_names import name_tag
from .terraform_plan import Plan, PlanError, Resource
from .terraform_transit import TransitResources

# resource types read here; every other one is listed as not imported, with why
NOT_NETWORK = re.compile(
    r"^aws_(iam|s3|kms|cloudwatch|lambda|ecr|ecs|eks|rds|db|dynamodb|sns|sqs|ssm|secretsmanager|"
    r"ebs|volume|key_pair|ami|launch|autoscaling|elasticsearch|opensearch|neptune|elasticache|"
    r"redshift|glue|athena|cloudtrail|config|guardduty|codebuild|codecommit|api_gateway|route53|"
    r"acm|sfn|kinesis|efs|backup|wafv2|waf|flow_log)"
)
NOT_YET = {  # network resources vpclab models, but not from a plan yet: why
    "aws_vpn_gateway": "VPN gateways are read from snapshots (describe-vpn-gateways), not plans yet",
    "aws_vpn_connection": "VPN connections are read from snapshots, not plans yet",
    "aws_customer_gateway": "customer gateways are read from snapshots, not plans yet",
    "aws_vpc_endpoint": "VPC endpoints are read from snapshots, not plans yet",
    "aws_lb": "load balancers are read from snapshots, not plans yet",
    "aws_elb": "Classic Load Balancers are not emulated",
    "aws_dx_gateway": "Direct Connect is read from snapshots, not plans yet",
}


def read_plan(path: str) -> Plan:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise PlanError(
            f"{path}: not readable as JSON ({error}); give what `terraform show -json PLAN > "
            "plan.json` writes, not the binary plan `terraform plan -out` saves"
        ) from None
    return Plan(document, path)


class PlanSnapshot(FilterResources, TransitResources):
    """One pass over a plan: ``files`` (describe-* name -> objects) and what was left out."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.files: dict[str, list] = {name: [] for name in FILES}
        self.skipped: list[Skipped] = []
        self.changed: list[Skipped] = []
        self.by_id: dict[str, dict] = {}  # id -> its describe-* object
        self.sources: dict[str, Resource] = {}  # id -> the resource it came from
        self.elastic: set[str] = set()  # instances an Elastic IP of the plan is associated with
        self.primaries: set[str] = set()  # network interfaces that are an instance's primary
        self.regions: dict[str, Optional[str]] = {}  # resource id -> its provider's Region

    def add(self, file: str, key: str, resource: Resource, entry: dict) -> dict:
        entry = {key: self.plan.id(resource), **entry, "Tags": name_tag(resource)}
        self.regions[entry[key]] = self.plan.region_of(resource)
        self.files[file].append(entry)
        self.by_id[entry[key]] = entry
        self.sources[entry[key]] = resource
        return entry

    def parts(self) -> list[tuple[None, Optional[str], dict[str, list]]]:
        """The objects by Region (their provider's), as ``snapshot.merge`` takes them; an object
        made here (a TGW's default table) is in its TGW's."""
        fallback = self.plan.region() or infer_region(self.files)
        by_region: dict[Optional[str], dict[str, list]] = {}
        for file, entries in self.files.items():
            for entry in entries:
                owner = entry.get(ID_KEYS.get(file) if isinstance(ID_KEYS.get(file), str) else "", "")
                region = self.regions.get(owner) or self.regions.get(entry.get("TransitGatewayId", ""))
                by_region.setdefault(region or fallback, {}).setdefault(file, []).append(entry)
        return [(None, region, part) for region, part in by_region.items()]

    def owner(self, resource: Resource, attribute: str, key: str, what: str) -> Optional[dict]:
        """The object ``attribute`` names (one with ``key``), else None, listed with its id."""
        named = self.plan.one(resource, attribute)
        found = self.by_id.get(named or "")
        if found is None or key not in found:
            self.skip(resource, f"its {what} {named or '(none given)'} is not in the plan")
            return None
        return found

    def unsaid(self, resource: Resource, attribute: str) -> str:
        """Why an id a resource needs is not known: set to what the plan cannot follow, or unset."""
        if attribute in resource.unknown or attribute in (resource.config.get("expressions") or {}):
            return f"its {attribute} is unknown until apply, and no reference in the plan says which"
        return f"it has no {attribute} (the default VPC's), which the plan does not hold"

    def skip(self, resource: Resource, reason: str) -> None:
        self.skipped.append(Skipped(resource.type, resource.address, reason))

    def run(self) -> dict[str, list]:
        read = {
            "aws_vpc": self.vpc,
            "aws_default_vpc": self.vpc,
            "aws_vpc_ipv4_cidr_block_association": None,
            "aws_subnet": self.subnet,
            "aws_internet_gateway": self.internet_gateway,
            "aws_internet_gateway_attachment": None,
            "aws_eip": None,
            "aws_eip_association": None,
            "aws_nat_gateway": self.nat_gateway,
            "aws_instance": self.instance,
            "aws_network_interface": None,
            "aws_ec2_instance_state": None,
            "aws_vpc_peering_connection": self.peering,
            "aws_vpc_peering_connection_accepter": None,
            **self.filter_readers(),
            **self.transit_readers(),
        }
        for kind, reader in read.items():  # in this order: a subnet after its VPC...
            for resource in self.plan.of_type(kind) if reader else []:
                reader(resource)
        self.vpc_cidrs()
        self.internet_gateway_attachments()
        self.eips()
        self.interfaces()
        self.instance_states()
        self.accepters()
        self.filters_done()
        self.transit_done()
        for resource in self.plan.resources:
            if resource.mode != "managed" or resource.type in read:
                continue
            if resource.type in NOT_YET:
                self.skip(resource, NOT_YET[resource.type])
            elif NOT_NETWORK.match(resource.type) or not resource.type.startswith("aws_"):
                self.skip(resource, "not part of the network vpclab emulates")
            else:
                self.skip(resource, f"{resource.type} is not read from plans")
        for guess in self.plan.guesses:
            self.changed.append(
                Skipped(
                    "reference",
                    f"{guess.address} {guess.attribute}",
                    f"{guess.why}: taken as {guess.target}, the one of its kind in its module",
                )
            )
        return self.files

    # -- VPCs and subnets ------------------------------------------------------------------------
    def vpc(self, resource: Resource) -> None:
        cidr = resource.values.get("cidr_block")
        if not isinstance(cidr, str) or not self.plan.known(resource, "cidr_block"):
            self.skip(resource, "its CIDR is unknown until apply (IPAM): vpclab needs the block")
            return
        entry = self.add(
            "Vpcs",
            "VpcId",
            resource,
            {"CidrBlock": cidr, "CidrBlockAssociationSet": [{"CidrBlock": cidr}]},
        )
        ipv6 = resource.values.get("ipv6_cidr_block")
        if isinstance(ipv6, str) and ipv6:
            entry["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": ipv6}]
        elif resource.values.get("assign_generated_ipv6_cidr_block"):
            self.skipped.append(
                Skipped(
                    "VPC IPv6 CIDR",
                    resource.address,
                    "Amazon assigns the /56 on apply, and the plan cannot say which",
                )
            )

    def vpc_cidrs(self) -> None:
        for resource in self.plan.of_type("aws_vpc_ipv4_cidr_block_association"):
            vpc = self.owner(resource, "vpc_id", "VpcId", "VPC")
            cidr = resource.values.get("cidr_block")
            if vpc is None or not isinstance(cidr, str):
                if vpc is not None:
                    self.skip(resource, "its CIDR is unknown until apply (IPAM): vpclab needs the block")
                continue
            vpc["CidrBlockAssociationSet"].append({"CidrBlock": cidr})

    def subnet(self, resource: Resource) -> None:
        cidr = resource.values.get("cidr_block")
        zone = resource.values.get("availability_zone")
        if not isinstance(zone, str) or not zone:
            region = self.plan.region_of(resource) or "us-east-1"
            zone = f"{region}a"
            self.changed.append(
                Skipped("subnet", resource.address, f"its AZ is chosen on apply: taken as {zone}")
            )
        entry = self.add(
            "Subnets",
            "SubnetId",
            resource,
            {
                "VpcId": self.plan.one(resource, "vpc_id") or "",
                "AvailabilityZone": zone,
                "MapPublicIpOnLaunch": bool(resource.values.get("map_public_ip_on_launch")),
            },
        )
        if isinstance(cidr, str) and cidr:
            entry["CidrBlock"] = cidr
        if resource.values.get("ipv6_native"):
            entry["Ipv6Native"] = True
        if isinstance(resource.values.get("ipv6_cidr_block"), str) and resource.values["ipv6_cidr_block"]:
            entry["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": resource.values["ipv6_cidr_block"]}]
        if not entry["VpcId"]:
            self.files["Subnets"].remove(entry)
            self.skip(resource, self.unsaid(resource, "vpc_id"))
        elif "CidrBlock" not in entry and not entry.get("Ipv6Native"):
            self.files["Subnets"].remove(entry)
            self.skip(resource, "its CIDR is unknown until apply: vpclab needs the block")

    # -- the internet edge -----------------------------------------------------------------------
    def internet_gateway(self, resource: Resource) -> None:
        vpc = self.plan.one(resource, "vpc_id")
        attachments = [{"VpcId": vpc, "State": "available"}] if vpc else []
        self.add("InternetGateways", "InternetGatewayId", resource, {"Attachments": attachments})

    def internet_gateway_attachments(self) -> None:
        for resource in self.plan.of_type("aws_internet_gateway_attachment"):
            igw = self.owner(resource, "internet_gateway_id", "InternetGatewayId", "internet gateway")
            vpc = self.plan.one(resource, "vpc_id")
            if igw is None or vpc is None:
                if igw is not None:
                    self.skip(resource, "it names no VPC")
                continue
            igw["Attachments"].append({"VpcId": vpc, "State": "available"})

    def nat_gateway(self, resource: Resource) -> None:
        subnet = self.plan.one(resource, "subnet_id") or ""
        private = resource.values.get("private_ip")
        address = {"AllocationId": self.plan.one(resource, "allocation_id") or ""}
        if isinstance(private, str) and private:
            address["PrivateIp"] = private
        self.add(
            "NatGateways",
            "NatGatewayId",
            resource,
            {
                "SubnetId": subnet,
                "State": "available",
                "ConnectivityType": resource.values.get("connectivity_type") or "public",
                "NatGatewayAddresses": [address],
            },
        )

    def eips(self) -> None:
        """An Elastic IP gives its instance a public address; one on a NAT gateway is the
        gateway's; any other is listed."""
        used = {
            address.get("AllocationId")
            for nat in self.files["NatGateways"]
            for address in nat.get("NatGatewayAddresses", [])
        }
        for resource in self.plan.of_type("aws_eip", "aws_eip_association"):
            instance = self.by_id.get(self.plan.one(resource, "instance") or "") or self.by_id.get(
                self.plan.one(resource, "instance_id") or ""
            )
            if instance is not None and "InstanceId" in instance:
                instance[PUBLIC] = True
                self.elastic.add(instance["InstanceId"])
                self.changed.append(
                    Skipped("Elastic IP", resource.address, "an address of 203.0.113.0/24, given on up")
                )
            elif resource.type == "aws_eip" and self.plan.id(resource) not in used:
                self.skip(resource, "associated with no instance or NAT gateway of the plan")

    # -- instances -------------------------------------------------------------------------------
    def instance(self, resource: Resource) -> None:
        subnet_id = self.plan.one(resource, "subnet_id")
        groups = self.group_ids(resource, "vpc_security_group_ids") + self.group_ids(
            resource, "security_groups"
        )
        private = resource.values.get("private_ip")
        interfaces = self.primary_interface(resource)
        if interfaces is not None:
            eni, subnet_id, private, groups = interfaces
            self.primaries.add(eni)
        if subnet_id is None:
            self.skip(resource, self.unsaid(resource, "subnet_id"))
            return
        entry = self.add(
            "Reservations",
            "InstanceId",
            resource,
            {
                "State": {"Name": "running"},
                "SubnetId": subnet_id,
                "SecurityGroups": [{"GroupId": g} for g in groups],
            },
        )
        self.files["Reservations"][-1] = {"Instances": [entry]}
        if isinstance(private, str) and private:
            entry["PrivateIpAddress"] = private
        if resource.values.get("source_dest_check") is False:
            entry["SourceDestCheck"] = False
        public = resource.values.get("associate_public_ip_address")
        if public is None:  # unset: the subnet's setting
            subnet = self.by_id.get(subnet_id, {})
            public = subnet.get("MapPublicIpOnLaunch", False)
        if public:
            entry[PUBLIC] = True
            self.changed.append(
                Skipped("public IP", resource.address, "an address of 203.0.113.0/24, given on up")
            )

    def primary_interface(self, resource: Resource) -> Optional[tuple]:
        """(eni, subnet, private IP, groups) of a network_interface block at device index 0."""
        for block_index, block in enumerate(resource.values.get("network_interface") or []):
            if not isinstance(block, dict) or block.get("device_index") != 0:
                continue
            blocks = (resource.config.get("expressions") or {}).get("network_interface")
            expression = blocks[block_index] if isinstance(blocks, list) and block_index < len(blocks) else {}
            eni_id = block.get("network_interface_id") or self.plan.one(
                resource, "network_interface_id", expression.get("network_interface_id") or {}
            )
            eni = next(
                (r for r in self.plan.of_type("aws_network_interface") if self.plan.id(r) == eni_id), None
            )
            if eni is None:
                return None
            ips = eni.values.get("private_ips") or [eni.values.get("private_ip")]
            return eni_id, self.plan.one(eni, "subnet_id"), ips[0], self.group_ids(eni, "security_groups")
        return None

    def instance_states(self) -> None:
        """``aws_ec2_instance_state``: an instance the plan stops."""
        for resource in self.plan.of_type("aws_ec2_instance_state"):
            instance = self.owner(resource, "instance_id", "InstanceId", "instance")
            if instance is not None and resource.values.get("state") == "stopped":
                instance["State"] = {"Name": "stopped"}
                if instance.pop(PUBLIC, None) and instance["InstanceId"] in self.elastic:
                    self.changed.append(
                        Skipped(
                            "Elastic IP", resource.address, "a stopped instance's: not kept (as on import)"
                        )
                    )

    def interfaces(self) -> None:
        """A network interface is an instance's when it is its primary; any other is listed."""
        for resource in self.plan.of_type("aws_network_interface"):
            if self.plan.id(resource) not in self.primaries:
                self.skip(
                    resource, "the primary interface of no instance of the plan (vpclab instances have one)"
                )

    def group_ids(self, resource: Resource, attribute: str) -> list[str]:
        """Security group ids; a name (``security_groups`` of an instance) is looked up."""
        names = {str(r.values.get("name")): self.plan.id(r) for r in self.plan.of_type("aws_security_group")}
        return [names.get(g, g) for g in self.plan.ids(resource, attribute)]

    # -- peerings --------------------------------------------------------------------------------
    def peering(self, resource: Resource) -> None:
        requester = self.plan.one(resource, "vpc_id") or ""
        accepter = self.plan.one(resource, "peer_vpc_id") or ""
        self.add(
            "VpcPeeringConnections",
            "VpcPeeringConnectionId",
            resource,
            {
                "RequesterVpcInfo": {"VpcId": requester},
                "AccepterVpcInfo": {"VpcId": accepter},
                "Status": {"Code": "active" if resource.values.get("auto_accept") else "pending-acceptance"},
            },
        )

    def accepters(self) -> None:
        """The other side's accepter resource makes a peering active (``auto_accept``)."""
        for resource in self.plan.of_type("aws_vpc_peering_connection_accepter"):
            pcx = self.owner(resource, "vpc_peering_connection_id", "VpcPeeringConnectionId", "peering")
            if pcx is not None and resource.values.get("auto_accept"):
                pcx["Status"] = {"Code": "active"}
