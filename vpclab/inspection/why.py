"""`why`: one packet through the real flows of the running cards (``ovs-appctl ofproto/trace``),
from the sender's card over the tunnel to the receiver's, each flow named by the YAML object
that produced it (its cookie), then the reply the same way; and whether that agrees with the
static ``trace``. What ``ovn-trace`` and ``ovn-detrace`` do for OVN, for a VPC.

The cards are asked through ``run(server, flow, ct_next) -> text``; conntrack is not consulted
but assumed: a request's packets are new (``trk,new``), a reply's belong to the connection
(``trk,est,rpl``). Translations (internet gateways, NAT gateways) are not followed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from controller.compiler import compile_topology
from vpclab.intent import model as m
from vpclab.intent.origins import origin_name
from vpclab.layout.pipeline import FIELDS, MSS_CLAMP_PORT, ROUTER_MAC, STAGE_AT, TUNNEL_PORT, ClampKey
from vpclab.layout.plan import Plan
from vpclab.oracle.packet import FORWARD
from vpclab.oracle.trace import Verdict, trace

TABLE_LINE = re.compile(r"^\s*(\d+)\. (?:(.*), )?priority (\d+)(?:, cookie (0x[0-9a-f]+))?\s*$")
OUTPUT = re.compile(r"^\s*output:(\d+)\s*$")
VNI = re.compile(r"vxlan\(flags=0x[0-9a-f]+,vni=(0x[0-9a-f]+)\)")
TUNNEL_TO = re.compile(r"-> tunneling to (\d+\.\d+\.\d+\.\d+) ")
IN_PORT = re.compile(r"(?:^|,)in_port=(\d+)")
REWRITE = re.compile(r"^\s*(?:set_field:(\S+)->(eth_src|eth_dst)|dec_ttl)\s*$")
INNER = (
    "dl_src",
    "dl_dst",
    "nw_src",
    "nw_dst",
    "ipv6_src",
    "ipv6_dst",
    "nw_ttl",
    "tp_src",
    "tp_dst",
    "icmp_type",
    "icmp_code",
    "icmpv6_type",
    "icmpv6_code",
    "tcp_flags",
)
KINDS = ("tcp6", "udp6", "icmp6", "ipv6", "tcp", "udp", "icmp", "ip")  # a flow's first word
NEW, REPLY = "trk,new", "trk,est,rpl"
Run = Callable[[str, str, str], str]  # (server, flow, ct_next) -> ofproto/trace's text


@dataclass(frozen=True)
class Step:
    server: str
    table: int
    match: str
    cookie: Optional[int]

    @property
    def stage(self) -> str:
        return STAGE_AT.get(self.table, f"table {self.table}")


@dataclass
class Leg:
    """One card's part of the walk: the flows it matched, and where the packet went."""

    server: str
    steps: list[Step]
    output: Optional[int] = None  # the port it left by (TUNNEL_PORT: VXLAN), None: dropped
    vni: Optional[int] = None
    tunnel_to: Optional[str] = None  # the receiving server's underlay address
    final: dict = field(default_factory=dict)  # the packet's fields as it left
    appliance: Optional[str] = None  # the instance that forwarded it on (its kernel)
    clamped: bool = False  # a SYN that went through the card's kernel, its MSS clamped (entering a TGW)


def parse(server: str, text: str) -> Leg:
    """ofproto/trace's text, read: the br-int flows in order, the output, the final packet.

    After a check_pkt_larger, OVS translates both branches (longer, and not) and its "Final
    flow" is the packet where they parted: the rewrites that follow (MACs, TTL) are applied
    here from the actions listed after it."""
    steps, outputs, bridge, final, entered = [], [], "", {}, {}
    after_check: dict = {}  # rewrites after a check_pkt_larger; "ttl": how many dec_ttl
    for line in text.splitlines():
        if line.startswith("bridge("):
            bridge = line.split('"')[1]
        elif line.startswith("Flow:"):
            entered, after_check = _fields(line.split(":", 1)[1]), {}
        elif line.startswith("Final flow:"):
            said = line.split(":", 1)[1].strip()
            final = _rewritten(entered if said == "unchanged" else _fields(said), after_check)
        elif bridge == "br-int" and (found := TABLE_LINE.match(line)):
            cookie = int(found[4], 16) if found[4] else None
            steps.append(Step(server, int(found[1]), found[2] or "", cookie))
        elif bridge == "br-int" and (found := OUTPUT.match(line)):
            outputs.append(int(found[1]))
        elif bridge == "br-int" and "check_pkt_larger(" in line:
            after_check.setdefault("ttl", 0)
        elif bridge == "br-int" and "ttl" in after_check and (found := REWRITE.match(line)):
            if found[2]:
                after_check[found[2]] = found[1]
            else:
                after_check["ttl"] += 1
    vni, tunnel = VNI.search(text), TUNNEL_TO.search(text)
    return Leg(
        server,
        steps,
        outputs[-1] if outputs else None,
        int(vni[1], 16) if vni else None,
        tunnel[1] if tunnel else None,
        final,
    )


def _rewritten(final: dict, after_check: dict) -> dict:
    """``final`` with the rewrites read after a check_pkt_larger."""
    if not after_check:
        return final
    fields = {**final, **{f"dl_{key[4:]}": value for key, value in after_check.items() if key != "ttl"}}
    if "nw_ttl" in fields:
        fields["nw_ttl"] = str(int(fields["nw_ttl"]) - after_check["ttl"])
    return fields


def _fields(text: str) -> dict:
    found = {}
    for item in text.strip().split(","):
        key, _, value = item.partition("=")
        found[key] = value if value else True
    return found


@dataclass
class Walk:
    """A packet's legs through the cards, and where it ended."""

    legs: list[Leg]
    delivered_to: Optional[str] = None  # the endpoint whose port it reached
    dropped_by: Optional[Step] = None  # the last flow it matched before it was dropped
    note: str = ""


def follow(run: Run, plan, underlay: dict[str, str], server: str, flow: str, ct_next: str) -> Walk:
    """From ``server``'s card, over every tunnel, to a port or a drop."""
    legs: list[Leg] = []
    while len(legs) < 8:
        leg = parse(server, run(server, flow, ct_next))
        legs.append(leg)
        if leg.output is None:
            return Walk(legs, dropped_by=leg.steps[-1] if leg.steps else None)
        if leg.output == MSS_CLAMP_PORT:
            # a SYN entering a TGW goes through the card's kernel, which clamps its MSS and sends
            # it back on the clamp port, its input port and registers in its MACs (ClampKey)
            leg.clamped = True
            flow = _back_from_clamp(leg, flow)
            continue
        if leg.output != TUNNEL_PORT:
            appliance = _forwarding(plan, server, leg)
            if appliance is None:
                return Walk(legs, delivered_to=_endpoint_at(plan, server, leg.output))
            leg.appliance = appliance.instance.name
            flow = _forwarded(leg, appliance)  # its kernel routes it back out, as the card's host
            continue
        if leg.tunnel_to not in underlay:
            return Walk(legs, note=f"tunnelled to {leg.tunnel_to}, which is no server of the design")
        sender, server = server, underlay[leg.tunnel_to]
        flow = _arriving(leg, leg.vni or 0, _underlay_of(underlay, sender), leg.tunnel_to)
    return Walk(legs, note="more than 8 cards: a loop?")


def _back_from_clamp(leg: Leg, sent: str) -> str:
    """The packet as the kernel's MSS clamp sends it back: ClampKey's values in its MACs, read
    from where the leg forked (OVS's "Final flow": its registers) and the flow it started as."""
    port = IN_PORT.search(sent)
    values = {"in_port_nxm": int(port[1]) if port else 0}
    registers = {
        name: value for name, value in leg.final.items() if name.startswith("reg") or name == "metadata"
    }
    values |= {
        str(saved): FIELDS[str(saved)].read(registers) for saved, *_ in ClampKey.SAVED if saved in FIELDS
    }
    macs = ClampKey.macs(values)
    return _again(leg, [f"in_port={MSS_CLAMP_PORT}"], dl_src=macs["eth_src"], dl_dst=macs["eth_dst"])


def _forwarding(plan, server: str, leg: Leg):
    """The appliance (source_dest_check: false) the leg handed a packet not addressed to it."""
    return next(
        (
            p
            for p in plan.instances.values()
            if (p.instance.server, p.port) == (server, leg.output)
            and not p.instance.source_dest_check
            and destination_of(leg.final) not in {str(a) for a in p.instance.addresses}
        ),
        None,
    )


def _forwarded(leg: Leg, appliance) -> str:
    """What the appliance sends on: the same packet from its port to the router, one hop older."""
    older = int(leg.final.get("nw_ttl", 64)) - 1
    return _again(leg, [f"in_port={appliance.port}"], dl_src=appliance.mac, dl_dst=ROUTER_MAC, nw_ttl=older)


def _endpoint_at(plan, server: str, port: int) -> Optional[str]:
    found = [
        p.instance.name for p in plan.instances.values() if (p.instance.server, p.port) == (server, port)
    ]
    found += [
        p.host.name for p in plan.internet_hosts.values() if (m.INTERNET_CARD, p.port) == (server, port)
    ]
    found += [  # a VPN tunnel's or DX link's port (the way to a site), or an outside address's owner
        p.describe() for p in plan.edge_ports if (m.INTERNET_CARD, p.port) == (server, port)
    ]
    return found[0] if found else f"port {port}"


def _site_behind(plan, delivered_to: Optional[str]) -> Optional[str]:
    """The site beyond the tunnel or link a walk ended at (None: it ended elsewhere)."""
    port = next((p for p in plan.edge_ports if p.connection and p.describe() == delivered_to), None)
    if port is None:
        return None
    hybrid = plan.topology.hybrid
    if any(link.name == port.connection for link in hybrid.dx_connections):
        return hybrid.dx_connection(port.connection).site
    return hybrid.connection(port.connection).customer_gateway


def _trace_takes(static, way: str) -> bool:
    """Does trace send the request by ``way`` ("VPN dc1-vpn tunnel 1", "Direct Connect dx1": a
    VGW's or a TGW's way out, or one of the tunnels a TGW's flow hash spreads it over)?"""
    return any(
        hop.direction == FORWARD
        and hop.stage in ("vgw", "tgw-exit")
        and re.search(rf"\b{re.escape(way)}\b", hop.detail)
        for hop in static.hops
    )


def _underlay_of(underlay: dict[str, str], server: str) -> str:
    return next(address for address, name in underlay.items() if name == server)


def _arriving(leg: Leg, vni: int, source: str, destination: str) -> str:
    """The packet as the receiving card sees it come out of the tunnel."""
    tunnel = [f"in_port={TUNNEL_PORT}", f"tun_id={vni:#x}", f"tun_src={source}", f"tun_dst={destination}"]
    return _again(leg, tunnel)


def _again(leg: Leg, entering: list[str], **changed) -> str:
    """The packet ``leg`` sent, as a flow entering a card again: ``entering`` (its input port,
    a tunnel's fields), its inner fields as it left, ``changed`` replaced."""
    kind = next(k for k in KINDS if k in leg.final)
    inner = {key: leg.final[key] for key in INNER if key in leg.final} | changed
    if kind == "icmp6":  # OVS prints an ICMPv6 type as icmp_type: it takes icmpv6_type back
        inner = {ICMPV6_NAMES.get(key, key): value for key, value in inner.items()}
    if kind in ("tcp6", "udp6"):  # and a port as tp_src, which it takes back for TCP only
        inner = {key.replace("tp_", f"{kind[:3]}_"): value for key, value in inner.items()}
    return ",".join([kind, *entering, *(f"{key}={value}" for key, value in inner.items())])


ICMPV6_NAMES = {"icmp_type": "icmpv6_type", "icmp_code": "icmpv6_code"}


def destination_of(fields: dict) -> Optional[str]:
    """A flow's destination address, either family."""
    return fields.get("nw_dst") or fields.get("ipv6_dst")


def first_packet(plan, source: str, destination: m.IPAddress, protocol: int, port, client_port) -> str:
    """The flow an instance sends (from its address of the destination's family): to the
    subnet's router, or to a neighbour's MAC."""
    local = plan.instances[source]
    instance = local.instance
    subnet = plan.topology.vpc(instance.vpc).subnet(instance.subnet)
    neighbour = next(
        (
            p
            for p in plan.instances.values()
            if p.instance.vpc == instance.vpc and destination in p.instance.addresses
        ),
        None,
    )
    mac = neighbour.mac if neighbour and subnet.contains(destination) else ROUTER_MAC
    own = next((a for a in instance.addresses if a.version == destination.version), instance.ip)
    return packet(local.port, local.mac, mac, own, destination, protocol, port, client_port, reply=False)


def packet(in_port, mac, to_mac, source, destination, protocol: int, port, client_port, reply: bool) -> str:
    """A flow for ofproto/trace; an IPv6 one (tcp6, icmp6...) between IPv6 addresses."""
    six = ":" in str(destination)
    kind = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}.get(protocol, "ip")
    fields = [kind + "6" if six and kind != "ip" else "ipv6" if six else kind]
    fields += [f"in_port={in_port}", f"dl_src={mac}", f"dl_dst={to_mac}"]
    family = "ipv6" if six else "nw"
    fields += [f"{family}_src={source}", f"{family}_dst={destination}", "nw_ttl=64"]
    if kind == "ip":
        fields.append(f"nw_proto={protocol}")
    if kind in ("tcp", "udp"):  # OVS's parser takes tp_src with udp6 for no port: udp_src
        source_port, destination_port = (port, client_port) if reply else (client_port, port)
        name = kind if six else "tp"
        fields += [f"{name}_src={source_port}", f"{name}_dst={destination_port}"]
    if kind == "tcp":
        fields.append("tcp_flags=syn|ack" if reply else "tcp_flags=syn")
    if kind == "icmp" and six:
        fields += ["icmpv6_type=129" if reply else "icmpv6_type=128", "icmpv6_code=0"]
    elif kind == "icmp":
        fields += ["icmp_type=0" if reply else "icmp_type=8", "icmp_code=0"]
    return ",".join(fields)


def reply_packet(plan, target: str, arrived: dict, protocol: int, port, client_port) -> str:
    """The target's answer to the packet as it arrived."""
    local = plan.instances[target]
    return packet(
        local.port,
        local.mac,
        ROUTER_MAC,
        arrived.get("nw_dst") or arrived["ipv6_dst"],
        arrived.get("nw_src") or arrived["ipv6_src"],
        protocol,
        port,
        client_port,
        reply=True,
    )


@dataclass(frozen=True)
class Outcome:
    """What the live walk decided, in trace's terms."""

    accepted: bool
    direction: str  # forward or return: where it ended
    origin: Optional[str]  # the YAML object of the dropping flow


def outcome(forward: Walk, reply: Optional[Walk], source: str, target: str, origins: dict) -> Outcome:
    if forward.delivered_to != target:
        return Outcome(False, "forward", _origin_of(forward, origins))
    assert reply is not None
    if reply.delivered_to != source:
        return Outcome(False, "return", _origin_of(reply, origins))
    return Outcome(True, "return", None)


def _origin_of(walk: Walk, origins: dict) -> Optional[str]:
    step = walk.dropped_by
    return origins.get(step.cookie) if step and step.cookie is not None else None


def agrees(live: Outcome, static) -> bool:
    """The live walk decides like the static verdict: the verdict, and for a drop the
    direction and the deciding object."""
    if live.accepted != static.accepted:
        return False
    return live.accepted or (live.direction, live.origin) == (static.direction, static.rule)


def render(walk: Walk, named: Callable[[Optional[int]], str], title: str) -> list[str]:
    """A walk as lines: every flow with its stage and YAML object, and where each leg went."""
    lines = [title]
    for leg in walk.legs:
        for step in leg.steps:
            lines.append(f"  {step.server:<8} {step.stage:<22} {named(step.cookie)}")

        if leg.clamped:
            lines.append(
                f"  {leg.server:<8} {'-> kernel':<22} clamps the SYN's MSS to {m.TGW_MSS}, sends it back"
            )
        if leg.output == TUNNEL_PORT:
            lines.append(f"  {leg.server:<8} {'-> VXLAN':<22} to {leg.tunnel_to}, VNI {leg.vni:#x}")
        if leg.appliance:
            lines.append(
                f"  {leg.server:<8} {'-> appliance':<22} {leg.appliance} forwards it (its own kernel)"
            )
    if walk.delivered_to:
        lines.append(f"  delivered to {walk.delivered_to}")
    elif walk.dropped_by:
        lines.append(f"  DROPPED by the last flow above ({walk.dropped_by.match or 'its table miss'})")
    if walk.note:
        lines.append(f"  {walk.note}")
    return lines


@dataclass
class Explained:
    lines: list[str]
    live: Outcome
    static: Verdict

    @property
    def agree(self) -> bool:
        return agrees(self.live, self.static)


def explain(
    topology: m.Topology,
    data: dict,
    servers: dict,
    source: m.Instance | m.SiteHost,
    address,
    protocol: int,
    port,
    entry=None,
):
    """``source`` sends to ``address`` on the running cards (``servers``: name -> a card with
    ``appctl``); the request, the reply, and the comparison with the static trace. A site's host
    sends by ``entry``, the internet card's port of the tunnel or link its site's router took."""
    client_port = 40000 if protocol in (6, 17) else None
    static = trace(topology, source, address, protocol, port, source_port=client_port)
    plan = Plan(topology)
    underlay = {str(plan.underlay_ip(name)): name for name in servers}
    origins = compile_topology(topology).origins  # every card's cookies, each unit built once

    def run(server: str, flow: str, ct_next: str) -> str:
        states = [] if ct_next == NEW else ["--ct-next", ct_next] * 4
        return servers[server].appctl("ofproto/trace", *states, "br-int", flow)

    def named(cookie: Optional[int]) -> str:
        origin = origins.get(cookie, "?") if cookie is not None else "?"
        name = origin_name(data, origin)
        return f"{name}  ({origin})" if name != origin else origin

    lines = []
    if isinstance(source, m.SiteHost):
        assert entry is not None
        first = packet(
            entry.port, entry.mac, ROUTER_MAC, source.ip, address, protocol, port, client_port, False
        )
        lines.append(
            f"{source.site}'s router sends it by {entry.describe()}: AWS's end puts it on the internet's card"
        )
        forward = follow(run, plan, underlay, m.INTERNET_CARD, first, NEW)
    else:
        first = first_packet(plan, source.name, address, protocol, port, client_port)
        forward = follow(run, plan, underlay, source.server, first, NEW)
    lines += render(forward, named, f"request {first}")
    reply = None
    if forward.delivered_to in plan.instances and forward.legs[-1].final:
        answer = reply_packet(plan, forward.delivered_to, forward.legs[-1].final, protocol, port, client_port)
        reply = follow(
            run, plan, underlay, plan.instances[forward.delivered_to].instance.server, answer, REPLY
        )
        lines += render(reply, named, f"reply {answer}")
        if isinstance(source, m.SiteHost) and _site_behind(plan, reply.delivered_to) == source.site:
            lines.append(f"  {source.site}'s router delivers it to {source.name}")
            reply.delivered_to = source.name
    target = static.delivered_to or forward.delivered_to or str(address)
    live = outcome(forward, reply, source.name, target, origins)
    tunnel = next((p for p in plan.edge_ports if p.connection and p.describe() == forward.delivered_to), None)
    if tunnel is not None:  # it left the cards for a site: the rest is the namespaces' and the site's
        lines.append(
            f"  beyond the cards: AWS's end of {tunnel.connection} puts it "
            + (f"into tunnel {tunnel.tunnel}" if tunnel.tunnel else "onto the link")
            + ", "
            "the site's router takes it on and the reply comes back by its own routes (`trace` follows both)"
        )
        same = _trace_takes(static, tunnel.describe())
        live = Outcome(True, "return", None) if static.accepted and same else Outcome(False, "forward", None)
    said = "accepted" if live.accepted else f"dropped on the {live.direction} path by {live.origin}"
    known = "accepted" if static.accepted else f"dropped on the {static.direction} path by {static.rule}"
    verdict = "they agree" if agrees(live, static) else "THEY DISAGREE"
    lines.append(f"live: {said}; trace: {known}: {verdict}")
    return Explained(lines, live, static)
