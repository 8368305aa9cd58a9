"""Redundant paths: the TGW blackhole on a failover route (TGW primary, peering backup), with
the backup and without it."""

from experiments.path_failover import PathFailover

SCENARIO = PathFailover(
    name="path-failover",
    description="app's 10.0.0.0/16 becomes a TGW blackhole, with and without the peering as a backup path",
    topology="topologies/path-failover.yaml",
    source="app1",
    target="svc1",
    inject=lambda lab: lab.api.change("blackhole", tgw="core", table="core-rt", cidr="10.0.0.0/16"),
    restore=lambda lab: lab.api.change("restore-tgw-route", tgw="core", table="core-rt", cidr="10.0.0.0/16"),
    fault="10.0.0.0/16 blackholed in the TGW",
)
