"""Direct Connect in a snapshot: gateways, their associations with VGWs and TGWs, and virtual
interfaces, as vpclab's Direct Connect gateways and connections, with each VIF's site.

What a site announces over a VIF is not in an AWS snapshot: its router's configuration is
(``routers``). A VIF whose router's configuration the snapshot carries (the router owns the
VIF's customer address) is imported, with the router as its site: the router's BGP ASN, the
prefixes it announces, its own addresses in them as the site's hosts, and the Direct Connect
community its announcements carry (``preference``). A private VIF attached to a VGW without a
Direct Connect gateway gets one (vpclab reaches a VGW through a DX gateway), listed as changed.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Optional

from .routers import Router
from .snapshot import OTHERS
from .state import MapperState

SITE_ADDRESSES = IPv4Network("198.51.100.0/24")  # where sites' real addresses go (RFC 5737)
FIRST_SITE_ADDRESS = 200  # from 198.51.100.200 up: below, room for internet hosts
FILES = ("DirectConnectGateways", "DirectConnectGatewayAssociations", "VirtualInterfaces")
NO_ROUTER = (
    "the snapshot holds no configuration of its site's router (configs/, which Batfish reads too): "
    "what the site announces is unknown"
)


class DirectConnectMapping(MapperState):
    def others(self, file: str) -> list[dict]:
        others: dict = self.snapshot.get(OTHERS, {})  # type: ignore[assignment]
        return [r for r in others.get(file, []) if isinstance(r, dict)]

    def plan_direct_connect(self) -> None:
        """Before the TGWs: the VIFs that are imported (their router is known) and the names
        of the DX gateways they reach (a TGW's attachment of one is named after it)."""
        self.dx_vifs: list[tuple[dict, Router, str]] = []  # (VIF, its router, its gateway's key)
        gateways = {g["DirectConnectGatewayId"]: g for g in self.others("DirectConnectGateways")}
        for vif in self.others("VirtualInterfaces"):
            aws_id = vif.get("VirtualInterfaceId", "?")
            if vif.get("VirtualInterfaceState", "available") not in ("available", "down"):
                self.skip(
                    "Direct Connect virtual interface", aws_id, f"it is {vif.get('VirtualInterfaceState')}"
                )
                continue
            customer = vif.get("CustomerAddress", "")
            router = next((r for r in self.routers if customer and r.owns(IPv4Interface(customer).ip)), None)
            if router is None:
                self.skip("Direct Connect virtual interface", aws_id, NO_ROUTER)
                continue
            gateway = vif.get("DirectConnectGatewayId")
            if gateway:
                if gateway not in gateways:
                    self.skip(
                        "Direct Connect virtual interface",
                        aws_id,
                        f"its gateway {gateway} is not in the snapshot",
                    )
                    continue
                key = gateway
                self.dx_names.setdefault(key, self.names.name(gateways[gateway], gateway, "dx-gateway"))
            elif vif.get("VirtualGatewayId"):
                key = f"vgw:{vif['VirtualGatewayId']}"
                self.dx_names.setdefault(
                    key, self.names.name({}, f"dx-{vif['VirtualGatewayId']}", "dx-gateway")
                )
            else:
                self.skip("Direct Connect virtual interface", aws_id, "it reaches no gateway")
                continue
            self.dx_vifs.append((vif, router, key))

    def map_direct_connect(self) -> None:
        """After the VGWs and the VPN connections: the gateways with their associations, the
        VIFs and their sites."""
        gateways = {g["DirectConnectGatewayId"]: g for g in self.others("DirectConnectGateways")}
        associations: dict[str, list[dict]] = {}
        association_ids: dict[str, list[str]] = {}
        for association in self.others("DirectConnectGatewayAssociations"):
            aws_id = association.get("AssociationId", "?")
            gateway, target = (
                association.get("DirectConnectGatewayId", ""),
                association.get("AssociatedGateway", {}),
            )
            if gateway not in self.dx_names:
                self.skip("Direct Connect gateway association", aws_id, "no imported VIF reaches its gateway")
                continue
            if association.get("AssociationState", "associated") != "associated":
                self.skip(
                    "Direct Connect gateway association",
                    aws_id,
                    f"it is {association.get('AssociationState')}",
                )
                continue
            entry = self.dx_association(target)
            if entry is None:
                self.skip(
                    "Direct Connect gateway association",
                    aws_id,
                    f"its gateway {target.get('Id')} was not imported",
                )
                continue
            allowed = [p["Cidr"] for p in association.get("AllowedPrefixesToDirectConnectGateway", [])]
            if allowed:
                entry["allowed_prefixes"] = allowed
            associations.setdefault(gateway, []).append(entry)
            association_ids.setdefault(gateway, []).append(aws_id)
        for key, name in self.dx_names.items():
            if key.startswith("vgw:"):
                vgw = self.vgws.get(key[4:])
                if vgw is not None:
                    associations.setdefault(key, []).append({"vpn_gateway": vgw})
                    self.change(
                        "Direct Connect virtual interface",
                        f"on {key[4:]}",
                        f"private VIFs on a VGW: vpclab reaches it through Direct Connect gateway {name}",
                    )
        made: dict[str, dict] = {}
        for vif, router, key in self.dx_vifs:
            aws_id = vif.get("VirtualInterfaceId", "?")
            kind = vif.get("VirtualInterfaceType", "private")
            reaches = "vpn_gateway" if kind == "private" else "transit_gateway"
            if not any(reaches in a for a in associations.get(key, [])):
                self.skip(
                    "Direct Connect virtual interface",
                    aws_id,
                    f"its gateway has no imported {reaches.replace('_', ' ')}",
                )
                continue
            if key not in made:
                gateway = gateways.get(key, {})
                described = key if key in gateways else key[4:]
                if association_ids.get(key):
                    described += f" (associations {', '.join(association_ids[key])})"
                made[key] = {"name": self.dx_names[key], "description": described}
                made[key]["asn"] = int(gateway.get("AmazonSideAsn", vif.get("AmazonSideAsn", 64512)))
                made[key]["associations"] = associations[key]
                self.count("Direct Connect gateway")
            entry = self.dx_connection(vif, router, kind, self.dx_names[key])
            self.imported.data.setdefault("direct_connect_connections", []).append(entry)
            self.count("Direct Connect connection")
        if made:
            self.imported.data["direct_connect_gateways"] = list(made.values())
        for aws_id in gateways:
            if aws_id not in made:
                self.skip("Direct Connect gateway", aws_id, "no imported VIF reaches it")

    def dx_association(self, target: dict) -> Optional[dict]:
        kind, aws_id = target.get("Type"), target.get("Id", "")
        if kind == "transitGateway" and aws_id in self.tgws:
            return {"transit_gateway": self.tgws[aws_id]}
        if kind == "virtualPrivateGateway" and aws_id in self.vgws:
            return {"vpn_gateway": self.vgws[aws_id]}
        return None

    def dx_connection(self, vif: dict, router: Router, kind: str, gateway: str) -> dict:
        aws_id = vif.get("VirtualInterfaceId", "?")
        entry: dict = {
            "name": self.names.name(vif, aws_id, "dx-connection"),
            "description": aws_id,
            "site": self.router_site(router),
            "gateway": gateway,
            "type": kind,
        }
        amazon = vif.get("AmazonAddress")
        if amazon:
            entry["peering_cidr"] = str(IPv4Interface(amazon).network)
        preference = router.dx_preference(IPv4Interface(amazon).ip) if amazon else None
        if preference:
            entry["preference"] = preference
        if vif.get("VirtualInterfaceState") == "down":
            entry["down"] = True
        return entry

    def next_site_address(self) -> IPv4Address:
        return SITE_ADDRESSES.network_address + FIRST_SITE_ADDRESS + len(self.sites)

    def router_site(self, router: Router, customer_gateway: Optional[str] = None) -> str:
        """The site a router's configuration describes (made once): its ASN, the prefixes its BGP
        announces, its own addresses in them as hosts."""
        key = f"router:{router.file}"
        if customer_gateway is not None:
            self.used_gateways.add(customer_gateway)
            self.change(
                "customer gateway", customer_gateway, f"the router {router.hostname}, from its configuration"
            )
        if key not in self.sites:
            address = self.next_site_address()
            hosts = [
                {"name": self.names.name({}, "host", "instance", router.hostname), "ip": str(interface.ip)}
                for interface in router.addresses
                if any(interface.ip in n and interface.ip != n.network_address for n in router.networks)
            ]
            self.sites[key] = {
                "name": self.names.name({}, router.hostname, "site"),
                "description": f"router {router.hostname} ({router.file.split('/')[-1]})",
                "asn": router.asn,
                "public_ip": str(IPv4Address(address)),
                "cidrs": [str(n) for n in router.networks],
                **({"hosts": hosts} if hosts else {}),
            }
            self.count("on-premises site")
            self.change(
                "on-premises router",
                router.hostname,
                f"a site from its configuration, outside address {address}",
            )
        return self.sites[key]["name"]
