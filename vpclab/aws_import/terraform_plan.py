"""Read a Terraform plan (``terraform show -json PLAN``): the resource instances it leaves, and
what their attributes refer to.

Ids are unknown before apply, so a subnet's ``vpc_id`` is no value in the plan: its configuration
expression names the VPC (``aws_vpc.main.id``). A reference is followed through ``count.index``
and ``each.key`` (the same instance of a counted resource), module inputs (``var.x``: the calling
module's expression), module outputs (``module.vpc.vpc_id``) and data sources. Locals are not in
the plan's JSON: an id that only a local names is taken as the one resource of its kind in the
same module, when there is one, and said so (``Plan.guesses``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .snapshot import SnapshotError

Index = Optional[int | str]
ModulePath = tuple[tuple[str, Index], ...]  # (module name, its count index or for_each key), root: ()

REFERENCE = re.compile(
    r"^(?P<data>data\.)?(?P<type>[a-z][a-z0-9_]*)\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"(\[(?P<index>\d+|\"[^\"]*\")\])?(\.(?P<attr>[A-Za-z_][A-Za-z0-9_]*))?"
)
ADDRESS_PART = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_-]*)(\[(?P<index>\d+|\"[^\"]*\")\])?")
# an id attribute -> the resource types it names (to guess through a local: one of them in the module)
ID_KINDS = {
    "vpc_id": ("aws_vpc", "aws_default_vpc"),
    "peer_vpc_id": ("aws_vpc",),
    "subnet_id": ("aws_subnet",),
    "subnet_ids": ("aws_subnet",),
    "vpc_security_group_ids": ("aws_security_group",),
    "route_table_id": ("aws_route_table", "aws_default_route_table"),
    "gateway_id": ("aws_internet_gateway", "aws_vpn_gateway"),
    "egress_only_gateway_id": ("aws_egress_only_internet_gateway",),
    "instance_id": ("aws_instance",),
    "network_interface_id": ("aws_network_interface",),
    "nat_gateway_id": ("aws_nat_gateway",),
    "allocation_id": ("aws_eip",),
    "security_group_id": ("aws_security_group",),
    "network_acl_id": ("aws_network_acl",),
    "transit_gateway_id": ("aws_ec2_transit_gateway",),
    "transit_gateway_route_table_id": ("aws_ec2_transit_gateway_route_table",),
    "transit_gateway_attachment_id": ("aws_ec2_transit_gateway_vpc_attachment",),
    "vpc_peering_connection_id": ("aws_vpc_peering_connection",),
}


class PlanError(SnapshotError):
    """The file is not the JSON of `terraform show -json` of a plan (or of a state)."""


def _index(text: Optional[str]) -> Index:
    if text is None:
        return None
    return text.strip('"') if text.startswith('"') else int(text)


def module_path(address: str) -> ModulePath:
    """``module.a[0].module.b.aws_x.y`` -> (("a", 0), ("b", None))."""
    path = []
    rest = address
    while rest.startswith("module."):
        match = ADDRESS_PART.match(rest[len("module.") :])
        if match is None:
            break
        path.append((match["name"], _index(match["index"])))
        rest = rest[len("module.") + match.end() :].lstrip(".")
    return tuple(path)


@dataclass
class Resource:
    """One instance of a resource (or data source) in the plan."""

    address: str
    module: ModulePath
    mode: str  # managed | data
    type: str
    name: str
    index: Index
    values: dict
    unknown: dict  # after_unknown: which attributes apply decides
    config: dict = field(default_factory=dict)  # its configuration block (expressions)

    @property
    def key(self) -> tuple:
        return (self.module, self.mode, self.type, self.name)


@dataclass(frozen=True)
class Guess:
    """An attribute taken without a reference saying so (it goes through a local)."""

    address: str
    attribute: str
    target: str
    why: str  # why no reference says it


LOCAL = "its expression goes through a local, which plans do not hold"
UNSAID = "the plan holds no expression for it (Terraform 0.12 leaves out nested blocks)"


class Plan:
    """The plan's resource instances and their references, resolved on demand."""

    def __init__(self, document: Any, source: str = "PLAN.json"):
        if not isinstance(document, dict) or not (
            "planned_values" in document or "values" in document or "format_version" in document
        ):
            raise PlanError(
                f"{source}: not a Terraform plan as `terraform show -json PLAN` writes it (no planned_values)"
            )
        self.source = source
        self.document = document
        self.guesses: list[Guess] = []
        self.resources: list[Resource] = []
        unknown = {
            change.get("address"): (change.get("change") or {}).get("after_unknown") or {}
            for change in document.get("resource_changes") or []
            if isinstance(change, dict)
        }
        planned = (document.get("planned_values") or document.get("values") or {}).get("root_module") or {}
        seen: set[str] = set()
        for block in _walk(planned):
            self._add(block, unknown.get(block.get("address"), {}), seen)
        prior = ((document.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
        for block in _walk(prior):  # data sources read while planning
            if block.get("mode") == "data":
                self._add(block, {}, seen)
        self.by_key: dict[tuple, list[Resource]] = {}
        for resource in self.resources:
            self.by_key.setdefault(resource.key, []).append(resource)
        self.modules = _config_modules((document.get("configuration") or {}).get("root_module") or {})
        for resource in self.resources:
            config = self.modules.get(tuple(name for name, _ in resource.module), {})
            resource.config = config.get("resources", {}).get(
                f"{'data.' if resource.mode == 'data' else ''}{resource.type}.{resource.name}", {}
            )
        self.variables = {
            name: (value or {}).get("value") for name, value in (document.get("variables") or {}).items()
        }

    def _add(self, block: dict, unknown: dict, seen: set[str]) -> None:
        address = block.get("address")
        if not isinstance(address, str) or address in seen or "type" not in block:
            return
        seen.add(address)
        self.resources.append(
            Resource(
                address=address,
                module=module_path(address),
                mode=block.get("mode", "managed"),
                type=block["type"],
                name=block.get("name", ""),
                index=block.get("index"),
                values=block.get("values") or {},
                unknown=unknown if isinstance(unknown, dict) else {},
            )
        )

    # -- what the plan holds ---------------------------------------------------------------------
    def of_type(self, *types: str, mode: str = "managed") -> list[Resource]:
        return [r for r in self.resources if r.type in types and r.mode == mode]

    def region(self) -> Optional[str]:
        """The AWS provider's Region, when the configuration gives it as a value."""
        providers = (self.document.get("configuration") or {}).get("provider_config") or {}
        found = (self._region_in(p) for key, p in providers.items() if key.split(".")[0] == "aws")
        return next((region for region in found if region), None)

    def region_of(self, resource: Resource) -> Optional[str]:
        """The Region of the provider configuration the resource uses (an alias's: another
        Region), else the default provider's."""
        providers = (self.document.get("configuration") or {}).get("provider_config") or {}
        key = str(resource.config.get("provider_config_key") or "aws")
        for candidate in (key, key.split(":")[-1]):
            region = self._region_in(providers.get(candidate) or {})
            if region:
                return region
        return self.region()

    def _region_in(self, provider: dict) -> Optional[str]:
        """A provider configuration's ``region``: a constant, or a root variable's value."""
        expression = (provider.get("expressions") or {}).get("region") or {}
        if isinstance(expression.get("constant_value"), str):
            return expression["constant_value"]
        for reference in expression.get("references", []):
            value = self.variables.get(reference.removeprefix("var."))
            if reference.startswith("var.") and isinstance(value, str):
                return value
        return None

    @staticmethod
    def id(resource: Resource) -> str:
        """Its AWS id: the one the plan knows (it exists already), else one made of its address
        (``vpc-`` + ``aws_vpc.main``...: a route target is told by its prefix, as AWS's are)."""
        known = resource.values.get("id")
        if isinstance(known, str) and known and not resource.unknown.get("id"):
            return known
        return f"{PREFIXES.get(resource.type, 'tf')}-{resource.address}"

    def known(self, resource: Resource, attribute: str) -> bool:
        unknown = resource.unknown.get(attribute)
        return resource.values.get(attribute) is not None and not any_unknown(unknown)

    # -- references ------------------------------------------------------------------------------
    def ids(self, resource: Resource, attribute: str, expression: Optional[dict] = None) -> list[str]:
        """The ids (or values) an attribute holds: known, else what its expression names."""
        value = resource.values.get(attribute) if expression is None else None
        if expression is None and self.known(resource, attribute):
            return [str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
        known = [str(v) for v in value if isinstance(v, str) and v] if isinstance(value, list) else []
        if expression is None:
            expression = (resource.config.get("expressions") or {}).get(attribute) or {}
        found = self.follow(resource.module, resource.index, expression)
        local = any(str(r).startswith("local.") for r in expression.get("references") or [])
        if not found and not known and attribute in ID_KINDS and local:
            found = self.guess(resource, attribute, LOCAL)
        prefixes = tuple(f"{PREFIXES[t]}-" for t in ID_KINDS.get(attribute, ()))
        if prefixes and any(f.startswith(prefixes) for f in found):
            found = [f for f in found if f.startswith(prefixes)]
        return known + [f for f in found if f not in known]

    def one(self, resource: Resource, attribute: str, expression: Optional[dict] = None) -> Optional[str]:
        found = self.ids(resource, attribute, expression)
        return found[0] if found else None

    def follow(self, module: ModulePath, index: Index, expression: dict) -> list[str]:
        """What an expression's references name, from ``module`` (``index``: the instance's own
        count index or for_each key, for ``count.index`` and ``each.key``)."""
        if not isinstance(expression, dict):
            return []
        if "constant_value" in expression:
            value = expression["constant_value"]
            return [str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
        references = [r for r in expression.get("references") or [] if isinstance(r, str)]
        by_index = any(r in ("count.index", "each.key", "each.value") for r in references)
        found: list[str] = []
        for reference in _most_specific(references):
            for value in self._reference(module, index if by_index else None, reference):
                if value not in found:
                    found.append(value)
        return found

    def _reference(self, module: ModulePath, index: Index, reference: str) -> list[str]:
        if reference.startswith(("count.", "each.", "path.", "terraform.", "self", "local.")):
            return []
        if reference.startswith("var."):
            name = reference.split(".")[1].split("[")[0]
            if not module:
                value = self.variables.get(name)
                return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
            parent, (call, key) = module[:-1], module[-1]
            calls = self.modules.get(tuple(n for n, _ in parent), {}).get("module_calls", {})
            expression = (calls.get(call, {}).get("expressions") or {}).get(name) or {}
            return self.follow(parent, key, expression)
        if reference.startswith("module."):
            return self._module_reference(module, index, reference)
        match = REFERENCE.match(reference)
        if match is None:
            return []
        mode = "data" if match["data"] else "managed"
        instances = self.by_key.get((module, mode, match["type"], match["name"]), [])
        if match["index"] is not None:
            instances = [r for r in instances if r.index == _index(match["index"])]
        elif index is not None and len(instances) > 1:
            instances = _same_instance(instances, index)
        attribute = match["attr"]
        values = []
        for instance in instances:
            if attribute and attribute != "id" and self.known(instance, attribute):
                value = instance.values[attribute]
                values += [str(v) for v in (value if isinstance(value, list) else [value])]
            else:
                values.append(self.id(instance))
        return values

    def _module_reference(self, module: ModulePath, index: Index, reference: str) -> list[str]:
        """``module.m.output``: the output's expression in the module's instance (the one
        ``count.index``/``each.key`` picks); Terraform writes ``module.m[each.key].output`` as
        just ``module.m``: then every output, which ``ids`` narrows to the attribute's kind."""
        parts = reference.split(".")
        call = ADDRESS_PART.match(parts[1]) if len(parts) > 1 else None
        if call is None:
            return []
        child = tuple(n for n, _ in module) + (call["name"],)
        outputs = self.modules.get(child, {}).get("outputs", {})
        names = [parts[2]] if len(parts) > 2 else list(outputs)
        depth = len(module)
        keys = sorted(
            {
                r.module[depth][1]
                for r in self.resources
                if len(r.module) > depth and r.module[:depth] == module and r.module[depth][0] == call["name"]
            },
            key=str,
        )
        wanted = _index(call["index"]) if call["index"] else index
        if wanted is not None:
            keys = [k for k in keys if k == wanted] or keys
        found: list[str] = []
        for key in keys:
            for name in names:
                expression = (outputs.get(name) or {}).get("expression") or {}
                found += [
                    v
                    for v in self.follow(module + ((call["name"], key),), None, expression)
                    if v not in found
                ]
        return found

    def guess(self, resource: Resource, attribute: str, why: str) -> list[str]:
        """The one resource of the attribute's kind in the same module instance (the same index
        among as many), when a local hides the reference; noted in ``guesses``."""
        candidates = [
            r
            for r in self.resources
            if r.type in ID_KINDS[attribute]
            and r.module == resource.module
            and r.mode == "managed"
            and r is not resource
        ]
        if len(candidates) > 1 and isinstance(resource.index, int):
            counted = [c for c in candidates if isinstance(c.index, int)]
            candidates = (
                [c for c in counted if c.index == resource.index] if len(counted) == len(candidates) else []
            )
        if len(candidates) != 1:
            return []
        self.guesses.append(Guess(resource.address, attribute, candidates[0].address, why))
        return [self.id(candidates[0])]


# the id prefix AWS gives each kind (route targets are told apart by it)
PREFIXES = {
    "aws_vpc": "vpc",
    "aws_default_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_route_table": "rtb",
    "aws_default_route_table": "rtb",
    "aws_internet_gateway": "igw",
    "aws_egress_only_internet_gateway": "eigw",
    "aws_nat_gateway": "nat",
    "aws_eip": "eipalloc",
    "aws_security_group": "sg",
    "aws_default_security_group": "sg",
    "aws_network_acl": "acl",
    "aws_default_network_acl": "acl",
    "aws_instance": "i",
    "aws_network_interface": "eni",
    "aws_vpc_peering_connection": "pcx",
    "aws_ec2_transit_gateway": "tgw",
    "aws_ec2_transit_gateway_vpc_attachment": "tgw-attach",
    "aws_ec2_transit_gateway_route_table": "tgw-rtb",
    "aws_vpn_gateway": "vgw",
    "aws_vpc_endpoint": "vpce",
}


def _walk(module: dict):
    for resource in module.get("resources") or []:
        if isinstance(resource, dict):
            yield resource
    for child in module.get("child_modules") or []:
        if isinstance(child, dict):
            yield from _walk(child)


def _config_modules(root: dict, path: tuple = ()) -> dict[tuple, dict]:
    """Every module of the configuration by its path of call names: resources by address
    (without index), module calls, outputs."""
    modules = {
        path: {
            "resources": {r.get("address"): r for r in root.get("resources") or [] if isinstance(r, dict)},
            "module_calls": root.get("module_calls") or {},
            "outputs": root.get("outputs") or {},
        }
    }
    for name, call in (root.get("module_calls") or {}).items():
        modules.update(_config_modules(call.get("module") or {}, path + (name,)))
    return modules


def _most_specific(references: list[str]) -> list[str]:
    """Terraform lists ``aws_vpc.main.id`` and ``aws_vpc.main``: keep the longer."""
    return [
        r
        for r in references
        if not any(other != r and other.startswith(r) and other[len(r)] in ".[" for other in references)
    ]


def _same_instance(instances: list[Resource], index: Index) -> list[Resource]:
    """The instance of a counted resource that ``count.index`` (or ``each.key``) picks: the same
    index (element() wraps), or the same key."""
    same = [r for r in instances if r.index == index]
    if same or not isinstance(index, int):
        return same
    counted = [r for r in instances if isinstance(r.index, int)]
    return [counted[index % len(counted)]] if counted else []


def any_unknown(unknown: Any) -> bool:
    """Does ``after_unknown`` (a bool, or a list or dict of them) mark anything unknown?"""
    if isinstance(unknown, bool):
        return unknown
    if isinstance(unknown, list):
        return any(any_unknown(u) for u in unknown)
    if isinstance(unknown, dict):
        return any(any_unknown(u) for u in unknown.values())
    return False
