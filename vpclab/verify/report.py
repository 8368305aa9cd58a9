"""What `verify` found: every mismatch on a line, then what was probed, how, and how fast."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

from . import matrix
from .live import Result, Verification

KINDS = {
    "port": "destination-port segments",
    "client-port": "client-port segments",
    "icmp": "pings",
    "mtu": "pings at the path MTU and a byte over",
    "ip": "other IP protocols",
    "unassigned": "unassigned addresses",
    "router": "VPC routers",
    "spoofed": "spoofed sources",
    "dns": "DNS queries",
    "endpoint": "endpoint calls",
}


def summary(verification: Verification) -> dict:
    results = verification.results
    kinds = Counter(r.kind for r in results)
    return {
        "pairs": len(
            {(r.source, r.target) for r in results if r.kind not in ("unassigned", "router", "dns")}
        ),
        "probes": len(results),
        "agree": sum(r.agrees for r in results),
        "accepted_live": sum(r.live for r in results),
        "by_kind": {kind: kinds[kind] for kind in KINDS if kinds[kind]},
        "destination_segments": verification.coverage.destination_segments,
        "client_segments": verification.coverage.client_segments,
        "client_segments_unreachable": verification.coverage.client_segments_unreachable,
        "uncovered": verification.coverage.uncovered,
        "retried": sum(r.retried for r in results),
        "answered_on_retry": sum(r.retried and r.answered_by is not None for r in results),
        "frames": sum(r.frames for r in results),
        "seconds_probing": round(verification.seconds_probing, 2),
        "probes_per_second": round(len(results) / verification.seconds_probing)
        if verification.seconds_probing
        else None,
        "seconds_total": round(verification.seconds_total, 2),
        "lost_by_the_host": verification.lost,
        "changes": verification.changes,
        "sampled": verification.sampled,
    }


def mismatch_line(r: Result) -> str:
    if r.kind == "dns":
        return (
            f"MISMATCH {r.source} -> resolver {r.target} {r.probe} [dns]: live "
            f"{r.answered_by or 'no answer'}, expected {r.answer_expected or 'no answer (no DNS support)'}"
        )
    return (
        f"MISMATCH {r.source} -> {r.target} {r.probe}"
        + (f" (client port {r.client_port})" if r.client_port else "")
        + f" [{r.kind}]: live {'accepted' if r.live else 'dropped'}"
        + (f" (answered by {r.answered_by})" if r.answered_by not in (None, "?", r.target) else "")
        + ", trace "
        + ("accepted" if r.trace else f"dropped ({r.reason}, {r.rule})")
    )


def report(verification: Verification, as_json: bool) -> str:
    facts = summary(verification)
    mismatches = [r for r in verification.results if not r.agrees]
    cells = matrix.reached(verification.results)
    if as_json:
        return json.dumps(
            {
                **facts,
                "reachability": {
                    source: {target: text for (s, target), text in cells.items() if s == source}
                    for source in verification.instances
                },
                "mismatches": [asdict(r) for r in mismatches],
                "results": [asdict(r) for r in verification.results],
            },
            indent=2,
        )
    kinds = ", ".join(f"{count} {KINDS[kind]}" for kind, count in facts["by_kind"].items())
    lines = [mismatch_line(r) for r in mismatches]
    lines += [
        f"{facts['agree']} of {facts['probes']} probes agree with trace "
        f"({facts['accepted_live']} accepted live, {facts['probes'] - facts['accepted_live']} dropped)",
        f"  {facts['pairs']} pairs"
        + (f" (a sample: {verification.sampled})" if verification.sampled else "")
        + f"; probes: {kinds}",
        f"  port segments covered: {facts['destination_segments']} destination, "
        f"{facts['client_segments']} client ({facts['client_segments_unreachable']} more behind a forward "
        f"drop of every port); not coverable: {len(facts['uncovered'])}",
        f"  {facts['retried']} unanswered probes tried again, {facts['answered_on_retry']} answered "
        f"only then; {facts['frames']} sent as raw frames",
        f"  probing took {facts['seconds_probing']} s ({facts['probes_per_second']} probes/s); "
        f"{facts['seconds_total']} s with bring-up and tear-down",
    ]
    if verification.lost:
        lines.append(
            f"  the cards' sockets dropped {verification.lost} packets (a full receive buffer on this "
            "host, not the design): a probe's disagreement may be that loss"
        )
    if verification.instances:
        lines.append(matrix.render(verification.results, verification.instances))
    return "\n".join(lines)
