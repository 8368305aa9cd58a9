"""Every validation error names the file, the line, the path in the document and the fault."""

import pytest
from vpc_fixtures import load, one_vpc, problems

SUBNET = "subnets: [{name: web, cidr: 10.0.1.0/24}]\n"


def only(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_yaml_syntax_error_has_its_line():
    assert only("name: t\nvpcs:\n  - name: [prod\n    cidr: x\n").startswith("test.yaml:4: ")


def test_duplicate_key_is_an_error():
    assert only(one_vpc(SUBNET + "subnets: []\n")) == ("test.yaml:6: vpcs[0].subnets: duplicate key")


def test_unknown_key_names_its_path_and_the_allowed_keys():
    error = only(one_vpc("subnets: [{name: web, cidr: 10.0.1.0/24, colour: red}]"))
    assert error.startswith("test.yaml:5: vpcs[0].subnets[0].colour: unknown key")
    assert "route_table" in error


@pytest.mark.parametrize(
    "written, meant",
    [
        ("availability_zone", "az"),  # AWS's and Terraform's name
        ("AvailabilityZone", "az"),  # CloudFormation's
        ("route_tabel", "route_table"),  # a typo
        ("naacl", "nacl"),
    ],
)
def test_an_unknown_key_suggests_the_closest_known_key(written, meant):
    error = only(one_vpc(f"subnets: [{{name: web, cidr: 10.0.1.0/24, {written}: x}}]"))
    assert f".{written}: unknown key; did you mean '{meant}'? (allowed here: name, cidr, az" in error


def test_an_unknown_key_like_nothing_known_suggests_nothing():
    error = only(one_vpc("subnets: [{name: web, cidr: 10.0.1.0/24, colour: red}]"))
    assert "did you mean" not in error


def test_a_rule_written_as_in_terraform_is_pointed_at_this_format():
    rule = "{protocol: tcp, from_port: 443, cidr: 0.0.0.0/0}"
    error = only(one_vpc(SUBNET + f"security_groups: [{{name: s, ingress: [{rule}]}}]"))
    assert ".from_port: unknown key; did you mean 'ports'?" in error


def test_a_value_of_the_wrong_type_shows_the_accepted_form():
    rule = "{protocol: tcp, ports: [80, 90], cidr: 0.0.0.0/0}"
    error = only(one_vpc(SUBNET + f"security_groups: [{{name: s, ingress: [{rule}]}}]"))
    assert error.endswith(
        """.ports: expected an integer or a string, got [80, 90] (ports: 443 or ports: "1024-65535")"""
    )


def test_wrong_type():
    assert only(one_vpc(SUBNET + "instances: [{name: i1, subnet: 7}]")) == (
        "test.yaml:6: vpcs[0].instances[0].subnet: expected a string, got 7"
    )


def test_missing_required_key():
    assert only("name: t\nvpcs:\n  - name: prod\n") == ("test.yaml:3: vpcs[0]: missing required key 'cidr'")


@pytest.mark.parametrize(
    "body, path, fragment",
    [
        ("subnets: [{name: web, cidr: 10.0.1.0/33}]", "vpcs[0].subnets[0].cidr", "is not an IPv4 CIDR"),
        ("subnets: [{name: web, cidr: 10.0.1.9/24}]", "vpcs[0].subnets[0].cidr", "did you mean 10.0.1.0/24"),
        (
            SUBNET + "instances: [{name: i1, subnet: web, ip: 10.0.1.300}]",
            "vpcs[0].instances[0].ip",
            "is not an IPv4 address",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: tcp, ports: 70000, cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].ports",
            "ports are 0-65535",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: tcp, ports: '80-', cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].ports",
            """'80-' is not a port or a port range (ports: 443 or ports: "1024-65535")""",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: tcp, ports: 90-80, cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].ports",
            "starts after it ends",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: icmp, ports: 80, cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].ports",
            "tcp and udp only",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: gre, cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].protocol",
            "is not a protocol",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: tcp, icmp_type: 8, cidr: 0.0.0.0/0}]}]",
            "vpcs[0].security_groups[0].ingress[0].icmp_type",
            "protocols icmp and icmpv6 only",
        ),
        (
            "nacls: [{name: n, ingress: [{rule: 1, protocol: icmp, icmp_type: 256, cidr: 0.0.0.0/0,"
            " action: allow}]}]",
            "vpcs[0].nacls[0].ingress[0].icmp_type",
            "0-255, or -1 for any",
        ),
        (
            "nacls: [{name: n, egress: [{rule: 1, protocol: icmp, icmp_code: 4, cidr: 0.0.0.0/0,"
            " action: allow}]}]",
            "vpcs[0].nacls[0].egress[0].icmp_code",
            "needs an icmp_type",
        ),
        (
            "nacls: [{name: n, ingress: [{rule: 1, protocol: tcp, cidr: 10.0.0.0/99, action: allow}]}]",
            "vpcs[0].nacls[0].ingress[0].cidr",
            "is not an IPv4 CIDR",
        ),
    ],
)
def test_bad_values(body, path, fragment):
    error = only(one_vpc(body))
    assert f": {path}: " in error and fragment in error


def test_subnet_outside_the_vpc():
    assert only(one_vpc("subnets: [{name: web, cidr: 10.1.0.0/24}]")).endswith(
        "vpcs[0].subnets[0].cidr: 10.1.0.0/24 is not inside the VPC CIDR 10.0.0.0/16"
    )


def test_subnet_overlapping_a_sibling():
    error = only(one_vpc("subnets:\n  - {name: a, cidr: 10.0.0.0/20}\n  - {name: b, cidr: 10.0.1.0/24}"))
    assert "vpcs[0].subnets[1].cidr: 10.0.1.0/24 overlaps subnet 'a'" in error


@pytest.mark.parametrize(
    "ip, fragment",
    [
        ("10.0.2.10", "is outside subnet 'web'"),
        ("10.0.1.0", "is reserved by AWS"),
        ("10.0.1.1", "is reserved by AWS"),
        ("10.0.1.3", "is reserved by AWS"),
        ("10.0.1.255", "is reserved by AWS"),
    ],
)
def test_instance_ip_outside_or_reserved(ip, fragment):
    error = only(one_vpc(SUBNET + f"instances: [{{name: i1, subnet: web, ip: {ip}}}]"))
    assert "vpcs[0].instances[0].ip" in error and fragment in error


def test_duplicate_instance_ip():
    error = only(
        one_vpc(
            SUBNET + "instances:\n  - {name: i1, subnet: web, ip: 10.0.1.9}\n"
            "  - {name: i2, subnet: web, ip: 10.0.1.9}"
        )
    )
    assert "vpcs[0].instances[1].ip: 10.0.1.9 is already used by vpcs[0].instances[0]" in error


def test_automatic_ips_skip_reserved_and_taken_addresses():
    topology = load(
        one_vpc(
            SUBNET + "instances:\n  - {name: i1, subnet: web}\n"
            "  - {name: i2, subnet: web, ip: 10.0.1.5}\n"
            "  - {name: i3, subnet: web}"
        )
    )
    assert [str(i.ip) for i in topology.instances] == ["10.0.1.4", "10.0.1.5", "10.0.1.6"]


@pytest.mark.parametrize(
    "body, path, fragment",
    [
        (
            SUBNET + "instances: [{name: i1, subnet: web, security_groups: [nope]}]",
            "vpcs[0].instances[0].security_groups[0]",
            "no security group named 'nope'",
        ),
        (SUBNET + "instances: [{name: i1, subnet: db}]", "vpcs[0].instances[0].subnet", "no subnet 'db'"),
        (
            "subnets: [{name: web, cidr: 10.0.1.0/24, route_table: rt9}]",
            "vpcs[0].subnets[0].route_table",
            "no route table 'rt9'",
        ),
        ("subnets: [{name: web, cidr: 10.0.1.0/24, nacl: n9}]", "vpcs[0].subnets[0].nacl", "no NACL 'n9'"),
        (
            "route_tables: [{name: rt, routes: [{destination: 10.9.0.0/16, peering: p9}]}]",
            "vpcs[0].route_tables[0].routes[0].peering",
            "no peering named 'p9'",
        ),
        (
            "route_tables: [{name: rt, routes: [{destination: 10.9.0.0/16, transit_gateway: t9}]}]",
            "vpcs[0].route_tables[0].routes[0].transit_gateway",
            "no transit gateway named 't9'",
        ),
        (
            "security_groups: [{name: s, ingress: [{protocol: all, security_group: s9}]}]",
            "vpcs[0].security_groups[0].ingress[0].security_group",
            "no security group named 's9'",
        ),
    ],
)
def test_missing_references(body, path, fragment):
    error = only(one_vpc(body))
    assert f": {path}: " in error and fragment in error


def test_missing_tgw_attachment_references():
    found = problems(
        one_vpc(
            SUBNET,
            """\
        transit_gateways:
          - name: core
            attachments: [{name: a1, vpc: prod, subnets: [web]}]
            route_tables:
              - name: rt
                associations: [a9]
                routes: [{destination: 10.5.0.0/16, attachment: a8}]
        """,
        )
    )
    assert any("transit_gateways[0].route_tables[0].associations[0]: no attachment 'a9'" in p for p in found)
    assert any(
        "transit_gateways[0].route_tables[0].routes[0].attachment: no attachment 'a8'" in p for p in found
    )


def test_more_than_one_main_route_table():
    error = only(one_vpc("route_tables:\n  - {name: a, main: true}\n  - {name: b, main: true}"))
    assert "vpcs[0].route_tables[1].main: VPC 'prod' already has a main route table ('a')" in error


@pytest.mark.parametrize("number", [0, 32767])
def test_nacl_rule_number_out_of_range(number):
    error = only(
        one_vpc(
            f"nacls: [{{name: n, ingress: [{{rule: {number}, protocol: all, "
            "cidr: 0.0.0.0/0, action: allow}]}]"
        )
    )
    assert "vpcs[0].nacls[0].ingress[0].rule" in error and "outside 1-32766" in error


def test_nacl_rule_number_duplicated():
    error = only(
        one_vpc(
            "nacls:\n  - name: n\n    ingress:\n"
            "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
            "      - {rule: 100, protocol: tcp, cidr: 0.0.0.0/0, action: deny}"
        )
    )
    assert "vpcs[0].nacls[0].ingress[1].rule: rule number 100 is already used" in error


TWO_VPCS = """\
name: t
vpcs:
  - {name: a, cidr: 10.0.0.0/16}
  - {name: b, cidr: %s}
peerings:
  - {name: p, requester: a, accepter: %s}
"""


def test_peering_with_itself():
    assert only(TWO_VPCS % ("10.1.0.0/16", "a")).endswith("peerings[0]: a VPC cannot peer with itself ('a')")


def test_peering_between_overlapping_cidrs():
    error = only(TWO_VPCS % ("10.0.0.0/20", "b"))
    assert "peerings[0]: 'a' (10.0.0.0/16) and 'b' (10.0.0.0/20) have overlapping CIDRs" in error


def test_attachment_associated_with_two_route_tables():
    error = only(
        one_vpc(
            SUBNET,
            """\
        transit_gateways:
          - name: core
            attachments: [{name: a1, vpc: prod, subnets: [web]}]
            route_tables:
              - {name: one, associations: [a1]}
              - {name: two, associations: [a1]}
        """,
        )
    )
    assert (
        "transit_gateways[0].route_tables[1].associations[0]: attachment 'a1' is already "
        "associated with transit_gateways[0].route_tables[0]" in error
    )


def test_long_instance_names_are_fine_up_to_a_dns_label():
    fine = load(
        one_vpc(SUBNET + "instances: [{name: payments-api-1, subnet: web}, {name: bastion-01a, subnet: web}]")
    )
    assert [i.name for i in fine.instances] == ["payments-api-1", "bastion-01a"]
    error = only(one_vpc(SUBNET + f"instances: [{{name: {'x' * 64}, subnet: web}}]"))
    assert "vpcs[0].instances[0].name: '" + "x" * 64 + "' is 64 characters" in error


def test_card_ports_use_the_instance_name_only_where_linux_takes_it():
    from vpclab.layout.plan import card_port_name

    assert card_port_name("web1", 3) == "web1"
    assert [card_port_name(n, 7) for n in ("all", "default", "vxlan0", "i2", "payments-api-10")] == [
        "i7"
    ] * 4 + ["payments-api-10"]
    assert card_port_name("payments-api-100", 7) == "i7"  # 16 characters


def test_more_than_five_security_groups():
    groups = "".join(f"  - {{name: g{n}}}\n" for n in range(6))
    error = only(
        one_vpc(
            SUBNET + "security_groups:\n" + groups + "instances: [{name: i1, subnet: web, security_groups: "
            "[g0, g1, g2, g3, g4, g5]}]"
        )
    )
    assert (
        "vpcs[0].instances[0].security_groups: 6 security groups: AWS quota 'Security groups per "
        "network interface' is 5 (raise it under 'quotas:')"
    ) in error


def test_route_more_specific_than_the_local_route():
    error = only(one_vpc("route_tables: [{name: rt, routes: [{destination: 10.0.5.0/24, blackhole: true}]}]"))
    assert "vpcs[0].route_tables[0].routes[0].destination: 10.0.5.0/24 is inside the VPC CIDR" in error


def test_sg_reference_to_an_unpeered_vpc():
    error = only("""\
name: t
vpcs:
  - name: a
    cidr: 10.0.0.0/16
    security_groups: [{name: sa, ingress: [{protocol: all, security_group: sb}]}]
  - name: b
    cidr: 10.1.0.0/16
    security_groups: [{name: sb}]
""")
    assert (
        "vpcs[0].security_groups[0].ingress[0].security_group: security group 'sb' belongs "
        "to VPC 'b', which is not peered with VPC 'a'" in error
    )


def test_all_errors_are_collected_with_their_lines():
    found = problems(
        one_vpc("""\
        subnets:
          - {name: web, cidr: 10.1.0.0/24}
          - {name: app, cidr: 10.0.2.0/24, nacl: missing}
        instances:
          - {name: averyveryverylongname, subnet: nowhere}
        """)
    )
    assert [line.split(": ")[0] for line in found] == ["test.yaml:6", "test.yaml:7", "test.yaml:9"]


def test_defaults_are_filled_in():
    topology = load(one_vpc(SUBNET + "instances: [{name: i1, subnet: web}]"))
    vpc = topology.vpcs[0]
    assert [t.name for t in vpc.route_tables] == ["main"] and vpc.main_route_table.main
    assert vpc.subnets[0].route_table == "main" and vpc.subnets[0].nacl == "default"
    assert [g.name for g in vpc.security_groups] == ["default"]
    assert topology.instances[0].security_groups[0].name == "default"
    assert [s.name for s in topology.servers] == ["srv1", "srv2"]


def test_instances_spread_over_servers_of_their_az():
    topology = load("""\
name: t
servers: [{name: s1, az: a}, {name: s2, az: b}, {name: s3, az: a}]
vpcs:
  - name: prod
    cidr: 10.0.0.0/16
    subnets: [{name: x, cidr: 10.0.1.0/24, az: a}, {name: y, cidr: 10.0.2.0/24, az: b}]
    instances:
      - {name: i1, subnet: x}
      - {name: i2, subnet: x}
      - {name: i3, subnet: y}
      - {name: i4, subnet: x}
""")
    assert [i.server for i in topology.instances] == ["s1", "s3", "s2", "s1"]


def test_designs_beyond_what_the_vni_can_name_are_refused(monkeypatch):
    from pathlib import Path

    from vpclab.intent import model

    text = (Path(__file__).resolve().parents[2] / "topologies" / "tgw-blackhole.yaml").read_text()
    monkeypatch.setattr(model, "MAX_VPCS", 2)
    monkeypatch.setattr(model, "MAX_ATTACHMENT_SUBNETS", 2)
    found = problems(text)
    assert any("vpcs[2]: at most 2 VPCs" in line for line in found), found
    assert any("attachments[2].subnets: at most 2 subnets may serve" in line for line in found), found


def test_every_contract_key_is_known_and_a_typo_is_still_a_typo():
    text = one_vpc(
        """
        enable_dns_support: true
        instances:
          - {name: fw1, subnet: s, source_dest_check: false, ipv6_address_count: 1}
        subnets: [{name: s, cidr: 10.0.1.0/24}]
        """,
        "vpc_endpoints: []\nendpoint_services: []\ninstance: []\n",
    )
    found = problems(text)
    assert not any("enable_dns_support" in line or ": vpc_endpoints" in line for line in found), found
    assert not any(": endpoint_services" in line for line in found), found
    assert any("instances[0].ipv6_address_count: unknown key" in line for line in found), found
    assert any(line.endswith(": instance: unknown key (allowed here: " + TOP_LEVEL) for line in found), found


TOP_LEVEL = (
    "name, description, servers, internet, dns_domain, private_hosted_zones, accounts, regions, quotas, "
    "vpcs, peerings, transit_gateways, transit_gateway_peerings, prefix_lists, endpoint_services, "
    "network_load_balancers, on_premises, vpn_gateways, vpn_connections, direct_connect_gateways, "
    "direct_connect_connections, vpc_endpoints, numbering, flow_logs)"
)
