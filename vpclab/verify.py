"""`vpclab verify`: probe every ordered instance pair with real packets, compare with trace."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Optional

from nitro_switch.emulation import Emulation
from vpclab.intent import model as m
from vpclab.oracle.trace import trace

MAX_PORT_PROBES = 6
FIRST_CLIENT_PORT = 33000
PROBE_TIMEOUT = 1.0


@dataclass
class Probe:
    protocol: int
    port: Optional[int]

    @property
    def label(self) -> str:
        return m.protocol_label(self.protocol) + (f"/{self.port}" if self.port is not None else "")


@dataclass
class Result:
    source: str
    target: str
    probe: str
    client_port: Optional[int]
    live: bool
    trace: bool
    reason: Optional[str]
    rule: Optional[str]

    @property
    def agrees(self) -> bool:
        return self.live == self.trace


def probes_for(topology: m.Topology) -> list[Probe]:
    """ICMP echo, plus TCP/UDP on the ports the SG and NACL rules name (lowest port of a range)."""
    ports: list[tuple[int, int]] = []
    for vpc in topology.vpcs:
        rules: list[m.SGRule | m.NaclRule] = [r for g in vpc.security_groups for r in g.ingress + g.egress]
        rules += [r for n in vpc.nacls for r in n.ingress + n.egress]
        for rule in rules:
            traffic = rule.traffic
            if traffic.protocol in (6, 17) and traffic.ports:
                key = (traffic.protocol, max(1, traffic.ports[0]))
                if key not in ports and key[1] < FIRST_CLIENT_PORT:
                    ports.append(key)
    return [Probe(1, None)] + [Probe(p, port) for p, port in ports[:MAX_PORT_PROBES]]


def verify(topology: m.Topology, log=print) -> list[Result]:
    probes = probes_for(topology)
    results: list[Result] = []
    with Emulation(topology, log=log) as emulation:
        hosts = emulation.hosts.hosts
        listeners = _start_listeners(hosts, probes)
        try:
            log(f"*** probing {len(hosts) * (len(hosts) - 1)} pairs x {len(probes)} probes")
            client_port = FIRST_CLIENT_PORT
            for source in topology.instances:
                plan = []
                for target in topology.instances:
                    if target == source:
                        continue
                    for probe in probes:
                        port = None if probe.port is None else client_port
                        client_port += probe.port is not None
                        plan.append((target, probe, port))
                live = _run_client(hosts[source.name], plan)
                for (target, probe, port), ok in zip(plan, live, strict=True):
                    expected = trace(
                        topology, source, target.ip, probe.protocol, probe.port, source_port=port
                    )
                    results.append(
                        Result(
                            source.name,
                            target.name,
                            probe.label,
                            port,
                            ok,
                            expected.accepted,
                            expected.reason,
                            expected.rule,
                        )
                    )
        finally:
            for process in listeners:
                process.kill()
                process.wait()
    return results


def _start_listeners(hosts, probes: list[Probe]) -> list:
    tcp = ",".join(str(p.port) for p in probes if p.protocol == 6)
    udp = ",".join(str(p.port) for p in probes if p.protocol == 17)
    processes = [
        host.popen(
            [sys.executable, "-m", "nitro_switch.probe", "listen", "--tcp", tcp, "--udp", udp],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for host in hosts.values()
    ]
    for process in processes:
        process.stdout.readline()  # "listening"
    return processes


def _run_client(host, plan) -> list[bool]:
    specs = []
    for target, probe, port in plan:
        if probe.port is None:
            specs.append(f"icmp:{target.ip}")
        else:
            specs.append(f"{m.protocol_label(probe.protocol)}:{target.ip}:{probe.port}:{port}")
    process = host.popen(
        [sys.executable, "-m", "nitro_switch.probe", "connect", "--timeout", str(PROBE_TIMEOUT), *specs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output, errors = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"probe client on {host.name} failed: {errors.strip()}")
    return json.loads(output)


def report(results: list[Result], as_json: bool) -> str:
    mismatches = [r for r in results if not r.agrees]
    if as_json:
        return json.dumps(
            {
                "pairs": len({(r.source, r.target) for r in results}),
                "probes": len(results),
                "mismatches": [asdict(r) for r in mismatches],
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    lines = [
        f"MISMATCH {r.source} -> {r.target} {r.probe}"
        + (f" (client port {r.client_port})" if r.client_port else "")
        + f": live {'accepted' if r.live else 'dropped'}, trace "
        + ("accepted" if r.trace else f"dropped ({r.reason}, {r.rule})")
        for r in mismatches
    ]
    accepted = sum(r.live for r in results)
    lines.append(
        f"{len(results) - len(mismatches)} of {len(results)} probes agree with trace "
        f"({accepted} accepted live, {len(results) - accepted} dropped)"
    )
    return "\n".join(lines)
