"""A client of Hyperplane's JSON API (127.0.0.1), shared by the CLI and the experiments."""

from __future__ import annotations

import json
import socket

from vpclab.errors import OperationFailed


class ApiError(OperationFailed):
    """The controller refused a request (``code``: its AWS-style error code), or could not be
    reached (``Unreachable``)."""

    def __init__(self, message: str, code: str = "Unreachable"):
        super().__init__(message)
        self.code = code


class HyperplaneClient:
    def __init__(self, port: int, timeout: float = 10.0):
        self.port, self.timeout = port, timeout

    def call(self, command: str, **fields) -> dict:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as sock:
                sock.sendall((json.dumps({"command": command, **fields}) + "\n").encode())
                answer = json.loads(sock.makefile("r").readline() or "{}")
        except OSError as error:
            raise ApiError(f"cannot reach the controller on 127.0.0.1:{self.port}: {error}") from None
        if not answer.get("ok"):
            raise ApiError(
                answer.get("error", "no answer from the controller"), answer.get("code", "NoAnswer")
            )
        return answer

    def change(self, operation: str, **arguments) -> dict:
        """Apply a runtime change; returns the flows changed per card and the elapsed time."""
        return self.call("change", operation=operation, arguments=arguments)
