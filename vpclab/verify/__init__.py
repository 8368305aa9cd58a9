"""`vpclab verify`: probe a live emulation with real packets and compare every probe with trace.

``plan`` decides what to probe (pure), ``live`` runs it, ``report`` says what was found."""

from .live import Result, Verification, verify
from .report import report

__all__ = ["Result", "Verification", "report", "verify"]
