"""Rules: NACLs (numbered, ending with the '*' deny) and security groups (allow rules).

SG names other than 'default' are unique across the file; 'VPC/default' names another
VPC's default group.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Optional

from .. import model as m
from ..errors import DocPath, format_path
from ..values import parse_any_network, parse_icmp_number, parse_ports, parse_protocol
from .accounts import over_quota
from .ipv6 import rule_family
from .prefix_lists import resolve_prefix_list, weight
from .reporter import Known, Reporter

NACL_RULE_NUMBERS = (1, 32766)
ALL_IPV4 = IPv4Network("0.0.0.0/0")
ALL_IPV6 = IPv6Network("::/0")


def index_security_groups(r: Reporter, known: Known, data: dict) -> None:
    """Record which VPC owns each SG name (other than 'default', unique across the file) and
    which document entry defines each group, so a duplicate (reported here) is not built twice."""
    for v, vpc in enumerate(data["vpcs"]):
        for s, sg in enumerate(vpc.get("security_groups", [])):
            path = ("vpcs", v, "security_groups", s)
            name = sg["name"]
            key = ("default", v) if name == "default" else name
            if key in known.sg_places:
                r.report(
                    path + ("name",),
                    f"security group '{name}' is already defined at {format_path(known.sg_places[key])}",
                )
                continue
            known.sg_places[key] = path
            if name != "default":
                known.sg_owners[name] = vpc["name"]


def build_nacls(r: Reporter, known: Known, v: int, vpc: dict) -> tuple[m.Nacl, ...]:
    nacls_data = vpc.get("nacls", [])
    path = ("vpcs", v, "nacls")
    r.unique_names(nacls_data, path, "NACL")
    for n, nacl in enumerate(nacls_data):
        for direction in ("ingress", "egress"):  # AWS's quota is one way; its '*' rule is not counted
            count = len(nacl.get(direction, []))
            over_quota(r, known, path + (n, direction), "rules_per_network_acl", count, f"{direction} rules")
    ipv6 = known.vpc_ipv6.get(vpc["name"]) is not None
    nacls = [build_nacl(r, path + (n,), nacl, ipv6) for n, nacl in enumerate(nacls_data)]
    if not any(nacl["name"] == "default" for nacl in nacls_data):
        origin = format_path(path) + "[default]"
        # AWS's default NACL: rule 100 allows all IPv4; in a VPC with IPv6, rule 101 all IPv6
        allow_all = [{"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}]
        if ipv6:
            allow_all.append({"rule": 101, "protocol": "all", "cidr": "::/0", "action": "allow"})
        nacls.append(
            m.Nacl(
                origin,
                "default",
                nacl_rules(r, origin + ".ingress", allow_all, None, ipv6),
                nacl_rules(r, origin + ".egress", allow_all, None, ipv6),
            )
        )
    return tuple(nacls)


def build_nacl(r: Reporter, path, nacl: dict, ipv6: bool = False) -> m.Nacl:
    origin = format_path(path)
    return m.Nacl(
        origin,
        nacl["name"],
        nacl_rules(r, origin + ".ingress", nacl.get("ingress", []), path + ("ingress",), ipv6),
        nacl_rules(r, origin + ".egress", nacl.get("egress", []), path + ("egress",), ipv6),
    )


def nacl_rules(
    r: Reporter, origin: str, rules_data: list, path: Optional[DocPath], ipv6: bool = False
) -> tuple:
    """Rules sorted by number, ending with the '*' deny (in a VPC with IPv6, one per family,
    as AWS lists them). ``path`` None: implicit rules."""
    numbers: dict[int, int] = {}
    rules = []
    for n, rule in enumerate(rules_data):
        rule_path = path + (n,) if path else ()
        number = rule["rule"]
        if not NACL_RULE_NUMBERS[0] <= number <= NACL_RULE_NUMBERS[1]:
            r.report(
                rule_path + ("rule",),
                f"rule number {number} is outside {NACL_RULE_NUMBERS[0]}-{NACL_RULE_NUMBERS[1]}",
            )
            continue
        if number in numbers:
            r.report(
                rule_path + ("rule",),
                f"rule number {number} is already used by rule [{numbers[number]}] in this direction",
            )
            continue
        numbers[number] = n
        traffic = parse_traffic(r, rule_path, rule)
        if "prefix_list" in rule or "cidr" not in rule:
            r.report(
                rule_path + (("prefix_list",) if "prefix_list" in rule else ()),
                "a network ACL rule needs a 'cidr': AWS's network ACLs do not take prefix lists "
                "(write one rule per CIDR of the list)",
            )
            continue
        cidr = r.parsed(rule_path + ("cidr",), parse_any_network, rule["cidr"])
        if traffic is None or cidr is None or not rule_family(r, rule_path, traffic, cidr):
            continue
        label = f"[{n}]"
        rules.append(m.NaclRule(origin + label, number, traffic, cidr, rule["action"] == "allow"))
    rules.sort(key=lambda rule: rule.number or 0)
    rules.append(m.NaclRule(origin + "[*]", None, m.Traffic(), ALL_IPV4, False))
    if ipv6:
        rules.append(m.NaclRule(origin + "[*ipv6]", None, m.Traffic(), ALL_IPV6, False))
    return tuple(rules)


def parse_traffic(r: Reporter, path: DocPath, rule: dict) -> Optional[m.Traffic]:
    protocol = r.parsed(path + ("protocol",), parse_protocol, rule["protocol"])
    if protocol is None and rule["protocol"] not in ("all", -1, "-1"):
        return None
    ports = None
    if "ports" in rule:
        ports = r.parsed(path + ("ports",), parse_ports, rule["ports"], protocol)
        if ports is None:
            return None
    icmp = parse_icmp(r, path, rule, protocol)
    if icmp is None:
        return None
    return m.Traffic(protocol, ports, *icmp)


def parse_icmp(r: Reporter, path: DocPath, rule: dict, protocol: Optional[int]) -> Optional[tuple]:
    """The rule's (icmp_type, icmp_code), None meaning any; None after reporting an error."""
    numbers: dict[str, Optional[int]] = {"icmp_type": None, "icmp_code": None}
    for key in numbers:
        if key in rule:
            try:
                numbers[key] = parse_icmp_number(rule[key], protocol)
            except ValueError as error:
                r.report(path + (key,), str(error))
                return None
    if numbers["icmp_code"] is not None and numbers["icmp_type"] is None:
        r.report(path + ("icmp_code",), "an icmp_code needs an icmp_type (AWS has no code of any type)")
        return None
    return numbers["icmp_type"], numbers["icmp_code"]


def build_security_groups(r: Reporter, known: Known, v: int, vpc: dict) -> tuple[m.SecurityGroup, ...]:
    groups = []
    for s, sg in enumerate(vpc.get("security_groups", [])):
        key = ("default", v) if sg["name"] == "default" else sg["name"]
        if known.sg_places[key] != ("vpcs", v, "security_groups", s):
            continue  # a duplicate, already reported
        groups.append(build_security_group(r, known, v, vpc["name"], s, sg))
    if not any(g.name == "default" for g in groups):
        ipv6 = known.vpc_ipv6.get(vpc["name"]) is not None
        origin = f"vpcs[{v}].security_groups[default]"
        self_ref = m.SGRef(vpc["name"], "default")
        groups.append(
            m.SecurityGroup(
                origin,
                vpc["name"],
                "default",
                (m.SGRule(origin + ".ingress[0]", m.Traffic(), security_group=self_ref),),
                (m.SGRule(origin + ".egress[0]", m.Traffic(), cidr=ALL_IPV4),)
                # AWS: and all IPv6 out, in a VPC with an IPv6 CIDR
                + ((m.SGRule(origin + ".egress[1]", m.Traffic(), cidr=ALL_IPV6),) if ipv6 else ()),
            )
        )
    return tuple(groups)


def build_security_group(r: Reporter, known: Known, v: int, vpc: str, s: int, sg: dict) -> m.SecurityGroup:
    path = ("vpcs", v, "security_groups", s)
    origin = format_path(path)
    ingress = sg_rules(r, known, path + ("ingress",), vpc, sg.get("ingress", []))
    for direction in ("ingress", "egress"):
        over_quota(
            r,
            known,
            path + (direction,),
            "rules_per_security_group",
            sum(weight(known, rule.get("prefix_list")) for rule in sg.get(direction, [])),
            f"{direction} rules",
        )
    if "egress" in sg:
        egress = sg_rules(r, known, path + ("egress",), vpc, sg["egress"])
    else:  # AWS: a new security group has one outbound rule, all IPv4 (IPv6 must be allowed)
        egress = (m.SGRule(origin + ".egress[default]", m.Traffic(), cidr=ALL_IPV4),)
    return m.SecurityGroup(origin, vpc, sg["name"], ingress, egress)


def sg_rules(r: Reporter, known: Known, path: DocPath, vpc: str, rules_data: list) -> tuple[m.SGRule, ...]:
    rules = []
    for n, rule in enumerate(rules_data):
        rule_path = path + (n,)
        traffic = parse_traffic(r, rule_path, rule)
        if sum(key in rule for key in ("cidr", "security_group", "prefix_list")) != 1:
            r.report(
                rule_path,
                "a security group rule needs exactly one of 'cidr', 'security_group' or 'prefix_list'",
            )
            continue
        if "prefix_list" in rule:
            listed = resolve_prefix_list(r, known, rule_path + ("prefix_list",), vpc, rule["prefix_list"])
            if traffic and listed:
                origin = format_path(rule_path)
                rules += [m.SGRule(origin, traffic, cidr=c, prefix_list=listed.name) for c in listed.cidrs]
            continue
        if "cidr" in rule:
            cidr = r.parsed(rule_path + ("cidr",), parse_any_network, rule["cidr"])
            if traffic and cidr and rule_family(r, rule_path, traffic, cidr):
                rules.append(m.SGRule(format_path(rule_path), traffic, cidr=cidr))
            continue
        ref = resolve_sg(
            r,
            known,
            rule_path + ("security_group",),
            vpc,
            rule["security_group"],
            allow_peered=True,
            allow_tgw=path[-1] == "ingress",  # AWS: across a TGW, inbound rules only
        )
        if traffic and ref:
            rules.append(m.SGRule(format_path(rule_path), traffic, security_group=ref))
    return tuple(rules)


def resolve_sg(
    r: Reporter,
    known: Known,
    path: DocPath,
    vpc: str,
    name: str,
    allow_peered: bool,
    allow_tgw: bool = False,
) -> Optional[m.SGRef]:
    """'default' -> own VPC's; 'VPC/default' -> that VPC's; other names are file-unique.
    ``allow_peered``: an SG of a peered VPC; ``allow_tgw``: of a VPC attached to the same TGW
    with security-group referencing support on."""
    if "/" in name:
        owner, _, bare = name.partition("/")
        if owner not in known.vpc_cidrs or bare != "default":
            r.report(
                path, f"'{name}': the 'VPC/name' form names another VPC's default SG, like 'dev/default'"
            )
            return None
    elif name == "default":
        owner, bare = vpc, "default"
    elif name in known.sg_owners:
        owner, bare = known.sg_owners[name], name
    else:
        r.report(path, f"no security group named '{name}'")
        return None
    if owner == vpc:
        return m.SGRef(owner, bare)
    if allow_peered and known.peered(vpc, owner):
        theirs, mine = known.places[owner][1], known.places[vpc][1]
        if theirs != mine:
            r.report(
                path,
                f"security group '{name}' belongs to VPC '{owner}' in {theirs}, peered with '{vpc}' "
                f"across Regions ({mine}): AWS does not let a rule reference a peer VPC's security "
                f"group over an inter-Region peering; name its CIDR instead",
            )
            return None
        return m.SGRef(owner, bare)
    if allow_tgw and known.tgw_referencing(vpc, owner):
        return m.SGRef(owner, bare)
    if not allow_peered:
        reason = "; an instance takes SGs of its own VPC"
    elif known.tgw_referencing(vpc, owner):
        reason = "; across a transit gateway only inbound rules may name a security group (as in AWS)"
    else:
        reason = (
            " (nor attached with it to a transit gateway that has security_group_referencing_support: true)"
        )
    where = "is not peered with" if allow_peered else "is not"
    r.report(path, f"security group '{name}' belongs to VPC '{owner}', which {where} VPC '{vpc}'{reason}")
    return None
