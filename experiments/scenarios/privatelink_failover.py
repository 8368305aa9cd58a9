"""PrivateLink: the shop calls https://api.payments.example through its endpoint while pay2's
service dies for 5 s; the NLB's health checks take pay2 out of service and put it back."""

from experiments.privatelink_failover import PrivateLinkFailover

SCENARIO = PrivateLinkFailover(
    name="privatelink-failover",
    description="app1 calls api.payments.example through pay-ep; pay2's service dies, then restarts",
    topology="topologies/payments.yaml",
    consumer="app1",
    url="https://api.payments.example/",
    load_balancer="pay-nlb",
    victim="pay2",
)
