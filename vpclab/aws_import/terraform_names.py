"""The names a plan's resources take in the design."""

from __future__ import annotations

from .terraform_plan import Resource


def name_tag(resource: Resource) -> list[dict]:
    """AWS's Name tag: the plan's, else the resource's name in the configuration (with its
    module's and its index), so the design names it as the .tf file does."""
    tags = resource.values.get("tags") or {}
    if isinstance(tags, dict) and isinstance(tags.get("Name"), str) and tags["Name"]:
        return [{"Key": "Name", "Value": tags["Name"]}]
    parts = [name for name, _ in resource.module] + [resource.name]
    if resource.index is not None:
        parts.append(str(resource.index))
    return [{"Key": "Name", "Value": "-".join(parts).replace("_", "-")}]
