"""Runtime changes that create and delete a VPC's objects and move what attaches to them:
security groups, route tables, NACLs and subnets, a subnet's route table and NACL, a VPC's
further CIDRs and its internet gateway, an instance's security groups and its
source/destination check (what the EC2 API's Create/Delete/Associate/Attach/Modify calls
do). Each edits the running design's data; the loader then checks the result as it checks a
file (a group another rule still names, a subnet outside its VPC's CIDRs, ...).

What AWS refuses is refused here with AWS's code: deleting what is still in use (a group, a
route table, a NACL, a subnet with interfaces, a CIDR with subnets, a gateway with mapped
public addresses) is a DependencyViolation; a VPC's default group, main route table, default
NACL or primary CIDR, CannotDelete."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network
from typing import Optional

from .errors import CannotDelete, ChangeError, DependencyViolation, GatewayNotAttached

DEFAULTS = {"security_groups": "default", "route_tables": "main", "nacls": "default"}


def _vpc(data: dict, vpc: str) -> dict:
    for entry in data["vpcs"]:
        if entry.get("name") == vpc:
            return entry
    raise ChangeError(f"no VPC '{vpc}'")


def _item(data: dict, vpc: str, key: str, name: str, what: str) -> dict:
    for item in _vpc(data, vpc).get(key, []):
        if item.get("name") == name:
            return item
    raise ChangeError(f"no {what} '{name}' in VPC '{vpc}'")


def _instance(data: dict, name: str) -> tuple[dict, dict]:
    for vpc in data["vpcs"]:
        for instance in vpc.get("instances", []):
            if instance.get("name") == name:
                return vpc, instance
    raise ChangeError(f"no instance '{name}'")


def _create(key: str, what: str, body: Callable[[str], dict]) -> Callable:
    def create(intent, data, vpc: str, name: str) -> str:
        entry = _vpc(data, vpc)
        if name == DEFAULTS[key] or any(item.get("name") == name for item in entry.get(key, [])):
            raise ChangeError(f"VPC '{vpc}' already has a {what} named '{name}'")
        entry.setdefault(key, []).append(body(name))
        return f"created {what} '{name}' in VPC '{vpc}'"

    create.__doc__ = f"A new {what} in a VPC, as AWS creates one."
    return create


def _in_use(data: dict, entry: dict, key: str, name: str) -> Optional[str]:
    """What still uses VPC ``entry``'s ``key`` object ``name`` (AWS: a DependencyViolation):
    for a group, its VPC's instances and endpoints, and a rule of any VPC's group that names it
    (a group's name is unique in a design)."""
    if key == "security_groups":
        users = [
            i["name"] for i in entry.get("instances", []) if name in i.get("security_groups", ["default"])
        ]
        endpoints = [
            e["name"]
            for e in data.get("vpc_endpoints", [])
            if e.get("vpc") == entry["name"] and name in e.get("security_groups", [])
        ]
        rules = [
            g["name"]
            for vpc in data["vpcs"]
            for g in vpc.get("security_groups", [])
            for direction in ("ingress", "egress")
            for rule in g.get(direction, [])
            if rule.get("security_group") == name and g.get("name") != name
        ]
        found = [f"instance {u}" for u in users] + [f"endpoint {e}" for e in endpoints]
        found += [f"a rule of group {g}" for g in dict.fromkeys(rules)]
    else:
        field = "route_table" if key == "route_tables" else "nacl"
        found = [f"subnet {s['name']}" for s in entry.get("subnets", []) if s.get(field) == name]
    return ", ".join(found) or None


def _delete(key: str, what: str) -> Callable:
    def delete(intent, data, vpc: str, name: str) -> str:
        entry = _vpc(data, vpc)
        item = {} if name == DEFAULTS[key] else _item(data, vpc, key, name, what)
        if name == DEFAULTS[key] or item.get("main"):
            raise CannotDelete(f"the {what} '{name}' of VPC '{vpc}' is its default: AWS does not delete it")
        users = _in_use(data, entry, key, name)
        if users:
            raise DependencyViolation(f"{what} '{name}' is still in use by {users}")
        entry[key] = [other for other in entry[key] if other is not item]
        return f"deleted {what} '{name}' from VPC '{vpc}'"

    delete.__doc__ = f"Delete a {what} nothing uses any longer (AWS refuses one in use)."
    return delete


def _associate(field: str, key: str, what: str) -> Callable:
    default = "main route table" if key == "route_tables" else "default NACL"

    def associate(intent, data, vpc: str, subnet: str, name: Optional[str] = None) -> str:
        place = _item(data, vpc, "subnets", subnet, "subnet")
        if name is None or name == DEFAULTS[key]:
            place.pop(field, None)
            return f"subnet '{subnet}' of '{vpc}' uses its VPC's {default}"
        _item(data, vpc, key, name, what)
        place[field] = name
        return f"subnet '{subnet}' of '{vpc}' now uses {what} '{name}'"

    associate.__doc__ = f"A subnet's {what} (None: the VPC's {default})."
    return associate


def set_instance_groups(intent, data, instance: str, groups: list) -> str:
    """An instance's security groups, replaced as a whole (ModifyInstanceAttribute's Groups)."""
    if not groups:
        raise ChangeError("an instance has at least one security group")
    _, entry = _instance(data, instance)
    entry["security_groups"] = list(groups)
    return f"instance '{instance}' now has security groups {', '.join(groups)}"


def set_source_dest_check(intent, data, instance: str, enabled: bool) -> str:
    """Turn an instance's source/destination check on or off (an appliance sends for others)."""
    _, entry = _instance(data, instance)
    if enabled:
        entry.pop("source_dest_check", None)
    else:
        entry["source_dest_check"] = False
    return f"instance '{instance}': source/destination check {'on' if enabled else 'off'}"


def create_subnet(intent, data, vpc: str, name: str, cidr: str, az: str = "a") -> str:
    """A new subnet of a VPC's CIDR in an AZ (its route table the main one, its NACL the
    default), as AWS creates one."""
    entry = _vpc(data, vpc)
    if any(s.get("name") == name for s in entry.get("subnets", [])):
        raise ChangeError(f"VPC '{vpc}' already has a subnet named '{name}'")
    entry.setdefault("subnets", []).append({"name": name, "cidr": cidr, "az": az})
    return f"created subnet '{name}' ({cidr}, AZ {az}) in VPC '{vpc}'"


def delete_subnet(intent, data, vpc: str, name: str) -> str:
    """Delete a subnet nothing has an interface in (AWS refuses one that still has)."""
    entry = _vpc(data, vpc)
    subnet = _item(data, vpc, "subnets", name, "subnet")
    users = [f"instance {i['name']}" for i in entry.get("instances", []) if i.get("subnet") == name]
    users += [f"NAT gateway {n['name']}" for n in entry.get("nat_gateways", []) if n.get("subnet") == name]
    users += [
        f"attachment {a['name']}"
        for tgw in data.get("transit_gateways", [])
        for a in tgw.get("attachments", [])
        if a.get("vpc") == vpc and name in a.get("subnets", [])
    ]
    for key in ("vpc_endpoints", "network_load_balancers"):
        users += [
            f"{e['name']}" for e in data.get(key, []) if e.get("vpc") == vpc and name in e.get("subnets", [])
        ]
    if users:
        raise DependencyViolation(f"subnet '{name}' still has interfaces: {', '.join(users)}")
    entry["subnets"] = [other for other in entry["subnets"] if other is not subnet]
    return f"deleted subnet '{name}' from VPC '{vpc}'"


def _cidrs(entry: dict) -> list:
    return list(entry["cidr"]) if isinstance(entry["cidr"], list) else [entry["cidr"]]


def add_vpc_cidr(intent, data, vpc: str, cidr: str) -> str:
    """A further IPv4 CIDR for a VPC (AssociateVpcCidrBlock): the local routes cover it."""
    entry = _vpc(data, vpc)
    entry["cidr"] = [*_cidrs(entry), cidr]
    return f"VPC '{vpc}' has CIDR {cidr} too"


def remove_vpc_cidr(intent, data, vpc: str, cidr: str) -> str:
    """Take a further CIDR off a VPC: not its first, not one a subnet is in (AWS's rules)."""
    entry = _vpc(data, vpc)
    cidrs = _cidrs(entry)
    if cidr not in cidrs:
        raise ChangeError(f"VPC '{vpc}' has no CIDR {cidr}")
    if cidr == cidrs[0]:
        raise CannotDelete(f"{cidr} is VPC '{vpc}''s primary CIDR: AWS does not take it off")
    inside = [s["name"] for s in entry.get("subnets", []) if _inside(s.get("cidr"), cidr)]
    if inside:
        raise DependencyViolation(f"{cidr} of VPC '{vpc}' still holds subnets {', '.join(inside)}")
    rest = [c for c in cidrs if c != cidr]
    entry["cidr"] = rest if len(rest) > 1 else rest[0]
    return f"VPC '{vpc}' no longer has CIDR {cidr}"


def _inside(subnet: Optional[str], cidr: str) -> bool:
    try:
        return subnet is not None and ip_network(subnet).subnet_of(ip_network(cidr))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


def attach_internet_gateway(intent, data, vpc: str, name: str) -> str:
    """Attach an internet gateway to a VPC (one each, as AWS allows)."""
    entry = _vpc(data, vpc)
    if entry.get("internet_gateway"):
        raise ChangeError(f"VPC '{vpc}' already has internet gateway '{entry['internet_gateway']}'")
    entry["internet_gateway"] = name
    return f"attached internet gateway '{name}' to VPC '{vpc}'"


def detach_internet_gateway(intent, data, vpc: str, name: str) -> str:
    """Detach a VPC's internet gateway: AWS refuses while public addresses are mapped through
    it (instances' public IPs, NAT gateways' Elastic IPs); routes to it become blackholes."""
    entry = _vpc(data, vpc)
    if entry.get("internet_gateway") != name:
        raise ChangeError(f"internet gateway '{name}' is not attached to VPC '{vpc}'")
    mapped = [i["name"] for i in entry.get("instances", []) if i.get("public_ip")]
    mapped += [n["name"] for n in entry.get("nat_gateways", [])]
    if mapped:
        raise DependencyViolation(
            f"VPC '{vpc}' has mapped public addresses ({', '.join(mapped)}): unmap them before "
            "detaching the gateway"
        )
    del entry["internet_gateway"]
    blackholed = blackhole(entry.get("route_tables", []), "internet_gateway", name)
    routes = f"; {blackholed} route(s) to it are blackholes now" if blackholed else ""
    return f"detached internet gateway '{name}' from VPC '{vpc}'{routes}"


def blackhole(tables: list, key: str, name: str) -> int:
    """The routes of ``tables`` (route tables' data: a VPC's, or a TGW's) whose ``key`` is
    ``name``, a target that is gone, become blackholes, as AWS shows them; how many."""
    count = 0
    for table in tables:
        for route in table.get("routes", []):
            if route.get(key) == name:
                del route[key]
                route["blackhole"] = True
                count += 1
    return count


def set_public_ip(intent, data, instance: str, address: Optional[str] = None) -> str:
    """An Elastic IP associated with an instance (None: disassociated): its public address at
    the internet gateway, which its VPC must have (AWS refuses one without)."""
    _pin_public_ips(intent.topology, data)
    vpc, entry = _instance(data, instance)
    data["numbering"]["public_ips"].pop(instance, None)  # an automatic one is released
    if address is None:
        entry.pop("public_ip", None)
        return f"instance '{instance}' has no public IP"
    if not vpc.get("internet_gateway"):
        raise GatewayNotAttached(f"VPC '{vpc['name']}' has no internet gateway: {address} would lead nowhere")
    entry["public_ip"] = address
    return f"instance '{instance}' is {address} on the internet"


def _pin_public_ips(topology, data: dict) -> None:
    """Write every public address the pool gave as it is now (an instance's ``public_ip: true``
    into ``numbering: public_ips``, where AWS's automatic kind stays told from an Elastic IP; a
    NAT gateway's Elastic IP), so that moving one address leaves the others where they are (the
    pool would give them out again in order)."""
    pinned = data.setdefault("numbering", {}).setdefault("public_ips", {})
    for vpc in data["vpcs"]:
        for instance in vpc.get("instances", []):
            address = topology.instance(instance["name"]).public_ip
            if instance.get("public_ip") is True and address is not None:  # automatic: stays true
                pinned[instance["name"]] = str(address)
                data["numbering"].get("released_public_ips", {}).pop(instance["name"], None)
        for gateway in vpc.get("nat_gateways", []):
            if "public_ip" not in gateway:
                gateway["public_ip"] = str(topology.vpc(vpc["name"]).nat_gateway(gateway["name"]).public_ip)


RESOURCE_OPERATIONS: dict[str, Callable] = {
    "set-public-ip": set_public_ip,
    "create-subnet": create_subnet,
    "delete-subnet": delete_subnet,
    "add-vpc-cidr": add_vpc_cidr,
    "remove-vpc-cidr": remove_vpc_cidr,
    "attach-internet-gateway": attach_internet_gateway,
    "detach-internet-gateway": detach_internet_gateway,
    "create-security-group": _create("security_groups", "security group", lambda name: {"name": name}),
    "delete-security-group": _delete("security_groups", "security group"),
    "set-instance-groups": set_instance_groups,
    "set-source-dest-check": set_source_dest_check,
    "create-route-table": _create("route_tables", "route table", lambda name: {"name": name}),
    "delete-route-table": _delete("route_tables", "route table"),
    "associate-route-table": _associate("route_table", "route_tables", "route table"),
    # a new NACL has no rules: its '*' denies everything, as AWS makes one
    "create-nacl": _create("nacls", "NACL", lambda name: {"name": name}),
    "delete-nacl": _delete("nacls", "NACL"),
    "associate-nacl": _associate("nacl", "nacls", "NACL"),
}
