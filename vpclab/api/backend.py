"""moto's EC2 backend for ``vpclab serve``: its own server on a free port of 127.0.0.1, the
design seeded into it, and the HTTP front that answers the users' calls on the API's port."""

from __future__ import annotations

import logging
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.ec2.models import ec2_backends
from moto.server import ThreadedMotoServer
from werkzeug.serving import WSGIRequestHandler, make_server

from vpclab.errors import OperationFailed
from vpclab.intent import model as m

from .params import Ids
from .seed import Seeder
from .server import Front

CREDENTIALS = {"aws_access_key_id": "vpclab", "aws_secret_access_key": "vpclab"}  # moto takes any


class QuietHandler(WSGIRequestHandler):
    """The front logs what it does itself (``log``), not every request."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class Served:
    ids: Ids
    not_served: list[str]
    stop: Callable[[], None]


def _forget_orphan_acls(region: str) -> None:
    """moto keeps a deleted VPC's default NACL (its default VPC's, which the seed deletes);
    AWS has none left: forget them in moto's backend (this process holds it)."""
    backend = ec2_backends[ACCOUNT][region]
    for acl_id, acl in list(backend.network_acls.items()):
        if acl.vpc_id not in backend.vpcs:
            del backend.network_acls[acl_id]


def _listening(port: int) -> socket.socket:
    """The API's socket on 127.0.0.1:``port``, or what to do when the port is taken."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(("127.0.0.1", port))
    except OSError as error:
        listening.close()
        raise OperationFailed(
            f"cannot answer on 127.0.0.1:{port}: {error.strerror} (another local AWS emulator? "
            "choose another with --port)"
        ) from None
    listening.listen(128)
    return listening


def ec2_client(endpoint: str, region: str):
    return boto3.client("ec2", region_name=region, endpoint_url=endpoint, **CREDENTIALS)


def serve_emulation(lab, port: int, log: Callable[[str], None]) -> Served:
    """``serve`` for a running ``Emulation``: the running design and its changes are its
    controller's (Hyperplane's API, as the shell's verbs use it)."""
    return serve(
        lab.topology,
        port,
        running=lambda: lab.api.call("intent")["data"],
        apply=lambda operation, arguments: lab.api.change(operation, **arguments),
        log=log,
    )


def serve(
    topology: m.Topology,
    port: int,
    running: Callable[[], dict],
    apply: Callable[[str, dict], object],
    log: Callable[[str], None],
) -> Served:
    """Start moto's server, seed ``topology`` into it, and answer on 127.0.0.1:``port``."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, backend_port = moto.get_host_and_port()
    endpoint = f"http://{host}:{backend_port}"
    # moto's backends live in this process: start from nothing (not from an earlier serve's)
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    clients: dict[str, Any] = {}
    seeder = Seeder(topology, lambda region: clients.setdefault(region, ec2_client(endpoint, region)))
    try:
        ids = seeder.seed()
        for region in clients:
            _forget_orphan_acls(region)
        front = Front((host, backend_port), ids, running, apply, topology.source, log)
        listening = _listening(port)  # werkzeug would exit the process on a taken port
        http = make_server(
            "127.0.0.1", port, front, threaded=True, request_handler=QuietHandler, fd=listening.fileno()
        )
    except BaseException:
        moto.stop()
        raise
    thread = threading.Thread(target=http.serve_forever, name="ec2-api", daemon=True)
    thread.start()

    def stop() -> None:
        http.shutdown()
        thread.join(timeout=5)
        moto.stop()

    return Served(ids, seeder.not_served, stop)
