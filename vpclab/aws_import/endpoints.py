"""Gateway endpoints and AWS-managed prefix lists, as vpclab topology data.

A gateway endpoint to S3 or DynamoDB becomes a ``vpc_endpoints`` entry of type Gateway with
its route tables; the routes AWS made for it are the endpoint's own in vpclab (not written
twice). An AWS-managed prefix list of those services is named by its AWS name in routes and
SG rules, and its real CIDRs are kept on the endpoint (``aws_cidrs``) so that an address of
the real service is understood as the emulated one.
"""

from __future__ import annotations

from typing import Optional

from vpclab.intent.model import AWS_MANAGED_PREFIX, GATEWAY_SERVICES

from .snapshot import OTHERS
from .state import MapperState

ENDPOINT_TYPES = {  # a VpcEndpointType vpclab does not import -> why
    "Interface": "an interface endpoint to another account's service: its service, NLB and "
    "targets are not in the snapshot",
    "GatewayLoadBalancer": "Gateway Load Balancer endpoints are not emulated",
}


class EndpointMapping(MapperState):
    def aws_list(self, list_id: str) -> Optional[str]:
        """The AWS name of an AWS-managed prefix list vpclab emulates (S3's, DynamoDB's)."""
        name = self.prefix_list_names.get(list_id, "")
        if name.startswith(AWS_MANAGED_PREFIX) and name.rsplit(".", 1)[-1] in GATEWAY_SERVICES:
            return name
        return None

    def gateway_endpoint(self, endpoint_id: str) -> Optional[dict]:
        """The snapshot's gateway endpoint ``endpoint_id`` if vpclab imports it."""
        found = next(
            (e for e in self.snapshot["VpcEndpoints"] if e.get("VpcEndpointId") == endpoint_id), None
        )
        if found is None or found.get("VpcEndpointType") != "Gateway" or found.get("VpcId") not in self.vpcs:
            return None
        return found if found.get("ServiceName", "").rsplit(".", 1)[-1] in GATEWAY_SERVICES else None

    def map_endpoints(self) -> None:
        """Gateway endpoints to S3 and DynamoDB (after the route tables: their names); every
        other endpoint listed with the reason."""
        for endpoint in self.snapshot["VpcEndpoints"]:
            aws_id = endpoint.get("VpcEndpointId", "?")
            kind = endpoint.get("VpcEndpointType", "Interface")
            if kind == "Interface" and endpoint.get("ServiceName", "").startswith(AWS_MANAGED_PREFIX):
                self.map_service_endpoint(endpoint)
                continue
            if kind != "Gateway":
                self.skip(
                    "VPC endpoint", aws_id, ENDPOINT_TYPES.get(kind, f"{kind} endpoints are not emulated")
                )
                continue
            if self.gateway_endpoint(aws_id) is None:
                reason = (
                    f"its VPC {endpoint.get('VpcId')} was not imported"
                    if endpoint.get("VpcId") not in self.vpcs
                    else f"vpclab emulates gateway endpoints to {' and '.join(GATEWAY_SERVICES)} only"
                )
                self.skip("VPC endpoint", aws_id, reason)
                continue
            tables = [self.table_names[t] for t in endpoint.get("RouteTableIds", []) if t in self.table_names]
            if not tables:
                self.skip("VPC endpoint", aws_id, "no imported route table is associated with it")
                continue
            service = endpoint["ServiceName"]
            listed = next((i for i, n in self.prefix_list_names.items() if n == service), None)
            entry = {
                "name": self.names.name(endpoint, aws_id, ("vpc-endpoint",)),
                "description": aws_id,
                "vpc": self.vpcs[endpoint["VpcId"]]["name"],
                "vpc_endpoint_type": "Gateway",
                "service": service.rsplit(".", 1)[-1],
                "route_tables": tables,
            }
            if listed is not None:
                entry["aws_cidrs"] = list(self.prefix_lists[listed])
                self.used_lists.add(listed)
            self.imported.data.setdefault("vpc_endpoints", []).append(entry)
            self.count("gateway endpoint")

    def map_service_endpoint(self, endpoint: dict) -> None:
        """An interface endpoint to an AWS service: its subnets, SGs and interfaces' addresses."""
        aws_id = endpoint.get("VpcEndpointId", "?")
        if endpoint.get("VpcId") not in self.vpcs:
            self.skip("VPC endpoint", aws_id, f"its VPC {endpoint.get('VpcId')} was not imported")
            return
        others: dict[str, list] = self.snapshot.get(OTHERS, {})  # type: ignore[assignment]
        interfaces = {
            i.get("NetworkInterfaceId"): i for i in others.get("NetworkInterfaces", []) if isinstance(i, dict)
        }
        subnets, addresses = [], []
        for subnet_id in endpoint.get("SubnetIds", []):
            if subnet_id not in self.subnets:
                self.skip("VPC endpoint", aws_id, f"its subnet {subnet_id} was not imported")
                return
            subnets.append(self.subnets[subnet_id][1])
            address = next(
                (i.get("PrivateIpAddress") for n, i in interfaces.items()
                 if n in endpoint.get("NetworkInterfaceIds", []) and i.get("SubnetId") == subnet_id),
                None,
            )  # fmt: skip
            addresses.append(address)
        groups = [
            self.groups[g["GroupId"]][1]
            for g in endpoint.get("Groups", [])
            if g.get("GroupId") in self.groups
        ]
        entry = {
            "name": self.names.name(endpoint, aws_id, ("vpc-endpoint",)),
            "description": aws_id,
            "vpc": self.vpcs[endpoint["VpcId"]]["name"],
            "service": endpoint["ServiceName"],
            "subnets": subnets,
            "security_groups": groups or ["default"],
            "private_dns_enabled": bool(endpoint.get("PrivateDnsEnabled")),
        }
        if all(addresses):
            entry["addresses"] = addresses
        self.endpoint_interfaces.update(endpoint.get("NetworkInterfaceIds", []))
        self.imported.data.setdefault("vpc_endpoints", []).append(entry)
        self.count("interface endpoint")
