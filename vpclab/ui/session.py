"""A live session: build, hand over to the user (Mininet CLI or Ctrl-C), always tear down."""

from __future__ import annotations

import signal
import threading

from nitro_switch.emulation import Emulation
from vpclab.api import backend
from vpclab.intent.model import Topology
from vpclab.ui.shell import VpcCLI


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def up(
    topology: Topology,
    cli: bool = True,
    script: str | None = None,
    profile: str = "standard",
    flow_logs: str | None = None,
    propagation_delay: float = 0.0,
) -> int:
    """``vpclab up``: SIGTERM is turned into a normal tear-down, like Ctrl-C. With ``script``
    the shell runs the commands of that file (Mininet's batch mode), then tears down.
    ``flow_logs``: the directory of the flow logs (``Emulation``'s ``flow_logs_dir``);
    ``propagation_delay``: seconds before a runtime change reaches the cards."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    emulation = Emulation(
        topology,
        log=lambda line: print(line, flush=True),
        profile=profile,
        flow_logs_dir=flow_logs,
        propagation_delay=propagation_delay,
    )
    emulation.build()
    try:
        if cli:
            VpcCLI(emulation, script=script)
        else:
            print("*** up; press Ctrl-C to tear down", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("*** tearing down", flush=True)
        emulation.teardown()
    return 0


def serve(
    topology: Topology, port: int, profile: str = "standard", cli: bool = True, script: str | None = None
) -> int:
    """``vpclab serve``: the design built, its EC2 API on 127.0.0.1:``port`` (moto's backend,
    seeded with the design), each call the emulation follows applied live; with ``cli`` the
    shell beside it (``design --yaml`` saves what the API built) until it exits, else until
    Ctrl-C or SIGTERM; then both go."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    say = lambda line: print(line, flush=True)
    emulation = Emulation(topology, log=say, profile=profile)
    emulation.build()
    served = None
    try:
        served = backend.serve_emulation(emulation, port, say)
        say(f"*** EC2 API on http://127.0.0.1:{port} ({len(served.ids.by_id)} objects of the design)")
        for line in served.not_served:
            say(f"    not in the API: {line}")
        say(
            f"    e.g. aws --endpoint-url http://127.0.0.1:{port} ec2 describe-security-groups "
            "(any credentials)" + ("" if cli else "; Ctrl-C to tear down")
        )
        if cli:
            VpcCLI(emulation, script=script)
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("*** tearing down", flush=True)
        if served is not None:
            served.stop()
        emulation.teardown()
    return 0
