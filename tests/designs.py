"""Designs shared by the unit and the live tests."""

HUB_WITH_TWIN_SPOKES = """
    name: hubreply
    vpcs:
      - name: v0
        cidr: 10.19.0.0/16
        subnets: [{name: s, cidr: 10.19.4.0/24}]
        route_tables: [{name: rt, main: true, routes: [{destination: 10.1.0.0/16, peering: p0}]}]
        security_groups: [{name: g0, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances: [{name: a0, subnet: s, ip: 10.19.4.4, security_groups: [g0]}]
      - name: v1
        cidr: 10.1.0.0/16
        subnets: [{name: s, cidr: 10.1.1.0/24}]
        route_tables: [{name: rt, main: true, routes: [{destination: 10.19.0.0/16, peering: p0}]}]
        security_groups: [{name: g1, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances: [{name: hub1, subnet: s, security_groups: [g1]}]
      - name: v2
        cidr: 10.19.0.0/16
        subnets: [{name: s, cidr: 10.19.4.0/24}]
        route_tables: [{name: rt, main: true, routes: [{destination: 10.1.0.0/16, peering: p2}]}]
        security_groups: [{name: g2, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}]
        instances: [{name: c2, subnet: s, ip: 10.19.4.4, security_groups: [g2]}]
    peerings:
      - {name: p0, requester: v0, accepter: v1}
      - {name: p2, requester: v2, accepter: v1}
"""

# AWS's middlebox routing (2021): web <-> db, two subnets of one VPC, through the appliance fw1
MIDDLEBOX = """
    name: mbox
    servers: 2
    vpcs:
      - name: v
        cidr: 10.9.0.0/16
        subnets:
          - {name: web, cidr: 10.9.1.0/24, route_table: web-rt}
          - {name: db, cidr: 10.9.2.0/24, route_table: db-rt}
          - {name: fw, cidr: 10.9.3.0/24}
        route_tables:
          - name: web-rt
            routes: [{destination: 10.9.2.0/24, instance: fw1}]
          - name: db-rt
            routes: [{destination: 10.9.1.0/24, instance: fw1}]
        security_groups:
          - {name: open, ingress: [{protocol: all, cidr: 10.9.0.0/16}]}
          - {name: fw-sg, ingress: [{protocol: tcp, ports: 5432, cidr: 10.9.0.0/16}]}
        instances:
          - {name: web1, subnet: web, security_groups: [open]}
          - {name: web2, subnet: web, security_groups: [open]}
          - {name: db1, subnet: db, security_groups: [open]}
          - {name: fw1, subnet: fw, source_dest_check: false, security_groups: [fw-sg]}
"""


def middlebox_by_group(db_admits: str) -> str:
    """MIDDLEBOX with db1's SG admitting tcp/5432 only from SG ``db_admits``: web1 carries
    web-sg, fw1 fw-sg; web -> db goes through fw1 both ways (AWS: what fw1 forwards comes from
    fw1's interface, so only a rule naming fw-sg admits it)."""
    text = MIDDLEBOX.replace(
        "          - {name: open, ingress: [{protocol: all, cidr: 10.9.0.0/16}]}",
        "          - {name: open, ingress: [{protocol: all, cidr: 10.9.0.0/16}]}\n"
        "          - {name: web-sg, ingress: [{protocol: all, cidr: 10.9.0.0/16}]}\n"
        "          - name: db-sg\n"
        f"            ingress: [{{protocol: tcp, ports: 5432, security_group: {db_admits}}}]",
    )
    for name in ("web1", "db1"):
        group = "web-sg" if name == "web1" else "db-sg"
        old_line = f"{{name: {name}, subnet: {name[:-1]}, security_groups: [open]}}"
        assert old_line in text, old_line
        text = text.replace(old_line, f"{{name: {name}, subnet: {name[:-1]}, security_groups: [{group}]}}")
    return text


# an appliance (fw: no source/dest check) and web share the default SG, which admits itself:
# what fw sends from an address not its own still comes from a member (issue 33's minimal design)
SPOOFING = """
    name: spoof
    servers: {servers}
    vpcs:
      - name: v
        cidr: 10.29.0.0/16
        internet_gateway: igw
        subnets: [{{name: pub, cidr: 10.29.1.0/24, route_table: pub}}]
        route_tables: [{{name: pub, routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]}}]
        instances:
          - {{name: fw, subnet: pub, source_dest_check: false, public_ip: true, server: srv1}}
          - {{name: web, subnet: pub, server: srv{web_server}}}
    """

# GRE allowed by an SG on w; replies to client ports 40000-50000 denied by w's subnet NACL.
GRE_AND_PORT_RANGES = """
    name: gre
    servers: 2
    vpcs:
      - name: v
        cidr: 10.8.0.0/16
        subnets: [{name: a, cidr: 10.8.1.0/24}, {name: b, cidr: 10.8.2.0/24, nacl: edge}]
        security_groups:
          - name: web
            ingress:
              - {protocol: tcp, ports: 1000-2000, cidr: 10.8.0.0/16}
              - {protocol: 47, cidr: 10.8.0.0/16}
        nacls:
          - name: edge
            ingress: [{rule: 10, protocol: all, cidr: 0.0.0.0/0, action: allow}]
            egress:
              - {rule: 10, protocol: tcp, ports: 40000-50000, cidr: 0.0.0.0/0, action: deny}
              - {rule: 20, protocol: all, cidr: 0.0.0.0/0, action: allow}
        instances:
          - {name: c, subnet: a}
          - {name: w, subnet: b, security_groups: [web]}
    """


def tgw_hub(vpcs: int, per_vpc: int, servers: int) -> dict:
    """A plain hub and spoke: ``vpcs`` VPCs of ``per_vpc`` instances behind one TGW, every VPC
    routing 10.0.0.0/8 to it, every SG admitting tcp/443 from 10.0.0.0/8 (issue 33's design:
    at 4 x 8 verify reported 766 false mismatches, the TCP probes through the TGW)."""
    return {
        "name": f"hub{vpcs}x{per_vpc}",
        "servers": servers,
        "vpcs": [
            {
                "name": f"v{v}",
                "cidr": f"10.{v + 1}.0.0/16",
                "subnets": [{"name": "s", "cidr": f"10.{v + 1}.1.0/24"}],
                "route_tables": [
                    {
                        "name": "rt",
                        "main": True,
                        "routes": [{"destination": "10.0.0.0/8", "transit_gateway": "tgw"}],
                    }
                ],
                "security_groups": [
                    {"name": f"sg{v}", "ingress": [{"protocol": "tcp", "ports": 443, "cidr": "10.0.0.0/8"}]}
                ],
                "instances": [
                    {"name": f"i{v}-{n}", "subnet": "s", "security_groups": [f"sg{v}"]}
                    for n in range(per_vpc)
                ],
            }
            for v in range(vpcs)
        ],
        "transit_gateways": [
            {
                "name": "tgw",
                "attachments": [{"name": f"a{v}", "vpc": f"v{v}", "subnets": ["s"]} for v in range(vpcs)],
                "route_tables": [
                    {
                        "name": "rt",
                        "associations": [f"a{v}" for v in range(vpcs)],
                        "propagations": [f"a{v}" for v in range(vpcs)],
                    }
                ],
            }
        ],
    }
