"""Designs that ship inside the package: ``tour.yaml``, the five-minute tour's design that
``vpclab demo`` (and ``make demo``) opens live (in the source tree it is
topologies/peering.yaml), and ``empty.yaml``, what ``vpclab serve`` starts from when no design
is named (the EC2 API builds the rest)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled(name: str) -> Path:
    """A design as the package ships it."""
    return Path(str(resources.files(__name__).joinpath(name)))


TOUR, EMPTY = "tour.yaml", "empty.yaml"
