"""Runtime changes that create and delete a VPC's objects and move what attaches to them:
security groups, route tables and NACLs, a subnet's route table and NACL, an instance's
security groups and its source/destination check (what the EC2 API's Create/Delete/Associate/
Modify calls do). Each edits the running design's data; the loader then checks the result as
it checks a file (a group another rule still names, a table no subnet may use, ...).

What AWS refuses is refused here with AWS's reason: deleting a VPC's default group, main
route table or default NACL, or one still in use (AWS's DependencyViolation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from .errors import CannotDelete, ChangeError, DependencyViolation

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


def _in_use(entry: dict, key: str, name: str) -> Optional[str]:
    """What in the VPC still uses its ``key`` object ``name`` (AWS: a DependencyViolation)."""
    if key == "security_groups":
        users = [
            i["name"] for i in entry.get("instances", []) if name in i.get("security_groups", ["default"])
        ]
        rules = [
            g["name"]
            for g in entry.get("security_groups", [])
            for direction in ("ingress", "egress")
            for rule in g.get(direction, [])
            if rule.get("security_group") == name and g.get("name") != name
        ]
        found = [f"instance {u}" for u in users] + [f"a rule of group {g}" for g in dict.fromkeys(rules)]
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
        users = _in_use(entry, key, name)
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


RESOURCE_OPERATIONS: dict[str, Callable] = {
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
