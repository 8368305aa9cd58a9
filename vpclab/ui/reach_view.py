"""`vpclab reach` for people: the verdicts by class pair, as JSON, as a heat map, and the pairs a
change opens or closes."""

from __future__ import annotations

from collections import Counter, defaultdict

from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from vpclab.intent import model as m
from vpclab.oracle.reach import PairVerdict, Reach

ACCEPTED = "accepted"
ACCEPTED_COLOUR, SELF_COLOUR = "#2a9d41", "#ffffff"
DROP_COLOURS = [
    "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#1f77b4", "#aec7e8", "#ffbb78", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
]  # fmt: skip


def outcome(verdict: PairVerdict) -> str:
    return ACCEPTED if verdict.accepted else str(verdict.reason)


def counts(found: Reach) -> Counter:
    return Counter(outcome(v) for v in found.verdicts.values())


def render_text(topology: m.Topology, found: Reach, traffic: str) -> str:
    """A summary line, the count per outcome, then one line per pair of classes."""
    tally = counts(found)
    lines = [
        f"{topology.name}, {traffic}: {len(found.verdicts)} pairs, {tally[ACCEPTED]} accepted, "
        f"{len(found.verdicts) - tally[ACCEPTED]} dropped "
        f"({len(found.classes)} classes of instances, {found.traces} traces, {found.seconds * 1000:.0f} ms)"
    ]
    lines += [
        f"  {what:22s} {number}" for what, number in sorted(tally.items(), key=lambda i: i[0] != ACCEPTED)
    ]
    lines.append("by class (instances that no rule, route or address tells apart):")
    for sources in found.classes:
        for targets in found.classes:
            pairs = [(s.name, t.name) for s in sources for t in targets if s.name != t.name]
            if not pairs:
                continue
            verdict = found.verdicts[pairs[0]]
            said = "accepted" if verdict.accepted else f"dropped: {verdict.reason}"
            lines.append(f"  {_class_name(sources)} -> {_class_name(targets)}: {said} [{verdict.rule}]")
    return "\n".join(lines)


def as_json(topology: m.Topology, found: Reach, protocol: int, port) -> dict:
    return {
        "topology": topology.name,
        "protocol": m.protocol_label(protocol),
        "port": port,
        "pairs": len(found.verdicts),
        "counts": dict(counts(found)),
        "classes": len(found.classes),
        "traces": found.traces,
        "seconds": round(found.seconds, 4),
        "verdicts": [
            {
                "source": s,
                "target": t,
                "verdict": outcome(v),
                "reason": v.reason,
                "rule": v.rule,
            }
            for (s, t), v in found.verdicts.items()
        ],  # fmt: skip
    }


def diff(before: Reach, after: Reach) -> dict[str, list[tuple[str, str, PairVerdict, PairVerdict]]]:
    """The pairs (by instance name, in both designs) whose verdict a change turns: opened,
    closed, or still dropped but by another reason."""
    turned: dict[str, list] = defaultdict(list)
    for pair, old in before.verdicts.items():
        new = after.verdicts.get(pair)
        if new is None or outcome(new) == outcome(old):
            continue
        kind = "opened" if new.accepted else "closed" if old.accepted else "dropped otherwise"
        turned[kind].append((*pair, old, new))
    return turned


def diff_json(turned: dict) -> dict:
    return {
        kind: [
            {"source": s, "target": t, "was": outcome(old), "now": outcome(new), "rule": new.rule}
            for s, t, old, new in pairs
        ]
        for kind, pairs in turned.items()
    }


def render_diff(turned: dict, traffic: str) -> str:
    if not turned:
        return f"{traffic}: no pair changes its verdict"
    lines = []
    for kind in ("opened", "closed", "dropped otherwise"):
        for source, target, old, new in turned.get(kind, []):
            was = "accepted" if old.accepted else f"dropped: {old.reason}"
            now = f"accepted [{new.rule}]" if new.accepted else f"dropped: {new.reason} [{new.rule}]"
            lines.append(f"{kind:18s} {source} -> {target}: {now} (was {was})")
    summary = ", ".join(f"{len(turned.get(k, []))} {k}" for k in ("opened", "closed", "dropped otherwise"))
    return "\n".join([f"{traffic}: {summary}", *lines])


def heat_map(topology: m.Topology, found: Reach, traffic: str, path: str) -> None:
    """Rows reach columns, instances grouped by VPC and subnet; a colour per outcome."""
    place = {(v.name, s.name): (n, k) for n, v in enumerate(topology.vpcs) for k, s in enumerate(v.subnets)}
    place.update({("on-premises", s.name): (len(place), k) for k, s in enumerate(topology.hybrid.sites)})
    endpoints: list[m.Instance | m.SiteHost] = [*topology.instances, *topology.hybrid.hosts]
    order = sorted(endpoints, key=lambda e: (place[_where(e)], e.name))
    tally = counts(found)
    outcomes = [ACCEPTED] + sorted((o for o in tally if o != ACCEPTED), key=lambda o: -tally[o])
    colours = [SELF_COLOUR, ACCEPTED_COLOUR] + [
        DROP_COLOURS[n % len(DROP_COLOURS)] for n in range(len(outcomes) - 1)
    ]
    index = {what: n + 1 for n, what in enumerate(outcomes)}
    grid = [
        [0 if s.name == t.name else index[outcome(found.verdicts[s.name, t.name])] for t in order]
        for s in order
    ]
    size = min(14.0, 4.0 + 0.05 * len(order))
    figure = Figure(figsize=(size + 3.5, size))
    axis = figure.subplots()
    axis.imshow(grid, cmap=ListedColormap(colours), vmin=0, vmax=len(colours) - 1, interpolation="nearest")
    groups = _groups(order)
    for (start, _, label), (_, _, before) in zip(groups[1:], groups, strict=False):
        width = 1.6 if label.split("/")[0] != before.split("/")[0] else 0.4  # VPC, or subnet
        axis.axhline(start - 0.5, color="black", linewidth=width)
        axis.axvline(start - 0.5, color="black", linewidth=width)
    centres = [(start + end - 1) / 2 for start, end, _ in groups]
    labels = [label for _, _, label in groups]
    axis.set_xticks(centres, labels, rotation=90, fontsize=7)
    axis.set_yticks(centres, labels, fontsize=7)
    places = "VPC/subnet, on-premises/site" if topology.hybrid.hosts else "VPC/subnet"
    axis.set_xlabel(f"target ({places})")
    axis.set_ylabel(f"source ({places})")
    axis.legend(
        handles=[Patch(color=colours[index[o]], label=f"{o} ({tally[o]})") for o in outcomes],
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, title="verdict (pairs)",
    )  # fmt: skip
    axis.set_title(f"{topology.name}, {traffic}: who reaches whom ({len(order)} endpoints)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _where(endpoint: m.Instance | m.SiteHost) -> tuple[str, str]:
    """(VPC, subnet) of an instance, ("on-premises", site) of a site's host."""
    if isinstance(endpoint, m.SiteHost):
        return ("on-premises", endpoint.site)
    return (endpoint.vpc, endpoint.subnet)


def _groups(order: list) -> list[tuple[int, int, str]]:
    """(first row, row after the last, 'vpc/subnet' or 'on-premises/site') of each run of one
    subnet or site."""
    groups: list[tuple[int, int, str]] = []
    for row, instance in enumerate(order):
        label = "/".join(_where(instance))
        if groups and groups[-1][2] == label:
            groups[-1] = (groups[-1][0], row + 1, label)
        else:
            groups.append((row, row + 1, label))
    return groups


def _class_name(members: list) -> str:
    names = ", ".join(i.name for i in members[:3]) + (f" +{len(members) - 3}" if len(members) > 3 else "")
    return f"{'/'.join(_where(members[0]))} {{{names}}}"
