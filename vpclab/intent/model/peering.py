"""vpclab's model: peering."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peering:
    origin: str
    name: str
    requester: str
    accepter: str
    deleted: bool = False  # a deleted peering leaves its routes in state blackhole

    def other(self, vpc: str) -> str:
        return self.accepter if vpc == self.requester else self.requester

    def joins(self, vpc_a: str, vpc_b: str) -> bool:
        return {vpc_a, vpc_b} == {self.requester, self.accepter}
