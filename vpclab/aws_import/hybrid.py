"""Virtual private gateways, customer gateways and Site-to-Site VPN connections to a VGW, as
vpclab's VPN gateways, on-premises sites and VPN connections (contract v3).

A site is a customer gateway: its ASN, its outside address (a real one, so an address of
198.51.100.0/24 stands for it, listed as changed) and the prefixes the snapshot shows it
announces: a static VPN's routes, or for a BGP VPN the routes its VGW propagated into the VPC's
route tables. Its hosts are beyond the snapshot: the site lists none, and what reaches its
prefixes leaves the network there (as Batfish's "exits network"). A route propagated from a
VGW is not a route of the file: vpclab propagates it itself (``propagating_vgws``).

A VPN connection to a transit gateway is imported when the snapshot shows its site's prefixes:
a static one's are the TGW's static routes to its attachment; a BGP one's, what its router's
configuration announces (``routers``), which makes its site (as Direct Connect's does).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Optional

from vpclab.intent.model import AMAZON_SIDE_ASN, VPN_TUNNELS

from .direct_connect import DirectConnectMapping

PROPAGATED = "EnableVgwRoutePropagation"  # a route's Origin when a VGW put it there


class HybridMapping(DirectConnectMapping):
    def map_vpn_gateways(self) -> None:
        """Each VGW attached to an imported VPC (before the route tables, which name them)."""
        self.vgw_heard: dict[str, list[str]] = {}  # vgw id -> the prefixes it propagated
        for vgw in self.snapshot["VpnGateways"]:
            aws_id = vgw["VpnGatewayId"]
            attached = [a["VpcId"] for a in vgw.get("VpcAttachments", []) if a.get("State") == "attached"]
            vpc = next((v for v in attached if v in self.vpcs), None)
            if vgw.get("State", "available") != "available" or vpc is None:
                self.skip("VPN gateway", aws_id, "it is attached to no imported VPC")
                continue
            name = self.names.name(vgw, aws_id, "vpn-gateway")
            self.vgws[aws_id] = name
            entry = {"name": name, "description": aws_id, "vpc": self.vpcs[vpc]["name"]}
            entry["asn"] = int(vgw.get("AmazonSideAsn", AMAZON_SIDE_ASN))
            self.imported.data.setdefault("vpn_gateways", []).append(entry)
            self.count("VPN gateway")

    def vgw_route(self, route: dict, where: str) -> Optional[dict]:
        """A route to a VGW: the file's own, or (propagated by it) the prefix its site announced."""
        gateway = route.get("GatewayId", "")
        if gateway not in self.vgws:
            self.skip("route", where, f"its VPN gateway {gateway} was not imported")
            return None
        if route.get("Origin") == PROPAGATED:
            self.vgw_heard.setdefault(gateway, []).append(route["DestinationCidrBlock"])
            self.change(
                "route", where, f"propagated by {gateway}: vpclab propagates it itself (propagating_vgws)"
            )
            return None
        return {"vpn_gateway": self.vgws[gateway]}

    def propagating(self, table: dict) -> list[str]:
        """The VGWs a route table takes routes from (PropagatingVgws)."""
        return [
            self.vgws[p["GatewayId"]]
            for p in table.get("PropagatingVgws", [])
            if p.get("GatewayId") in self.vgws
        ]

    def plan_tgw_vpns(self) -> None:
        """Before the TGWs: the VPN connections to a TGW that are imported (AWS's attachment of
        each is named after it): a static one's prefixes are its TGW's static routes to its
        attachment; a BGP one's, what its router's configuration announces."""
        self.customer_gateways = {c["CustomerGatewayId"]: c for c in self.snapshot["CustomerGateways"]}
        self.tgw_vpn_reasons: dict[str, str] = {}  # VPN id -> why it is not imported
        attachment_of = {
            a.get("ResourceId"): a["TransitGatewayAttachmentId"]
            for a in self.snapshot["TransitGatewayAttachments"]
            if a.get("ResourceType") == "vpn"
        }
        for connection in self.snapshot["VpnConnections"]:
            if not connection.get("TransitGatewayId"):
                continue
            aws_id = connection["VpnConnectionId"]
            why, entry = self.tgw_vpn(connection, attachment_of.get(aws_id))
            if entry is None:
                self.tgw_vpn_reasons[aws_id] = why
            else:
                self.tgw_vpns[aws_id] = entry

    def tgw_vpn(self, connection: dict, attachment: Optional[str]) -> tuple[str, Optional[dict]]:
        aws_id = connection["VpnConnectionId"]
        if connection.get("State", "available") != "available":
            return f"it is {connection.get('State')}, not available", None
        cgw = self.customer_gateways.get(connection.get("CustomerGatewayId", ""))
        if cgw is None:
            return "its customer gateway is not in the snapshot", None
        static = bool(connection.get("Options", {}).get("StaticRoutesOnly"))
        router = next((r for r in self.routers if r.owns(IPv4Address(cgw.get("IpAddress", "0.0.0.0")))), None)
        if static:
            announced = [
                route["DestinationCidrBlock"]
                for table in self.snapshot["TransitGatewayStaticRoutes"]
                for route in table.get("Routes", [])
                if route.get("Type") == "static"
                and any(
                    a.get("TransitGatewayAttachmentId") == attachment
                    for a in route.get("TransitGatewayAttachments", [])
                )
            ]
            if not announced:
                return "no TGW static route leads to it: the snapshot shows no prefix of its site", None
            site = self.router_site(router, cgw["CustomerGatewayId"]) if router else self.site(cgw, announced)
        elif router is None:
            return (
                "the snapshot holds no configuration of its customer gateway's router (configs/): "
                "what its site announces is unknown",
                None,
            )
        else:
            site = self.router_site(router, cgw["CustomerGatewayId"])
        entry: dict = {"name": self.names.name(connection, aws_id, "vpn-connection"), "description": aws_id}
        entry.update(customer_gateway=site, routing="static" if static else "bgp")
        return "", entry

    def map_vpn_connections(self) -> None:
        """Each VPN connection to an imported VGW whose site's prefixes the snapshot shows, and
        each planned one to an imported TGW."""
        for connection in self.snapshot["VpnConnections"]:
            entry = self.vpn_connection(connection)
            if entry is not None:
                self.imported.data.setdefault("vpn_connections", []).append(entry)
                self.count("VPN connection")
        for aws_id in self.customer_gateways:
            if aws_id not in self.used_gateways:
                self.skip("customer gateway", aws_id, "used by no imported VPN connection")

    def sites_done(self) -> None:
        if self.sites:
            self.imported.data["on_premises"] = list(self.sites.values())

    def vpn_connection(self, connection: dict) -> Optional[dict]:
        aws_id = connection["VpnConnectionId"]
        if connection.get("State", "available") != "available":
            self.skip("VPN connection", aws_id, f"it is {connection.get('State')}, not available")
            return None
        if connection.get("TransitGatewayId"):
            tgw = self.tgws.get(connection["TransitGatewayId"])
            planned = self.tgw_vpns.get(aws_id)
            if planned is None or tgw is None:
                why = (
                    self.tgw_vpn_reasons.get(aws_id)
                    or f"its transit gateway {connection['TransitGatewayId']} was not imported"
                )
                self.skip("VPN connection", aws_id, why)
                return None
            return {**planned, "transit_gateway": tgw}
        vgw = connection.get("VpnGatewayId", "")
        if vgw not in self.vgws:
            self.skip("VPN connection", aws_id, f"its VPN gateway {vgw} was not imported")
            return None
        cgw = self.customer_gateways.get(connection.get("CustomerGatewayId", ""))
        if cgw is None:
            self.skip("VPN connection", aws_id, "its customer gateway is not in the snapshot")
            return None
        static = bool(connection.get("Options", {}).get("StaticRoutesOnly"))
        routes = [
            r["DestinationCidrBlock"] for r in connection.get("Routes", []) if r.get("State") == "available"
        ]
        announced = routes if static else self.vgw_heard.get(vgw, [])
        if not announced:
            self.skip(
                "VPN connection",
                aws_id,
                "the snapshot shows no prefix its site announces (no static route, no route its VPN "
                "gateway propagated)",
            )
            return None
        site = self.site(cgw, announced)
        entry: dict = {"name": self.names.name(connection, aws_id, "vpn-connection"), "description": aws_id}
        entry.update(customer_gateway=site, vpn_gateway=self.vgws[vgw], routing="static" if static else "bgp")
        if static:
            entry["static_routes"] = routes
        telemetry = connection.get("VgwTelemetry", [])
        entry["tunnels"] = min(max(len(telemetry), 1), VPN_TUNNELS) if telemetry else VPN_TUNNELS
        down = [n for n, tunnel in enumerate(telemetry[:VPN_TUNNELS], 1) if tunnel.get("Status") == "DOWN"]
        if down:
            self.change(
                "VPN connection",
                aws_id,
                f"tunnel(s) {', '.join(map(str, down))} were DOWN when the snapshot was taken: imported as "
                "configured, up (tunnels_down replays the outage)",
            )
        return entry

    def site(self, cgw: dict, announced: list[str]) -> str:
        """The site of customer gateway ``cgw`` (made once), announcing ``announced`` too."""
        aws_id = cgw["CustomerGatewayId"]
        self.used_gateways.add(aws_id)
        if aws_id not in self.sites:
            address = self.next_site_address()
            self.sites[aws_id] = {
                "name": self.names.name(cgw, aws_id, "site"),
                "description": aws_id,
                "asn": int(cgw.get("BgpAsn", 65000)),
                "public_ip": str(IPv4Address(address)),
                "cidrs": [],
            }
            self.change(
                "customer gateway", f"{cgw.get('IpAddress', '?')} ({aws_id})", f"the address {address}"
            )
            self.count("on-premises site")
        cidrs = self.sites[aws_id]["cidrs"]
        cidrs += [c for c in announced if c not in cidrs]
        return self.sites[aws_id]["name"]
