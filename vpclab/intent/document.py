"""A YAML document with the line of every node, so errors can point at the file."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .errors import DocPath, Problem, TopologyError


@dataclass
class Document:
    """Parsed YAML data plus ``lines``: document path -> 1-based line number."""

    source: str
    data: object
    lines: dict = field(default_factory=dict)

    def line(self, path: DocPath) -> int:
        """The line of ``path``, or of its nearest ancestor present in the file."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: DocPath, message: str) -> Problem:
        return Problem(tuple(path), message, self.line(path))


def load_document(source: str, text: str | None = None) -> Document:
    """Parse ``source`` (or ``text``) strictly; raise TopologyError on bad YAML or duplicate keys."""
    if text is None:
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise TopologyError(source, [Problem((), f"cannot read the file: {error.strerror}", 0)]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error)
        raise TopologyError(source, [Problem((), f"YAML syntax error: {reason}", line)]) from None
    document = Document(source, None)
    problems: list[Problem] = []
    converter = _Converter(document, problems)
    document.data = converter.convert(root, ()) if root is not None else {}
    if problems:
        raise TopologyError(source, problems)
    return document


class _Converter:
    """Turns composed nodes into plain Python data, recording each path's line."""

    def __init__(self, document: Document, problems: list):
        self.document, self.problems = document, problems
        self.constructor = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: DocPath) -> object:
        self.document.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (index,)) for index, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: DocPath) -> dict:
        result = {}
        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node, deep=True)
            child = path + (str(key),)
            key_line = key_node.start_mark.line + 1
            if key in result:
                self.problems.append(Problem(child, "duplicate key", key_line))
                continue
            result[key] = self.convert(value_node, child)
            self.document.lines[child] = key_line  # a key's line, not its value's
        return result
