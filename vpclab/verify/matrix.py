"""The reachability matrix of a verification: who reached whom live, on which ports.

A destination-port segment counts as reached when a probe into it was answered by its target;
it is starred when another probe into the same segment (another client port) was not, which is
what a stateless NACL on the return path does. A dual-stack pair's IPv6 ports are their own
(tcp6, udp6). The grid shows one short key per pair, so it
stays readable at dozens of instances; the legend says what each key means.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Sequence

from vpclab.intent.model import protocol_label
from vpclab.intent.values import PORTED_PROTOCOLS

from .live import Result

PAIR_KINDS = ("port", "client-port", "icmp", "ip")
PORT_LABELS = tuple(protocol_label(p) for p in PORTED_PROTOCOLS)
ALL_PORTS = (1, 65535)  # port 0 cannot be probed
KEYS = string.ascii_uppercase + string.ascii_lowercase + string.digits
NOTHING, ITSELF, DISAGREE = ".", "\\", "!"


def reached(results: Sequence[Result]) -> dict[tuple[str, str], str]:
    """Per ordered pair that reached anything live: what it reached, e.g. 'tcp 443, 8080-8090;
    icmp' (a starred range: only from some client ports)."""
    answered: dict[tuple[str, str, str], dict[tuple[int, int], set[bool]]] = defaultdict(dict)
    others: dict[tuple[str, str], set[str]] = defaultdict(set)
    for result in results:
        if result.kind not in PAIR_KINDS:
            continue
        protocol = result.probe.split("/")[0] + ("6" if result.probe.endswith(" over IPv6") else "")
        if result.segment is not None:
            outcomes = answered[result.source, result.target, protocol].setdefault(result.segment, set())
            outcomes.add(result.live)
        elif result.live:
            others[result.source, result.target].add(f"proto {protocol}" if protocol.isdigit() else protocol)
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (source, target, protocol), segments in sorted(answered.items(), key=_port_order):
        ranges = _merged(
            [
                (low, high, False in outcomes)
                for (low, high), outcomes in sorted(segments.items())
                if True in outcomes
            ]
        )
        if ranges:
            cells[source, target].append(f"{protocol} " + ", ".join(_range_text(*r) for r in ranges))
    for pair, protocols in others.items():
        cells[pair] += sorted(protocols, key=lambda p: (p != "icmp", p))
    return {pair: "; ".join(parts) for pair, parts in cells.items()}


def render(results: Sequence[Result], instances: Sequence[str]) -> str:
    """The grid (rows reach columns), then the legend of its keys."""
    cells = reached(results)
    disagree = {(r.source, r.target) for r in results if not r.agrees and r.kind in PAIR_KINDS}
    in_reading_order = [cells[s, t] for s in instances for t in instances if (s, t) in cells]
    key_of = {
        text: KEYS[n] if n < len(KEYS) else "?" for n, text in enumerate(dict.fromkeys(in_reading_order))
    }
    width = max(len(name) for name in instances)
    number = len(str(len(instances)))
    lines = ["reachability, live (rows reach columns):"]
    lines.append(
        f"  {'':{number + width + 1}s} " + " ".join(f"{n:>{number}d}" for n in range(1, len(instances) + 1))
    )
    for row, source in enumerate(instances, start=1):
        marks = []
        for target in instances:
            mark = ITSELF if source == target else key_of.get(cells.get((source, target), ""), NOTHING)
            marks.append(f"{(DISAGREE if (source, target) in disagree else mark):>{number}s}")
        lines.append(f"  {row:>{number}d} {source:{width}s} " + " ".join(marks))
    lines += [f"  {key} = {text}" for text, key in key_of.items()]
    lines.append(f"  {NOTHING} = nothing reached")
    if any("*" in text for text in cells.values()):
        lines.append(
            "  * = only from some client ports: the replies meet a stateless NACL (see trace --source-port)"
        )
    if any(f"{label}6 " in text for text in cells.values() for label in PORT_LABELS):
        lines.append("  tcp6, udp6 = over IPv6 (icmpv6: IPv6's ping)")
    if disagree:
        lines.append(f"  {DISAGREE} = live and trace disagree on this pair (the MISMATCH lines above)")
    return "\n".join(lines)


def _port_order(item) -> tuple:
    (source, target, protocol), _ = item
    return source, target, PORT_LABELS.index(protocol) if protocol in PORT_LABELS else len(PORT_LABELS)


def _merged(ranges: list[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """Adjacent segments with the same star as one range."""
    merged: list[tuple[int, int, bool]] = []
    for low, high, partial in ranges:
        if merged and merged[-1][1] + 1 == low and merged[-1][2] == partial:
            merged[-1] = (merged[-1][0], high, partial)
        else:
            merged.append((low, high, partial))
    return merged


def _range_text(low: int, high: int, partial: bool) -> str:
    if (max(low, ALL_PORTS[0]), high) == ALL_PORTS:
        text = "all"
    else:
        text = str(low) if low == high else f"{low}-{high}"
    return text + ("*" if partial else "")
