from experiments.retry_storm import RetryStorm

BLACKHOLE = dict(tgw="core", table="spokes", cidr="10.0.0.0/8")

SCENARIO = RetryStorm(
    name="retry-storm",
    description="the 2022 blackhole under a caller -> middle -> backend chain, once per retry policy",
    topology="topologies/tgw-incident.yaml",
    caller="app1",
    middle="db1",  # spoke to spoke: unaffected; its backend is in the hub, cut off
    backend="svc1",
    inject=lambda lab: lab.api.change("blackhole", **BLACKHOLE),
    restore=lambda lab: lab.api.change("restore-tgw-route", **BLACKHOLE),
    fault="the spokes' 10.0.0.0/8 route to the hub blackholed",
)
