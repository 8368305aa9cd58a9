"""moto's EC2 backend for ``vpclab serve``: its own server on a free port of 127.0.0.1, the
design seeded into it, and the HTTP front that answers the users' calls on the API's port."""

from __future__ import annotations

import logging
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import boto3
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.ec2.models import ec2_backends
from moto.ec2.utils import generate_route_id
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
    endpoint: str = ""  # http://127.0.0.1:PORT (the port asked for, or the one port 0 got)


def _forget_orphan_acls(region: str) -> None:
    """moto keeps a deleted VPC's default NACL (its default VPC's, which the seed deletes);
    AWS has none left: forget them in moto's backend (this process holds it)."""
    backend = ec2_backends[ACCOUNT][region]
    for acl_id, acl in list(backend.network_acls.items()):
        if acl.vpc_id not in backend.vpcs:
            del backend.network_acls[acl_id]


def _no_default_subnets(regions) -> None:
    """moto takes a Region's first subnet in an AZ for the AZ's default subnet (its default
    VPC's, which the seed deletes) and gives its instances public addresses; AWS's subnets
    outside a default VPC are no AZ's default and map no public address on launch."""
    for region in regions:
        for subnets in ec2_backends[ACCOUNT][region].subnets.values():
            for subnet in subnets.values():
                subnet.default_for_az = subnet.map_public_ip_on_launch = False


def _released(regions) -> None:
    """moto keeps a terminated instance's private address taken in its subnet; AWS gives it
    back (the next launch may take it): give it back."""
    for region in regions:
        for reservation in ec2_backends[ACCOUNT][region].reservations.values():
            for instance in reservation.instances:
                if instance.state != "terminated":
                    continue
                for nic in instance.nics.values():
                    if nic.subnet is not None and nic.private_ip_address in nic.subnet._subnet_ips:
                        nic.subnet.del_subnet_ip(nic.private_ip_address)


def _published(regions, addresses: dict[str, Optional[str]]) -> dict[str, Optional[str]]:
    """moto picks a public IP of its own when it launches or starts an instance; the design's
    (an address of the emulation's public block) is the one packets meet: moto is told it.
    Answers moto's own, by instance id."""
    found: dict[str, Optional[str]] = {}
    for region in regions:
        for reservation in ec2_backends[ACCOUNT][region].reservations.values():
            for instance in reservation.instances:
                if instance.id in addresses and instance.nics:
                    found[instance.id] = instance.nics[0].public_ip
                    instance.nics[0].public_ip = addresses[instance.id]
    return found


def _endpoint_routes(regions) -> None:
    """moto adds a gateway endpoint's route to the tables it is created with, but not to one
    ModifyVpcEndpoint adds (nor takes it from one removed), and its delete then fails on the
    route it never made: each gateway endpoint's route is in its tables, and only there."""
    for region in regions:
        backend = ec2_backends[ACCOUNT][region]
        for endpoint in backend.vpc_end_points.values():
            listed = endpoint.destination_prefix_list_id
            if not listed or endpoint.state == "deleted":
                continue
            for table in backend.route_tables.values():
                route_id = generate_route_id(table.id, listed)
                if table.id in endpoint.route_table_ids and route_id not in table._routes:
                    backend.create_route(
                        table.id, None, gateway_id=endpoint.id, destination_prefix_list_id=listed
                    )
                elif table.id not in endpoint.route_table_ids and route_id in table._routes:
                    del table._routes[route_id]


def _interface_addresses(regions, endpoint_id: str, by_subnet: dict[str, str]) -> None:
    """moto gives an interface endpoint's network interfaces addresses of its own (outside
    their subnets even); the design's (its subnet's first free one, as AWS gives) is told to
    moto, so describe-network-interfaces agrees with what answers."""
    for region in regions:
        backend = ec2_backends[ACCOUNT][region]
        endpoint = backend.vpc_end_points.get(endpoint_id)
        for eni_id in endpoint.network_interface_ids if endpoint is not None else []:
            eni = backend.enis.get(eni_id)
            if eni is not None and eni.subnet is not None and eni.subnet.id in by_subnet:
                eni.private_ip_address = by_subnet[eni.subnet.id]
                eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": by_subnet[eni.subnet.id]}]


def _mended(regions, action: str, answer: bytes) -> bytes:
    """After moto took a call, what it does unlike AWS mended: a new subnet is no AZ's default
    (in moto and in the answer); a terminated instance's address is free again; a gateway
    endpoint's route follows its route tables."""
    if action == "TerminateInstances":
        _released(regions)
    if action == "ModifyVpcEndpoint":
        _endpoint_routes(regions)
    if action != "CreateSubnet":
        return answer
    _no_default_subnets(regions)
    for key in (b"defaultForAz", b"mapPublicIpOnLaunch"):
        answer = answer.replace(b"<%s>true</%s>" % (key, key), b"<%s>false</%s>" % (key, key))
    return answer


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
        apply=lambda operation, arguments: lab.change(operation, **arguments),
        log=log,
        refuse=lab.refuse,
    )


def serve(
    topology: m.Topology,
    port: int,
    running: Callable[[], dict],
    apply: Callable[[str, dict], object],
    log: Callable[[str], None],
    refuse: Optional[Callable[[m.Topology], None]] = None,
) -> Served:
    """Start moto's server, seed ``topology`` into it, and answer on 127.0.0.1:``port``;
    ``refuse(topology)`` refuses a changed design the running emulation cannot carry (tried
    with every changing call before moto takes it)."""
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
        _no_default_subnets(clients)
        front = Front(
            (host, backend_port),
            ids,
            running,
            apply,
            topology.source,
            log,
            client=lambda region: clients.setdefault(region, ec2_client(endpoint, region)),
            followed=lambda action, answer: _mended(clients, action, answer),
            publish=lambda addresses: _published(clients, addresses),
            interfaces=lambda endpoint, by_subnet: _interface_addresses(clients, endpoint, by_subnet),
            refuse=refuse,
            region=topology.regions[0].name,
        )
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

    return Served(ids, seeder.not_served, stop, f"http://127.0.0.1:{listening.getsockname()[1]}")
