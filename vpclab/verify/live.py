"""Run a verify plan's probes in the live emulation, every source at once, and compare each
with `trace`. A probe that nothing answered is sent again once, with a fresh nonce, from a
fresh client port of its NACL segment, on cards that forgot their connections, waiting long
enough for TCP to resend a SYN."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

from agents.launch import Process, command
from controller.compiler.matches import refuse_uncarried
from nitro_switch.emulation import Emulation
from vpclab.errors import InvalidInput
from vpclab.intent import model as m
from vpclab.intent.changes import ChangeError, Intent
from vpclab.intent.dns import resolve
from vpclab.intent.model import PROTOCOL_NUMBERS
from vpclab.intent.values import PORTED_PROTOCOLS
from vpclab.oracle.trace import client_port_segments, trace

from .plan import Coverage, Probe, plan

PROBE_TIMEOUT = 1.0
# a retry waits long enough for TCP to resend a SYN (Linux: after 1 s) and be answered: under
# a burst of thousands of probes on two cores, a first attempt may miss the second above
RETRY_TIMEOUT = 2.0
SPOOF_SETTLE = 0.3  # seconds for a spoofed packet to arrive before the listeners are read


@dataclass
class Result:
    kind: str
    source: str
    target: str  # an instance, or the address nobody owns
    probe: str
    client_port: Optional[int]
    live: bool  # the intended target answered (named probes: by name and nonce)
    trace: bool  # trace accepts, and its request reaches that target
    reason: Optional[str]
    rule: Optional[str]
    answered_by: Optional[str] = None  # who answered live ('?': an answer that names nobody)
    retried: bool = False
    frames: bool = False  # sent as frames to the router (spoofed, or to the sender's own address)
    segment: Optional[tuple[int, int]] = None  # the destination ports the probed port stands for
    answer_expected: Optional[str] = None  # a dns probe: the resolver's answer as vpclab.intent.dns has it

    @property
    def agrees(self) -> bool:
        """The same verdict; for a dns probe, also the same answer (``answered_by``: live's)."""
        return self.live == self.trace and (self.kind != "dns" or self.answered_by == self.answer_expected)


@dataclass
class Verification:
    results: list[Result]
    coverage: Coverage
    seconds_probing: float = 0.0
    seconds_total: float = 0.0
    changes: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)  # the matrix's rows: instances, internet hosts
    sampled: Optional[str] = None  # what a sample of the pairs covers (None: every pair)
    lost: int = 0  # packets the cards' own sockets dropped while probing: the host's loss, not the design's

    @property
    def agrees(self) -> bool:
        return all(result.agrees for result in self.results)


def expected_answer(topology: m.Topology, probe: Probe) -> Optional[str]:
    """What the source's resolver answers a dns probe, as the probe client writes it (the
    rcode, then the addresses, sorted); None without DNS support (nothing answers)."""
    source = topology.instance(probe.source)
    if not topology.vpc(source.vpc).dns_support:
        return None
    found = resolve(topology, source.vpc, probe.query or "")
    addresses = sorted(value for r in found.records if r.type == "A" for value in r.values)
    return " ".join([found.rcode, *addresses])


def answering_targets(topology: m.Topology, probe: Probe) -> set[str]:
    """The NLB targets that trace lets answer a call through an endpoint (its flow hash may
    pick any of its healthy targets)."""
    source = topology.endpoint(probe.source)
    first = trace(topology, source, probe.address, probe.protocol, probe.port, source_port=probe.client_port)
    return {
        name
        for name in first.choices
        if trace(
            topology,
            source,
            probe.address,
            probe.protocol,
            probe.port,
            source_port=probe.client_port,
            pick=name,
        ).accepted
    }


def trace_choices(topology: m.Topology, probe: Probe) -> tuple[str, ...]:
    source = topology.endpoint(probe.source)
    return trace(
        topology, source, probe.address, probe.protocol, probe.port, source_port=probe.client_port
    ).choices


def expected(topology: m.Topology, probe: Probe):
    """trace's verdict on ``probe``: (answered, reason, rule). A spoofed probe counts as
    'answered' if its request would be heard by the target."""
    source = topology.endpoint(probe.source)
    verdict = trace(
        topology, source, probe.address, probe.protocol, probe.port,
        source_port=probe.client_port, source_ip=probe.spoofed_source, size=probe.size,
    )  # fmt: skip
    if probe.kind == "spoofed":
        return verdict.delivered_to == probe.target, verdict.reason, verdict.rule
    if probe.kind == "endpoint":
        return bool(answering_targets(topology, probe)), verdict.reason, verdict.rule
    if probe.named:
        reaches = verdict.delivered_to == probe.target
    else:  # a ping reply does not say who sent it; a packet to one's own address never returns
        reaches = verdict.delivered_to not in (None, source.name)
    return verdict.accepted and reaches, verdict.reason, verdict.rule


def verify(
    topology: m.Topology,
    log=print,
    seed: int = 0,
    changes: Sequence[dict] = (),
    intent: Optional[Intent] = None,
    only: Optional[Callable[[Probe], bool]] = None,
    sample: Optional[int] = None,
    profile: str = "standard",
) -> Verification:
    """Bring the topology up, apply ``changes`` (runtime changes, through the controller's
    API; ``intent`` is the running design they edit), probe, compare with trace, tear down.
    ``only`` keeps the probes it accepts (the fuzzer's shrinker re-asks one question);
    ``sample`` probes that many pairs (see ``plan``) instead of every pair; ``profile``: the
    cards' ports (see ``Emulation``)."""
    started = time.monotonic()
    refuse_uncarried(topology)  # before the probes are planned (see ``uncarried``)
    if changes:  # refuse a change that does not apply before anything is built
        if intent is None:
            raise InvalidInput("changes need the running intent")
        trial = Intent(intent.source, intent.data)
        for operation, arguments in map(_operation, changes):
            trial.apply(operation, **arguments)
    with Emulation(topology, log=log, profile=profile) as emulation:
        applied = []
        for change in changes:
            assert intent is not None
            operation, arguments = _operation(change)
            topology = intent.apply(operation, **arguments)
            answer = emulation.api.change(operation, **arguments)
            applied.append(f"{operation} {json.dumps(arguments)}: {answer.get('elapsed_ms')} ms")
            log(f"*** applied {applied[-1]}")
        probing = plan(topology, seed, sample)
        if only is not None:
            probing.probes = [p for p in probing.probes if only(p)]
        hosts = emulation.hosts.hosts
        listeners = [start_listener(hosts[name], name, ports) for name, ports in probing.listeners.items()]
        nonces = {p: secrets.token_hex(6) for p in probing.probes if p.kind == "spoofed"}
        try:
            log(f"*** {len(probing.probes)} probes from {len(hosts)} hosts, all at once")
            began = time.monotonic()
            fresh = RetryPorts(topology, probing.probes, probing.listeners)
            answers, retried, sent = _probe(emulation, probing.probes, nonces, fresh)
            time.sleep(SPOOF_SETTLE)
            seconds = time.monotonic() - began
            lost = emulation.socket_drops()
        finally:
            heard = stop_listeners(listeners)
    results = _compare(topology, sent, answers, retried, {p for p, n in nonces.items() if n in heard})
    return Verification(
        results,
        probing.coverage,
        seconds,
        time.monotonic() - started,
        applied,
        [] if probing.sampled else [e.name for e in (*topology.endpoints, *topology.hybrid.hosts)],
        probing.sampled,
        lost,
    )


def _compare(topology, probes: list[Probe], answers, retried: set[int], heard: set[Probe]) -> list[Result]:
    """Each probe's live outcome next to trace's; ``heard``: the spoofed probes that arrived."""
    results = []
    for n, (probe, answer) in enumerate(zip(probes, answers, strict=True)):
        if probe.kind == "spoofed":
            answer = probe.target if probe in heard else None
        if probe.kind == "dns":
            said = expected_answer(topology, probe)
            vpc = topology.vpc(topology.instance(probe.source).vpc)
            results.append(
                Result(
                    "dns",
                    probe.source,
                    str(probe.address),
                    probe.label,
                    None,
                    answer is not None,
                    said is not None,
                    None if said else "no-resolver",
                    vpc.origin,
                    answer,
                    n in retried,
                    answer_expected=said,
                )  # fmt: skip
            )
            continue
        wanted, reason, rule = expected(topology, probe)
        live = (answer == probe.target) if probe.named or probe.kind == "spoofed" else answer is not None
        if probe.kind == "endpoint":  # answered by a target that trace lets answer
            answering = answering_targets(topology, probe)
            live = answer in answering
            mixed = answering and answering != set(trace_choices(topology, probe))
            if mixed and answer is None:  # the flow hash picked a target that refuses
                wanted = False
        results.append(
            Result(
                probe.kind,
                probe.source,
                probe.target or str(probe.address),
                probe.label,
                probe.client_port,
                live,
                wanted,
                reason,
                rule,
                answer,
                n in retried,
                probe.frames,
                probe.segment,
            )  # fmt: skip
        )
    return results


def _operation(change: dict) -> tuple[str, dict]:
    if not isinstance(change, dict) or "operation" not in change:
        raise ChangeError(f"a change is a mapping with an 'operation' key, not {change!r}")
    arguments = {k.replace("-", "_"): v for k, v in change.items() if k != "operation"}
    return change["operation"], arguments


def _spec(probe: Probe) -> str:
    """The probe as the probe agent takes it; an IPv6 address in brackets ([2001:db8::10])."""
    address = f"[{probe.address}]" if probe.address.version == 6 else str(probe.address)
    if probe.kind == "dns":
        return f"dns:{address}:{probe.query}"
    if probe.kind == "ip":
        return f"ip:{probe.protocol}:{address}"
    if probe.port is None:
        return f"icmp:{address}" + (f":{probe.size}" if probe.size is not None else "")
    return f"{m.protocol_label(probe.protocol)}:{address}:{probe.port}:{probe.client_port}"


def _probe(emulation: Emulation, probes: list[Probe], nonces: dict[Probe, str], fresh: RetryPorts):
    """Who answered each probe, which were sent twice (nothing answered the first), and each
    probe as last sent (a retry may take another client port: see RetryPorts).

    Probes marked ``later`` (see Probe.later) run in a second phase, after every card's
    connection state is flushed."""
    answers: list[Optional[str]] = [None] * len(probes)
    sent = list(probes)
    retried: set[int] = set()
    for phase in (False, True):
        members = [n for n, p in enumerate(probes) if p.later == phase]
        if phase and members:
            emulation.flush_conntrack()
        found = _run(emulation.hosts.hosts, [probes[n] for n in members], nonces, PROBE_TIMEOUT)
        failed = [n for n, a in zip(members, found, strict=True) if a is None and probes[n] not in nonces]
        for n in failed:
            sent[n] = fresh.take(probes[n])
        if failed:
            emulation.flush_conntrack()  # nor what the cards kept of the first attempts
        again = _run(emulation.hosts.hosts, [sent[n] for n in failed], nonces, RETRY_TIMEOUT)
        for n, answer in [*zip(members, found, strict=True), *zip(failed, again, strict=True)]:
            answers[n] = answer
        retried.update(failed)
    return answers, retried, sent


class RetryPorts:
    """A TCP or UDP probe is retried from another client port of its NACL segment (one that no
    probe of its source uses, nor its listeners): the same question for trace, yet a new
    connection for both kernels and every card. From the same port, a slow first attempt's
    connection may still be closing there, and conntrack refuses the new SYN (TCP probes
    through a TGW, answered late under verify's burst, failed twice so)."""

    KINDS = ("port", "client-port")

    def __init__(self, topology: m.Topology, probes: list[Probe], listeners: dict):
        self.segments = client_port_segments(topology, m.EPHEMERAL_PORTS)
        self.taken = {(p.source, p.client_port) for p in probes if p.client_port is not None}
        self.taken |= {
            (name, port) for name, ports in listeners.items() for each in ports.values() for port in each
        }

    def take(self, probe: Probe) -> Probe:
        if probe.kind not in self.KINDS or probe.client_port is None:
            return probe
        port = probe.client_port
        low, high = next(((low, high) for low, high in self.segments if low <= port <= high), (port, port))
        for other in (*range(port + 1, high + 1), *range(low, port)):
            if (probe.source, other) not in self.taken:
                self.taken.add((probe.source, other))
                return replace(probe, client_port=other)
        return probe


def _run(hosts, probes: list[Probe], nonces: dict[Probe, str], timeout: float) -> list[Optional[str]]:
    """Who answered each probe: every source's clients start at once, then all are read.
    A spoofed probe (its nonce in ``nonces``) is only sent: its target's listener hears it."""
    batches: dict[tuple[str, str], list[int]] = {}
    for n, probe in enumerate(probes):
        way = "spoofed" if probe.kind == "spoofed" else "frames" if probe.frames else "sockets"
        batches.setdefault((probe.source, way), []).append(n)
    running = []
    for (source, way), indexes in batches.items():
        for group in [[n] for n in indexes] if way == "spoofed" else [indexes]:
            command = _client_command(way, [probes[n] for n in group], nonces, timeout)
            running.append((group, way, _start(hosts[source], command)))
    answers: list[Optional[str]] = [None] * len(probes)
    for indexes, way, process in running:
        output, errors = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"a probe client failed: {errors.strip()}")
        for n, answer in zip(indexes, json.loads(output), strict=True):
            answers[n] = answer if way == "sockets" else ("?" if answer else None)
    return answers


def _client_command(way: str, probes: list[Probe], nonces: dict[Probe, str], seconds: float) -> list[str]:
    """The probe client for ``probes`` of one source: sockets, frames, or one spoofed frame."""
    specs = [_spec(probe) for probe in probes]
    timeout = ["--timeout", str(seconds)]
    if way == "sockets":
        return command(Process.PROBE, "connect", *timeout, *specs)
    if way == "frames":
        return command(Process.RAWPROBE, *timeout, *specs)
    (probe,) = probes
    return command(Process.RAWPROBE, "--spoof", str(probe.spoofed_source), "--nonce", nonces[probe], *specs)


def _start(host, arguments: list[str]):
    return host.popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_listener(host, name: str, ports: dict[int, set[int]]):
    listed = lambda protocol: ",".join(str(p) for p in sorted(ports.get(PROTOCOL_NUMBERS[protocol], ())))
    others = ",".join(str(p) for p in sorted(ports) if p not in PORTED_PROTOCOLS)
    process = host.popen(
        command(Process.PROBE, "listen", "--tcp", listed("tcp"), "--udp",
         listed("udp"), "--ip", others, "--name", name),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    process.stdout.readline()  # "listening"
    return process


def stop_listeners(listeners: list) -> set[str]:
    """Stop the listeners; the nonces of every who-probe they heard."""
    heard: set[str] = set()
    for process in listeners:
        process.kill()
        output, _ = process.communicate()
        heard.update(line.split()[1] for line in output.splitlines() if line.startswith("heard "))
    return heard
