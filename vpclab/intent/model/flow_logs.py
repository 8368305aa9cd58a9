"""vpclab's model: flow logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .instances import Instance

TRAFFIC_TYPES = ("ALL", "ACCEPT", "REJECT")


DEFAULT_AGGREGATION_INTERVAL = 600  # seconds, AWS's default


@dataclass(frozen=True)
class FlowLog:
    """A VPC Flow Log: the records of the interfaces of a VPC, a subnet or an instance."""

    origin: str
    name: str
    vpc: str
    subnet: Optional[str] = None  # the whole VPC if None (and no instance)
    instance: Optional[str] = None
    traffic_type: str = "ALL"  # ALL | ACCEPT | REJECT
    max_aggregation_interval: int = DEFAULT_AGGREGATION_INTERVAL  # seconds

    def covers(self, instance: Instance) -> bool:
        """Does this flow log record ``instance``'s interface?"""
        if self.instance is not None:
            return instance.name == self.instance
        return instance.vpc == self.vpc and self.subnet in (None, instance.subnet)

    def keeps(self, action: str) -> bool:
        """Does its ``traffic_type`` keep a record with this action (ACCEPT or REJECT)?"""
        return self.traffic_type in ("ALL", action)
