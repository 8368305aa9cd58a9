"""The building blocks of the topology file's JSON Schema (``schema``, ``hybrid_schema``)."""

from __future__ import annotations

from .model import MAX_CARD_PORT, MAX_INSTANCE_ZONE, MAX_NAT_NUMBER

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


# what a running emulation writes once instances and NAT gateways come and go at run time
# (RunInstances, CreateNatGateway, the shell's launch and nat-create): each instance's numbers
# on its card, each NAT gateway's number (see loader.numbering)
NUMBERING = _object(
    {
        "instances": {
            "type": "object",
            "additionalProperties": _object(
                {
                    "zone": {"type": "integer", "minimum": 1, "maximum": MAX_INSTANCE_ZONE},
                    "port": {"type": "integer", "minimum": 1, "maximum": MAX_CARD_PORT},
                },
                ("zone", "port"),
            ),
        },
        "nat_gateways": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_NAT_NUMBER},
        },
        # an instance's automatic public IP (``public_ip: true``) as the pool gave it
        "public_ips": {"type": "object", "additionalProperties": {"type": "string"}},
        # ... and the one a stopped instance released: its start takes another (AWS: a new one)
        "released_public_ips": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)
