"""An HTTPS service that names itself, and a client that calls it on a fresh connection each
time: what a PrivateLink consumer and its provider's targets run.

    python -m agents.tls_echo serve --name pay1 --port 443 --log /tmp/pay1.log
    python -m agents.tls_echo client https://api.payments.example/ --rate 20 --duration 10

The server answers every GET with its name and appends the client's address to ``--log`` (one
line a request: the source the target sees). Its certificate is a self-signed one made with
openssl for the occasion. The client prints one JSON line a request: when it started (s since
the client began, and the wall clock), whether it succeeded, who answered, and how long it
took; each request is a new TCP connection, so a load balancer picks a target for each.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit


def certificate(directory: str, name: str) -> tuple[str, str]:
    """A self-signed certificate and key for ``name`` (openssl), in ``directory``."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", key, "-out", cert, "-subj", f"/CN={name}"],
        check=True,
        capture_output=True,
    )
    return cert, key


def serve(name: str, port: int, log: str) -> None:
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"{name}\n".encode()
            with lock, open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{self.client_address[0]}\n")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: the log file says who called
            pass

    directory = tempfile.mkdtemp(prefix="vpclab-tls-")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate(directory, name))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"serving": name, "port": port}), flush=True)
    server.serve_forever()


def call(url: str, timeout: float) -> tuple[bool, str]:
    """One GET on a new connection: (succeeded, who answered or why not)."""
    parts = urlsplit(url)
    context = ssl._create_unverified_context()  # the targets' certificates are self-signed
    host = parts.hostname or "localhost"
    connection = http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout, context=context)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        body = response.read().decode().strip()
        return response.status == 200, body if response.status == 200 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as error:
        return False, type(error).__name__
    finally:
        connection.close()


def client(url: str, rate: float, duration: float, timeout: float) -> None:
    """``rate`` requests a second for ``duration`` seconds, each on its own thread (an open
    loop: a slow answer does not slow the next request)."""
    start = time.monotonic()
    lock = threading.Lock()

    def one(at: float) -> None:
        began, wall = time.monotonic(), time.time()
        ok, who = call(url, timeout)
        took = round((time.monotonic() - began) * 1000, 1)
        line = {"t": round(at, 3), "at": round(wall, 4), "ok": ok, "by": who, "ms": took}
        with lock:
            print(json.dumps(line), flush=True)

    threads = []
    n = 0
    while (due := n / rate) < duration:
        time.sleep(max(0.0, start + due - time.monotonic()))
        thread = threading.Thread(target=one, args=(due,))
        thread.start()
        threads.append(thread)
        n += 1
    for thread in threads:
        thread.join()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.tls_echo")
    verbs = parser.add_subparsers(dest="verb", required=True)
    server = verbs.add_parser("serve")
    server.add_argument("--name", required=True)
    server.add_argument("--port", type=int, default=443)
    server.add_argument("--log", required=True)
    caller = verbs.add_parser("client")
    caller.add_argument("url")
    caller.add_argument("--rate", type=float, default=10.0)
    caller.add_argument("--duration", type=float, default=5.0)
    caller.add_argument("--timeout", type=float, default=1.0)
    options = parser.parse_args(argv)
    if options.verb == "serve":
        serve(options.name, options.port, options.log)
    else:
        client(options.url, options.rate, options.duration, options.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
