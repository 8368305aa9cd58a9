"""vpclab's model: dns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DnsRecord:
    name: str  # fully qualified, lower case, without the final dot
    type: str  # A, CNAME or TXT
    values: tuple[str, ...]
    ttl: int = 300


@dataclass(frozen=True)
class HostedZone:
    """A Route 53 private hosted zone: answered by the resolvers of its VPCs only."""

    origin: str
    name: str  # lower case, without the final dot
    vpcs: tuple[str, ...]
    records: tuple[DnsRecord, ...]
