"""``vpclab serve``'s HTTP front: the EC2 Query API on 127.0.0.1, answered by moto's EC2
backend (its own server, on a port of its own) and followed by the running emulation.

Per request: a reading call goes to moto as it is. A changing call the emulation follows is
turned into runtime changes (``calls.changes``) and tried on a copy of the running design
first; then moto answers it, and only if moto accepts it do the changes reach the emulation
(the shell's path: Hyperplane's change API), before the answer goes back, so what the API
answered is on the cards. A call the emulation cannot follow, or one the design refuses, gets
an AWS-style error and changes nothing, in moto or on the cards.
"""

from __future__ import annotations

import http.client
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

from vpclab.errors import VpclabError
from vpclab.intent.changes import Intent

from . import calls, lifecycle, resources, transit_gateways
from .params import NEW, ApiRefusal, Ids, reads, tagged_name

PASSED = ("CreateTags", "DeleteTags")  # changing calls that change nothing vpclab emulates
HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "keep-alive"}


def _address(trial: Intent, instance: str):
    address = trial.topology.instance(instance).ip
    return None if address is None else str(address)


def error_body(code: str, message: str) -> bytes:
    """EC2's error document (what the AWS CLI and boto3 read the code and message from)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


class Front:
    """The WSGI application: ``backend`` is moto's server (host, port); ``running()`` the
    running design's data; ``apply(operation, arguments)`` sends one change to the emulation
    (raising ``VpclabError`` with a ``code`` if it refuses); ``source`` names the design."""

    def __init__(
        self,
        backend: tuple[str, int],
        ids: Ids,
        running: Callable[[], dict],
        apply: Callable[[str, dict], object],
        source: str,
        log: Callable[[str], None] = lambda line: None,
        client: Callable[[str], Any] = lambda region: None,
        region: str = "us-east-1",
        followed: Callable[[str, bytes], bytes] = lambda action, answer: answer,
        refuse: Optional[Callable] = None,
        publish: Callable[[dict], dict] = lambda addresses: {},
        interfaces: Callable[[str, dict], None] = lambda endpoint, by_subnet: None,
    ):
        """``client(region)``: a boto3 EC2 client of moto's backend; ``region``: the design's
        first Region (a call not signed for one is taken as for it); ``followed(action, answer)``:
        after moto took a changing call, its answer (mended where moto does unlike AWS)."""
        self.backend, self.ids, self.running, self.apply = backend, ids, running, apply
        self.source, self.log, self.client, self.region = source, log, client, region
        self.followed, self.refuse, self.publish, self.interfaces = followed, refuse, publish, interfaces
        self.changing = threading.Lock()  # one changing call at a time: tried, answered, applied

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action", "")
        if not action or reads(action):
            status, headers, answer = self._forward(environ, body)
            return self._answer(start_response, status, answer, headers)
        with self.changing:
            return self._change(environ, start_response, action, params, body)

    def _change(self, environ, start_response, action: str, params: dict, body: bytes):
        region = lifecycle.signed_region(environ.get("HTTP_AUTHORIZATION", ""), self.region)
        try:
            if action == "AllocateAddress":  # an address of the emulation's public block
                params = resources.address_for(params, self.ids, self._public_addresses())
                body = urlencode(params).encode()
            if action == "CreateVpc":
                self._in_design(region)
            planned = self._plan(action, params)
        except ApiRefusal as refusal:
            self.log(f"*** {action}: refused ({refusal.code}): {refusal.message}")
            return self._answer(start_response, refusal.status, error_body(refusal.code, refusal.message))
        if action == "RunInstances":  # one call per instance, at the design's address
            addresses = [arguments.get("ip") for _, arguments in planned]
            answers = [
                self._forward(environ, urlencode(one).encode())
                for one in lifecycle.per_instance(params, addresses)
            ]
            failed = next((a for a in answers if a[0] != 200), None)
            status, headers, _ = failed or answers[0]
            answer = failed[2] if failed else lifecycle.merged([a[2] for a in answers])
        else:
            status, headers, answer = self._forward(environ, body)
        if status == 200:
            answer = self.followed(action, answer)
        if status == 200 and action in calls.CREATED:
            planned = self._created(action, params, planned, answer)
        if status == 200 and action == "CreateVpc" and planned:
            lifecycle.record_vpc(
                self.ids,
                planned[0][1]["name"],
                lifecycle.vpc_defaults(
                    self.client(region), self.ids.id_of("vpc", planned[0][1]["name"]) or ""
                ),
            )
        if status == 200 and action == "CreateTransitGateway":
            planned, unwanted = transit_gateways.created(planned, answer, self.ids)
            if unwanted:  # moto made a default route table the call did not ask for
                self.client(region).delete_transit_gateway_route_table(TransitGatewayRouteTableId=unwanted)
        if status == 200 and action == "RunInstances":
            planned = lifecycle.named_launches(planned, answer, params, self.running(), self.ids)
        if status == 200 and action == "StopInstances":  # an Elastic IP (moto's) stays
            planned = [
                (op, {**a, "keep_public_ip": self._elastic(region, a["instance"])}) for op, a in planned
            ]
        if status == 200 and planned:
            try:
                for operation, arguments in planned:
                    self.apply(operation, arguments)
            except VpclabError as error:  # the design took it a moment ago: the run changed since
                code = getattr(error, "code", "InternalError")
                return self._answer(start_response, 500, error_body("InternalError", f"{code}: {error}"))
            self.log(f"*** {action}: {len(planned)} change(s) on the cards")
        if status == 200 and action == "CreateTransitGatewayVpcAttachment":
            self._mirror_propagation(region, planned[0][1])
        if status == 200 and action in ("RunInstances", "StartInstances"):
            answer = self._public_ips(planned, answer)
        if status == 200 and action in ("CreateVpcEndpoint", "ModifyVpcEndpoint") and planned:
            self._interface_addresses(planned[0][1]["name"])
        if status == 200 and action == "DeleteVpcEndpoints":
            for _, arguments in planned:
                self.ids.forget("vpc_endpoint", arguments["name"])
        if status == 200 and action == "TerminateInstances":
            for _, arguments in planned:
                self.ids.forget("instance", arguments["instance"])
                self.ids.forget("network_interface", arguments["instance"])
        return self._answer(start_response, status, answer, headers)

    def _interface_addresses(self, endpoint: str) -> None:
        """An interface endpoint's network interfaces at the design's addresses, in moto too."""
        topology = Intent(self.source, self.running()).topology
        by_subnet = {}
        for stand_in in (i for i in topology.instances if i.endpoint == endpoint):
            subnet_id = self.ids.id_of("subnet", (stand_in.vpc, stand_in.subnet))
            if subnet_id is not None:
                by_subnet[subnet_id] = str(stand_in.ip)
        aws_id = self.ids.id_of("vpc_endpoint", endpoint)
        if by_subnet and aws_id is not None:
            self.interfaces(aws_id, by_subnet)

    def _elastic(self, region: str, instance: str) -> bool:
        """Does an Elastic IP stay with the instance (moto holds one associated with it)?"""
        aws_id = self.ids.id_of("instance", instance)
        found = self.client(region).describe_addresses(Filters=[{"Name": "instance-id", "Values": [aws_id]}])
        return bool(found["Addresses"])

    def _public_ips(self, planned: list, answer: bytes) -> bytes:
        """The public IPs the design gave the instances the call launched or started, told to
        moto (and written in the answer) in place of moto's own."""
        topology = Intent(self.source, self.running()).topology
        addresses = {}
        for _, arguments in planned:
            name = arguments.get("name") or arguments.get("instance")
            aws_id = self.ids.id_of("instance", name)
            if aws_id is not None:
                address = topology.instance(name).public_ip
                addresses[aws_id] = str(address) if address is not None else None
        for aws_id, mine in self.publish(addresses).items():
            if mine and addresses.get(aws_id):
                answer = answer.replace(f">{mine}<".encode(), f">{addresses[aws_id]}<".encode())
        return answer

    def _mirror_propagation(self, region: str, attachment: dict) -> None:
        """moto associates a new attachment with the default route table but does not
        propagate it there; AWS (and the design) does: tell moto, so describe-* agrees."""
        tgw = next(t for t in self.running().get("transit_gateways", []) if t["name"] == attachment["tgw"])
        table = tgw.get("propagation_default_route_table")
        if table:
            self.client(region).enable_transit_gateway_route_table_propagation(
                TransitGatewayRouteTableId=self.ids.id_of("tgw_route_table", (tgw["name"], table)),
                TransitGatewayAttachmentId=self.ids.id_of(
                    "tgw_attachment", (tgw["name"], attachment["name"])
                ),
            )

    def _in_design(self, region: str) -> None:
        """A VPC is created in a Region the design has (the call's, as it was signed)."""
        running = self.running()
        regions = [r["name"] for r in running.get("regions", [])] or [self.region]
        if region not in regions:
            raise ApiRefusal(
                "UnsupportedOperation",
                f"the call is for Region {region}; vpclab's design has {', '.join(regions)} "
                "(set the client's region, or list the Region under 'regions:' in the design)",
            )

    def _created(self, action: str, params: dict, planned: list, answer: bytes) -> list:
        """A create call's object is known by the id moto answered with: the design names it
        by its Name tag, or by that id (an internet gateway or an Elastic IP changes nothing
        until attached or associated: only its name, or its address, is kept)."""
        kind, tag, key = calls.CREATED[action]
        found = re.search(rf"<{tag}>([^<]+)</{tag}>".encode(), answer)
        if found is None:
            return planned
        aws_id = found.group(1).decode()
        named = [(op, {k: aws_id if v == NEW else v for k, v in args.items()}) for op, args in planned]
        arguments = named[-1][1] if named else {"name": tagged_name(params) or aws_id, **params}
        self.ids.add(kind, key(arguments), aws_id)
        return named

    def _public_addresses(self) -> set[str]:
        """The public addresses the running design gives out (instances', NAT gateways',
        internet hosts')."""
        topology = Intent(self.source, self.running()).topology
        found = [str(i.public_ip) for i in topology.instances if i.public_ip is not None]
        found += [str(n.public_ip) for n in topology.nat_gateways] + [
            str(h.ip) for h in topology.internet_hosts
        ]
        return set(found)

    def _plan(self, action: str, params: dict) -> list:
        """The changes of a changing call, tried on a copy of the running design; none for a
        call that changes nothing emulated."""
        if action in PASSED:
            return []
        running = self.running()  # one look at the running design (the controller's API)
        planned = calls.changes(action, params, self.ids, running)
        trial = Intent(self.source, running)
        trial.refuse = self.refuse  # what the running emulation cannot carry, refused before moto
        try:
            for operation, arguments in planned:
                trial.apply(operation, **arguments)
        except VpclabError as error:
            raise ApiRefusal(error.code, f"vpclab's design refuses it: {error}") from None
        if action == "RunInstances":  # the addresses the design gives them
            planned = [(op, {**args, "ip": _address(trial, args["name"])}) for op, args in planned]
        return planned

    def _forward(self, environ, body: bytes) -> tuple[int, list, bytes]:
        host, port = self.backend
        connection = http.client.HTTPConnection(host, port, timeout=30)
        path = environ.get("PATH_INFO", "/") or "/"
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            connection.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
            reply = connection.getresponse()
            answer = reply.read()
            kept = [(k, v) for k, v in reply.getheaders() if k.lower() not in HOP_HEADERS]
            return reply.status, kept, answer
        finally:
            connection.close()

    @staticmethod
    def _answer(start_response, status: int, body: bytes, headers: list | None = None):
        reason = http.client.responses.get(status, "")
        sent = [*(headers or [("Content-Type", "text/xml")]), ("Content-Length", str(len(body)))]
        start_response(f"{status} {reason}", sent)
        return [body]
