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
