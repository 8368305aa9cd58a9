"""The one place a process's module is named: every agent (a process vpclab starts inside a
namespace: the cards' services, the flow log collector, the probes, the experiments' services)
and Hyperplane. A caller asks for ``command(Process.PROBE, "listen", ...)``; no other module
spells a module path, so a rename is caught here, by the unit test that imports each one."""

from __future__ import annotations

import sys
from enum import StrEnum


class Process(StrEnum):
    HYPERPLANE = "controller.hyperplane.app"  # the controller (root namespace, not an agent)
    CARD_SERVICES = "agents.card_services"  # each card's metadata service and resolver, one process
    FLOWLOG_COLLECTOR = "agents.flowlog_collector"  # each server's IPFIX collector, writing flow logs
    PROBE = "agents.probe"  # verify's listener and socket prober
    RAWPROBE = "agents.rawprobe"  # verify's frame prober (spoofed sources, any protocol)
    PROBER = "agents.prober"  # the experiments' steady probes (timelines)
    SERVICE = "agents.service"  # the retry storm's HTTP service and its clients
    TLS_ECHO = "agents.tls_echo"  # PrivateLink's TLS echo service and client
    OPEN_PROXY = "agents.open_proxy"  # the breach's misconfigured web proxy
    SSRF_ATTACK = "agents.ssrf_attack"  # the breach's attacker


CARD_SERVICES_READY = "card-services.ready"  # in the run's directory once every card's sockets listen


def command(process: Process, *arguments: str) -> list[str]:
    """The argv that starts ``process`` with this Python (the venv's), e.g. in a host's popen."""
    return [sys.executable, "-m", process.value, *arguments]
