"""Origins (the YAML paths that flows and verdicts carry) named as a network engineer says them:
``vpcs[0].security_groups[1].ingress[0]`` is ``shop/app-sg ingress[0]``."""

from __future__ import annotations

import re
from typing import Optional

STEP = re.compile(r"([A-Za-z_]+)\[([^\]]+)\]")
IMPLICIT = {"route_tables": "main", "nacls": "default-nacl"}  # objects a VPC has unless written
AWS_ID = re.compile(r"[a-z]+(?:-[a-z]+)*-[0-9a-f]{8,17}")  # vpc-0a1b2c3d, tgw-rtb-0123abcd...


def origin_name(data: dict, origin: str) -> str:
    """The named form of ``origin`` in the design ``data``; the origin itself when it is not a
    path into the design (``vpclab:table-miss``) or names nothing that exists there."""
    names: list[str] = []  # the named objects along the path: vpc, then its table or group
    rest: list[str] = []  # what follows the last named object: ingress[0], routes[local]
    node: object = data
    for key, index in STEP.findall(origin):
        items = node.get(key) if isinstance(node, dict) else None
        item = (
            items[int(index)]
            if index.isdigit() and isinstance(items, list) and int(index) < len(items)
            else None
        )
        if isinstance(item, dict) and "name" in item and not rest:
            names.append(str(item["name"]))
        elif not index.isdigit() and key in IMPLICIT and not rest:
            names.append(IMPLICIT[key])
        elif isinstance(item, str):
            rest.append(f"{key}[{index}] ({item})")  # a TGW table's propagation: an attachment
        else:
            rest.append(f"{key}[{index}]")
        node = item
    if not names:
        return origin
    return " ".join(["/".join(names), *rest])


def aws_id(data: dict, origin: str) -> Optional[str]:
    """The AWS id of the object ``origin`` names, or of the nearest object above it that has
    one: a ``description`` that starts with an id, as `vpclab import` writes them."""
    found, node = None, data
    for key, index in STEP.findall(origin):
        items = node.get(key) if isinstance(node, dict) else None
        if not (index.isdigit() and isinstance(items, list) and int(index) < len(items)):
            break
        node = items[int(index)]
        words = str(node.get("description", "")).split() if isinstance(node, dict) else []
        if words and AWS_ID.fullmatch(words[0]):
            found = words[0]
    return found
