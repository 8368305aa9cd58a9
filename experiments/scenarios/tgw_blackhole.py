"""The seed's 2022 incident: 10.0.0.0/8 becomes a TGW blackhole in a hub-and-spoke design."""

from experiments.harness import Probe, Scenario

SCENARIO = Scenario(
    name="tgw-blackhole",
    description="the spokes' 10.0.0.0/8 route to the hub becomes a blackhole, then is restored",
    topology="topologies/tgw-incident.yaml",
    probes=[Probe("app1", "svc1"), Probe("db1", "svc1"), Probe("app1", "db1")],
    inject=lambda lab: lab.api.change("blackhole", tgw="core", table="spokes", cidr="10.0.0.0/8"),
    restore=lambda lab: lab.api.change("restore-tgw-route", tgw="core", table="spokes", cidr="10.0.0.0/8"),
    expect={
        "app1->svc1 icmp": "lost from injection to restore",
        "db1->svc1 icmp": "lost from injection to restore",
        "app1->db1 icmp": "unaffected (a more specific propagated route)",
    },
)
