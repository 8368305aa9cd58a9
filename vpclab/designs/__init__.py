"""Designs that ship inside the package: ``tour.yaml``, the five-minute tour's design that
``vpclab demo`` (and ``make demo``) opens live; in the source tree it is topologies/peering.yaml."""
