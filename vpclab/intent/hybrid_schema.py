"""The shape of the keys of on-premises sites, Site-to-Site VPN and Direct Connect (contract
v3), as JSON Schema: part of ``schema.TOPOLOGY``."""

from __future__ import annotations

from .shapes import NAME, TEXT, _list, _object

ASN = {"type": "integer", "minimum": 1, "maximum": 4294967295}
CIDRS = {"type": "array", "items": TEXT}
HYBRID = {
    "on_premises": _list(
        _object(
            {
                "name": NAME,
                "asn": ASN,
                "public_ip": TEXT,
                "cidrs": {**CIDRS, "minItems": 1},
                "hosts": _list(_object({"name": NAME, "ip": TEXT}, ("name", "ip"))),
            },
            ("name", "asn", "public_ip", "cidrs"),
        )
    ),
    "vpn_gateways": _list(_object({"name": NAME, "vpc": TEXT, "asn": ASN}, ("name", "vpc"))),
    "vpn_connections": _list(
        _object(
            {
                "name": NAME,
                "customer_gateway": TEXT,
                "vpn_gateway": TEXT,
                "transit_gateway": TEXT,
                "routing": {"enum": ["bgp", "static"]},
                "static_routes": CIDRS,
                "tunnels": {"type": "integer", "minimum": 1, "maximum": 2},
                "tunnels_down": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 2}},
                # runtime state: what AWS's end of each BGP tunnel learned from the site
                "learned": _list(
                    _object(
                        {"tunnel": {"type": "integer", "minimum": 1, "maximum": 2}, "prefixes": CIDRS},
                        ("tunnel", "prefixes"),
                    )
                ),
                "tunnel_inside_cidrs": {**CIDRS, "maxItems": 2},  # vpclab (Terraform: tunnel1_inside_cidr)
            },
            ("name", "customer_gateway"),
        )
    ),
    "direct_connect_gateways": _list(
        _object(
            {
                "name": NAME,
                "asn": ASN,
                "associations": _list(
                    _object({"vpn_gateway": TEXT, "transit_gateway": TEXT, "allowed_prefixes": CIDRS})
                ),
            },
            ("name",),
        )
    ),
    "direct_connect_connections": _list(
        _object(
            {
                "name": NAME,
                "site": TEXT,
                "gateway": TEXT,
                "type": {"enum": ["private", "transit"]},
                "down": {"type": "boolean"},  # runtime state: the link failed
                "learned": CIDRS,  # runtime state: what AWS's end of the VIF learned from the site
                # vpclab (AWS: the community 7224:7100, 7200 or 7300 on the site's announcements)
                "preference": {"enum": ["low", "medium", "high"]},
                "peering_cidr": TEXT,  # vpclab: the VIF's /30 (AWS: AmazonAddress, CustomerAddress)
            },
            ("name", "site", "gateway"),
        )
    ),
}
