"""An account snapshot (``snapshot.read_snapshot``) as vpclab topology data, and what was left out.

Names come from the `Name` tag (made valid and unique), else the AWS id. What vpclab cannot
emulate (VPN, endpoints, IPv6, private NAT gateways, stopped instances, extra network
interfaces, peerings that are not active) is listed with its AWS id and the reason, never
dropped silently; what it emulates differently (public and Elastic IPs, which become addresses
of 203.0.113.0/24 so that nothing leaves the machine) is listed as changed.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv4Network

from .filters import FilterMapping
from .state import NOT_EMULATED, PUBLIC_RANGE, VPC_KEYS, Imported


class Mapper(FilterMapping):
    """One pass over a snapshot; ``imported`` holds the result."""

    def run(self) -> Imported:
        self.map_vpcs()
        self.map_peerings()
        self.map_transit_gateways()
        self.map_groups()
        self.map_instances()  # before the routes, which may name an instance
        self.map_internet_edge()
        for vpc in self.snapshot["Vpcs"]:
            if vpc["VpcId"] in self.vpcs:
                self.map_route_tables(vpc["VpcId"])
                self.map_nacls(vpc["VpcId"])
        for file, (kind, key, reason) in NOT_EMULATED.items():
            for resource in self.snapshot[file]:
                self.skip(kind, resource.get(key, "?"), reason)
        connections = {key: self.imported.data.pop(key) for key in ("peerings", "transit_gateways")}
        vpcs = [{key: vpc[key] for key in VPC_KEYS if key in vpc} for vpc in self.vpcs.values()]
        self.imported.data.update(servers=self.servers(), vpcs=vpcs)
        self.imported.data.update({key: value for key, value in connections.items() if value})
        return self.imported

    # -- VPCs and subnets ---------------------------------------------------------------------
    def map_vpcs(self) -> None:
        for vpc in self.snapshot["Vpcs"]:
            cidrs = [
                a["CidrBlock"]
                for a in vpc.get("CidrBlockAssociationSet") or [{"CidrBlock": vpc["CidrBlock"]}]
                if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
            ]
            if vpc.get("Ipv6CidrBlockAssociationSet"):
                self.skip("VPC IPv6 CIDR", vpc["VpcId"], "IPv6 is not emulated")
            name = self.names.name(vpc, vpc["VpcId"], "vpc")
            cidr = cidrs[0] if len(cidrs) == 1 else cidrs
            self.vpcs[vpc["VpcId"]] = {"name": name, "description": vpc["VpcId"], "cidr": cidr}
            self.count("VPC")
        for subnet in self.snapshot["Subnets"]:
            vpc = self.vpcs.get(subnet["VpcId"])
            if vpc is None:
                self.skip("subnet", subnet["SubnetId"], f"its VPC {subnet['VpcId']} is not in Vpcs.json")
                continue
            cidr, owned = IPv4Network(subnet["CidrBlock"], strict=False), vpc["cidr"]
            if not any(
                cidr.subnet_of(IPv4Network(c)) for c in (owned if isinstance(owned, list) else [owned])
            ):
                raise self.inconsistent(
                    "Subnets",
                    subnet["SubnetId"],
                    f"{cidr} is outside its VPC {subnet['VpcId']} ({vpc['cidr']})",
                )
            name = self.names.name(subnet, subnet["SubnetId"], ("subnet", subnet["VpcId"]))
            vpc.setdefault("subnets", []).append(
                {
                    "name": name,
                    "description": subnet["SubnetId"],
                    "cidr": subnet["CidrBlock"],
                    "az": subnet["AvailabilityZone"],
                }
            )
            self.subnets[subnet["SubnetId"]] = (subnet["VpcId"], name)
            self.count("subnet")

    def servers(self) -> list[dict]:
        """``servers_per_az`` servers for every AZ a subnet is in."""
        zones = sorted({s["az"] for vpc in self.vpcs.values() for s in vpc.get("subnets", [])})
        return [
            {"name": f"srv{n * self.servers_per_az + k + 1}", "az": az}
            for n, az in enumerate(zones)
            for k in range(self.servers_per_az)
        ] or [{"name": "srv1", "az": "a"}]

    # -- peerings and transit gateways ----------------------------------------------------------
    def map_peerings(self) -> None:
        peerings = self.imported.data.setdefault("peerings", [])
        for pcx in self.snapshot["VpcPeeringConnections"]:
            ends = pcx["RequesterVpcInfo"]["VpcId"], pcx["AccepterVpcInfo"]["VpcId"]
            state = pcx.get("Status", {}).get("Code")
            if state != "active":
                self.skip("peering", pcx["VpcPeeringConnectionId"], f"its state is {state}, not active")
            elif any(end not in self.vpcs for end in ends):
                self.skip("peering", pcx["VpcPeeringConnectionId"], "a VPC of another account or region")
            else:
                name = self.names.name(pcx, pcx["VpcPeeringConnectionId"])
                peerings.append(
                    {
                        "name": name,
                        "description": pcx["VpcPeeringConnectionId"],
                        "requester": self.vpcs[ends[0]]["name"],
                        "accepter": self.vpcs[ends[1]]["name"],
                    }
                )
                self.peerings[pcx["VpcPeeringConnectionId"]] = name
                self.count("peering")

    def map_transit_gateways(self) -> None:
        tgws = self.imported.data.setdefault("transit_gateways", [])
        by_id: dict[str, dict] = {}
        for tgw in self.snapshot["TransitGateways"]:
            name = self.names.name(tgw, tgw["TransitGatewayId"])
            by_id[tgw["TransitGatewayId"]] = {
                "name": name,
                "description": tgw["TransitGatewayId"],
                "attachments": [],
                "route_tables": [],
            }
            self.tgws[tgw["TransitGatewayId"]] = name
            self.count("transit gateway")
        for attachment in self.snapshot["TransitGatewayVpcAttachments"]:
            aws_id, tgw = attachment["TransitGatewayAttachmentId"], by_id.get(attachment["TransitGatewayId"])
            subnets = [self.subnets.get(s) for s in attachment.get("SubnetIds", [])]
            if attachment.get("State") != "available" or tgw is None or attachment["VpcId"] not in self.vpcs:
                self.skip("TGW attachment", aws_id, "not available, or its TGW or VPC is not in the snapshot")
                continue
            if None in subnets or not subnets:
                self.skip("TGW attachment", aws_id, "a subnet of it is not in Subnets.json")
                continue
            name = self.names.name(attachment, aws_id)
            vpc = self.vpcs[attachment["VpcId"]]["name"]
            subnet_names = [s[1] for s in subnets if s]
            tgw["attachments"].append(
                {"name": name, "description": aws_id, "vpc": vpc, "subnets": subnet_names}
            )
            self.attachments[aws_id] = name
            self.count("TGW attachment")
        self.map_tgw_route_tables(by_id)
        tgws += [tgw for tgw in by_id.values() if tgw["attachments"]]

    def map_tgw_route_tables(self, by_id: dict[str, dict]) -> None:
        associated: dict[str, list[str]] = defaultdict(list)
        for attachment in self.snapshot["TransitGatewayAttachments"]:
            association = attachment.get("Association") or {}
            name = self.attachments.get(attachment["TransitGatewayAttachmentId"])
            if name and association.get("State") == "associated":
                associated[association["TransitGatewayRouteTableId"]].append(name)
        propagated: dict[str, list[str]] = defaultdict(list)
        for table in self.snapshot["TransitGatewayPropagations"]:
            for propagation in table.get("TransitGatewayRouteTablePropagations", []):
                name = self.attachments.get(propagation["TransitGatewayAttachmentId"])
                if name and propagation.get("State") == "enabled":
                    propagated[table["TransitGatewayRouteTableId"]].append(name)
        static: dict[str, list[dict]] = defaultdict(list)
        for table in self.snapshot["TransitGatewayStaticRoutes"]:
            for route in table.get("Routes", []):
                self.map_tgw_static_route(table["TransitGatewayRouteTableId"], route, static)
        for table in self.snapshot["TransitGatewayRouteTables"]:
            tgw, aws_id = by_id.get(table["TransitGatewayId"]), table["TransitGatewayRouteTableId"]
            if tgw is None:
                self.skip("TGW route table", aws_id, "its TGW is not in TransitGateways.json")
                continue
            entry: dict = {
                "name": self.names.name(table, aws_id, ("tgw-table", tgw["name"])),
                "description": aws_id,
            }
            for key, values in (
                ("associations", associated),
                ("propagations", propagated),
                ("routes", static),
            ):
                if values.get(aws_id):
                    entry[key] = values[aws_id]
            tgw["route_tables"].append(entry)
            self.count("TGW route table")

    def map_tgw_static_route(self, table: str, route: dict, static: dict) -> None:
        destination = route.get("DestinationCidrBlock")
        if route.get("Type") != "static" or destination is None:
            return  # propagated routes come from the propagations
        if route.get("State") == "blackhole":
            static[table].append({"destination": destination, "blackhole": True})
            return
        targets = [
            self.attachments.get(a.get("TransitGatewayAttachmentId"))
            for a in route.get("TransitGatewayAttachments", [])
        ]
        if len(targets) == 1 and targets[0]:
            static[table].append({"destination": destination, "attachment": targets[0]})
        else:
            self.skip(
                "TGW static route", f"{table} {destination}", "its attachment is not a VPC attachment here"
            )

    # -- the internet edge ------------------------------------------------------------------------
    def map_internet_edge(self) -> None:
        """Internet gateways attached to an imported VPC, public NAT gateways, Elastic IPs."""
        for igw in self.snapshot["InternetGateways"]:
            aws_id = igw["InternetGatewayId"]
            attached = [
                a["VpcId"]
                for a in igw.get("Attachments", [])
                if a.get("State") in ("available", "attached") and a.get("VpcId") in self.vpcs
            ]
            if not attached:
                self.skip("internet gateway", aws_id, "attached to no VPC of the snapshot")
                continue
            self.vpcs[attached[0]]["internet_gateway"] = self.names.name(igw, aws_id)
            self.internet_gateways[aws_id] = attached[0]
            self.count("internet gateway")
        for nat in self.snapshot["NatGateways"]:
            aws_id = nat["NatGatewayId"]
            if nat.get("State") != "available":
                self.skip("NAT gateway", aws_id, f"it is {nat.get('State')}, not available")
                continue
            if nat.get("ConnectivityType") == "private":
                self.skip("NAT gateway", aws_id, "private NAT gateways are not emulated")
                continue
            if nat.get("SubnetId") not in self.subnets:
                self.skip("NAT gateway", aws_id, "its subnet is not in Subnets.json")
                continue
            vpc_id, subnet = self.subnets[nat["SubnetId"]]
            name = self.names.name(nat, aws_id, "instance")
            self.vpcs[vpc_id].setdefault("nat_gateways", []).append(
                {"name": name, "description": aws_id, "subnet": subnet}
            )
            self.nat_gateways[aws_id] = (vpc_id, name)
            self.count("NAT gateway")
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("PublicIp"):
                    self.change(
                        "Elastic IP", f"{address['PublicIp']} ({aws_id})", f"an address of {PUBLIC_RANGE}"
                    )
        mapped = set(self.interfaces) | {
            a.get("NetworkInterfaceId")
            for nat in self.snapshot["NatGateways"]
            if nat["NatGatewayId"] in self.nat_gateways
            for a in nat.get("NatGatewayAddresses", [])
        }
        for address in self.snapshot["Addresses"]:
            if address.get("NetworkInterfaceId") not in mapped:
                where = address.get("AllocationId") or address.get("PublicIp", "?")
                self.skip("Elastic IP", where, "associated with no imported instance or NAT gateway")

    # -- instances ------------------------------------------------------------------------------
    def map_instances(self) -> None:
        for reservation in self.snapshot["Reservations"]:
            for instance in reservation.get("Instances", []):
                aws_id, state = instance["InstanceId"], instance.get("State", {}).get("Name")
                if state != "running":
                    self.skip("instance", aws_id, f"it is {state}, not running")
                    continue
                if instance.get("SubnetId") not in self.subnets:
                    self.skip("instance", aws_id, "its subnet is not in Subnets.json (EC2-Classic?)")
                    continue
                vpc_id, subnet = self.subnets[instance["SubnetId"]]
                groups = [
                    self.groups[g["GroupId"]][1]
                    for g in instance.get("SecurityGroups", [])
                    if g["GroupId"] in self.groups
                ]
                entry: dict = {
                    "name": self.names.name(instance, aws_id, "instance"),
                    "description": aws_id,
                    "subnet": subnet,
                    "ip": instance["PrivateIpAddress"],
                    "security_groups": groups or ["default"],
                }
                if instance.get("PublicIpAddress"):
                    entry["public_ip"] = True
                    self.change(
                        "public IP",
                        f"{instance['PublicIpAddress']} ({aws_id})",
                        f"an address of {PUBLIC_RANGE}",
                    )
                if instance.get("SourceDestCheck") is False:
                    entry["source_dest_check"] = False
                self.vpcs[vpc_id].setdefault("instances", []).append(entry)
                self.instances[aws_id] = (vpc_id, entry["name"])
                interfaces = instance.get("NetworkInterfaces", [])
                primary = next(
                    (i for i in interfaces if i.get("Attachment", {}).get("DeviceIndex") == 0), None
                )
                if primary or interfaces:
                    self.interfaces[(primary or interfaces[0]).get("NetworkInterfaceId", "")] = aws_id
                self.count("instance")
                for extra in [i for i in interfaces if i is not (primary or interfaces[0])]:
                    self.skip(
                        "network interface",
                        extra.get("NetworkInterfaceId", "?"),
                        "vpclab instances have one interface",
                    )
