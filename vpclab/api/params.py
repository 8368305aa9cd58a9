"""What every EC2 API call module shares: the API's ids of the design's objects, AWS-style
refusals, and the Query API's parameters (``Prefix.N.Rest=value``) read as lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from vpclab.errors import InvalidInput

READING = ("Describe", "Get", "List", "Search")
Change = tuple[str, dict]  # (operation, arguments) of Hyperplane's change API
NEW = "pcx-new"  # a created object's name in the trial, before moto answers with its id


class ApiRefusal(InvalidInput):
    """An AWS-style error: ``code`` (e.g. UnsupportedOperation) and its message."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Ids:
    """The API's ids of the design's objects, both ways: id -> (kind, key), (kind, key) -> id.
    A key is the object's name, or (VPC, name) for what is named within its VPC."""

    by_id: dict[str, tuple[str, object]] = field(default_factory=dict)
    by_key: dict[tuple[str, object], str] = field(default_factory=dict)

    def add(self, kind: str, key, aws_id: str) -> None:
        """``aws_id`` stands for ``key`` now; an id it had before no longer does (a new
        association replaces the old one, as AWS's do)."""
        stale = self.by_key.get((kind, key))
        if stale is not None and stale != aws_id:
            self.by_id.pop(stale, None)
        self.by_id[aws_id] = (kind, key)
        self.by_key[(kind, key)] = aws_id

    def forget(self, kind: str, key) -> None:
        """``key`` is gone (a terminated instance): its id names nothing any longer."""
        stale = self.by_key.pop((kind, key), None)
        if stale is not None:
            self.by_id.pop(stale, None)

    def key(self, aws_id: str, kind: str, what: str):
        """The design's key of ``aws_id``, which must be a ``kind``; else AWS's not-found error."""
        found = self.by_id.get(aws_id)
        if found is None or found[0] != kind:
            raise ApiRefusal(f"Invalid{what}.NotFound", f"The {what} ID '{aws_id}' does not exist")
        return found[1]

    def id_of(self, kind: str, key) -> Optional[str]:
        return self.by_key.get((kind, key))


def reads(action: str) -> bool:
    return action.startswith(READING)


def members(params: dict, prefix: str) -> list[dict]:
    """``Prefix.N.Rest=value`` parameters as a list of dicts {Rest: value}, in N's order."""
    found: dict[int, dict] = {}
    for key, value in params.items():
        head, _, rest = key.partition(".")
        if head != prefix or not rest:
            continue
        number, _, name = rest.partition(".")
        if number.isdigit() and name:
            found.setdefault(int(number), {})[name] = value
    return [found[n] for n in sorted(found)]


def numbered(params: dict, prefix: str) -> list[str]:
    """The values of ``Prefix.N`` parameters (a Query API list: ``GroupId.1``...), in N's order."""
    found = [(int(k[len(prefix) + 1 :]), v) for k, v in params.items() if re.fullmatch(rf"{prefix}\.\d+", k)]
    return [value for _, value in sorted(found)]


def group_names(
    ids: Ids, groups: list[str], vpc: str, refused: Callable[[str, str], ApiRefusal]
) -> list[str]:
    """The design's names of security group ids, each a group of ``vpc`` (else
    ``refused(group id, its VPC)``)."""
    names = []
    for group in groups:
        owner, name = ids.key(group, "security_group", "Group")
        if owner != vpc:
            raise refused(group, owner)
        names.append(name)
    return names


def tagged_name(params: dict) -> Optional[str]:
    """The Name tag a create call gives its object (TagSpecification.N.Tag.M.Key=Name)."""
    for spec in members(params, "TagSpecification"):
        for tag in members(spec, "Tag"):
            if tag.get("Key") == "Name":
                return tag.get("Value")
    return None
