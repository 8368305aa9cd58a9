"""Each instance's numbers on its card: its conntrack zone (its MACs and its address towards
the metadata service follow from it) and its port; each NAT gateway's number (its id on the
cards, its zone and MACs follow from it).

By default they follow the file: the lowest free zone, and the lowest free port of the
instance's server (the card's own ports skipped), in file order. Once instances come and go at
run time a running emulation writes every instance's numbers into ``numbering:`` (and every
NAT gateway's, once one is created or deleted), so a launched or terminated instance moves no
other instance's port, zone or MAC (nor a NAT gateway another's translations)."""

from __future__ import annotations

from .. import model as m
from .reporter import Reporter


def build_numbering(r: Reporter, data: dict, vpcs: tuple[m.Vpc, ...]) -> tuple[m.InstanceNumber, ...]:
    """Every instance's numbers: the pinned ones, checked (an instance the design has, a zone
    no other instance has, a port no other instance of its server has and not the card's own),
    then the rest around them."""
    instances = [i for vpc in vpcs for i in vpc.instances]
    servers = {i.name: i.server for i in instances}
    zones: dict[int, str] = {}
    ports: dict[tuple[str, int], str] = {}
    pinned = {}
    for name, numbers in ((data.get("numbering") or {}).get("instances") or {}).items():
        path = ("numbering", "instances", name)
        if name not in servers:
            r.report(path, f"no instance '{name}' to keep numbers for")
            continue
        zone, port = numbers["zone"], numbers["port"]
        if zone in zones:
            r.report(path + ("zone",), f"zone {zone} is instance '{zones[zone]}''s already")
        if port in m.RESERVED_CARD_PORTS:
            r.report(path + ("port",), f"port {port} is one of the card's own {m.RESERVED_CARD_PORTS}")
        if (servers[name], port) in ports:
            owner = ports[(servers[name], port)]
            r.report(
                path + ("port",), f"port {port} of server {servers[name]} is instance '{owner}''s already"
            )
        zones[zone] = ports[(servers[name], port)] = name
        pinned[name] = m.InstanceNumber(name, zone, port)
    zone, found = 0, []
    lowest: dict[str, int] = {}  # each server's last port given
    for instance in instances:
        if instance.name in pinned:
            found.append(pinned[instance.name])
            continue
        zone += 1
        while zone in zones:
            zone += 1
        port = lowest.get(instance.server, 0) + 1
        while port in m.RESERVED_CARD_PORTS or (instance.server, port) in ports:
            port += 1
        lowest[instance.server] = port
        found.append(m.InstanceNumber(instance.name, zone, port))
    if zone > m.MAX_INSTANCE_ZONE:
        r.report(("vpcs",), f"{len(instances)} instances: a design has room for {m.MAX_INSTANCE_ZONE}")
    return tuple(found)


def build_nat_numbers(r: Reporter, data: dict, vpcs: tuple[m.Vpc, ...]) -> tuple[tuple[str, int], ...]:
    """Every NAT gateway's number: the pinned ones, checked (a NAT gateway the design has, a
    number no other has), then the lowest free ones in file order."""
    names = [nat.name for vpc in vpcs for nat in vpc.nat_gateways]
    pinned: dict[str, int] = {}
    for name, number in ((data.get("numbering") or {}).get("nat_gateways") or {}).items():
        path = ("numbering", "nat_gateways", name)
        if name not in names:
            r.report(path, f"no NAT gateway '{name}' to keep a number for")
        elif number in pinned.values():
            owner = next(n for n, k in pinned.items() if k == number)
            r.report(path, f"number {number} is NAT gateway '{owner}''s already")
        else:
            pinned[name] = number
    number, found = 0, []
    for name in names:
        if name not in pinned:
            number += 1
            while number in pinned.values():
                number += 1
        found.append((name, pinned.get(name, number)))
    if number > m.MAX_NAT_NUMBER:
        r.report(("vpcs",), f"{len(names)} NAT gateways: a design has room for {m.MAX_NAT_NUMBER}")
    return tuple(found)
