"""Build and tear down a whole emulation: underlay, servers, instances, Hyperplane.

``Emulation(topology).build()`` either returns with every Nitro card holding its flows, or
raises BuildError after removing everything it had made. Every process it starts is recorded
in the run directory, so ``vpclab clean`` can remove a crashed run's leftovers.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Optional

from agents.flowlog_collector import READY as COLLECTOR_READY
from agents.launch import Process, command
from controller.compiler.matches import refuse_uncarried
from controller.hyperplane.client import HyperplaneClient
from vpclab.intent.changes import Intent
from vpclab.intent.model import INSTANCE_MTU, INTERNET_CARD, Topology
from vpclab.layout.names import RUN_ROOT, Names
from vpclab.layout.plan import UNDERLAY_MASK, Plan

from . import sites
from .clean import clean_topology, command_line, live_run
from .commands import BuildError, run
from .hosts import InstanceHosts
from .server import PROFILE_MTU, UNDERLAY_MTU, NitroServer, require_tools

# the hosts follow these: an instance's or an AWS service's comes or goes, or goes down or up
HOST_OPERATIONS = (
    "launch-instance",
    "terminate-instance",
    "stop-instance",
    "start-instance",
    "create-vpc-endpoint",
    "modify-vpc-endpoint",
    "delete-vpc-endpoint",
)
READY_TIMEOUT = 30.0  # for the cards' flows, plus READY_PER_INSTANCE for each instance
READY_PER_INSTANCE = 0.05
PROGRESS_EVERY = 5.0  # seconds between progress lines while the cards get their flows


def shortened(items: list[str], separator: str, room: int = 12) -> str:
    """The items, or for a long list its first and last few and how many there are."""
    if len(items) <= room:
        return separator.join(items)
    return separator.join(items[:8] + ["…"] + items[-2:]) + f" ({len(items)})"


def default_flow_logs(topology: Topology) -> list[dict]:
    """One flow log per VPC, every verdict, a record a second (what ``--flow-logs`` adds)."""
    return [
        {
            "name": f"{vpc.name}-all",
            "resource": vpc.name,
            "traffic_type": "ALL",
            "max_aggregation_interval": 1,
        }
        for vpc in topology.vpcs
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def signals_held(*numbers: int):
    """Hold these signals back for the block, then act on the first that came (its own
    handler), at a point where Python's locks are whole. Only Python's handlers change: the
    processes the block starts get the signals' usual dispositions and mask."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    came: list[int] = []
    previous = {number: signal.signal(number, lambda n, frame: came.append(n)) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if came:
        signal.raise_signal(came[0])


class Emulation:
    def __init__(
        self,
        topology: Topology,
        log: Callable[[str], None] = print,
        ready_timeout: Optional[float] = None,
        profile: str = "standard",
        flow_logs_dir: Optional[str] = None,
        propagation_delay: float = 0.0,
        bgp_hold_time: int = sites.HOLD_TIME,
    ):
        """``profile``: how the cards' ports meet the kernel (``server.DATAPATH_PROFILES``).
        ``flow_logs_dir``: write the flow logs there (and, if the design has none, log every
        VPC: ``default_flow_logs``); else a design's flow logs go to the run directory.
        ``propagation_delay``: seconds the controller waits before a runtime change reaches
        the cards (AWS's control plane takes seconds; vpclab's, milliseconds)."""
        refuse_uncarried(topology)  # nothing is built for a design the cards cannot carry (IPv6)
        self.topology, self.log = topology, log
        self.ready_timeout = (
            READY_TIMEOUT + READY_PER_INSTANCE * len(topology.instances)
            if ready_timeout is None
            else ready_timeout
        )
        self.names = Names(topology.name)
        self.plan = Plan(topology)
        self.servers = [  # one card per server, and the internet's (if the design has one)
            NitroServer(
                self.names,
                name,
                self.plan.server_index[name],
                str(self.plan.underlay_ip(name)),
                UNDERLAY_MASK,
                profile,
            )
            for name in self.plan.cards
        ]
        self.mtu_limit = PROFILE_MTU.get(profile, INSTANCE_MTU)
        self.hosts = InstanceHosts(self.names, self.plan, self.mtu_limit)
        self.sites = sites.Sites(self.names, self.plan, self.hosts, {}, bgp_hold_time)
        self.controller: subprocess.Popen | None = None
        self.collector: subprocess.Popen | None = None
        self.impairments: dict = {}  # server -> faults.Impairment of its underlay link
        self.wanted_flow_logs = flow_logs_dir
        self.propagation_delay = propagation_delay
        self.flow_logs_dir = os.path.abspath(flow_logs_dir or os.path.join(self.names.run_dir, "flowlogs"))
        self.controller_port = self.api_port = 0
        self.starting: ThreadPoolExecutor | None = None  # the servers' start-up, while it runs

    # -- bring-up ----------------------------------------------------------------------------
    def build(self) -> None:
        """Build everything and wait for the flows; on failure tear down and re-raise."""
        require_tools()
        started = time.monotonic()
        os.makedirs(RUN_ROOT, exist_ok=True)
        try:
            os.mkdir(self.names.run_dir)  # atomic: of two runs of one name, one gets it
        except FileExistsError:
            raise BuildError(self._name_taken()) from None
        try:
            self.record()  # the owner first: `vpclab clean` must see this run as live at once
            self._running_intent().save(self.names.intent_file, [])
            self.start_controller()
            self.log(f"*** underlay {self.names.underlay_bridge}")
            run("ip", "link", "add", self.names.underlay_bridge, "type", "bridge")
            run("ip", "link", "set", self.names.underlay_bridge, "mtu", str(UNDERLAY_MTU), "up")
            self.build_region_links()
            self.log("*** servers: " + shortened([f"{s.name} ({s.underlay_ip})" for s in self.servers], ", "))
            self.starting = ThreadPoolExecutor(max_workers=len(self.servers))
            # a Ctrl-C inside submit() breaks the executor's own locks ("release unlocked lock"):
            # it waits until the servers are handed over
            with signals_held(signal.SIGINT, signal.SIGTERM):
                started_servers = [self.starting.submit(s.start, self.controller_port) for s in self.servers]
            self.starting.shutdown(wait=True)
            self.record()
            for future in started_servers:
                future.result()  # re-raise the first failure
            for server in self.servers:
                server.seed_neighbours(self.servers)
            if self.topology.flow_logs:
                self.start_flow_logs()
            self.log("*** instances: " + shortened([i.name for i in self.topology.instances], " "))
            if self.topology.internet_hosts:
                self.log(
                    "*** internet hosts: " + shortened([h.name for h in self.topology.internet_hosts], " ")
                )
            if self.topology.nat_gateways:
                nats = [f"{n.name} on {n.server} ({n.public_ip})" for n in self.topology.nat_gateways]
                self.log("*** NAT gateways: " + shortened(nats, ", "))
            self.hosts.create(self.servers_by_name)
            self.hosts.add_servers(self.servers)
            if self.topology.hybrid:
                self.log("*** sites: " + shortened([s.name for s in self.topology.hybrid.sites], " "))
                self.sites.cards = self.servers_by_name
                self.sites.build()
            self.record()
            self.wait_for_flows(self.ready_timeout)
            self.hosts.wait_for_card_services(self.ready_timeout)
            if self.topology.hybrid:
                self.sites.start_daemons()
                self.record()  # their PIDs too, for `vpclab clean` after a crash
            if self.sites.daemons:
                took = self.sites.wait_for_bgp(self.ready_timeout)
                self.log(f"*** BGP: {len(self.sites.daemons)} speakers converged in {took:.1f} s")
            if self.topology.hybrid.vpn_connections:
                self.sites.start_watch(self.api_port)
        except BaseException as error:
            if self.starting is not None:  # Ctrl-C may cut the wait short: let no server build on
                self.starting.shutdown(wait=True, cancel_futures=True)  # behind the tear-down
            interrupted = isinstance(error, KeyboardInterrupt)  # the user's wish, not a failure
            kept = None if interrupted else self.keep_logs()
            self.log(
                "*** bring-up "
                + ("interrupted" if interrupted else "failed")
                + "; removing what was built"
                + (f" (its logs: {kept})" if kept else "")
            )
            self.teardown()
            if isinstance(error, BuildError) and kept:
                # the run directory is gone: point at the copy of its logs instead
                raise BuildError(
                    str(error).replace(self.names.run_dir, kept)
                    + f"\n(the logs of this failed run are in {kept})"
                ) from None
            raise
        self.log(f"*** up in {time.monotonic() - started:.1f} s")

    def _running_intent(self) -> Intent:
        """The design the controller starts from: the file's, with every VPC logged if the
        user asked for flow logs and the file has none, and no instance's MTU above what the
        profile's ports carry."""
        intent = Intent.from_file(self.topology.source)
        data = copy.deepcopy(intent.data)
        if self.wanted_flow_logs and not intent.topology.flow_logs:
            data["flow_logs"] = default_flow_logs(intent.topology)
        if any(i.mtu > self.mtu_limit for i in intent.topology.instances):
            self.log(f"*** instances at MTU {self.mtu_limit} at most: the profile's ports carry no more")
            for vpc in data["vpcs"]:
                for instance in vpc.get("instances", []):
                    instance["mtu"] = min(instance.get("mtu", self.mtu_limit), self.mtu_limit)
        if data != intent.data:
            intent = Intent(intent.source, data, data)
            self.topology = intent.topology
        return intent

    def start_flow_logs(self) -> None:
        """The collector (its own process: it outlives a controller restart), then every
        instance server's card exporting its samples to it, and the internet's card when the
        design has sites (it samples the tunnels and links a site's packets take)."""
        sites = bool(self.topology.hybrid.sites)
        cards = [s for s in self.servers if s.name != INTERNET_CARD or sites]
        log = open(os.path.join(self.names.run_dir, "flowlogs.log"), "a", encoding="utf-8")
        self.collector = subprocess.Popen(
            command(Process.FLOWLOG_COLLECTOR, self.topology.name)
            + ["--out", self.flow_logs_dir, "--cards", *(s.name for s in cards)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        self.record()
        assert self.collector.stdout is not None
        said = self.collector.stdout.readline().strip()
        if said != COLLECTOR_READY:
            raise BuildError(f"the flow log collector did not start; see {self.names.run_dir}/flowlogs.log")
        for server in cards:
            server.export_flow_samples()
        logs = ", ".join(f"{f.name} ({f.traffic_type})" for f in self.topology.flow_logs)
        self.log(f"*** flow logs: {logs} -> {self.flow_logs_dir}")

    def stop_flow_logs(self) -> None:
        """Stop the collector: it writes what it still aggregates, then exits."""
        if self.collector is None or self.collector.poll() is not None:
            return
        self.collector.send_signal(signal.SIGTERM)
        try:
            output, _ = self.collector.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.collector.pid, signal.SIGKILL)
            output, _ = self.collector.communicate()
        with open(os.path.join(self.names.run_dir, "flowlogs.log"), "a", encoding="utf-8") as log:
            log.write(output)

    def _name_taken(self) -> str:
        """Why this topology's name is taken, and how to free only that run."""
        name = self.topology.name
        state = live_run(self.names)
        if state is None:
            return (
                f"a run of topology '{name}' ended without tearing down ({self.names.run_dir} is "
                f"left); `vpclab clean {name}` removes it and nothing else"
            )
        owner = state["owner"]
        return (
            f"topology '{name}' is already running: vpclab process {owner} runs {state.get('source', '?')}. "
            f"Leave that session (exit, or `kill {owner}`) to stop it; two files with the same "
            "'name:' cannot run at once (rename one)"
        )

    # -- runtime changes ---------------------------------------------------------------------
    def change(self, operation: str, **arguments) -> dict:
        """One runtime change through Hyperplane's API (its answer: the cards have its flows).
        Then the hosts follow the design: an instance launched (or an interface endpoint's
        stand-in, an AWS service's host on the internet) gets its host once its flows are on
        the cards; one that went loses its flows first, then its host, port and tracked
        connections; one stopped, its eth0, processes and tracked connections; one started,
        its eth0 back."""
        before = (dict(self.plan.instances), dict(self.plan.internet_hosts))
        answer = self.api.change(operation, **arguments)
        if operation in HOST_OPERATIONS:
            self.follow()
            self._hosts_follow(*before, operation, str(arguments.get("instance")))
            self.record()
        return answer

    def _hosts_follow(self, instances: dict, internet: dict, operation: str, instance: str) -> None:
        """Hosts launched and terminated as the design's instances and internet hosts came and
        went; the instance a stop or start names, down or up."""
        for name, local in self.plan.instances.items():
            if name not in instances:
                self.hosts.launch(local, self.servers_by_name[local.instance.server])
        gone = [local for name, local in instances.items() if name not in self.plan.instances]
        for local in gone:
            self.hosts.terminate_instance(local, self.servers_by_name[local.instance.server])
        if operation == "stop-instance":
            gone.append(self.plan.instances[instance])
            self.hosts.stop_instance(gone[-1])
        elif operation == "start-instance":
            self.hosts.start_instance(self.plan.instances[instance])
        for local in gone:  # its connections end (its zones may be an instance's launched later)
            for server in self.servers:
                server.flush_conntrack(local.zone, local.nat_zone)
        card = self.servers_by_name.get(INTERNET_CARD)
        for name, host in self.plan.internet_hosts.items():
            if name not in internet and card is not None:
                self.hosts.launch(host, card)
        for name, host in internet.items():
            if name not in self.plan.internet_hosts and card is not None:
                self.hosts.terminate_instance(host, card)

    def refuse(self, topology: Topology) -> None:
        """Refuse a changed design this emulation cannot carry (as its controller would)."""
        refuse_uncarried(topology, [server.name for server in self.servers])

    def follow(self) -> None:
        """Take the running design (the controller's) as this emulation's design and plan."""
        topology = Intent(self.topology.source, self.api.call("intent")["data"]).topology
        self.topology, self.plan = topology, Plan(topology)
        self.hosts.plan = self.plan

    def flush_conntrack(self) -> None:
        """Forget the tracked connections of every card (between probes that must not see
        each other's state)."""
        for server in self.servers:
            server.flush_conntrack()

    def socket_drops(self) -> int:
        """Packets the cards' port sockets dropped since the bring-up (a full receive buffer):
        the emulation's own loss, which no design asked for."""
        return sum(server.socket_drops() for server in self.servers)

    def keep_logs(self) -> Optional[str]:
        """Copy the run's logs (controller, OVS) to ./vpclab-failed-TOPOLOGY-TIME/ before the
        run directory goes; returns that folder (None if there was nothing to keep)."""
        kept = os.path.abspath(f"vpclab-failed-{self.topology.name}-{time.strftime('%Y%m%d-%H%M%S')}")
        for folder, _, files in os.walk(self.names.run_dir):
            for name in files:
                if name.endswith((".log", ".json")):
                    relative = os.path.relpath(folder, self.names.run_dir)
                    os.makedirs(os.path.join(kept, relative), exist_ok=True)
                    shutil.copy(os.path.join(folder, name), os.path.join(kept, relative, name))
        return kept if os.path.isdir(kept) else None

    @property
    def servers_by_name(self) -> dict[str, NitroServer]:
        return {server.name: server for server in self.servers}

    def start_controller(self) -> None:
        """Start Hyperplane (on new free ports the first time, on the same ports again after)."""
        if not self.controller_port:
            self.controller_port, self.api_port = free_port(), free_port()
        log = open(os.path.join(self.names.run_dir, "hyperplane.log"), "a", encoding="utf-8")
        self.controller = subprocess.Popen(
            command(
                Process.HYPERPLANE,
                self.names.intent_file,
                "--port",
                str(self.controller_port),
                "--api-port",
                str(self.api_port),
                "--status",
                self.names.status_file,
                "--propagation-delay",
                str(self.propagation_delay),
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.log(f"*** Hyperplane controller on 127.0.0.1:{self.controller_port} (pid {self.controller.pid})")
        self.record()

    def controller_is_up(self) -> bool:
        return self.controller is not None and self.controller.poll() is None

    def kill_controller(self) -> None:
        """SIGKILL the controller: the Nitro cards keep forwarding with the flows they have."""
        assert self.controller is not None
        os.killpg(self.controller.pid, signal.SIGKILL)
        self.controller.wait()
        os.remove(self.names.status_file)

    def restart_controller(self, timeout: float = READY_TIMEOUT, discard_changes: bool = False) -> int:
        """Start the controller again; it reconciles every card to the running design (or,
        with ``discard_changes``, to the file's); wait until all are ready. Returns the number
        of runtime changes discarded."""
        discarded = 0
        if discard_changes:
            intent, changes = Intent.load(self.names.intent_file)
            Intent(intent.source, intent.original).save(self.names.intent_file, [])
            discarded = len(changes)
        self.start_controller()
        self.wait_for_flows(timeout)
        return discarded

    def applied_intent(self) -> Intent:
        """The design the cards were last given (readable while the controller is down)."""
        return Intent.load(self.names.intent_file)[0]

    def applied_changes(self) -> list[dict]:
        """The runtime changes applied since bring-up, as the controller recorded them."""
        return Intent.load(self.names.intent_file)[1]

    @property
    def api(self):
        return HyperplaneClient(self.api_port)

    def card_status(self) -> dict:
        try:
            with open(self.names.status_file, encoding="utf-8") as handle:
                return json.load(handle).get("cards", {})
        except (OSError, ValueError):
            return {}

    @property
    def regional(self) -> bool:
        """Does the underlay have a Region-to-Region link per Region (several Regions, and
        servers that say which they are in)?"""
        return len(self.topology.regions) > 1 and any(s.region for s in self.topology.servers)

    def region_index(self, region: str) -> int:
        names = [r.name for r in self.topology.regions]
        if not self.regional or region not in names:
            raise KeyError(region)
        return names.index(region)

    def build_region_links(self) -> None:
        """Several Regions: each has its own underlay bridge, joined to the backbone (the run's
        underlay bridge) by a veth pair, its Region-to-Region link, which a fault can break;
        a server's uplink joins its Region's bridge."""
        if not self.regional:
            return
        for index, region in enumerate(self.topology.regions):
            bridge, (near, far) = self.names.region_bridge(index), self.names.region_link(index)
            self.log(f"*** Region {region.name}: underlay {bridge}, link {near} to the backbone")
            run("ip", "link", "add", bridge, "type", "bridge")
            run("ip", "link", "set", bridge, "mtu", str(UNDERLAY_MTU), "up")
            mtu = str(UNDERLAY_MTU)
            run("ip", "link", "add", near, "mtu", mtu, "type", "veth", "peer", "name", far, "mtu", mtu)
            run("ip", "link", "set", near, "master", bridge, "up")
            run("ip", "link", "set", far, "master", self.names.underlay_bridge, "up")
        regions = {s.name: s.region for s in self.topology.servers if s.region}
        for server in self.servers:
            if server.name in regions:
                server.bridge = self.names.region_bridge(self.region_index(regions[server.name]))

    def wait_for_flows(self, timeout: float) -> None:
        """Wait until the controller reports every card ready (its barrier was answered);
        while it takes long, say every few seconds how many are."""
        started = time.monotonic()
        deadline, next_word = started + timeout, started + PROGRESS_EVERY
        while time.monotonic() < deadline:
            if self.controller is None or self.controller.poll() is not None:
                raise BuildError(f"the Hyperplane controller exited; see {self.names.run_dir}/hyperplane.log")
            status = self.card_status()
            refused = [
                f"{name}: {'; '.join(card['errors'])}" for name, card in status.items() if card.get("errors")
            ]
            if refused or status.get("_controller", {}).get("error"):
                raise BuildError(
                    "the controller could not install the flows: "
                    + "; ".join(refused or [status["_controller"]["error"]])
                )
            ready = [s for s in self.servers if status.get(s.name, {}).get("ready")]
            if len(ready) == len(self.servers):
                counts = [f"{s.name} {status[s.name]['flows']}" for s in self.servers]
                self.log("*** flows installed: " + shortened(counts, ", "))
                return
            if time.monotonic() >= next_word:
                waited = time.monotonic() - started
                self.log(f"*** flows: {len(ready)} of {len(self.servers)} cards ready ({waited:.0f} s)")
                next_word += PROGRESS_EVERY
            time.sleep(0.1)
        missing = [s.name for s in self.servers if not self.card_status().get(s.name, {}).get("ready")]
        raise BuildError(
            f"Nitro cards {', '.join(missing)} did not get their flows within "
            f"{timeout:.0f} s (controller log: {self.names.run_dir}/hyperplane.log)"
        )

    def record(self) -> None:
        """Write every PID this run started, for `vpclab clean` after a crash."""
        pids = [pid for server in self.servers for pid in server.pids()]
        pids += self.hosts.pids()
        pids += self.sites.pids()
        pids += [p.pid for p in (self.controller, self.collector) if p is not None]
        state = {
            "topology": self.topology.name,
            "source": os.path.abspath(self.topology.source),
            "owner": os.getpid(),
            "owner_command": command_line(os.getpid()),
            "pids": pids,
            "hosts": {name: node.pid for name, node in self.hosts.hosts.items() if node.pid},  # vpclab exec
        }
        temporary = f"{self.names.state_file}.tmp"  # atomic: `vpclab clean` never reads half
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temporary, self.names.state_file)

    # -- tear-down ---------------------------------------------------------------------------
    def teardown(self) -> None:
        """Remove everything this emulation made (and only that), even if a step fails."""
        try:
            self.stop_flow_logs()
            self.sites.teardown()
            self.hosts.terminate()
            for process in [s.relay for s in self.servers] + [self.controller]:
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
        finally:
            clean_topology(self.names)

    def __enter__(self):
        self.build()
        return self

    def __exit__(self, *exc):
        self.teardown()
