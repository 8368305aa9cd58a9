"""The seed's 2022 incident: 10.0.0.0/8 becomes a TGW blackhole in a hub-and-spoke design."""

from experiments.harness import INTERRUPTED, Probe, Scenario

SCENARIO = Scenario(
    name="tgw-blackhole",
    description="the spokes' 10.0.0.0/8 route to the hub becomes a blackhole, then is restored",
    topology="topologies/tgw-incident.yaml",
    probes=[
        Probe("app1", "svc1", expect=INTERRUPTED, why="spoke to hub: 10.0.0.0/8"),
        Probe("db1", "svc1", expect=INTERRUPTED, why="spoke to hub: 10.0.0.0/8"),
        Probe("app1", "db1", why="a more specific propagated route"),
    ],
    inject=lambda lab: lab.api.change("blackhole", tgw="core", table="spokes", cidr="10.0.0.0/8"),
    restore=lambda lab: lab.api.change("restore-tgw-route", tgw="core", table="spokes", cidr="10.0.0.0/8"),
    fault="10.0.0.0/8 blackholed in spokes",
    repair="route restored",
)
