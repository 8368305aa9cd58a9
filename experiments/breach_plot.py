"""The imds-ssrf picture: one sequence diagram per attack (attacker, the web server's proxy,
the metadata service), each request an arrow with its time; where it died, a red cross and the
reason; at the bottom, the leaked key in red or the layer that stopped it in green."""

from __future__ import annotations

from matplotlib.figure import Figure

LANES = {"attacker": 0.0, "proxy": 1.3, "imds": 2.6}
RED, GREEN, GREY = "#c62828", "#2e7d32", "#555555"
SHORT = {
    "/latest/meta-data/iam/security-credentials/": ".../security-credentials/",
    "/latest/api/token": "api/token",
}


def short_path(path: str) -> str:
    for prefix, name in SHORT.items():
        if path.startswith(prefix):
            return name + path[len(prefix) :]
    return path


def plot_attacks(report: dict, path: str) -> None:
    attacks = report["attacks"]
    columns = 2
    rows = (len(attacks) + columns - 1) // columns
    depth = 4 * max(len(attack["events"]) for attack in attacks) + 1  # one scale for all
    figure = Figure(figsize=(14, 1.2 + 0.3 * depth * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for number, (axis, attack) in enumerate(zip(axes.flat, attacks, strict=False)):
        _sequence(axis, attack, "ABCDEFGH"[number], depth)
    for axis in list(axes.flat)[len(attacks) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"{report['scenario']} on {report['topology']}: the attacker asks the web server's open proxy "
        f"for 169.254.169.254's IAM credentials (seed {report['seed']})",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=100)


def _sequence(axis, attack: dict, letter: str, depth: int) -> None:
    options = attack["metadata_options"]
    proxy = "proxy in a container" if attack["behind"] == "container" else "proxy on the instance"
    heads = {
        "attacker": "attacker\n(internet)",
        "proxy": f"{attack['target']} {attack['public_ip']}\n{proxy}",
        "imds": "metadata service\n"
        f"tokens {options['http_tokens']}, hop limit {options['http_put_response_hop_limit']}",
    }
    for lane, x in LANES.items():
        axis.plot([x, x], [0, -depth], color="#bbbbbb", linewidth=1, zorder=0)
        axis.text(
            x, 0.4, heads[lane], ha="center", va="bottom", fontsize=8, bbox=dict(fc="#eef2f7", ec="#8899aa")
        )
    y = -0.5
    for event in attack["events"]:
        y = _event_arrows(axis, event, y, attack)
    _outcome(axis, attack, y - 0.6)
    leaked = attack["leaked"]
    verdict = "" if attack["as_expected"] else "  (NOT AS EXPECTED)"
    axis.set_title(
        f"{letter}. {attack['label']}: {'LEAKED' if leaked else 'BLOCKED'}{verdict}",
        loc="left",
        fontsize=10,
        fontweight="bold",
        color=RED if leaked else GREEN,
        pad=30,
    )
    axis.set_xlim(-0.8, 3.3)
    axis.set_ylim(-depth - 1.6, 1.6)
    axis.axis("off")


def _arrow(
    axis, start: float, end: float, y: float, label: str, color=GREY, dashed=False, cross=False
) -> None:
    axis.annotate(
        "",
        xy=(end, y),
        xytext=(start, y),
        arrowprops=dict(arrowstyle="-" if cross else "->", color=color, linestyle="--" if dashed else "-"),
    )
    if cross:
        axis.plot([end], [y], marker="x", color=RED, markersize=11, markeredgewidth=2.5, zorder=6)
    middle = (start + end) / 2
    axis.text(middle, y + 0.12, label, ha="center", va="bottom", fontsize=7.5, color=color, zorder=5)


def _event_arrows(axis, event: dict, y: float, attack: dict) -> float:
    """Draw one request's arrows from height ``y`` down; returns the next free height."""
    attacker, proxy, imds = LANES["attacker"], LANES["proxy"], LANES["imds"]
    request = f"{event['method']} {short_path(event['path'])}"
    axis.text(-0.78, y, f"+{event['sent_ms']:.0f} ms", fontsize=7, color=GREY, va="center")
    if event["proxy_received_ms"] is None:
        stop = attack["stopped_by"] or {}
        _arrow(axis, attacker, 1.15, y, request, color=RED, cross=True)
        waited = event["answered_ms"] / 1000
        note = f"dropped on the way in: {stop.get('object')}\nno answer after {waited:.0f} s"
        axis.text(0.05, y - 0.35, note, fontsize=7.5, color=RED, va="top", bbox=dict(fc="white", ec="none"))
        return y - 2.0
    _arrow(axis, attacker, proxy, y, request)
    y -= 0.9
    if event["metadata_answered_ms"] is not None:
        _arrow(axis, proxy, imds, y, f"{request} (from inside the VPC)")
        y -= 0.9
        status = event["metadata_status"]
        ttl = f", IP TTL {event['metadata_ttl']}" if event["metadata_ttl"] else ""
        answered = f"{status}{ttl}  +{event['metadata_answered_ms']:.0f} ms"
        if event["proxy_upstream"] == "timed out":
            _arrow(axis, imds, proxy + 0.35, y, answered, color=RED, dashed=True, cross=True)
            note = "TTL ran out on the hop to the container"
            axis.text(
                proxy + 0.4,
                y - 0.3,
                note,
                fontsize=7.5,
                color=RED,
                va="top",
                bbox=dict(fc="white", ec="none"),
            )
        else:
            _arrow(axis, imds, proxy, y, answered, color=GREEN if status == 200 else RED)
        y -= 0.9
    status = event["status"] if event["status"] is not None else event["error"]
    why = f" (proxy: upstream {event['proxy_upstream']})" if event["proxy_upstream"] == "timed out" else ""
    color = GREEN if event["status"] == 200 else RED
    _arrow(axis, proxy, attacker, y, f"{status}{why}  +{event['answered_ms']:.0f} ms", color=color)
    return y - 1.0


def _outcome(axis, attack: dict, y: float) -> None:
    if attack["leaked"]:
        text = f"credentials of {attack['role']} leaked: AccessKeyId {attack['leaked']}"
        text += f"\nin {attack['took_ms']:.0f} ms"
        color = RED
    else:
        stop = attack["stopped_by"] or {}
        text = f"stopped by {stop.get('layer')}: {stop.get('object')}\n{stop.get('detail', '')}"
        color = GREEN
    if attack.get("customer"):
        customer = attack["customer"]
        text += f"\n{customer['host']}'s visit to the site: HTTP {customer['status'] or 'none'}"
    axis.text(
        LANES["proxy"],
        y,
        text,
        ha="center",
        va="top",
        fontsize=8,
        color=color,
        bbox=dict(fc="white", ec=color),
    )
