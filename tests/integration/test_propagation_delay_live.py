"""A slow control plane: with --propagation-delay, a runtime change is accepted (and traced)
at once, and reaches the cards that many seconds later, in order."""

import time

from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live
quiet = lambda line: None
DELAY = 2.0


def test_a_change_reaches_the_cards_only_after_the_propagation_delay():
    with Emulation(topology("tgw-incident.yaml"), log=quiet, propagation_delay=DELAY) as lab:
        app1 = lab.hosts.hosts["app1"]
        assert "1 received" in app1.cmd("ping -c 1 -W 2 10.0.1.4")
        accepted = time.time()
        answer = lab.api.change("blackhole", tgw="core", table="spokes", cidr="10.0.0.0/8")
        assert answer["scheduled_in_s"] == DELAY and time.time() - accepted < 1.0
        assert "1 received" in app1.cmd("ping -c 1 -W 1 10.0.1.4")  # not yet on the cards
        time.sleep(max(0.0, accepted + 1.0 - time.time()))
        lab.api.change("restore-tgw-route", tgw="core", table="spokes", cidr="10.0.0.0/8")  # due at 3 s
        time.sleep(max(0.0, accepted + DELAY + 0.3 - time.time()))
        assert "0 received" in app1.cmd("ping -c 1 -W 0.5 10.0.1.4")  # the blackhole arrived
        time.sleep(max(0.0, accepted + 1.0 + DELAY + 0.5 - time.time()))
        assert "1 received" in app1.cmd("ping -c 1 -W 2 10.0.1.4")  # then the restore
        blackhole, restore = lab.api.call("changes")["changes"]
        assert abs(blackhole["propagated_at"] - blackhole["time"] - DELAY) < 0.5
        assert restore["propagated_at"] >= blackhole["propagated_at"]
