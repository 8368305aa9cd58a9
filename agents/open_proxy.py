"""A vulnerable web tier for the imds-ssrf experiment: a small site that is also, by mistake,
an open HTTP proxy (as the 2019 breach's misconfigured WAF was). A request for a path is the
site; a request for an absolute URL (``GET http://169.254.169.254/... HTTP/1.1``, what ``curl
-x`` sends) is fetched from wherever the URL points, with the caller's method, headers and body,
from inside the VPC. It adds no ``X-Forwarded-For``.

Run inside an instance or a container: ``python -m agents.open_proxy --port 80 --log
FILE``; it prints ``listening``, and appends one JSON line per request it served to FILE.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

UPSTREAM_TIMEOUT = 2.0  # seconds the proxy waits for the server it fetches from
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
SITE = b"acme bank web tier: ok\n"


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], log_path: str):
        self.log_path, self.lock = log_path, threading.Lock()
        super().__init__(address, ProxyHandler)

    def log(self, line: str) -> None:
        with self.lock, open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class ProxyHandler(BaseHTTPRequestHandler):
    server: ProxyServer

    protocol_version = "HTTP/1.1"
    server_version = "waf"
    sys_version = ""

    def do_GET(self):
        self.handle_any()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def handle_any(self) -> None:
        started = time.time()
        url = urlsplit(self.path)
        if not url.scheme:
            return self.answer(started, 200, SITE, {})
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=UPSTREAM_TIMEOUT)
        target = url.path + (f"?{url.query}" if url.query else "")
        try:
            upstream.request(self.command, target or "/", body=body, headers=headers)
            reply = upstream.getresponse()
            content = reply.read()
        except TimeoutError:
            return self.answer(started, 504, b"upstream timed out\n", {}, upstream="timed out")
        except OSError as error:
            return self.answer(
                started, 502, f"upstream unreachable: {error}\n".encode(), {}, upstream=str(error)
            )
        finally:
            upstream.close()
        passed = {k: v for k, v in reply.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        self.answer(started, reply.status, content, passed, upstream=reply.status)

    def answer(self, started: float, status: int, body: bytes, headers: dict, **outcome) -> None:
        """Log the request (before the caller can see the answer, so the log is never behind),
        then answer it."""
        line = {
            "received": round(started, 6),
            "answered": round(time.time(), 6),
            "client": self.client_address[0],
        }
        record = {**line, "method": self.command, "url": self.path, "status": status, **outcome}
        self.server.log(json.dumps(record))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # ``answer`` logs what happened


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="a web site that is also an open proxy (for imds-ssrf)")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--log", required=True, help="a file for one JSON line per request")
    options = parser.parse_args(argv)
    with ProxyServer(("0.0.0.0", options.port), options.log) as server:
        print("listening", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
