"""The building blocks of the topology file's JSON Schema (``schema``, ``hybrid_schema``)."""

from __future__ import annotations

NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]*$"}
TEXT = {"type": "string", "minLength": 1}


def _object(properties: dict, required: tuple = ()) -> dict:
    """A mapping with these keys only; a named object may also carry a ``description`` (free
    text; ``vpclab import`` writes the AWS id there, and trace shows an id next to the object)."""
    if "name" in properties and "description" not in properties:
        properties = {**properties, "description": {"type": "string"}}
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}
