"""A VPN tunnel down: tunnel 1 of a BGP VPN and of a static VPN is cut; the second tunnel
carries on once AWS's side notices (BGP's hold time, dead peer detection), and the VGW moves
back after the repair."""

from experiments.tunnel_failover import TunnelFailover

SCENARIO = TunnelFailover(
    name="vpn-tunnel-down",
    description="tunnel 1 of dc1-vpn (BGP) and dc2-vpn (static) is cut for 10 s; hold time 3 s",
    topology="topologies/vpn-sites.yaml",
    source="app1",
    sites=(("dc1-vpn", "erp1"), ("dc2-vpn", "files1")),
)
