"""An account snapshot (``snapshot.read_snapshot``) as vpclab topology data, and what was left out.

Names come from the `Name` tag (made valid and unique), else the AWS id. What vpclab cannot
emulate (Direct Connect, IPv6, private NAT gateways, extra network interfaces, peerings that
are not active, terminated instances) is listed with its AWS id and the reason, never dropped
silently; what it emulates differently (public and Elastic IPs, which become addresses
of 203.0.113.0/24 so that nothing leaves the machine) is listed as changed.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from vpclab.intent.model import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, PEERING_STATES, QUOTAS

from .direct_connect import FILES as DX_FILES
from .filters import FilterMapping
from .load_balancers import FILES as BALANCER_FILES
from .load_balancers import LoadBalancerMapping
from .snapshot import OTHERS, SnapshotError
from .state import (
    OTHER_FILES,
    PUBLIC_ON_APPLY,
    PUBLIC_RANGE,
    TGW_KEYS,
    VPC_KEYS,
    Imported,
    object_id,
)
from .transit import TransitMapping


class Mapper(FilterMapping, TransitMapping, LoadBalancerMapping):
    """One pass over a snapshot; ``imported`` holds the result."""

    def run(self) -> Imported:
        self.map_vpcs()
        if not self.vpcs:
            self.plan_tgw_vpns()
            self.plan_direct_connect()
            self.map_transit_gateways()  # listed: no VPC is attached to them
            self.map_vpn_gateways()  # listed: no VPC has them
            self.map_vpn_connections()  # listed with their customer gateways
            self.map_direct_connect()
            self.map_endpoints()
            self.list_everything_else()
            raise SnapshotError(
                "no VPC in the snapshot: vpclab emulates VPCs and what joins them; it holds "
                + "; ".join(f"{s.kind} {s.aws_id}" for s in self.imported.skipped)
            )
        self.map_peerings()
        self.plan_tgw_vpns()  # before the TGWs: their route tables name these attachments
        self.plan_direct_connect()
        self.map_transit_gateways()
        self.map_groups()
        self.map_instances()  # before the routes, which may name an instance
        self.map_internet_edge()
        self.map_vpn_gateways()  # before the route tables, which name them
        for vpc in self.snapshot["Vpcs"]:
            if vpc["VpcId"] in self.vpcs:
                self.map_route_tables(vpc["VpcId"])
                self.map_nacls(vpc["VpcId"])
        self.map_vpn_connections()  # after: a BGP VPN's prefixes are what its VGW propagated
        self.map_direct_connect()
        self.sites_done()
        self.map_endpoints()
        self.map_load_balancers()
        self.list_everything_else()
        connections = {
            key: self.imported.data.pop(key, [])
            for key in (
                "peerings",
                "transit_gateways",
                "transit_gateway_peerings",
                "on_premises",
                "vpn_gateways",
                "vpn_connections",
            )
        }
        self.place(connections["transit_gateways"])
        vpcs = [{key: vpc[key] for key in VPC_KEYS if key in vpc} for vpc in self.vpcs.values()]
        self.imported.data.update(servers=self.servers(), vpcs=vpcs)
        self.imported.data.update({key: value for key, value in connections.items() if value})
        if "vpc_endpoints" in self.imported.data:  # after the VPCs they name
            self.imported.data["vpc_endpoints"] = self.imported.data.pop("vpc_endpoints")
        self.raise_quotas(vpcs)
        return self.imported

    def raise_quotas(self, vpcs: list[dict]) -> None:
        """``quotas:`` as far as the snapshot shows the account's were raised (AWS raises them
        on request), each listed as changed; never past what AWS allows."""
        used = {
            "rules_per_security_group": [
                len(g.get(d, []))
                for v in vpcs
                for g in v.get("security_groups", [])
                for d in ("ingress", "egress")
            ],
            "routes_per_route_table": [len(t["routes"]) for v in vpcs for t in v.get("route_tables", [])],
            "rules_per_network_acl": [
                len(n.get(d, [])) for v in vpcs for n in v.get("nacls", []) for d in ("ingress", "egress")
            ],
            "security_groups_per_interface": [
                len(i.get("security_groups", [])) for v in vpcs for i in v.get("instances", [])
            ],
        }
        for key, counts in used.items():
            needed, quota = max(counts, default=0), QUOTAS[key]
            if needed > quota.default:
                value = min(needed, quota.most)
                self.imported.data.setdefault("quotas", {})[key] = value
                self.change("quota", key, f"{quota.name}: {value}, as the snapshot needs ({needed})")

    def place(self, tgws: list[dict]) -> None:
        """``accounts:`` and ``regions:`` when the snapshot is more than one account in us-east-1;
        each VPC and TGW then names its own."""
        several = len(self.account_names) > 1 or set(self.account_names) - {DEFAULT_ACCOUNT_ID}
        if several:
            accounts = [{"name": name, "id": aws_id} for aws_id, name in self.account_names.items()]
            self.imported.data["accounts"] = accounts
        if list(self.regions) != [DEFAULT_REGION] and self.regions:
            self.imported.data["regions"] = [{"name": region} for region in self.regions]
        for entry in [*self.vpcs.values(), *tgws]:
            account, region = entry.pop("_account"), entry.pop("_region")
            if several:
                entry["account"] = account
            if "regions" in self.imported.data:
                entry["region"] = region
        for index, tgw in enumerate(tgws):  # its keys in the order the contract shows them
            tgws[index] = {key: tgw[key] for key in TGW_KEYS if key in tgw}

    def list_everything_else(self) -> None:
        for listed in self.snapshot["PrefixLists"]:
            aws_id = listed.get("PrefixListId", "?")
            if aws_id in self.used_lists and self.aws_list(aws_id):
                self.change(
                    "prefix list",
                    aws_id,
                    f"AWS's {self.aws_list(aws_id)}: its emulated service's addresses (192.0.2.0/24) "
                    "stand for its CIDRs, which its gateway endpoints keep (aws_cidrs)",
                )
            elif aws_id in self.used_lists:
                self.change("prefix list", aws_id, "its CIDRs, in the routes and rules that name it")
            else:
                self.skip("prefix list", aws_id, "named by no imported route or rule")
        self.list_other_files()

    def list_other_files(self) -> None:
        """Every object of a file vpclab maps nothing from, with its id and the reason; a
        network interface only if no imported instance or NAT gateway owns it."""
        mapped = self.mapped_interfaces()
        others: dict[str, list] = self.snapshot.get(OTHERS, {})  # type: ignore[assignment]
        for file, resources in others.items():
            if file in BALANCER_FILES or file in DX_FILES:
                continue  # listed by map_load_balancers, map_direct_connect
            kind, key, reason = OTHER_FILES.get(file, (file, "", f"{file}.json is not read by vpclab"))
            for resource in resources:
                if not isinstance(resource, dict):
                    continue
                aws_id = object_id(resource, key)
                why = reason
                if file == "VpcEndpointServices" and resource.get("Owner") == "amazon":
                    why = (
                        "a service AWS offers in the Region (describe-vpc-endpoint-services): an "
                        "endpoint to it is imported, AWS's catalogue is not"
                    )
                if file == "NetworkInterfaces":
                    description = resource.get("Description") or ""
                    if aws_id in mapped or any(a in description for a in self.attachments):
                        continue  # an imported instance's, NAT gateway's or TGW attachment's
                    what = resource.get("InterfaceType") or "interface"
                    owner = resource.get("Description") or resource.get("RequesterId") or "no description"
                    why = f"a {what} interface ({owner}) of no imported instance or NAT gateway"
                self.skip(kind, aws_id, why)

    # -- VPCs and subnets ---------------------------------------------------------------------
    def map_vpcs(self) -> None:
        for vpc in self.snapshot["Vpcs"]:
            cidrs = [
                a["CidrBlock"]
                for a in vpc.get("CidrBlockAssociationSet") or [{"CidrBlock": vpc["CidrBlock"]}]
                if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
            ]
            name = self.names.name(vpc, vpc["VpcId"], "vpc")
            cidr = cidrs[0] if len(cidrs) == 1 else cidrs
            region = self.region_of(vpc)
            self.regions.setdefault(region)
            self.vpcs[vpc["VpcId"]] = {
                "name": name,
                "description": vpc["VpcId"],
                "_account": self.account_of(vpc),
                "_region": region,
                "cidr": cidr,
            }
            self.map_vpc_ipv6(vpc)
            self.count("VPC")
        for subnet in self.snapshot["Subnets"]:
            vpc = self.vpcs.get(subnet["VpcId"])
            if vpc is None:
                self.skip("subnet", subnet["SubnetId"], f"its VPC {subnet['VpcId']} is not in Vpcs.json")
                continue
            ipv6 = self.subnet_ipv6(subnet, vpc)
            if subnet.get("Ipv6Native") and ipv6:  # an IPv6-only subnet: no IPv4 CIDR
                name = self.names.name(subnet, subnet["SubnetId"], ("subnet", subnet["VpcId"]))
                entry = {"name": name, "description": subnet["SubnetId"], **ipv6, "ipv6_native": True}
                vpc.setdefault("subnets", []).append({**entry, "az": subnet["AvailabilityZone"]})
                self.subnets[subnet["SubnetId"]] = (subnet["VpcId"], name)
                self.count("subnet")
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
                    **ipv6,
                    "az": subnet["AvailabilityZone"],
                }
            )
            self.subnets[subnet["SubnetId"]] = (subnet["VpcId"], name)
            self.count("subnet")

    def map_vpc_ipv6(self, vpc: dict) -> None:
        """A VPC's IPv6 block, moved into 2001:db8::/32 (``ipv6.Ipv6Space``); a second one is
        listed (vpclab's VPCs have one)."""
        blocks = [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet") or [] if _associated(a)]
        for n, block in enumerate(blocks):
            emulated = self.ipv6.add_vpc(block) if n == 0 else None
            if emulated is None:
                why = "vpclab's VPCs have one IPv6 block" if n else "an IPv6 block that is no /56"
                self.skip("VPC IPv6 CIDR", f"{vpc['VpcId']} {block}", why)
                continue
            self.vpcs[vpc["VpcId"]]["ipv6_cidr"] = emulated
            self.change("VPC IPv6 CIDR", f"{block} ({vpc['VpcId']})", f"{emulated}, in 2001:db8::/32")

    def subnet_ipv6(self, subnet: dict, vpc: dict) -> dict:
        """A subnet's /64, moved with its VPC's /56 ({} without one)."""
        for association in subnet.get("Ipv6CidrBlockAssociationSet") or []:
            if not _associated(association):
                continue
            if "ipv6_cidr" not in vpc:
                self.skip("subnet IPv6 CIDR", subnet["SubnetId"], "its VPC's IPv6 block is not imported")
                return {}
            return {"ipv6_cidr": self.ipv6.network(association["Ipv6CidrBlock"])}
        return {}

    def instance_ipv6(self, instance: dict, aws_id: str) -> dict:
        """Its primary interface's first IPv6 address, moved with its VPC ({} without one)."""
        interfaces = instance.get("NetworkInterfaces", [])
        primary = next((i for i in interfaces if i.get("Attachment", {}).get("DeviceIndex") == 0), None)
        addresses = [a["Ipv6Address"] for a in (primary or {}).get("Ipv6Addresses", [])]
        if not addresses:
            return {}
        moved = self.ipv6.address(addresses[0])
        if moved is None:
            self.skip("instance IPv6 address", f"{addresses[0]} ({aws_id})", "in no imported VPC's block")
            return {}
        for extra in addresses[1:]:
            self.skip("instance IPv6 address", f"{extra} ({aws_id})", "vpclab instances have one")
        return {"ipv6": moved}

    def servers(self) -> list[dict]:
        """``servers_per_az`` servers for every AZ a subnet is in (in its Region)."""
        zones = sorted(
            {
                (vpc.get("region", DEFAULT_REGION), s["az"])
                for vpc in self.vpcs.values()
                for s in vpc.get("subnets", [])
            }
        )
        several = "regions" in self.imported.data
        return [
            {
                "name": f"srv{n * self.servers_per_az + k + 1}",
                **({"region": region} if several else {}),
                "az": az,
            }
            for n, (region, az) in enumerate(zones)
            for k in range(self.servers_per_az)
        ] or [{"name": "srv1", "az": "a"}]

    # -- peerings and transit gateways ----------------------------------------------------------
    def map_peerings(self) -> None:
        peerings = self.imported.data.setdefault("peerings", [])
        for pcx in self.snapshot["VpcPeeringConnections"]:
            ends = pcx["RequesterVpcInfo"]["VpcId"], pcx["AccepterVpcInfo"]["VpcId"]
            state = pcx.get("Status", {}).get("Code")
            if state not in PEERING_STATES:
                self.skip(
                    "peering",
                    pcx["VpcPeeringConnectionId"],
                    f"its state is {state}: vpclab takes {', '.join(PEERING_STATES)}",
                )
            elif any(end not in self.vpcs for end in ends):
                missing = next(end for end in ends if end not in self.vpcs)
                self.skip(
                    "peering",
                    pcx["VpcPeeringConnectionId"],
                    f"its VPC {missing} is in no folder of the snapshot (import its top folder)",
                )
            else:
                name = self.names.name(pcx, pcx["VpcPeeringConnectionId"])
                peerings.append(
                    {
                        "name": name,
                        "description": pcx["VpcPeeringConnectionId"],
                        "requester": self.vpcs[ends[0]]["name"],
                        "accepter": self.vpcs[ends[1]]["name"],
                        **({} if state == "active" else {"status": state}),
                    }
                )
                self.peerings[pcx["VpcPeeringConnectionId"]] = name
                self.count("peering")

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
            self.vpcs[attached[0]]["description"] += f", internet gateway {aws_id}"
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
            addresses = nat.get("NatGatewayAddresses") or [{}]
            entry = {"name": name, "description": aws_id, "subnet": subnet}
            for key, field_name in (("ip", "PrivateIp"), ("aws_public_ip", "PublicIp")):
                if addresses[0].get(field_name):
                    entry[key] = addresses[0][field_name]  # its private IP kept; trace takes the public
            self.vpcs[vpc_id].setdefault("nat_gateways", []).append(entry)
            self.nat_gateways[aws_id] = (vpc_id, name)
            self.count("NAT gateway")
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("PublicIp"):
                    self.change(
                        "Elastic IP", f"{address['PublicIp']} ({aws_id})", f"an address of {PUBLIC_RANGE}"
                    )
        mapped = self.mapped_interfaces()
        for address in self.snapshot["Addresses"]:
            if address.get("NetworkInterfaceId") not in mapped:
                where = address.get("AllocationId") or address.get("PublicIp", "?")
                self.skip("Elastic IP", where, "associated with no imported instance or NAT gateway")

    # -- instances ------------------------------------------------------------------------------
    def map_instances(self) -> None:
        for reservation in self.snapshot["Reservations"]:
            for instance in reservation.get("Instances", []):
                aws_id, state = instance["InstanceId"], instance.get("State", {}).get("Name")
                if state not in ("running", "stopped", "stopping"):
                    self.skip("instance", aws_id, f"it is {state}, not running or stopped")
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
                    **({"ip": instance["PrivateIpAddress"]} if instance.get("PrivateIpAddress") else {}),
                    **self.instance_ipv6(instance, aws_id),
                    "security_groups": groups or ["default"],
                }
                if state != "running":  # its interface and address stay; it sends and answers nothing
                    entry["state"] = "stopped"
                if instance.get(PUBLIC_ON_APPLY):  # a plan's: its address is given on up
                    entry["public_ip"] = True
                elif instance.get("PublicIpAddress") and state != "running":
                    self.change(
                        "public IP",
                        f"{instance['PublicIpAddress']} ({aws_id})",
                        "a stopped instance's Elastic IP: not kept (its start takes one from 203.0.113.0/24)",
                    )
                    entry["public_ip"] = True
                elif instance.get("PublicIpAddress"):
                    entry["public_ip"] = True
                    entry["aws_public_ip"] = instance["PublicIpAddress"]  # trace takes it
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


GONE = ("disassociating", "disassociated", "failing", "failed")  # an IPv6 block's other states


def _associated(association: dict) -> bool:
    """Is an IPv6 block association in force? Any state but those of a block going or gone
    (moto writes a subnet's state as the text of a dict that holds 'associated')."""
    state = str(association.get("Ipv6CidrBlockState", {}).get("State", "associated"))
    return not any(word in state for word in GONE)
