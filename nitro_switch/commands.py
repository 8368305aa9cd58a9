"""Running commands for the emulation, with errors that say which command failed."""

from __future__ import annotations

import subprocess
from typing import Optional

from vpclab.errors import OperationFailed


class BuildError(OperationFailed):
    """A step of building the emulation failed; the message says which and why."""


def run(
    *command: str,
    netns: Optional[str] = None,
    env: Optional[dict] = None,
    check: bool = True,
    stdin: Optional[str] = None,
) -> str:
    """Run ``command`` (inside network namespace ``netns`` if given); return its stdout."""
    full = (["ip", "netns", "exec", netns] if netns else []) + list(command)
    result = subprocess.run(full, capture_output=True, text=True, env=env, timeout=60, input=stdin)
    if check and result.returncode != 0:
        raise BuildError(f"`{' '.join(full)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def ip_batch(lines: list[str], netns: Optional[str] = None) -> None:
    """Many `ip` commands in one process (``ip -batch``), optionally in a namespace."""
    if lines:
        run("ip", *(["-netns", netns] if netns else []), "-batch", "-", stdin="\n".join(lines) + "\n")
