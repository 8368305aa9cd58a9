"""The ``vpclab`` command: check, trace (and the live commands of the emulation)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

import yaml

from controller.compiler.matches import UNCARRIED, uncarried
from experiments import catalog
from experiments.flowlogs import Alarm
from experiments.harness import Scenario
from nitro_switch import attach
from nitro_switch.clean import clean_orphans, clean_runs, live_run, run_names
from nitro_switch.server import DATAPATH_PROFILES, RunningCard
from nitro_switch.sites import way_to
from vpclab import designs
from vpclab.errors import InvalidInput, VpclabError
from vpclab.fuzz.run import fuzz
from vpclab.inspection.why import explain
from vpclab.intent import model as m
from vpclab.intent.changes import Intent
from vpclab.intent.document import load_document
from vpclab.intent.errors import TopologyError, parse_origin
from vpclab.intent.loader import load_topology
from vpclab.intent.origins import aws_id
from vpclab.layout.names import Names
from vpclab.layout.plan import Plan
from vpclab.oracle.reach import reach
from vpclab.oracle.trace import trace
from vpclab.ui import reach_view
from vpclab.ui.arguments import (
    UsageError,
    dns_note,
    positive,
    resolve_destination,
    resolve_source,
    trace_arguments,
    traffic_arguments,
)
from vpclab.ui.importing import add_import_parser, buildable
from vpclab.ui.render import render_verdict, summary
from vpclab.ui.session import serve, up
from vpclab.verify import report, verify


class _ClosedPipeStdout:
    """sys.stdout, but a reader that went away (`vpclab reach T | head -1`) ends the command
    once, as SIGPIPE would: the first failed write raises BrokenPipeError, and from then on
    standard output is /dev/null, so what a tear-down prints on its way out cannot fail again."""

    def __init__(self, stream):
        self._stream = stream

    def _guarded(self, method, *arguments):
        try:
            return method(*arguments)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
            raise

    def write(self, text):
        return self._guarded(self._stream.write, text)

    def flush(self):
        return self._guarded(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None) -> int:
    stdout, sys.stdout = sys.stdout, _ClosedPipeStdout(sys.stdout)
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
    except BrokenPipeError:
        return 128 + signal.SIGPIPE
    finally:
        sys.stdout = stdout


def _run(argv) -> int:
    args = _parser().parse_args(argv)
    # `kill PID` tears the emulation down as Ctrl-C does, instead of leaving it behind
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        return args.run(args)
    except VpclabError as error:  # every kind's exit code: vpclab/errors.py
        print(error.report(args.command), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # Ctrl-C; whatever was built is already torn down
        print(f"vpclab {args.command}: interrupted; everything it built is removed", file=sys.stderr)
        return 130


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--datapath-profile",
        choices=sorted(DATAPATH_PROFILES),
        default="standard",
        help="the Nitro cards' ports: standard (sockets) or afxdp (AF_XDP: faster TCP, 73 MiB more a port)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpclab", description="Emulate AWS VPC networking.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a topology file")
    check.add_argument("topology")
    check.set_defaults(run=run_check)
    tracer = commands.add_parser("trace", help="follow a connection statically (no network)")
    tracer.add_argument(
        "topology", help="a design file, or the name of a running design (its runtime changes too)"
    )
    tracer.add_argument("src", help="source instance name")
    tracer.add_argument("dst", help="destination instance name or IP (IPv4 or IPv6)")
    tracer.add_argument(
        "-6",
        dest="ipv6",
        action="store_true",
        help="use the IPv6 addresses of SRC and DST when they are names (as ping -6)",
    )
    tracer.add_argument(
        "--protocol",
        default=None,
        help="tcp, udp, icmp (icmpv6 over IPv6) or a number (default: tcp with --port, else icmp)",
    )
    tracer.add_argument("--port", type=int, help="destination port (tcp/udp)")
    tracer.add_argument(
        "--source-port",
        type=int,
        help="pin the client's source port (default: every port of 32768-60999 must pass)",
    )
    tracer.add_argument("--source-ip", help="send with this source address (spoofing test)")
    tracer.add_argument(
        "--size", type=int, help="the request's IP length in bytes (a path with a smaller MTU drops it)"
    )
    tracer.add_argument("--json", action="store_true", help="print the verdict as JSON")
    tracer.set_defaults(run=run_trace)
    reacher = commands.add_parser("reach", help="every instance pair's verdict at once (no network)")
    reacher.add_argument(
        "topology", nargs="?", help="a design file or a running design's name (or use --diff A B)"
    )
    reacher.add_argument("--protocol", default=None, help="tcp, udp, icmp or a number (default: as trace)")
    reacher.add_argument(
        "-6", dest="ipv6", action="store_true", help="every pair at their IPv6 addresses (ping -6)"
    )
    reacher.add_argument("--port", type=int, help="destination port (tcp/udp)")
    reacher.add_argument("--json", action="store_true", help="every pair's verdict as JSON")
    reacher.add_argument("--png", help="write a heat map of the matrix to this file")
    reacher.add_argument("--diff", nargs=2, metavar=("A", "B"), help="the pairs that B opens or closes")
    reacher.set_defaults(run=run_reach)
    up = commands.add_parser("up", help="build the emulation and open the Mininet CLI")
    up.add_argument("topology")
    up.add_argument("--no-cli", action="store_true", help="stay up until Ctrl-C, no CLI")
    up.add_argument("--script", help="run the shell commands of this file, then tear down")
    add_profile_option(up)
    up.add_argument(
        "--flow-logs",
        metavar="DIR",
        help="write the VPC Flow Logs there (one file per flow log; a design without "
        "`flow_logs:` gets one per VPC, every verdict, a record a second)",
    )
    up.add_argument(
        "--propagation-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="a runtime change reaches the cards this long after the controller accepts it "
        "(replay a change at AWS's speed, e.g. 18; default 0)",
    )
    up.set_defaults(run=run_up)
    server = commands.add_parser(
        "serve", help="build the emulation and answer the EC2 API on 127.0.0.1 (the calls change it live)"
    )
    server.add_argument(
        "topology",
        nargs="?",
        help="the design to start from (default: an empty one, named api: two servers, one internet host)",
    )
    server.add_argument(
        "--port", type=int, default=4566, help="the API's port (default 4566, as local AWS emulators)"
    )
    server.add_argument("--no-cli", action="store_true", help="no shell: stay up until Ctrl-C")
    server.add_argument("--script", help="run the shell commands of this file, then tear down")
    add_profile_option(server)
    server.set_defaults(run=run_serve)
    entering = commands.add_parser(
        "exec", help="run a command in a host of a running design: vpclab exec [RUN] HOST -- COMMAND..."
    )
    entering.add_argument("words", nargs=argparse.REMAINDER, metavar="[RUN] HOST -- COMMAND")
    entering.set_defaults(run=run_exec)
    demo = commands.add_parser(
        "demo", help="open the five-minute tour's design live (shipped in the package)"
    )
    demo.add_argument("--script", help="run the shell commands of this file, then tear down")
    demo.set_defaults(run=run_demo)
    verifier = commands.add_parser("verify", help="probe every instance pair live, compare with trace")
    verifier.add_argument("topology")
    verifier.add_argument("--json", action="store_true", help="print the report as JSON")
    verifier.add_argument(
        "--after",
        metavar="CHANGES.json",
        help="apply these runtime changes (a JSON list of {operation, ...}) first; verify the result",
    )
    verifier.add_argument(
        "--seed", type=int, default=0, help="seed of the ports chosen in each segment (and of a sample)"
    )
    verifier.add_argument(
        "--sample",
        type=positive,
        metavar="K",
        help="probe K ordered pairs, spread over the equivalence classes, not every pair (large designs)",
    )
    add_profile_option(verifier)
    verifier.set_defaults(run=run_verify)
    fuzzer = commands.add_parser("fuzz", help="random topologies through check and verify; mismatches shrunk")
    fuzzer.add_argument("--seeds", type=int, default=10, help="how many topologies (default 10)")
    fuzzer.add_argument("--start", type=int, default=0, help="the first seed (default 0)")
    fuzzer.add_argument("--out", default="fuzz-results", help="where mismatches are saved")
    fuzzer.set_defaults(run=run_fuzz)
    experiment = commands.add_parser("experiment", help="run a failure-injection or attack experiment")
    experiment.add_argument("scenario", nargs="?", help="a scenario name (see --list) or a .py file")
    experiment.add_argument("--list", action="store_true", help="list the scenarios")
    experiment.add_argument("--topology", help="run it on this topology instead of its own")
    experiment.add_argument("--seed", type=int, default=0)
    experiment.add_argument(
        "--out", help="folder for report.json and the picture (default: results/SCENARIO-seedN)"
    )
    experiment.add_argument(
        "--alarm",
        metavar="reject-rate>N/s",
        help="mark when an alarm on the flow logs' REJECTed packets per second would have fired",
    )
    experiment.set_defaults(run=run_experiment)
    asker = commands.add_parser(
        "why",
        help="one packet through a running design's real flows, compared with trace",
        description="ovs-appctl ofproto/trace on the sender's card of a running emulation (`vpclab up` "
        "in another terminal), over the tunnel to the receiver's, every flow with its YAML object; then "
        "the reply; exit 0 if the real flows decide like `trace`, 1 if not.",
    )
    asker.add_argument("target", metavar="TOPO|NAME", help="the running topology (its file or its name)")
    asker.add_argument("source", metavar="SRC", help="an instance")
    asker.add_argument("destination", metavar="DST", help="an instance, or an address")
    asker.add_argument("--protocol", help="tcp (with --port), udp, icmp (without) or a number")
    asker.add_argument("--port", type=int, help="the destination port (tcp, udp)")
    asker.add_argument("-6", dest="ipv6", action="store_true", help="at the IPv6 addresses (as ping -6)")
    asker.set_defaults(run=run_why)
    cleaner = commands.add_parser(
        "clean",
        help="remove what crashed runs left behind (live runs only with --force)",
        description="With no argument: every run whose vpclab process is gone. "
        "With TOPO (a file) or NAME (a topology name): only that run.",
    )
    cleaner.add_argument("target", nargs="?", metavar="TOPO|NAME")
    cleaner.add_argument("--force", action="store_true", help="also remove runs that are still live")
    cleaner.set_defaults(run=run_clean)
    add_import_parser(commands)
    return parser


def live_buildable(path: str) -> m.Topology:
    """A buildable topology the live emulation carries (see ``uncarried``)."""
    topology = buildable(path)
    found = uncarried(topology)
    if found:
        origin, target = found
        document = load_document(path)
        raise TopologyError(path, [document.problem(parse_origin(origin), UNCARRIED.format(target=target))])
    return topology


def run_check(args) -> int:
    topology = buildable(args.topology)
    print(summary(topology))
    return 0


def design(target: str) -> tuple[m.Topology, dict]:
    """A design file, or the running design of that name (``vpclab up``/``serve``, with its
    runtime changes); the topology and its YAML data."""
    if not os.path.isfile(target) and live_run(Names(target)) is not None:
        intent, _ = Intent.load(Names(target).intent_file)
        return intent.topology, intent.data
    topology = load_topology(target)
    with open(target, encoding="utf-8") as handle:
        return topology, yaml.safe_load(handle)


def run_trace(args) -> int:
    topology, data = design(args.topology)
    arguments = trace_arguments(topology, args)
    verdict = trace(topology, **arguments)
    resolved = dns_note(topology, args.dst, arguments["source"], args.ipv6)
    ids = lambda origin: aws_id(data, origin)  # the AWS ids `vpclab import` kept
    if args.json:
        found = verdict.as_dict()
        for hop in found["hops"]:
            if hop["object"] and ids(hop["object"]):
                hop["aws_id"] = ids(hop["object"])
        if resolved:
            found["dns"] = resolved
        print(json.dumps(found, indent=2))
    else:
        if resolved:
            print(f"dns      {resolved}")
        print(render_verdict(verdict, ids))
    return 0 if verdict.accepted else 1


def run_reach(args) -> int:
    if bool(args.topology) == bool(args.diff):
        raise UsageError("name a topology, or --diff A B (two topologies), not both")
    protocol, port = traffic_arguments(args, args.ipv6)
    traffic = m.protocol_label(protocol) + (f"/{port}" if port is not None else "")
    traffic += " over IPv6" if args.ipv6 and protocol not in m.ICMP_PROTOCOLS else ""
    if args.diff:
        before, after = (reach(load_topology(path), protocol, port, args.ipv6) for path in args.diff)
        turned = reach_view.diff(before, after)
        if args.json:
            print(json.dumps(reach_view.diff_json(turned), indent=2))
        else:
            print(reach_view.render_diff(turned, traffic))
        return 0
    topology, _ = design(args.topology)
    found = reach(topology, protocol, port, args.ipv6)
    if args.json:
        print(json.dumps(reach_view.as_json(topology, found, protocol, port), indent=2))
    else:
        print(reach_view.render_text(topology, found, traffic))
    if args.png:
        reach_view.heat_map(topology, found, traffic, args.png)
        print(f"heat map: {args.png}", file=sys.stderr if args.json else sys.stdout)
    return 0


def run_up(args) -> int:
    return up(
        live_buildable(args.topology),
        cli=not args.no_cli,
        script=args.script,
        profile=args.datapath_profile,
        flow_logs=args.flow_logs,
        propagation_delay=args.propagation_delay,
    )


def run_exec(args) -> int:
    words = list(args.words)
    if "--" not in words or not 1 <= words.index("--") <= 2 or words.index("--") == len(words) - 1:
        raise InvalidInput(
            "usage: vpclab exec [RUN] HOST -- COMMAND... (e.g. vpclab exec web1 -- ping -c 1 db1)"
        )
    split = words.index("--")
    place, command = words[:split], words[split + 1 :]
    _, pid = attach.host_pid(place[0] if len(place) == 2 else None, place[-1])
    return attach.run_in(pid, command)


def run_serve(args) -> int:
    return serve(
        live_buildable(args.topology or str(designs.bundled(designs.EMPTY))),
        args.port,
        profile=args.datapath_profile,
        cli=not args.no_cli,
        script=args.script,
    )


# What to type first in `vpclab demo`: each is true of the tour's design (a live test runs them).
DEMO_TRY = (
    ("web2 ping -c 1 build1", "prod reaches dev across the peering (build-sg admits ICMP from prod)"),
    ("build1 ping -c 1 -W 1 web1", "dev cannot ping prod: web-sg admits only tcp/443"),
    ("flows web1 --drops --hits", "the drop flow on web1's card that counted that ping"),
    ("trace build1 web1 tcp 443", "why build1 reaches web1 on 443 (web-sg admits build-sg)"),
    ("help", "every verb; exit (or Ctrl-D) tears it all down"),
)


def run_demo(args) -> int:
    topology = live_buildable(str(designs.bundled(designs.TOUR)))
    width = max(len(command) for command, _ in DEMO_TRY)
    print(f"*** vpclab demo: '{topology.name}', two VPCs joined by a peering (the five-minute tour's design)")
    print("*** try first:")
    for command, what in DEMO_TRY:
        print(f"***   {command:{width}s}  {what}")
    return up(topology, script=args.script)


def run_verify(args) -> int:
    topology = live_buildable(args.topology)
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    changes, intent = [], None
    if args.after:
        changes = read_changes(args.after)
        intent = Intent.from_file(args.topology)
    verification = verify(
        topology,
        log=log,
        seed=args.seed,
        changes=changes,
        intent=intent,
        sample=args.sample,
        profile=args.datapath_profile,
    )
    print(report(verification, args.json))
    return 0 if verification.agrees else 1


def read_changes(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as handle:
            changes = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: {error}") from None
    if not isinstance(changes, list):
        changes = [changes]
    return changes


def run_fuzz(args) -> int:
    outcomes = fuzz(args.seeds, args.start, Path(args.out), log=lambda line: print(line, flush=True))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def run_experiment(args) -> int:
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
    alarm = None
    if args.alarm:
        if not isinstance(scenario, Scenario):
            raise UsageError(f"--alarm marks the timeline of a probe experiment; {args.scenario} has none")
        try:
            alarm = Alarm.parse(args.alarm)
        except ValueError as error:
            raise UsageError(str(error)) from None
    report = scenario.execute(args.topology, args.seed, args.out, alarm=alarm)
    print("\n".join(scenario.summary(report)))
    return 0 if report["as_expected"] else 1


def run_why(args) -> int:
    name = load_topology(args.target).name if os.path.isfile(args.target) else args.target
    names = Names(name)
    if live_run(names) is None:
        raise UsageError(f"no running emulation of topology '{name}' here (start one: vpclab up TOPO)")
    intent, _ = Intent.load(names.intent_file)  # the running design, runtime changes included
    topology = intent.topology
    source = resolve_source(topology, args.source)
    address = resolve_destination(topology, args.destination, source, args.ipv6)
    entry = None
    if isinstance(source, m.SiteHost):
        entry = way_to(names, Plan(topology), source.site, str(address))
        if entry is None:
            raise UsageError(f"{source.site}'s router has no route to {address} by a tunnel or link")
    elif not isinstance(source, m.Instance):
        raise UsageError("why follows packets from an instance or a site's host (not from the internet)")
    protocol, port = traffic_arguments(args, address.version == 6)
    cards = [server.name for server in topology.servers] + (
        [m.INTERNET_CARD] if topology.has_internet else []
    )
    running = {card: RunningCard(names, card) for card in cards}
    explained = explain(topology, intent.data, running, source, address, protocol, port, entry)
    print("\n".join(explained.lines))
    return 0 if explained.agree else 1


def run_clean(args) -> int:
    if os.geteuid() != 0:
        raise UsageError("it removes network namespaces and interfaces: run it as root")
    names = run_names()
    if args.target:
        name = load_topology(args.target).name if os.path.isfile(args.target) else args.target
        if name not in names:
            print(f"no run of topology '{name}' on this machine")
            return 0
        names = [name]
    removed, live = clean_runs(names, force=args.force)
    if not args.target:
        for key, value in clean_orphans(keep=list(live)).items():
            removed[key] += value
    print("removed: " + ", ".join(f"{count} {what}" for what, count in removed.items()))
    for name, owner in live.items():
        if args.target and name not in names:
            continue
        print(f"left running: '{name}' (vpclab process {owner}); `vpclab clean {name} --force` removes it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
