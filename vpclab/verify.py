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
PORTED = (6, 17)
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
    live: bool  # the intended target answered (TCP/UDP: by name and nonce)
    trace: bool  # trace accepts, and its request reaches that target
    reason: Optional[str]
    rule: Optional[str]
    answered_by: Optional[str] = None  # who answered live ('?': a ping reply, unnamed)
    retried: bool = False
    raw: bool = False  # sent as frames to the router (the target has the sender's address)

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
                results += _probe_from(topology, hosts[source.name], source, plan)
        finally:
            for process in listeners:
                process.kill()
                process.wait()
    return results


def _probe_from(topology: m.Topology, host, source: m.Instance, plan: list) -> list[Result]:
    """Run one source's probes (a failed one once more, with a fresh nonce) and compare."""
    answers = _answers(host, source, plan)
    failed = [n for n, answer in enumerate(answers) if answer is None]
    for n, answer in zip(failed, _answers(host, source, [plan[n] for n in failed]), strict=True):
        answers[n] = answer
    results = []
    for n, ((target, probe, port), answer) in enumerate(zip(plan, answers, strict=True)):
        expected = trace(topology, source, target.ip, probe.protocol, probe.port, source_port=port)
        named = probe.protocol in PORTED and target.ip != source.ip
        # a ping reply does not say who sent it; a packet to one's own address never comes back
        reaches = (
            expected.delivered_to == target.name
            if named
            else expected.delivered_to not in (None, source.name)
        )
        live = answer == target.name if named else answer is not None
        results.append(
            Result(
                source.name,
                target.name,
                probe.label,
                port,
                live,
                expected.accepted and reaches,
                expected.reason,
                expected.rule,
                answer,
                n in failed,
                target.ip == source.ip,
            )
        )
    return results


def _answers(host, source: m.Instance, plan: list) -> list[Optional[str]]:
    """Who answered each probe of ``plan`` from ``host``: socket probes, or raw frames where
    the target has the sender's own address (a socket would be answered by its own kernel)."""
    specs = [
        f"icmp:{target.ip}"
        if probe.port is None
        else f"{m.protocol_label(probe.protocol)}:{target.ip}:{probe.port}:{port}"
        for target, probe, port in plan
    ]
    raw = [target.ip == source.ip for target, _, _ in plan]
    answers: list[Optional[str]] = [None] * len(plan)
    sockets = [n for n in range(len(plan)) if not raw[n]]
    frames = [n for n in range(len(plan)) if raw[n]]
    if sockets:
        found = _client(host, "nitro_switch.probe", ["connect"], [specs[n] for n in sockets])
        for n, answer in zip(sockets, found, strict=True):
            answers[n] = answer
    if frames:
        found = _client(host, "nitro_switch.rawprobe", [], [specs[n] for n in frames])
        for n, answered in zip(frames, found, strict=True):
            answers[n] = "?" if answered else None
    return answers


def _client(host, module: str, command: list[str], specs: list[str]) -> list:
    process = host.popen(
        [sys.executable, "-m", module, *command, "--timeout", str(PROBE_TIMEOUT), *specs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output, errors = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"probe client on {host.name} failed: {errors.strip()}")
    return json.loads(output)


def _start_listeners(hosts, probes: list[Probe]) -> list:
    tcp = ",".join(str(p.port) for p in probes if p.protocol == 6)
    udp = ",".join(str(p.port) for p in probes if p.protocol == 17)
    processes = [
        host.popen(
            [
                sys.executable,
                "-m",
                "nitro_switch.probe",
                "listen",
                "--tcp",
                tcp,
                "--udp",
                udp,
                "--name",
                name,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, host in hosts.items()
    ]
    for process in processes:
        process.stdout.readline()  # "listening"
    return processes


def report(results: list[Result], as_json: bool) -> str:
    mismatches = [r for r in results if not r.agrees]
    summary = {
        "pairs": len({(r.source, r.target) for r in results}),
        "probes": len(results),
        "retried": sum(r.retried for r in results),
        "answered_on_retry": sum(r.retried and r.answered_by is not None for r in results),
        "raw": sum(r.raw for r in results),
    }
    if as_json:
        return json.dumps(
            {
                **summary,
                "mismatches": [asdict(r) for r in mismatches],
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    lines = [
        f"MISMATCH {r.source} -> {r.target} {r.probe}"
        + (f" (client port {r.client_port})" if r.client_port else "")
        + f": live {'accepted' if r.live else 'dropped'}"
        + (f" (answered by {r.answered_by})" if r.answered_by not in (None, "?", r.target) else "")
        + ", trace "
        + ("accepted" if r.trace else f"dropped ({r.reason}, {r.rule})")
        for r in mismatches
    ]
    accepted = sum(r.live for r in results)
    lines.append(
        f"{len(results) - len(mismatches)} of {len(results)} probes agree with trace "
        f"({accepted} accepted live, {len(results) - accepted} dropped; "
        f"{summary['pairs']} pairs; {summary['retried']} unanswered probes tried again, "
        f"{summary['answered_on_retry']} answered only then; "
        f"{summary['raw']} sent as raw frames to a sender's own address)"
    )
    return "\n".join(lines)
