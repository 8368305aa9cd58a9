"""vpclab's model: peering."""

from __future__ import annotations

from dataclasses import dataclass

# AWS's states of a peering connection that vpclab takes (``status:``); only an active one
# carries packets: a route to one in any other state is a blackhole
PEERING_STATES = ("pending-acceptance", "active", "rejected", "deleted")


@dataclass(frozen=True)
class Peering:
    origin: str
    name: str
    requester: str
    accepter: str
    status: str = "active"
    inter_region: bool = False  # its VPCs are in two Regions: 8500 bytes, no SG references

    @property
    def active(self) -> bool:
        return self.status == "active"

    def other(self, vpc: str) -> str:
        return self.accepter if vpc == self.requester else self.requester

    def joins(self, vpc_a: str, vpc_b: str) -> bool:
        return {vpc_a, vpc_b} == {self.requester, self.accepter}
