"""Entering a network namespace from Python, for one thread and one block: a socket made there
keeps that namespace (the flow log collector's IPFIX sockets, the cards' services)."""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000


@contextmanager
def entered(path: str):
    """Run the block in the network namespace of ``path`` (``/run/netns/NAME``,
    ``/proc/PID/ns/net``), in this thread only, then come back."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"cannot enter the network namespace of {path}")
        try:
            yield
        finally:
            libc.setns(home, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)
