"""Attack experiments: an internet host tries to steal IAM credentials from the instance
metadata service through a web server that is an open proxy (the 2019 breach), once per
variant of the design, in one emulation and one report.

Each variant (an ``Attack``) names its target, where the vulnerable proxy runs (on the
instance, or in a container one routed hop behind it), and the runtime changes that make the
variant (undone after it). The outcome is measured (the attacker's steps, the proxy's and the
metadata service's logs, with times); when the credentials did not leak, ``stopped_by`` says
which layer stopped them from the evidence, with the YAML object: the network (the oracle's
trace of the attacker's connection names the deciding rule) or the metadata service (its log
shows the token answered with IP TTL = the hop limit, and the proxy never got it).

Writes ``report.json`` and ``attack.png`` (a sequence diagram per variant).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from typing import Optional

from agents.launch import Process, command
from agents.open_proxy import UPSTREAM_TIMEOUT
from nitro_switch.emulation import Emulation
from vpclab.errors import InvalidInput
from vpclab.intent import model as m
from vpclab.intent.loader import load_topology
from vpclab.intent.origins import origin_name
from vpclab.oracle.trace import trace

from .breach_plot import plot_attacks
from .flowlogs import collect, flow_logs_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_PORT = 80
LEAKED, BLOCKED = "leaked", "blocked"
HOP_LIMIT = "metadata hop limit"  # the layer that drops the token on its way back


@dataclass
class Attack:
    label: str  # "IMDSv1, proxy on the instance"
    target: str  # the instance with the vulnerable proxy (and a public IP)
    expect: str  # LEAKED or BLOCKED
    layer: Optional[str] = None  # BLOCKED: the layer expected to stop it (a trace stage, HOP_LIMIT)
    behind: str = "instance"  # or "container": the proxy runs one routed hop behind the instance
    changes: list[tuple[str, dict]] = field(default_factory=list)  # made before the attack
    undo: list[tuple[str, dict]] = field(default_factory=list)  # made after it
    why: str = ""


@dataclass
class BreachScenario:
    name: str
    description: str
    topology: str  # path relative to the repository
    attacker: str  # an internet host
    attacks: list[Attack]
    customer: Optional[str] = None  # an internet host whose visit to the site must keep working

    def execute(self, topology_path=None, seed: int = 0, out_dir=None, log=print, alarm=None) -> dict:
        if alarm is not None:
            raise InvalidInput("an attack experiment has no probes for an alarm to mark")
        return run(self, topology_path, seed, out_dir, log)

    @staticmethod
    def summary(report: dict) -> list[str]:
        lines = []
        for attack in report["attacks"]:
            if attack["leaked"]:
                outcome = f"LEAKED {attack['leaked']} in {attack['took_ms']:.0f} ms"
            else:
                stop = attack["stopped_by"] or {}
                outcome = f"blocked by {stop.get('layer')}: {stop.get('object')}"
            verdict = "as expected" if attack["as_expected"] else f"NOT AS EXPECTED: {attack['check']}"
            lines.append(f"{attack['label']:44s} {outcome}; {verdict}")
        return lines


def run(scenario: BreachScenario, topology_path=None, seed: int = 0, out_dir=None, log=print) -> dict:
    """Run every attack of ``scenario`` (in a seeded order) in one emulation; the report lists
    them in the scenario's order."""
    topology = load_topology(topology_path or os.path.join(ROOT, scenario.topology))
    out_dir = out_dir or os.path.join("results", f"{scenario.name}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    order = random.Random(seed).sample(range(len(scenario.attacks)), len(scenario.attacks))
    results: dict[int, dict] = {}
    with Emulation(topology, log=log, flow_logs_dir=flow_logs_dir(out_dir)) as lab:
        where = {attack.target: attack.behind for attack in scenario.attacks}  # one proxy each
        proxies = {target: _start_proxy(lab, target, behind, out_dir) for target, behind in where.items()}
        try:
            for index in order:
                attack = scenario.attacks[index]
                log(f"*** attack: {attack.label} ({attack.target})")
                results[index] = _attack(lab, scenario, attack, proxies[attack.target][1])
        finally:
            for process, _ in proxies.values():
                process.kill()
                process.wait()
    report: dict = {
        "scenario": scenario.name,
        "description": scenario.description,
        "topology": topology.name,
        "seed": seed,
        "order": [scenario.attacks[index].label for index in order],
        "attacks": [results[index] for index in range(len(scenario.attacks))],
    }
    report["as_expected"] = all(attack["as_expected"] for attack in report["attacks"])
    found = collect(flow_logs_dir(out_dir), os.path.join(out_dir, "flowlogs.txt"))
    report["flow_logs"] = {"records": len(found), "file": "flowlogs.txt"}
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    plot_attacks(report, os.path.join(out_dir, "attack.png"))
    log(f"*** report: {out_dir}/report.json, picture: {out_dir}/attack.png")
    return report


def _start_proxy(lab: Emulation, target: str, behind: str, out_dir: str) -> tuple[subprocess.Popen, str]:
    """The vulnerable site on the target, or in a container behind it with port 80 published;
    the process, and its log ``proxy-TARGET.jsonl`` in ``out_dir``."""
    log = os.path.abspath(os.path.join(out_dir, f"proxy-{target}.jsonl"))
    open(log, "w").close()
    host = lab.hosts.hosts[target]
    if behind == "container":
        host = lab.hosts.add_container(target, f"{target}-app", publish=(WEB_PORT,))
    process = host.popen(
        command(Process.OPEN_PROXY, "--port", str(WEB_PORT), "--log", log),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if process.stdout.readline().strip() != "listening":
        raise RuntimeError(f"the proxy on {target} did not start: {process.stderr.read().strip()}")
    return process, log


def _attack(lab: Emulation, scenario: BreachScenario, attack: Attack, proxy_log: str) -> dict:
    for operation, arguments in attack.changes:
        lab.api.change(operation, **arguments)
    try:
        intent = lab.applied_intent()
        target = intent.topology.instance(attack.target)
        if target.public_ip is None:
            raise ValueError(f"{attack.target} has no public IP: the attacker cannot reach it")
        address = str(target.public_ip)
        outcome = _run_in(lab, scenario.attacker, command(Process.SSRF_ATTACK, address))
        customer = None
        if scenario.customer:
            fetched = lab.hosts.hosts[scenario.customer].cmd(
                f"curl -s -o /dev/null -m 3 -w '%{{http_code}}' http://{address}/"
            )
            customer = {"host": scenario.customer, "status": fetched.strip()}
        served = _records(proxy_log)
        answered = [
            r for r in lab.hosts.metadata_requests(target.server) if r.get("instance") == attack.target
        ]
    finally:
        for operation, arguments in attack.undo:
            lab.api.change(operation, **arguments)
    network = trace(
        intent.topology, intent.topology.endpoint(scenario.attacker), target.public_ip, 6, WEB_PORT
    )
    result = analyse(attack, outcome, served, answered, network, intent.data, target)
    if customer and customer["status"] != "200":
        result["as_expected"] = False
        result["check"] += (
            f"; but {customer['host']}'s visit to the site got {customer['status'] or 'nothing'}"
        )
    result["customer"] = customer
    return result


def _run_in(lab: Emulation, host: str, command: list[str]) -> dict:
    process = lab.hosts.hosts[host].popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, errors = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} in {host} failed: {errors.strip()}")
    return json.loads(output.strip().splitlines()[-1])


def _records(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def analyse(attack: Attack, outcome: dict, served: list, answered: list, network, data: dict, target) -> dict:
    """The attack's sequence of events, what stopped it, and whether that is what was expected.

    ``served``: the proxy's records; ``answered``: the metadata service's records for the
    target; ``network``: the oracle's verdict on the attacker's connection to the site."""
    steps = outcome["steps"]
    start = steps[0]["sent"]
    events = [_event(step, served, answered, start) for step in steps]
    stopped = None if outcome.get("leaked") else stopped_by(events, network, data, target, attack.behind)
    result = {
        "label": attack.label,
        "target": attack.target,
        "public_ip": str(target.public_ip),
        "behind": attack.behind,
        "metadata_options": {
            "http_tokens": target.metadata.http_tokens,
            "http_put_response_hop_limit": target.metadata.http_put_response_hop_limit,
        },
        "changes": [{"change": op, **arguments} for op, arguments in attack.changes],
        "leaked": outcome.get("leaked"),
        "role": outcome.get("role"),
        "took_ms": round((steps[-1]["answered"] - start) * 1000, 1),
        "events": events,
        "network_path": [f"{hop.stage} {hop.at}: {hop.result}" for hop in network.hops],
        "stopped_by": stopped,
        "expected": attack.expect + (f" by {attack.layer}" if attack.layer else ""),
        "why": attack.why,
    }
    result["as_expected"], result["check"] = check(attack, result)
    return result


def _event(step: dict, served: list, answered: list, start: float) -> dict:
    """One attacker request as it went: what the proxy did with it and what the metadata
    service answered, in milliseconds since the attack began."""
    relayed = next(
        (
            r
            for r in served
            if r["method"] == step["method"]
            and r["url"].endswith(step["path"])
            and r["received"] >= step["sent"]
        ),
        None,
    )
    imds = None
    if relayed:
        imds = next(
            (
                r
                for r in answered
                if r["method"] == step["method"]
                and r["path"] == step["path"]
                and relayed["received"] <= r["time"] <= relayed["answered"]
            ),
            None,
        )

    def ms(moment: Optional[float]) -> Optional[float]:
        return None if moment is None else round((moment - start) * 1000, 1)

    return {
        "method": step["method"],
        "path": step["path"],
        "sent_ms": ms(step["sent"]),
        "proxy_received_ms": ms(relayed["received"]) if relayed else None,
        "metadata_answered_ms": ms(imds["time"]) if imds else None,
        "metadata_status": imds["status"] if imds else None,
        "metadata_ttl": imds["ttl"] if imds else None,
        "proxy_answered_ms": ms(relayed["answered"]) if relayed else None,
        "proxy_upstream": relayed.get("upstream") if relayed else None,
        "answered_ms": ms(step["answered"]),
        "status": step.get("status"),
        "error": step.get("error"),
    }


def stopped_by(events: list[dict], network, data: dict, target: m.Instance, behind: str) -> dict:
    """Which layer stopped the attack, from the evidence (never from the expectation)."""
    last = events[-1]
    if last["proxy_received_ms"] is None:  # the request never reached the site
        if network.accepted:
            return {"layer": "unexplained", "object": None, "detail": "the oracle accepts the connection"}
        hop = next(hop for hop in network.hops if hop.result == "drop")
        return {"layer": hop.stage, "object": origin_name(data, network.rule or ""), "detail": hop.detail}
    options = f"{origin_name(data, target.origin)} metadata_options"
    if last["method"] == "PUT" and last["metadata_status"] == 200 and last["proxy_upstream"] == "timed out":
        return {
            "layer": HOP_LIMIT,
            "object": f"{options} (http_put_response_hop_limit: {last['metadata_ttl']})",
            "detail": (
                f"the token left the metadata service with IP TTL {last['metadata_ttl']} and died "
                f"before the proxy ({behind}); the proxy waited {UPSTREAM_TIMEOUT:.0f} s"
            ),
        }
    refusals = {
        401: "the metadata service wants a session token, and the attacker got none",
        403: "the metadata service refuses a request a proxy forwarded (X-Forwarded-For)",
    }
    if last["metadata_status"] in refusals:
        return {
            "layer": f"metadata {last['metadata_status']}",
            "object": f"{options} (http_tokens: {target.metadata.http_tokens})",
            "detail": refusals[last["metadata_status"]],
        }
    return {"layer": "unexplained", "object": None, "detail": f"last step: {last}"}


def check(attack: Attack, result: dict) -> tuple[bool, str]:
    leaked = result["leaked"]
    if attack.expect == LEAKED:
        if leaked:
            return True, f"credentials {leaked} leaked in {result['took_ms']:.0f} ms"
        return False, f"expected a leak; blocked by {(result['stopped_by'] or {}).get('layer')}"
    if leaked:
        return False, f"expected it blocked by {attack.layer}; credentials {leaked} leaked"
    layer = result["stopped_by"]["layer"]
    if layer != attack.layer:
        return False, f"expected it blocked by {attack.layer}; blocked by {layer}"
    return True, f"blocked by {layer}: {result['stopped_by']['object']}"
