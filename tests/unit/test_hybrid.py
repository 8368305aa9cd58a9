# ruff: noqa: E501  (the YAML edits of a variant read best on one line)
"""On-premises sites over Site-to-Site VPN and Direct Connect (issue 32): what the loader
refuses as AWS does, and how trace routes by AWS's route priorities (VPC and TGW route
tables, a VGW's choice, the site's), with tunnels and links failing."""

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from vpc_fixtures import load, problems

from vpclab.oracle import propagation as p
from vpclab.oracle.trace import trace

DESIGN = (Path(__file__).resolve().parents[2] / "topologies" / "hybrid.yaml").read_text()


def variant(*edits: tuple[str, str]) -> str:
    text = DESIGN
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def traced(topology, source: str, target: str, port: int = 443):
    return trace(topology, topology.endpoint(source), topology.endpoint(target).ip, 6, port)


def details(verdict, stage: str, direction: str = "forward") -> list[str]:
    return [h.detail for h in verdict.hops if h.stage == stage and h.direction == direction]


DX_DOWN = (
    "{name: dx1, site: dc1, gateway: dxgw, type: transit}",
    "{name: dx1, site: dc1, gateway: dxgw, type: transit, down: true}",
)


def test_direct_connect_is_preferred_both_ways_while_it_is_up():
    topology = load(DESIGN)
    there = traced(topology, "app1", "erp1")
    assert there.accepted
    assert details(there, "tgw-exit") == [
        "core sends it 172.16.0.0/16 via Direct Connect dx1 (Direct Connect, AS path 65010)"
    ]
    assert details(there, "site", "return") == [
        "dc1's router sends it 10.1.0.0/16 via Direct Connect dx1 (Direct Connect, AS path 64600)"
    ]
    back = traced(topology, "erp1", "svc1")
    assert back.accepted and details(back, "dxgw") == ["dxgw hands it to transit gateway core"]
    assert back.path_mtu == (1500, "erp1's interface")  # the link takes as much (1500)


def test_without_direct_connect_the_vpn_carries_it_over_both_tunnels_by_flow_hash():
    topology = load(variant(DX_DOWN))
    there = traced(topology, "svc1", "erp1")
    assert there.accepted
    assert details(there, "tgw-exit") == [
        "core sends it 172.16.0.0/16 via VPN dc1-vpn tunnel 1 (VPN BGP, AS path 65010) "
        "(ECMP by flow hash over VPN dc1-vpn tunnel 1, VPN dc1-vpn tunnel 2)"
    ]
    assert there.path_mtu == (1446, "VPN dc1-vpn tunnel 1")
    single = load(variant(DX_DOWN, ("vpn_ecmp_support: true", "vpn_ecmp_support: false")))
    assert details(traced(single, "svc1", "erp1"), "tgw-exit") == [
        "core sends it 172.16.0.0/16 via VPN dc1-vpn tunnel 1 (VPN BGP, AS path 65010)"
    ]
    one_tunnel = load(variant(DX_DOWN, ("    routing: bgp\n", "    routing: bgp\n    tunnels_down: [1]\n")))
    assert "via VPN dc1-vpn tunnel 2" in details(traced(one_tunnel, "svc1", "erp1"), "tgw-exit")[0]
    dark = load(variant(DX_DOWN, ("    routing: bgp\n", "    routing: bgp\n    tunnels_down: [1, 2]\n")))
    lost = traced(dark, "svc1", "erp1")
    assert (lost.accepted, lost.reason, lost.rule) == (
        False,
        "tgw-no-route",
        "transit_gateways[0].route_tables[0]",
    )


def test_a_shorter_allowed_prefix_loses_to_the_vpns_longer_ones_at_the_site():
    """AWS's own warning: the site routes by longest prefix before any preference."""
    topology = load(
        variant(("allowed_prefixes: [10.0.0.0/16, 10.1.0.0/16]", "allowed_prefixes: [10.0.0.0/15]"))
    )
    out = traced(topology, "erp1", "svc1")
    assert out.accepted
    assert details(out, "site") == [
        "dc1's router sends it 10.0.0.0/16 via VPN dc1-vpn tunnel 1 (VPN BGP, AS path 64513)"
    ]


def test_a_static_vpn_to_a_vgw_uses_one_tunnel_and_stops_when_both_are_down():
    topology = load(DESIGN)
    out = traced(topology, "app1", "files1")
    assert out.accepted
    assert details(out, "vgw") == [
        "vgw-app sends it 192.168.0.0/16 via VPN dc2-vpn tunnel 1 (VPN static route)"
    ]
    assert details(out, "vgw", "return") == ["vgw-app delivers it into VPC app"]
    second = load(variant(("    routing: static\n", "    routing: static\n    tunnels_down: [1]\n")))
    assert "tunnel 2" in details(traced(second, "app1", "files1"), "vgw")[0]
    down = load(variant(("    routing: static\n", "    routing: static\n    tunnels_down: [2, 1]\n")))
    lost = traced(down, "app1", "files1")
    assert (lost.accepted, lost.reason, lost.rule) == (False, "vgw-no-route", "vpn_gateways[0]")


def test_routes_propagated_from_the_vgw_lose_to_static_ones_and_never_beat_local():
    without_static = load(variant(("          - {destination: 192.168.0.0/16, vpn_gateway: vgw-app}\n", "")))
    out = traced(without_static, "app1", "files1")
    assert out.accepted
    assert details(out, "route") == ["192.168.0.0/16 -> virtual private gateway vgw-app (propagated)"]
    assert [h.object for h in out.hops if h.stage == "route"] == [
        "vpcs[1].route_tables[0].propagating_vgws[0]"
    ]
    unpropagated = load(
        variant(
            ("          - {destination: 192.168.0.0/16, vpn_gateway: vgw-app}\n", ""),
            ("        propagating_vgws: [vgw-app]\n", ""),
        )
    )
    assert traced(unpropagated, "app1", "files1").reason == "no-route"
    blackholed = load(
        variant(
            (
                "{destination: 192.168.0.0/16, vpn_gateway: vgw-app}",
                "{destination: 192.168.0.0/16, blackhole: true}",
            )
        )
    )
    assert traced(blackholed, "app1", "files1").reason == "blackhole"
    inside = load(
        variant(("static_routes: [192.168.0.0/16]", "static_routes: [192.168.0.0/16, 10.1.5.0/24]"))
    )
    table = inside.vpc("app").route_tables[0]
    propagated = p.propagated_vgw_routes(inside, inside.vpc("app"), table)
    assert [r.destination for r in propagated] == [IPv4Network("192.168.0.0/16")]  # 10.1.5.0/24: local wins


def test_a_vgw_ranks_direct_connect_then_vpn_static_then_vpn_bgp():
    topology = load(
        variant(
            (
                "      - {transit_gateway: core, allowed_prefixes: [10.0.0.0/16, 10.1.0.0/16]}",
                "      - {transit_gateway: core, allowed_prefixes: [10.0.0.0/16, 10.1.0.0/16]}\n      - {vpn_gateway: vgw-app}",
            ),
            (
                "  - {name: dx1, site: dc1, gateway: dxgw, type: transit}",
                "  - {name: dx1, site: dc1, gateway: dxgw, type: transit}\n  - {name: dx2, site: dc2, gateway: dxgw, type: private}",
            ),
        )
    )
    vgw = topology.hybrid.vpn_gateway("vgw-app")
    address = IPv4Address("192.168.1.10")
    assert p.vgw_route(topology, vgw, address).path() == "Direct Connect dx2"
    learned = [r for r in p.vgw_learned(topology, vgw) if address in r.destination]
    assert sorted({r.kind for r in learned}) == ["dx", "vpn-static"]
    bgp = p.Learned(IPv4Network("192.168.0.0/16"), p.VPN_BGP, "x", "o", 1, (65020,))
    static = p.Learned(IPv4Network("192.168.0.0/16"), p.VPN_STATIC, "y", "o", 1)
    assert p.best_of([bgp, static], p._vgw_key) == [static]
    longer = p.Learned(IPv4Network("192.168.1.0/24"), p.VPN_BGP, "z", "o", 1, (65020, 65020))
    assert p.best_of([bgp, static, longer], p._vgw_key) == [longer]  # longest prefix first
    # through the private VIF, files1 answers app1 over Direct Connect too
    back = traced(topology, "files1", "app1")
    assert details(back, "site") == [
        "dc2's router sends it 10.1.0.0/16 via Direct Connect dx2 (Direct Connect, AS path 64600)"
    ]
    assert details(back, "dxgw") == ["dxgw hands it to vgw-app"]


def test_a_tgw_ranks_static_then_vpc_then_direct_connect_then_vpn_then_as_path():
    topology = load(variant(("cidrs: [172.16.0.0/16]", "cidrs: [172.16.0.0/16, 10.0.0.0/16]")))
    tgw = topology.transit_gateway("core")
    table = tgw.route_tables[0]
    chosen = p.tgw_choice(topology, tgw, table, IPv4Address("10.0.1.4"))
    assert [(r.kind, r.attachment) for r in chosen] == [("vpc", "shared-att")]
    kinds = {
        r.kind for r in p.tgw_candidates(topology, tgw, table) if r.destination == IPv4Network("10.0.0.0/16")
    }
    assert kinds == {"vpc", "dx", "vpn-bgp"}
    short = p.Learned(IPv4Network("172.16.0.0/16"), p.VPN_BGP, "a", "o", 1, (65010,), attachment="a")
    long_ = p.Learned(IPv4Network("172.16.0.0/16"), p.VPN_BGP, "b", "o", 1, (65010, 65010), attachment="b")
    dx = p.Learned(IPv4Network("172.16.0.0/16"), p.DX, "c", "o", None, (65010, 65010, 65010), attachment="c")
    static = p.Learned(IPv4Network("172.16.0.0/16"), p.STATIC, "d", "o", attachment="d")
    assert p.best_of([long_, short], p.tgw_key) == [short]
    assert p.best_of([long_, short, dx], p.tgw_key) == [dx]
    assert p.best_of([long_, short, dx, static], p.tgw_key) == [static]


def test_a_site_has_no_way_to_a_vpc_it_hears_nothing_of():
    topology = load(DESIGN)
    refused = traced(topology, "files1", "svc1")
    assert (refused.accepted, refused.reason, refused.rule) == (False, "site-no-route", "on_premises[1]")
    assert traced(topology, "svc1", "files1").reason == "no-route"


def test_aws_creates_a_tgws_vpn_and_direct_connect_attachments_when_the_file_lists_none():
    topology = load(
        variant(
            (
                "      - {name: dc1-vpn-att, vpn: dc1-vpn}\n      - {name: dx-att, direct_connect_gateway: dxgw}\n",
                "",
            ),
            ("[shared-att, app-att, dc1-vpn-att, dx-att]", "[shared-att, app-att, dc1-vpn, dxgw]"),
            ("associations: [dc1-vpn-att, dx-att]", "associations: [dc1-vpn, dxgw]"),
        )
    )
    made = {
        a.name: (a.vpn, a.direct_connect_gateway, a.origin)
        for a in topology.transit_gateway("core").attachments
        if a.hybrid
    }
    assert made == {
        "dc1-vpn": ("dc1-vpn", None, "vpn_connections[0]"),
        "dxgw": (None, "dxgw", "direct_connect_gateways[0]"),
    }
    assert traced(topology, "app1", "erp1").accepted


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            ("asn: 65010", "asn: 64513"),
            "vpn_connections[0].customer_gateway: site 'dc1' and transit gateway 'core' both have ASN 64513",
        ),
        (
            ("asn: 65010", "asn: 64600"),
            "direct_connect_connections[0].site: site 'dc1' and Direct Connect gateway 'dxgw' both have ASN 64600",
        ),
        (
            (
                "      - {transit_gateway: core, allowed_prefixes: [10.0.0.0/16, 10.1.0.0/16]}",
                "      - {transit_gateway: core}",
            ),
            "direct_connect_gateways[0].associations[0]: a Direct Connect gateway's association with a transit gateway needs 'allowed_prefixes'",
        ),
        (
            ("    static_routes: [192.168.0.0/16]\n", ""),
            "vpn_connections[1]: a static VPN to a virtual private gateway needs 'static_routes'",
        ),
        (
            ("    routing: bgp\n", "    routing: bgp\n    static_routes: [172.16.0.0/16]\n"),
            "vpn_connections[0].static_routes: static routes belong to a VPN with 'routing: static'",
        ),
        (
            ("public_ip: 198.51.100.50", "public_ip: 8.8.8.8"),
            "on_premises[0].public_ip: 8.8.8.8 is not in the documentation ranges",
        ),
        (
            ("{name: erp1, ip: 172.16.1.10}", "{name: erp1, ip: 172.17.1.10}"),
            "on_premises[0].hosts[0].ip: 172.17.1.10 is not inside the site's cidrs (172.16.0.0/16)",
        ),
        (
            ("{name: erp1, ip: 172.16.1.10}", "{name: erp1, ip: 172.16.255.255}"),
            "on_premises[0].hosts[0].ip: 172.16.255.255 is reserved",
        ),
        (
            ("{name: erp1, ip: 172.16.1.10}", "{name: app1, ip: 172.16.1.10}"),
            "on_premises[0].hosts[0].name: 'app1' already names an instance or another host",
        ),
        (
            (
                "{name: dx1, site: dc1, gateway: dxgw, type: transit}",
                "{name: dx1, site: dc1, gateway: dxgw, type: private}",
            ),
            "direct_connect_connections[0].type: a private virtual interface reaches the virtual private gateways its Direct Connect gateway is associated with, and 'dxgw' has none",
        ),
        (
            ("{name: vgw-app, vpc: app, asn: 64512}", "{name: vgw-app, vpc: app, asn: 100}"),
            "vpn_gateways[0].asn: 100 is not a valid ASN for a virtual private gateway",
        ),
        (
            ("{name: dc1-vpn-att, vpn: dc1-vpn}", "{name: dc1-vpn-att, vpn: dc2-vpn}"),
            "transit_gateways[0].attachments[2].vpn: VPN connection 'dc2-vpn' does not end on transit gateway 'core'",
        ),
    ],
)
def test_what_aws_refuses_is_refused_with_its_place(edit, expected):
    found = problems(variant(edit))
    assert any(line.startswith("test.yaml:") and f": {expected}" in line for line in found), found


def test_a_route_table_takes_routes_to_and_propagation_from_its_own_vpcs_vgw_only():
    text = variant(
        (
            "routes:\n          - {destination: 10.1.0.0/16, transit_gateway: core}",
            "propagating_vgws: [vgw-app]\n        routes:\n          - {destination: 192.168.0.0/16, vpn_gateway: vgw-app}\n          - {destination: 10.1.0.0/16, transit_gateway: core}",
        )
    )
    found = problems(text)
    assert any(
        "vpcs[0].route_tables[0].routes[0].vpn_gateway: virtual private gateway 'vgw-app' is attached to VPC 'app', not 'shared'"
        in line
        for line in found
    ), found
    assert any(
        "vpcs[0].route_tables[0].propagating_vgws[0]: virtual private gateway 'vgw-app' is attached to VPC 'app'"
        in line
        for line in found
    )
    assert all(line.startswith("test.yaml:") for line in found)
    second = problems(
        variant(
            (
                "  - {name: vgw-app, vpc: app, asn: 64512}",
                "  - {name: vgw-app, vpc: app, asn: 64512}\n  - {name: vgw-two, vpc: app}",
            )
        )
    )
    assert any(
        "vpn_gateways[1].vpc: VPC 'app' already has virtual private gateway 'vgw-app' (AWS: one)" in line
        for line in second
    )


def test_every_tunnel_and_virtual_interface_gets_a_bgp_peering_30_of_169_254():
    topology = load(DESIGN)
    assert [[str(c) for c in v.inside_cidrs] for v in topology.hybrid.vpn_connections] == [
        ["169.254.10.0/30", "169.254.10.4/30"],
        ["169.254.10.8/30", "169.254.10.12/30"],
    ]
    assert str(topology.hybrid.dx_connections[0].peering_cidr) == "169.254.10.16/30"
    given = load(
        variant(("    routing: bgp\n", "    routing: bgp\n    tunnel_inside_cidrs: [169.254.10.4/30]\n"))
    )
    assert [str(c) for c in given.hybrid.vpn_connections[0].inside_cidrs] == [
        "169.254.10.4/30",
        "169.254.10.0/30",
    ]


@pytest.mark.parametrize(
    "cidrs, said",
    [
        ("[169.254.0.0/30]", "169.254.0.0/30 is reserved by AWS"),
        ("[169.254.10.0/29]", "169.254.10.0/29 is not a /30 of 169.254.0.0/16"),
        ("[10.0.0.0/30]", "10.0.0.0/30 is not a /30 of 169.254.0.0/16"),
        (
            "[169.254.20.0/30, 169.254.20.0/30]",
            "169.254.20.0/30 is already vpn_connections[0].tunnel_inside_cidrs[0]'s",
        ),
    ],
)
def test_a_tunnels_inside_cidr_is_refused_as_aws_refuses_it(cidrs, said):
    found = problems(variant(("    routing: bgp\n", f"    routing: bgp\n    tunnel_inside_cidrs: {cidrs}\n")))
    assert any(said in line for line in found), found


def test_the_routes_view_marks_what_carries_each_prefix_and_says_why_the_others_do_not():
    def view(text):
        topology = load(text)
        tgw = topology.transit_gateway("core")
        return [
            (r.path(), why)
            for r, why in p.tgw_table_view(topology, tgw, tgw.route_tables[0])
            if str(r.destination) == "172.16.0.0/16"
        ]

    assert view(DESIGN) == [
        ("VPN dc1-vpn tunnel 1", "not used: a Direct Connect route comes first"),
        ("VPN dc1-vpn tunnel 2", "not used: a Direct Connect route comes first"),
        ("Direct Connect dx1", "used"),
    ]
    assert view(variant(DX_DOWN)) == [
        ("VPN dc1-vpn tunnel 1", "used: ECMP by flow hash"),
        ("VPN dc1-vpn tunnel 2", "used: ECMP by flow hash"),
    ]
    assert view(variant(DX_DOWN, ("vpn_ecmp_support: true", "vpn_ecmp_support: false")))[1] == (
        "VPN dc1-vpn tunnel 2",
        "not used: vpn_ecmp_support is off, the first carries it",
    )
