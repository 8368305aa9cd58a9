"""The instance metadata service (IMDS) of one Nitro card: a real HTTP server at
169.254.169.254, in a namespace of its own that only the card's flows reach.

The card rewrites each local instance's requests to come from the instance's link-local
address (``InstancePlan.link_local``), so the service knows who asks even where VPCs overlap.
As on EC2: ``/latest/meta-data/`` (instance-id, local-ipv4, public-ipv4, mac, placement,
iam/security-credentials/ROLE with clearly fake credentials); IMDSv2 tokens from ``PUT
/latest/api/token`` (with ``X-aws-ec2-metadata-token-ttl-seconds``, 1-21600; a request carrying
``X-Forwarded-For`` is refused); ``http_tokens: required`` answers 401 without a valid token;
and the token response leaves with IP TTL ``http_put_response_hop_limit``, so one routed hop
more (a container, a proxy) than the limit and it never arrives.

``agents.card_services`` runs every card's service in one process, from the running design
(``documents``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Protocol

TOKEN_PATH = "/latest/api/token"
META_DATA = "/latest/meta-data"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TOKEN_TTL = 21600
CREDENTIAL_LIFETIME = timedelta(hours=6)


def instance_id(name: str) -> str:
    """A stable, EC2-shaped id for an instance name (i- and 17 hex digits)."""
    return "i-" + hashlib.blake2b(name.encode(), digest_size=9).hexdigest()[:17]


def documents(plan, server: str) -> dict[str, dict]:
    """What the card's service tells each local instance, by the instance's link-local
    addresses (IPv4's, and IPv6's for an instance with an IPv6 address)."""
    found = {}
    for local in plan.on_server(server):
        instance = local.instance
        subnet = plan.topology.vpc(instance.vpc).subnet(instance.subnet)
        document = {
            "name": instance.name,
            "instance-id": instance.aws_id or instance_id(instance.name),
            "local-ipv4": str(instance.ip) if instance.ip is not None else None,
            "ipv6": str(instance.ipv6) if instance.ipv6 is not None else None,
            "public-ipv4": str(instance.public_ip) if instance.public_ip else None,
            "mac": local.mac,
            "availability-zone": subnet.az,
            "iam-role": instance.iam_role,
            "http-tokens": instance.metadata.http_tokens,
            "hop-limit": instance.metadata.http_put_response_hop_limit,
        }
        if instance.ip is not None:
            found[str(local.link_local)] = document
        if instance.ipv6 is not None:
            found[str(local.link_local_v6)] = document
    return found


def fake_credentials(role: str, instance: str) -> dict:
    """Credentials shaped like STS's, fake at a glance: AccessKeyId ASIAFAKEVPCLAB..., and a
    secret and token that say so."""
    digest = hashlib.blake2b(f"{role}/{instance}".encode(), digest_size=16).hexdigest()
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "Code": "Success",
        "LastUpdated": now.isoformat().replace("+00:00", "Z"),
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAFAKEVPCLAB" + digest[:6].upper(),
        "SecretAccessKey": f"vpclab/FAKE/not-a-real-secret/{digest}",
        "Token": f"vpclab-FAKE-session-token-for-{role}-on-{instance}",
        "Expiration": (now + CREDENTIAL_LIFETIME).isoformat().replace("+00:00", "Z"),
    }


def tree(document: dict):
    """The meta-data hierarchy of one instance: directories are dicts, leaves strings."""
    entries: dict = {
        "instance-id": document["instance-id"],
        "mac": document["mac"],
        "hostname": document["name"],
        "placement": {"availability-zone": document["availability-zone"]},
    }
    for key in ("local-ipv4", "ipv6"):  # an IPv6-only instance has no local-ipv4
        if document.get(key):
            entries[key] = document[key]
    if document["public-ipv4"]:
        entries["public-ipv4"] = document["public-ipv4"]
    role = document["iam-role"]
    if role:
        credentials = json.dumps(fake_credentials(role, document["instance-id"]), indent=2)
        info = {"Code": "Success", "InstanceProfileArn": f"arn:aws:iam::000000000000:instance-profile/{role}"}
        entries["iam"] = {"info": json.dumps(info, indent=2), "security-credentials": {role: credentials}}
    return entries


def lookup(entries, path: str) -> Optional[str]:
    """The text at ``path`` under /latest/meta-data: a listing for a directory, else the leaf."""
    node = entries
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict):
        return "\n".join(f"{key}/" if isinstance(value, dict) else key for key, value in sorted(node.items()))
    return node


class Tokens:
    """IMDSv2 session tokens: who got each, and until when."""

    def __init__(self):
        self.issued: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def issue(self, client: str, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.issued[token] = (client, time.monotonic() + seconds)
        return token

    def valid(self, client: str, token: str) -> bool:
        with self.lock:
            owner, until = self.issued.get(token, ("", 0.0))
        return owner == client and time.monotonic() < until


class MetadataHandler(BaseHTTPRequestHandler):
    server: MetadataServer
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"
    sys_version = ""

    def document(self) -> Optional[dict]:
        return self.server.documents.get(self.client_address[0])

    def do_PUT(self):
        document = self.document()
        if document is None:
            return self.answer(403, "Forbidden")
        if self.path != TOKEN_PATH:
            return self.answer(404, "Not Found")
        if "X-Forwarded-For" in self.headers:  # IMDSv2 refuses what a proxy forwards
            return self.answer(403, "Forbidden")
        try:
            seconds = int(self.headers.get(TTL_HEADER, ""))
        except ValueError:
            seconds = 0
        if not 1 <= seconds <= MAX_TOKEN_TTL:
            return self.answer(400, "Bad Request")
        token = self.server.tokens.issue(self.client_address[0], seconds)
        # the response's IP TTL (IPv6: hop limit) is the hop limit: one routed hop more and it
        # never arrives
        if self.connection.family == socket.AF_INET6:
            self.connection.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, document["hop-limit"])
        else:
            self.connection.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, document["hop-limit"])
        self.answer(200, token, {TTL_HEADER: str(seconds)})

    def do_GET(self):
        document = self.document()
        if document is None:
            return self.answer(403, "Forbidden")
        token = self.headers.get(TOKEN_HEADER)
        if token is not None and not self.server.tokens.valid(self.client_address[0], token):
            return self.answer(401, "Unauthorized")
        if token is None and document["http-tokens"] == "required":
            return self.answer(401, "Unauthorized")
        path = self.path.split("?")[0]
        if path != META_DATA and not path.startswith(META_DATA + "/"):
            return self.answer(404, "Not Found")
        text = lookup(tree(document), path[len(META_DATA) :])
        if text is None:
            return self.answer(404, "Not Found")
        self.answer(200, text)

    def answer(self, status: int, text: str, headers: Optional[dict] = None) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        """One JSON line per answer: when, to which instance, what was asked, the status, and
        the reply's IP TTL (the hop limit, for a token)."""
        document = self.document() or {}
        ttl = document.get("hop-limit") if self.command == "PUT" and code == 200 else None
        record = {"time": round(time.time(), 6), "client": self.client_address[0]}
        record.update(instance=document.get("name"), method=self.command, path=self.path)
        status = None if code == "-" else int(code)
        self.server.log(json.dumps({**record, "status": status, "ttl": ttl}))

    def log_message(self, format, *args):
        self.server.log(json.dumps({"time": round(time.time(), 6), "error": format % args}))


class Documents(Protocol):
    """The documents a card's service answers with, by client address (a dict will do)."""

    def get(self, client: str, /) -> Optional[dict]: ...


class MetadataServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], documents: Documents, log=lambda line: None, tokens=None):
        self.documents, self.tokens, self.log = documents, tokens or Tokens(), log
        if ":" in address[0]:  # fd00:ec2::254
            self.address_family = socket.AF_INET6
        super().__init__(address, MetadataHandler)
