"""The receive buffers of a card's packet sockets.

A card's ovs-vswitchd reads each of its "system" ports (netdev-linux, userspace datapath) through
an AF_PACKET socket, created with the kernel's default receive buffer (``net.core.rmem_default``,
208 KiB). Under verify's burst a card's one thread falls behind; a socket fills with jumbo frames
and the kernel drops what comes next: measured on a 16-instance TGW hub, 17 to 104 packets on a
socket per run, among them DNS queries lost on both tries. AWS does not lose a packet because a
host was busy, so each socket gets ``RECEIVE_BUFFER``. OVS has no setting for it and the sysctl
is the whole machine's: the buffer is set from outside, on a copy of ovs-vswitchd's descriptor
(``pidfd_getfd``, Linux 5.6), and the socket's drops are read the same way (``SO_MEMINFO``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
from dataclasses import dataclass

RECEIVE_BUFFER = 8 << 20  # bytes a socket may hold: ~900 jumbo frames, ~8 MiB more per port at worst
SYS_PIDFD_GETFD = 438  # the same number on every architecture (a syscall after 5.1)
SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; root may pass net.core.rmem_max
SO_MEMINFO = 55
MEMINFO_FIELDS = 9  # SK_MEMINFO_*: rmem_alloc, rcvbuf, ..., drops (the last)
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class PacketSocket:
    fd: int  # in ovs-vswitchd
    receive_buffer: int  # bytes
    drops: int  # packets the kernel dropped on it since it was made


def packet_socket_fds(pid: int) -> list[int]:
    """The descriptors of process ``pid`` that are packet sockets (AF_PACKET), by inode."""
    with open(f"/proc/{pid}/net/packet", encoding="utf-8") as table:
        inodes = {line.split()[-1] for line in list(table)[1:]}
    found = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and target[len("socket:[") : -1] in inodes:
            found.append(int(name))
    return sorted(found)


def _each_socket(pid: int, visit) -> list:
    """``visit(fd, socket)`` on a copy of each of ``pid``'s packet sockets; what each returned."""
    results = []
    pidfd = os.pidfd_open(pid)
    try:
        for fd in packet_socket_fds(pid):
            copy = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
            if copy < 0:
                number = ctypes.get_errno()
                if number == errno.EBADF:  # closed since it was listed
                    continue
                raise OSError(number, f"pidfd_getfd of fd {fd} in process {pid}: {os.strerror(number)}")
            with socket.socket(fileno=copy) as sock:  # closing the copy leaves the original open
                results.append(visit(fd, sock))
    finally:
        os.close(pidfd)
    return results


def _state(fd: int, sock: socket.socket) -> PacketSocket:
    info = struct.unpack(
        f"{MEMINFO_FIELDS}I", sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * MEMINFO_FIELDS)
    )
    return PacketSocket(fd, info[1], info[-1])


def widen(pid: int, size: int = RECEIVE_BUFFER) -> list[PacketSocket]:
    """Give each packet socket of ``pid`` a receive buffer of ``size`` bytes; their states."""

    def set_buffer(fd: int, sock: socket.socket) -> PacketSocket:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size // 2)  # the kernel doubles it
        return _state(fd, sock)

    return _each_socket(pid, set_buffer)


def packet_sockets(pid: int) -> list[PacketSocket]:
    """Each packet socket of ``pid``: its receive buffer and its drops."""
    return _each_socket(pid, _state)
