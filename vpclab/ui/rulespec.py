"""Rules typed as words in the shell, turned into the YAML mappings of the topology format.

    tcp 443 0.0.0.0/0          {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
    tcp 5432 app-sg            {protocol: tcp, ports: 5432, security_group: app-sg}
    icmp 8 10.0.0.0/8          {protocol: icmp, icmp_type: 8, cidr: 10.0.0.0/8}
    icmp 3:4 0.0.0.0/0         {protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}
    {protocol: udp, ports: 53, cidr: 10.0.0.0/8}    (a YAML mapping, as in a file)

Only the shape is read here; the values are checked by the loader when the change is applied,
with the same messages as for a file.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import yaml

from vpclab.errors import InvalidInput

SG_FORM = "PROTOCOL [PORTS|ICMP-TYPE[:CODE]] CIDR|SG  (e.g. tcp 443 0.0.0.0/0, tcp 5432 app-sg)"
NACL_FORM = "NUMBER allow|deny PROTOCOL [PORTS|ICMP-TYPE[:CODE]] CIDR  (e.g. 100 allow tcp 443 0.0.0.0/0)"


class RuleSyntaxError(InvalidInput):
    """Words that are not a rule; the message shows the accepted form."""


def sg_rule(words: list[str]) -> dict[str, Any]:
    """An SG rule: protocol, optional ports or ICMP type, then a CIDR or an SG name."""
    mapping = _mapping(words)
    if mapping is not None:
        return mapping
    if len(words) not in (2, 3):
        raise RuleSyntaxError(f"a security group rule is {SG_FORM}")
    rule = _traffic(words[0], words[1:-1])
    peer = words[-1]
    rule["cidr" if _is_cidr(peer) else "security_group"] = peer
    return rule


def nacl_rule(words: list[str]) -> dict[str, Any]:
    """A NACL rule: number, allow|deny, protocol, optional ports or ICMP type, a CIDR."""
    mapping = _mapping(words)
    if mapping is not None:
        return mapping
    if len(words) not in (4, 5) or not words[0].isdigit() or words[1] not in ("allow", "deny"):
        raise RuleSyntaxError(f"a NACL rule is {NACL_FORM}")
    return {"rule": int(words[0]), **_traffic(words[2], words[3:-1]), "cidr": words[-1], "action": words[1]}


def _traffic(protocol: str, detail: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"protocol": int(protocol) if protocol.isdigit() else protocol}
    if not detail:
        return rule
    text = detail[0]
    if protocol == "icmp":
        icmp_type, _, code = text.partition(":")
        rule["icmp_type"] = _number(icmp_type)
        if code:
            rule["icmp_code"] = _number(code)
    else:
        rule["ports"] = _number(text) if text.lstrip("-").isdigit() else text
    return rule


def _number(text: str):
    return int(text) if text.lstrip("-").isdigit() else text


def _is_cidr(text: str) -> bool:
    try:
        ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _mapping(words: list[str]):
    text = " ".join(words).strip()
    if not text.startswith("{"):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RuleSyntaxError(f"not a YAML mapping: {error}".splitlines()[0]) from None
    if not isinstance(value, dict):
        raise RuleSyntaxError("a rule in braces must be a YAML mapping like {protocol: tcp, ports: 443, ...}")
    return value
