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
