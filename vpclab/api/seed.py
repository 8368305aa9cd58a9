"""The design as the EC2 API sees it: its objects created, with boto3, in moto's EC2 backend
(the maintained implementation of the API that ``vpclab serve`` answers with), each tagged
with its vpclab name; ``Ids`` says which API id stands for which object. What the API cannot
hold of the design is listed, not dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vpclab.intent import model as m
from vpclab.intent.model.traffic import Traffic

from .params import Ids

IMAGE = "ami-03cf127a"  # one of the images moto's backend knows (the API asks for one)
DEFAULT_NACL = "default"  # a VPC's default NACL (the loader's implicit one, unless the file has it)


def tags(name: str, kind: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def permission(traffic: Traffic, **target) -> dict:
    """An IpPermission of one vpclab rule's traffic, to ``target`` (IpRanges or
    UserIdGroupPairs)."""
    found: dict = {"IpProtocol": "-1" if traffic.protocol is None else str(traffic.protocol)}
    if traffic.protocol in (6, 17):
        low, high = traffic.ports or (0, 65535)
        found.update(FromPort=low, ToPort=high)
    elif traffic.protocol in (1, 58):  # icmp, icmpv6: type and code
        found.update(
            FromPort=-1 if traffic.icmp_type is None else traffic.icmp_type,
            ToPort=-1 if traffic.icmp_code is None else traffic.icmp_code,
        )
    return {**found, **target}


class Seeder:
    """Creates ``topology``'s objects through ``client(region)`` (a boto3 EC2 client)."""

    def __init__(self, topology: m.Topology, client: Callable[[str], Any]):
        self.topology, self.client = topology, client
        self.ids = Ids()
        self.not_served: list[str] = []

    def seed(self) -> Ids:
        regions = {r.name for r in self.topology.regions} | {vpc.region for vpc in self.topology.vpcs}
        for region in regions | {t.region for t in self.topology.transit_gateways}:
            self._no_default_vpc(self.client(region))
        for vpc in self.topology.vpcs:
            self._vpc(vpc)
        for vpc in self.topology.vpcs:
            self._groups(vpc)
            self._instances(vpc)
            self._nat_gateways(vpc)
        for peering in self.topology.peerings:
            self._peering(peering)
        for tgw in self.topology.transit_gateways:
            self._transit_gateway(tgw)
        for vpc in self.topology.vpcs:
            self._route_tables(vpc)
            self._nacls(vpc)
        return self.ids

    @staticmethod
    def _no_default_vpc(ec2) -> None:
        """moto's backend starts a Region with a default VPC, as AWS gives an account: the API
        answers what the design holds, so it goes."""
        for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
            at = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
            for subnet in ec2.describe_subnets(Filters=at)["Subnets"]:
                ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            attached = [{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}]
            for gateway in ec2.describe_internet_gateways(Filters=attached)["InternetGateways"]:
                ec2.detach_internet_gateway(
                    InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc["VpcId"]
                )
                ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
            ec2.delete_vpc(VpcId=vpc["VpcId"])

    # -- VPCs, subnets, gateways -----------------------------------------------------------
    def _vpc(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        made = ec2.create_vpc(CidrBlock=str(vpc.cidrs[0]), TagSpecifications=tags(vpc.name, "vpc"))["Vpc"]
        vpc_id = made["VpcId"]
        self.ids.add("vpc", vpc.name, vpc_id)
        for cidr in vpc.cidrs[1:]:
            ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=str(cidr))
        for association in ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlockAssociationSet"]:
            self.ids.add(
                "vpc_cidr_association", (vpc.name, association["CidrBlock"]), association["AssociationId"]
            )
        for subnet in vpc.subnets:
            made = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=str(subnet.cidr),
                TagSpecifications=tags(subnet.name, "subnet"),
                **self._zone(ec2, vpc, subnet),
            )["Subnet"]
            self.ids.add("subnet", (vpc.name, subnet.name), made["SubnetId"])
        if vpc.internet_gateway is not None:
            gateway = ec2.create_internet_gateway(
                TagSpecifications=tags(vpc.internet_gateway.name, "internet-gateway")
            )["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
            self.ids.add("internet_gateway", vpc.internet_gateway.name, gateway)

    def _zone(self, ec2, vpc: m.Vpc, subnet: m.Subnet) -> dict:
        """The subnet's AZ as the API takes it: a name (``a`` is the Region's ``us-east-1a``),
        or an AZ id (``use1-az1``) if the Region has it; else moto's choice, listed."""
        if "-az" not in subnet.az:
            return {"AvailabilityZone": self.topology.region(vpc.region).zone(subnet.az)}
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        if any(z.get("ZoneId") == subnet.az for z in zones):
            return {"AvailabilityZoneId": subnet.az}
        self._unserved(
            f"{subnet.origin}: AZ id {subnet.az} is not one of {vpc.region}'s (the API put it in one)"
        )
        return {}

    def _unserved(self, line: str) -> None:
        if line not in self.not_served:
            self.not_served.append(line)

    def _nat_gateways(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        for gateway in vpc.nat_gateways:
            allocation = self._elastic_ip(ec2, gateway.public_ip)
            made = ec2.create_nat_gateway(
                SubnetId=self.ids.by_key[("subnet", (vpc.name, gateway.subnet))],
                AllocationId=allocation,
                TagSpecifications=tags(gateway.name, "natgateway"),
            )["NatGateway"]
            self.ids.add("nat_gateway", gateway.name, made["NatGatewayId"])

    def _elastic_ip(self, ec2, address) -> str:
        """An Elastic IP of the design's address (moto would pick a real-looking one)."""
        allocation = ec2.allocate_address(Domain="vpc", Address=str(address))["AllocationId"]
        self.ids.add("elastic_ip", str(address), allocation)
        return allocation

    # -- security groups and instances -----------------------------------------------------
    def _groups(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        vpc_id = self.ids.by_key[("vpc", vpc.name)]
        default = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        for group in vpc.security_groups:
            if group.name == "default":
                self.ids.add("security_group", (vpc.name, group.name), default)
                continue
            made = ec2.create_security_group(
                GroupName=group.name, Description=f"vpclab {group.name}", VpcId=vpc_id
            )["GroupId"]
            ec2.create_tags(Resources=[made], Tags=[{"Key": "Name", "Value": group.name}])
            self.ids.add("security_group", (vpc.name, group.name), made)
        for group in vpc.security_groups:
            self._rules(ec2, group)

    def _rules(self, ec2, group: m.SecurityGroup) -> None:
        group_id = self.ids.by_key[("security_group", (group.vpc, group.name))]
        current = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        if current["IpPermissionsEgress"]:  # the API's default egress rule: the design's instead
            ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=current["IpPermissionsEgress"])
        if current["IpPermissions"]:
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=current["IpPermissions"])
        for direction, rules in (("ingress", group.ingress), ("egress", group.egress)):
            permissions = []
            for rule in rules:
                if rule.prefix_list is not None:
                    self._unserved(f"{rule.origin}: a rule naming prefix list {rule.prefix_list}")
                elif rule.security_group is not None:
                    other = self.ids.by_key.get(
                        ("security_group", (rule.security_group.vpc, rule.security_group.name))
                    )
                    if other is not None:
                        permissions.append(permission(rule.traffic, UserIdGroupPairs=[{"GroupId": other}]))
                elif rule.cidr is not None and rule.cidr.version == 6:
                    permissions.append(permission(rule.traffic, Ipv6Ranges=[{"CidrIpv6": str(rule.cidr)}]))
                elif rule.cidr is not None:
                    permissions.append(permission(rule.traffic, IpRanges=[{"CidrIp": str(rule.cidr)}]))
            if permissions and direction == "ingress":
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
            elif permissions:
                ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=permissions)

    def _instances(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        for instance in vpc.instances:
            if instance.service is not None or instance.endpoint is not None:
                continue  # an AWS service's stand-in or an endpoint's interface: not an instance
            groups = [self.ids.by_key[("security_group", (r.vpc, r.name))] for r in instance.security_groups]
            made = ec2.run_instances(
                ImageId=IMAGE,
                MinCount=1,
                MaxCount=1,
                SubnetId=self.ids.by_key[("subnet", (vpc.name, instance.subnet))],
                PrivateIpAddress=str(instance.ip),
                SecurityGroupIds=groups,
                TagSpecifications=tags(instance.name, "instance"),
            )["Instances"][0]
            self.ids.add("instance", instance.name, made["InstanceId"])
            for interface in made.get("NetworkInterfaces", [])[:1]:  # its primary network interface
                self.ids.add("network_interface", instance.name, interface["NetworkInterfaceId"])
            if instance.public_ip is not None:  # the design's public IP, as an Elastic IP of its own
                allocation = self._elastic_ip(ec2, instance.public_ip)
                association = ec2.associate_address(AllocationId=allocation, InstanceId=made["InstanceId"])
                self.ids.add("eip_association", instance.name, association["AssociationId"])
            if not instance.source_dest_check:
                ec2.modify_instance_attribute(InstanceId=made["InstanceId"], SourceDestCheck={"Value": False})

    # -- peerings and transit gateways -----------------------------------------------------
    def _peering(self, peering: m.Peering) -> None:
        requester, accepter = (self.topology.vpc(name) for name in (peering.requester, peering.accepter))
        ec2 = self.client(requester.region)
        made = ec2.create_vpc_peering_connection(
            VpcId=self.ids.by_key[("vpc", requester.name)],
            PeerVpcId=self.ids.by_key[("vpc", accepter.name)],
            PeerRegion=accepter.region,
            TagSpecifications=tags(peering.name, "vpc-peering-connection"),
        )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        self.ids.add("peering", peering.name, made)
        answer = self.client(accepter.region)
        if peering.status == "active":
            answer.accept_vpc_peering_connection(VpcPeeringConnectionId=made)
        elif peering.status == "rejected":
            answer.reject_vpc_peering_connection(VpcPeeringConnectionId=made)
        elif peering.status == "deleted":
            ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=made)

    def _transit_gateway(self, tgw: m.TransitGateway) -> None:
        ec2 = self.client(tgw.region)
        made = ec2.create_transit_gateway(
            Description=f"vpclab {tgw.name}",
            Options={"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"},
            TagSpecifications=tags(tgw.name, "transit-gateway"),
        )["TransitGateway"]["TransitGatewayId"]
        self.ids.add("transit_gateway", tgw.name, made)
        at = [{"Name": "transit-gateway-id", "Values": [made]}]
        for table in ec2.describe_transit_gateway_route_tables(Filters=at)["TransitGatewayRouteTables"]:
            ec2.delete_transit_gateway_route_table(  # moto's default table: the design's tables instead
                TransitGatewayRouteTableId=table["TransitGatewayRouteTableId"]
            )
        for attachment in tgw.attachments:
            if attachment.hybrid or attachment.peering is not None:
                self._unserved(f"{attachment.origin}: a {_kind(attachment)} attachment")
                continue
            subnets = [self.ids.by_key[("subnet", (attachment.vpc, s))] for s in attachment.subnets]
            attached = ec2.create_transit_gateway_vpc_attachment(
                TransitGatewayId=made,
                VpcId=self.ids.by_key[("vpc", attachment.vpc)],
                SubnetIds=subnets,
                TagSpecifications=tags(attachment.name, "transit-gateway-attachment"),
            )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
            ec2.create_tags(Resources=[attached], Tags=[{"Key": "Name", "Value": attachment.name}])
            self.ids.add("tgw_attachment", (tgw.name, attachment.name), attached)
        for table in tgw.route_tables:
            self._tgw_table(ec2, tgw, made, table)

    def _tgw_table(self, ec2, tgw: m.TransitGateway, tgw_id: str, table: m.TgwRouteTable) -> None:
        made = ec2.create_transit_gateway_route_table(
            TransitGatewayId=tgw_id, TagSpecifications=tags(table.name, "transit-gateway-route-table")
        )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
        ec2.create_tags(Resources=[made], Tags=[{"Key": "Name", "Value": table.name}])
        self.ids.add("tgw_route_table", (tgw.name, table.name), made)
        attached = lambda name: self.ids.by_key.get(("tgw_attachment", (tgw.name, name)))
        for name in table.associations:
            if attached(name):
                ec2.associate_transit_gateway_route_table(
                    TransitGatewayRouteTableId=made, TransitGatewayAttachmentId=attached(name)
                )
        for name in table.propagations:
            if attached(name):
                ec2.enable_transit_gateway_route_table_propagation(
                    TransitGatewayRouteTableId=made, TransitGatewayAttachmentId=attached(name)
                )
        for route in table.static_routes:
            target: dict[str, Any] = {"Blackhole": True} if route.blackhole else {}
            if route.attachment is not None and attached(route.attachment):
                target = {"TransitGatewayAttachmentId": attached(route.attachment)}
            if target:
                ec2.create_transit_gateway_route(
                    DestinationCidrBlock=str(route.destination), TransitGatewayRouteTableId=made, **target
                )
            else:
                self._unserved(f"{route.origin}: a route to a {route.attachment} attachment")

    # -- route tables and NACLs ------------------------------------------------------------
    def _route_tables(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        vpc_id = self.ids.by_key[("vpc", vpc.name)]
        main = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"][0]["RouteTableId"]
        for table in vpc.route_tables:
            if table.main:
                table_id = main
            else:
                table_id = ec2.create_route_table(
                    VpcId=vpc_id, TagSpecifications=tags(table.name, "route-table")
                )["RouteTable"]["RouteTableId"]
            self.ids.add("route_table", (vpc.name, table.name), table_id)
            for route in table.routes:
                self._route(ec2, table_id, route)
        for subnet in vpc.subnets:
            table = next(t for t in vpc.route_tables if t.name == subnet.route_table)
            if not table.main:
                association = ec2.associate_route_table(
                    RouteTableId=self.ids.by_key[("route_table", (vpc.name, table.name))],
                    SubnetId=self.ids.by_key[("subnet", (vpc.name, subnet.name))],
                )["AssociationId"]
                self.ids.add("route_table_association", (vpc.name, subnet.name), association)

    def _route(self, ec2, table_id: str, route: m.Route) -> None:
        if route.local or route.propagated:
            return
        targets = {
            "GatewayId": ("internet_gateway", route.internet_gateway),
            "NatGatewayId": ("nat_gateway", route.nat_gateway),
            "VpcPeeringConnectionId": ("peering", route.peering),
            "TransitGatewayId": ("transit_gateway", route.transit_gateway),
            "InstanceId": ("instance", route.instance),
        }
        for parameter, (kind, name) in targets.items():
            found = self.ids.by_key.get((kind, name)) if name else None
            if found and route.prefix_list is None and not route.failover:
                ec2.create_route(
                    RouteTableId=table_id, DestinationCidrBlock=str(route.destination), **{parameter: found}
                )
                return
        self._unserved(f"{route.origin}: the route to {route.destination} ({_route_kind(route)})")

    def _nacls(self, vpc: m.Vpc) -> None:
        ec2 = self.client(vpc.region)
        vpc_id = self.ids.by_key[("vpc", vpc.name)]
        default = ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}]
        )["NetworkAcls"][0]["NetworkAclId"]
        for nacl in vpc.nacls:
            if nacl.name == DEFAULT_NACL:
                made = default
                for entry in ec2.describe_network_acls(NetworkAclIds=[made])["NetworkAcls"][0]["Entries"]:
                    if entry["RuleNumber"] < 32767:  # the design's rules instead (AWS's '*' stays)
                        ec2.delete_network_acl_entry(
                            NetworkAclId=made, RuleNumber=entry["RuleNumber"], Egress=entry["Egress"]
                        )
            else:
                made = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=tags(nacl.name, "network-acl"))[
                    "NetworkAcl"
                ]["NetworkAclId"]
            self.ids.add("network_acl", (vpc.name, nacl.name), made)
            for egress, rules in ((False, nacl.ingress), (True, nacl.egress)):
                for rule in rules:
                    if rule.number is not None:
                        self._nacl_entry(ec2, made, egress, rule)
        associations = {
            a["SubnetId"]: a["NetworkAclAssociationId"]
            for acl in ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "NetworkAcls"
            ]
            for a in acl["Associations"]
        }
        for subnet in vpc.subnets:
            subnet_id = self.ids.by_key[("subnet", (vpc.name, subnet.name))]
            association = associations.get(subnet_id)
            if subnet.nacl != DEFAULT_NACL and association is not None:
                association = ec2.replace_network_acl_association(
                    AssociationId=association,
                    NetworkAclId=self.ids.by_key[("network_acl", (vpc.name, subnet.nacl))],
                )["NewAssociationId"]
            if association is not None:
                self.ids.add("nacl_association", (vpc.name, subnet.name), association)

    @staticmethod
    def _nacl_entry(ec2, acl: str, egress: bool, rule: m.NaclRule) -> None:
        traffic = rule.traffic
        extra: dict = {}
        if traffic.protocol in (6, 17):
            low, high = traffic.ports or (0, 65535)
            extra["PortRange"] = {"From": low, "To": high}
        elif traffic.protocol in (1, 58):
            extra["IcmpTypeCode"] = {
                "Type": -1 if traffic.icmp_type is None else traffic.icmp_type,
                "Code": -1 if traffic.icmp_code is None else traffic.icmp_code,
            }
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=rule.number,
            Protocol="-1" if traffic.protocol is None else str(traffic.protocol),
            RuleAction="allow" if rule.allow else "deny",
            Egress=egress,
            **{"Ipv6CidrBlock" if rule.cidr.version == 6 else "CidrBlock": str(rule.cidr)},
            **extra,
        )


def _kind(attachment: m.Attachment) -> str:
    if attachment.peering is not None:
        return "TGW peering"
    return "VPN" if attachment.vpn is not None else "Direct Connect gateway"


def _route_kind(route: m.Route) -> str:
    if route.failover:
        return "a failover route"
    if route.prefix_list is not None:
        return f"to prefix list {route.prefix_list}"
    if route.blackhole:
        return "a blackhole"
    return "a target the API does not hold here"
