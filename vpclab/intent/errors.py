"""Errors a user can act on: each names the file, the line, the path in the document and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from vpclab.errors import InvalidInput

PathPart = Union[str, int]
DocPath = tuple[PathPart, ...]


def format_path(path: DocPath) -> str:
    """``('vpcs', 1, 'subnets', 0, 'cidr')`` -> ``vpcs[1].subnets[0].cidr``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(document)"


def parse_origin(origin: str) -> DocPath:
    """``vpcs[1].subnets[0].cidr`` -> ``('vpcs', 1, 'subnets', 0, 'cidr')``; an implicit
    object's name in brackets (``nacls[default]``) ends the path at its list."""
    path: list[PathPart] = []
    for piece in origin.split("."):
        name, _, rest = piece.partition("[")
        path.append(name)
        for index in rest.rstrip("]").split("][") if rest else ():
            if not index.isdigit():
                return tuple(path)
            path.append(int(index))
    return tuple(path)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a topology, at a place in the document."""

    path: DocPath
    message: str
    line: int = 0

    def render(self, source: str) -> str:
        return f"{source}:{self.line}: {format_path(self.path)}: {self.message}"


class TopologyError(InvalidInput):
    """A topology that does not validate; carries every problem found."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line, format_path(p.path)))
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(problem.render(self.source) for problem in self.problems)

    def report(self, command: str) -> str:
        return self.render()  # FILE:LINE: path: message, one a line


class ChangeError(InvalidInput):
    """A runtime change that cannot be applied; the message says why."""


class DependencyViolation(ChangeError):
    """A change AWS refuses because something still uses the object (the API's code)."""

    code = "DependencyViolation"


class CannotDelete(ChangeError):
    """A VPC's default object, which AWS does not delete."""

    code = "CannotDelete"


class GatewayNotAttached(ChangeError):
    """A public address for a VPC without an internet gateway (AWS: Gateway.NotAttached)."""

    code = "Gateway.NotAttached"
