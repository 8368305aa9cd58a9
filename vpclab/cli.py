"""The ``vpclab`` command: check, trace (and the live commands of the emulation)."""
from __future__ import annotations

import argparse
import json
import sys
from ipaddress import IPv4Address, ip_address

from controller.errors import TopologyError
from controller.loader import load_topology
from controller.model import Topology
from controller.trace import trace
from controller.values import PORTED_PROTOCOLS, parse_protocol
from nitro_switch.shell import BuildError

EXIT_INVALID = 2


class UsageError(Exception):
    """A command-line argument that does not fit the topology."""


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except TopologyError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_INVALID
    except UsageError as error:
        print(f"vpclab {args.command}: {error}", file=sys.stderr)
        return EXIT_INVALID
    except BuildError as error:
        print(f"vpclab {args.command}: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpclab", description="Emulate AWS VPC networking.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a topology file")
    check.add_argument("topology")
    check.set_defaults(run=run_check)
    tracer = commands.add_parser("trace", help="follow a connection statically (no network)")
    tracer.add_argument("topology")
    tracer.add_argument("src", help="source instance name")
    tracer.add_argument("dst", help="destination instance name or IP")
    tracer.add_argument("--protocol", default=None, help="tcp, udp, icmp or a number "
                        "(default: tcp with --port, else icmp)")
    tracer.add_argument("--port", type=int, help="destination port (tcp/udp)")
    tracer.add_argument("--source-port", type=int, help="pin the client's source port "
                        "(default: every port of 32768-60999 must pass)")
    tracer.add_argument("--source-ip", help="send with this source address (spoofing test)")
    tracer.add_argument("--json", action="store_true", help="print the verdict as JSON")
    tracer.set_defaults(run=run_trace)
    up = commands.add_parser("up", help="build the emulation and open the Mininet CLI")
    up.add_argument("topology")
    up.add_argument("--no-cli", action="store_true", help="stay up until Ctrl-C, no CLI")
    up.set_defaults(run=run_up)
    verifier = commands.add_parser("verify", help="probe every instance pair live, compare with trace")
    verifier.add_argument("topology")
    verifier.add_argument("--json", action="store_true", help="print the report as JSON")
    verifier.set_defaults(run=run_verify)
    experiment = commands.add_parser("experiment", help="run a failure-injection experiment")
    experiment.add_argument("scenario", nargs="?", help="a scenario name (see --list) or a .py file")
    experiment.add_argument("--list", action="store_true", help="list the scenarios")
    experiment.add_argument("--topology", help="run it on this topology instead of its own")
    experiment.add_argument("--seed", type=int, default=0)
    experiment.add_argument("--out", help="folder for report.json and timeline.png "
                            "(default: results/SCENARIO-seedN)")
    experiment.set_defaults(run=run_experiment)
    cleaner = commands.add_parser("clean", help="remove every resource vpclab created")
    cleaner.set_defaults(run=run_clean)
    return parser


def run_check(args) -> int:
    topology = load_topology(args.topology)
    print(summary(topology))
    return 0


def summary(topology: Topology) -> str:
    counts = [(len(topology.vpcs), "VPC"), (sum(len(v.subnets) for v in topology.vpcs), "subnet"),
              (len(topology.instances), "instance"), (len(topology.servers), "server"),
              (len(topology.peerings), "peering"), (len(topology.transit_gateways), "transit gateway")]
    parts = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
    return f"{topology.source}: ok: topology '{topology.name}': {parts}"


def resolve_destination(topology: Topology, text: str) -> IPv4Address:
    try:
        return topology.instance(text).ip
    except KeyError:
        pass
    try:
        address = ip_address(text)
    except ValueError:
        raise UsageError(f"'{text}' is neither an instance of '{topology.name}' nor an IP") from None
    if address.version != 4:
        raise UsageError(f"'{text}' is IPv6; vpclab models IPv4 only")
    return address


def trace_arguments(topology: Topology, args) -> dict:
    """Turn trace's command-line arguments into keyword arguments of ``trace()``."""
    try:
        source = topology.instance(args.src)
    except KeyError:
        raise UsageError(f"no instance '{args.src}' in topology '{topology.name}'") from None
    destination = resolve_destination(topology, args.dst)
    if destination == source.ip:
        raise UsageError(f"{args.src} and {args.dst} are the same address")
    protocol_text = args.protocol or ("tcp" if args.port is not None else "icmp")
    try:
        protocol = parse_protocol(protocol_text)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if protocol is None:
        raise UsageError("trace follows one packet: name a protocol (tcp, udp, icmp or a number)")
    ported = protocol in PORTED_PROTOCOLS
    if ported and args.port is None:
        raise UsageError(f"--protocol {protocol_text} needs --port")
    if not ported and (args.port is not None or args.source_port is not None):
        raise UsageError("--port and --source-port apply to tcp and udp only")
    for name in ("port", "source_port"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= 65535:
            raise UsageError(f"--{name.replace('_', '-')} {value}: ports are 0-65535")
    source_ip = None
    if args.source_ip:
        try:
            source_ip = IPv4Address(args.source_ip)
        except ValueError:
            raise UsageError(f"--source-ip {args.source_ip!r} is not an IPv4 address") from None
    return dict(source=source, destination=destination, protocol=protocol, port=args.port,
                source_port=args.source_port, source_ip=source_ip)


def run_trace(args) -> int:
    topology = load_topology(args.topology)
    verdict = trace(topology, **trace_arguments(topology, args))
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    else:
        print(render_verdict(verdict))
    return 0 if verdict.accepted else 1


def render_verdict(verdict) -> str:
    """One readable line per hop, then the verdict."""
    lines = [f"{hop.direction:<8} {hop.stage:<15} {hop.at:<22} {hop.result:<5} {hop.detail}"
             + (f"  [{hop.object}]" if hop.object else "") for hop in verdict.hops]
    if verdict.accepted:
        lines.append(f"ACCEPTED (admitted by {verdict.rule})")
    else:
        failing = f", client ports {verdict.ports_failing}" if verdict.ports_failing else ""
        lines.append(f"DROPPED: {verdict.reason} on the {verdict.direction} path{failing} "
                     f"(decided by {verdict.rule})")
    return "\n".join(lines)


def run_up(args) -> int:
    from nitro_switch.session import up
    return up(load_topology(args.topology), cli=not args.no_cli)


def run_verify(args) -> int:
    from nitro_switch.verify import report, verify
    topology = load_topology(args.topology)
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    results = verify(topology, log=log)
    print(report(results, args.json))
    return 0 if all(result.agrees for result in results) else 1


def run_experiment(args) -> int:
    from experiments import catalog
    from experiments.harness import run
    if args.list:
        for name in catalog.names():
            print(f"{name:20s} {catalog.load(name).description}")
        return 0
    if not args.scenario:
        raise UsageError("name a scenario (see `vpclab experiment --list`) or a .py file")
    try:
        scenario = catalog.load(args.scenario)
    except (KeyError, OSError) as error:
        raise UsageError(str(error).strip("'\"")) from None
    report = run(scenario, args.topology, args.seed, args.out)
    for pair in report["pairs"]:
        window = (f"lost {pair['lost']}/{pair['sent']}, detected after {pair['time_to_detect']} s, "
                  f"recovered {pair['time_to_recover']} s after restore") if pair["lost"] else \
            f"no loss ({pair['sent']} probes)"
        print(f"{pair['pair']:28s} {window}")
    return 0


def run_clean(args) -> int:
    from nitro_switch.clean import clean_all
    removed = clean_all()
    print("removed: " + ", ".join(f"{count} {what}" for what, count in removed.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
