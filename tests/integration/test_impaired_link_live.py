"""An impaired underlay link (no netem here): nftables drops the share it is told to, each
way, a token bucket caps the rate, and `recover link` makes it whole; nothing is left after."""

import math
import random
import subprocess

from live_helpers import live, topology

from experiments.harness import Probe, probe_samples, start_listeners, start_probers
from experiments.iperf import tcp_mbps
from nitro_switch.emulation import Emulation
from nitro_switch.faults import Impairment, impair_link

pytestmark = live
quiet = lambda line: None


def one_way_loss(lab, probe: Probe) -> float:
    """The link's loss each way, from 400 UDP round trips that cross it twice."""
    (prober,) = start_probers(lab, [probe], 4.0, random.Random(1), rate=100.0)
    samples = probe_samples(prober)
    round_trip = sum(1 for _, _, rtt in samples if rtt is None) / len(samples)
    return 1 - math.sqrt(1 - round_trip)


def test_a_lossy_link_drops_its_share_a_slow_one_caps_the_rate_and_recover_undoes_both():
    with Emulation(topology("lossy-link.yaml"), log=quiet) as lab:
        table = lab.names.impairment_table
        probe = Probe("sender", "receiver", "udp", port=7)
        listeners = start_listeners(lab, [probe])
        try:
            impair_link(lab, "srv2", Impairment.parse("20%"))
            assert 0.15 <= one_way_loss(lab, probe) <= 0.25
            impair_link(lab, "srv2", None)
            assert one_way_loss(lab, probe) == 0.0
            hosts, address = lab.hosts.hosts, str(lab.topology.instance("receiver").ip)
            impair_link(lab, "srv2", Impairment.parse(rate="10mbit"))
            mbps = tcp_mbps(hosts["sender"], hosts["receiver"], address, 3)
            assert 7.0 <= mbps <= 10.5, mbps
            assert (
                table
                not in subprocess.run(
                    ["nft", "list", "tables", "bridge"], capture_output=True, text=True
                ).stdout
            )
        finally:
            for process in listeners:
                process.kill()
                process.wait()
        impair_link(lab, "srv1", Impairment.parse("1%"))  # left for the tear-down to remove
    assert (
        table
        not in subprocess.run(["nft", "list", "tables", "bridge"], capture_output=True, text=True).stdout
    )
