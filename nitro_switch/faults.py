"""Faults below the control plane: a Nitro card crash, an underlay link down or impaired."""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from typing import Optional

from .commands import run
from .server import UPLINK


def card_is_up(emulation, server: str) -> bool:
    """Is the server's ovs-vswitchd (its Nitro card) running?"""
    pid = emulation.servers_by_name[server].daemon_pid("ovs-vswitchd")
    return pid is not None and _alive(pid)


def _is_up(device: str) -> bool:
    """Is the root-namespace ``device`` administratively up?"""
    flags = re.search(r"<([^>]*)>", run("ip", "-o", "link", "show", "dev", device))
    return flags is not None and "UP" in flags.group(1).split(",")


def link_is_up(emulation, server: str) -> bool:
    """Is the server's underlay link administratively up?"""
    return _is_up(emulation.names.underlay_port(emulation.plan.server_index[server]))


def crash_card(emulation, server: str) -> None:
    """The card's ovs-vswitchd dies (SIGKILL): its bridges stop forwarding at once."""
    pid = emulation.servers_by_name[server].daemon_pid("ovs-vswitchd")
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Running (a killed daemon stays a zombie until init reaps it: that counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def recover_card(emulation, server: str) -> None:
    """Restart the card's ovs-vswitchd: it rebuilds its bridges from its database and
    reconnects; Hyperplane reconciles its flows; tunnel neighbours are seeded again."""
    card = emulation.servers_by_name[server]
    card.start_vswitchd()
    card.widen_receive_buffers()
    card.seed_neighbours(emulation.servers)


def _region_end(emulation, region: str) -> str:
    """The Region's end of its link to the backbone (KeyError: the underlay has none for it)."""
    return emulation.names.region_link(emulation.region_index(region))[0]


def region_link_is_up(emulation, region: str) -> bool:
    """Is the Region's link to the backbone administratively up?"""
    return _is_up(_region_end(emulation, region))


def region_link_down(emulation, region: str) -> None:
    """The Region's link to the other Regions goes down: traffic within it goes on."""
    run("ip", "link", "set", _region_end(emulation, region), "down")


def region_link_up(emulation, region: str) -> None:
    run("ip", "link", "set", _region_end(emulation, region), "up")


def link_down(emulation, server: str) -> None:
    """The server's underlay link goes down (its root-namespace end of the uplink)."""
    run("ip", "link", "set", emulation.names.underlay_port(emulation.plan.server_index[server]), "down")


def link_up(emulation, server: str) -> None:
    run("ip", "link", "set", emulation.names.underlay_port(emulation.plan.server_index[server]), "up")


# -- an impaired link: loss and a rate cap, without netem --------------------------------------
LOSS_SCALE = 10_000  # numgen draws 0..9999: a loss is kept to 0.01 %
RATE = re.compile(r"^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$")
RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
JUMBO_FRAME = 9014  # the underlay's largest frame: a token bucket must hold a few of them
SHAPER_LATENCY = "50ms"  # how long a packet may wait in the token bucket before it is dropped


@dataclass(frozen=True)
class Impairment:
    """What an impaired underlay link does to every packet, each way: drop a fraction of
    them at random (nftables ``numgen`` on the underlay bridge), and carry at most ``rate``
    (a token bucket filter at each end). The kernel here has no netem: no delay, no jitter."""

    loss: float = 0.0  # 0..1
    rate: Optional[str] = None  # a tc rate: 10mbit, 500kbit, 1gbit

    def __post_init__(self):
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"a loss is a percentage from 0 to 100, not {self.loss * 100:g} %")
        if self.rate is not None and not RATE.match(self.rate):
            raise ValueError(f"rate {self.rate!r}: write it as tc does, e.g. 10mbit, 500kbit, 1gbit")

    @classmethod
    def parse(cls, loss: Optional[str] = None, rate: Optional[str] = None) -> Impairment:
        """From the shell's words: ``--loss 5%`` (or 5, or 0.5%), ``--rate 10mbit``."""
        fraction = 0.0
        if loss is not None:
            try:
                fraction = float(loss.rstrip("%")) / 100
            except ValueError:
                raise ValueError(f"loss {loss!r}: write it as a percentage, e.g. 5%") from None
        return cls(fraction, rate.lower() if rate else None)

    def describe(self) -> str:
        said = [f"drops {self.loss * 100:g} % of the packets"] if self.loss else []
        said += [f"carries at most {self.rate}"] if self.rate else []
        return " and ".join(said) + " each way"

    @property
    def rate_bits(self) -> float:
        assert self.rate is not None
        number, unit = RATE.match(self.rate).groups()  # type: ignore[union-attr]
        return float(number) * RATE_UNITS[unit]


def loss_rules(table: str, losses: dict[str, float]) -> str:
    """The nft script that makes the underlay bridge drop each port's share, each way (an
    empty dict: no table at all)."""
    lines = [f"add table bridge {table}", f"delete table bridge {table}"]
    if not losses:
        return "\n".join(lines) + "\n"
    lines += [
        f"add table bridge {table}",
        f"add chain bridge {table} underlay {{ type filter hook forward priority 0 ; }}",
    ]
    for port, loss in sorted(losses.items()):
        threshold = round(loss * LOSS_SCALE)
        for direction in ("iifname", "oifname"):
            lines.append(
                f'add rule bridge {table} underlay {direction} "{port}" '
                f"numgen random mod {LOSS_SCALE} < {threshold} counter drop"
            )
    return "\n".join(lines) + "\n"


def impair_link(emulation, server: str, impairment: Optional[Impairment]) -> None:
    """Impair the server's underlay link (None: make it whole again)."""
    if impairment is None:
        emulation.impairments.pop(server, None)
    else:
        emulation.impairments[server] = impairment
    plan, names = emulation.plan, emulation.names
    losses = {
        names.underlay_port(plan.server_index[name]): each.loss
        for name, each in emulation.impairments.items()
        if each.loss
    }
    run("nft", "-f", "-", stdin=loss_rules(names.impairment_table, losses))
    card = emulation.servers_by_name[server]
    ends = [(names.underlay_port(plan.server_index[server]), None), (UPLINK, card.netns)]
    for device, netns in ends:  # into the server, out of it
        if impairment is not None and impairment.rate:
            burst = max(4 * JUMBO_FRAME, int(impairment.rate_bits / 8 / 50))  # 20 ms of traffic
            shaper = ["tbf", "rate", impairment.rate, "burst", str(burst), "latency", SHAPER_LATENCY]
            run("tc", "qdisc", "replace", "dev", device, "root", *shaper, netns=netns)
        else:
            run("tc", "qdisc", "del", "dev", device, "root", netns=netns, check=False)


def link_impairment(emulation, server: str) -> Optional[Impairment]:
    return emulation.impairments.get(server)
