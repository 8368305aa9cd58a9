"""Direct Connect down: dc1's link is cut while app1 pings erp1; dc1's traffic moves to its VPN
(the site at once, AWS within BGP's hold time) and back to Direct Connect after the repair."""

from experiments.dx_failover import DxFailover

SCENARIO = DxFailover(
    name="dx-failover",
    description="dc1's Direct Connect link dx1 is cut for 10 s while app1 pings erp1; hold time 3 s",
    topology="topologies/hybrid.yaml",
    source="app1",
    target="erp1",
    link="dx1",
    vpn="dc1-vpn",
)
