"""The shape of a topology file as JSON Schema (keys, types, required fields).

Meaning-level checks (CIDRs inside CIDRs, references, duplicates) live in ``loader``.
"""

from __future__ import annotations

import difflib

from jsonschema import Draft202012Validator

from .errors import Problem
from .hybrid_schema import ASN, HYBRID
from .model import (
    ATTACHMENT_STATES,
    INSTANCE_MTU,
    MIN_INSTANCE_MTU,
    PEERING_STATES,
    QUOTAS,
)
from .shapes import NAME, NUMBERING, TEXT, _list, _object

REGION_PATTERN = "^[a-z]{2}(-[a-z]+)+-[0-9]+$"  # us-east-1, ap-southeast-2, us-gov-west-1

PROTOCOL = {"type": ["string", "integer"]}
PORTS = {"type": ["integer", "string"]}
ICMP_NUMBER = {"type": ["integer", "string"]}
NAMES = {"type": "array", "items": TEXT}
DOMAIN = {
    "type": "string",
    "pattern": "^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.?$",
}


SG_RULE = _object(
    {
        "protocol": PROTOCOL,
        "ports": PORTS,
        "icmp_type": ICMP_NUMBER,
        "icmp_code": ICMP_NUMBER,
        "cidr": TEXT,
        "security_group": TEXT,
        "prefix_list": TEXT,
        "description": {"type": "string"},
    },
    ("protocol",),
)
NACL_RULE = _object(
    {
        "rule": {"type": "integer"},
        "protocol": PROTOCOL,
        "ports": PORTS,
        "icmp_type": ICMP_NUMBER,
        "icmp_code": ICMP_NUMBER,
        "cidr": TEXT,
        "prefix_list": TEXT,  # refused by the loader, saying why: AWS's NACLs take CIDRs only
        "action": {"enum": ["allow", "deny"]},
    },
    ("rule", "protocol", "action"),
)
ROUTE_PATH = {
    **_object({"peering": TEXT, "transit_gateway": TEXT}),
    "minProperties": 1,
    "maxProperties": 1,
}
HEALTH_CHECK = _object(
    {
        "target": TEXT,
        "interval": {"type": "number", "minimum": 0.05, "maximum": 60},
        "failures": {"type": "integer", "minimum": 1, "maximum": 100},
        "recoveries": {"type": "integer", "minimum": 1, "maximum": 100},
    }
)
ROUTE = _object(
    {
        "destination": TEXT,
        "destination_prefix_list": TEXT,
        "peering": TEXT,
        "transit_gateway": TEXT,
        "internet_gateway": TEXT,
        "nat_gateway": TEXT,
        "instance": TEXT,
        "vpn_gateway": TEXT,  # contract v3: the VPC's virtual private gateway
        "egress_only_internet_gateway": TEXT,  # contract v3: IPv6 out, replies in
        "blackhole": {"type": "boolean"},
        # vpclab's failover routes: paths in order of preference, probed by the route manager
        "failover": {**_list(ROUTE_PATH), "minItems": 1},
        "health_check": HEALTH_CHECK,
        "active": {"type": "integer", "minimum": 0},
    },
)
TGW_ROUTE = _object(
    {"destination": TEXT, "attachment": TEXT, "blackhole": {"type": "boolean"}}, ("destination",)
)

VPC = _object(
    {
        "name": NAME,
        "account": TEXT,  # contract v3: the owner (a name in `accounts:`); default the first
        "region": TEXT,  # contract v3: default the first of `regions:`
        "cidr": {"type": ["string", "array"], "items": TEXT, "minItems": 1},
        "internet_gateway": NAME,
        "ipv6_cidr": TEXT,  # contract v3: its /56 (dual stack)
        "egress_only_internet_gateway": NAME,  # contract v3
        "enable_dns_support": {"type": "boolean"},
        "subnets": _list(
            _object(
                {
                    "name": NAME,
                    "cidr": TEXT,
                    "az": NAME,
                    "route_table": TEXT,
                    "nacl": TEXT,
                    "ipv6_cidr": TEXT,  # contract v3: its /64 of the VPC's /56
                    "ipv6_native": {"type": "boolean"},  # contract v3: IPv6-only (no 'cidr')
                },
                ("name",),
            )
        ),
        "route_tables": _list(
            _object(
                {
                    "name": NAME,
                    "main": {"type": "boolean"},
                    "routes": _list(ROUTE),
                    "propagating_vgws": NAMES,  # contract v3: VGW route propagation
                },
                ("name",),
            )
        ),
        "security_groups": _list(
            _object(
                {
                    "name": NAME,
                    "description": {"type": "string"},
                    "ingress": _list(SG_RULE),
                    "egress": _list(SG_RULE),
                },
                ("name",),
            )
        ),
        "nacls": _list(
            _object({"name": NAME, "ingress": _list(NACL_RULE), "egress": _list(NACL_RULE)}, ("name",))
        ),
        "nat_gateways": _list(
            _object(
                {
                    "name": NAME,
                    "subnet": TEXT,
                    "ip": TEXT,
                    "public_ip": TEXT,
                    "aws_public_ip": TEXT,
                    "server": TEXT,
                },
                ("name", "subnet"),
            )
        ),
        "instances": _list(
            _object(
                {
                    "name": NAME,
                    "subnet": TEXT,
                    "ip": TEXT,
                    "ipv6": TEXT,  # contract v3: in its subnet's /64; default assigned
                    "public_ip": {"type": ["boolean", "string"]},
                    "aws_public_ip": TEXT,  # vpclab import: its real public IP (trace takes it)
                    "metadata_options": _object(
                        {
                            "http_tokens": {"enum": ["optional", "required"]},
                            "http_put_response_hop_limit": {"type": "integer", "minimum": 1, "maximum": 64},
                        },
                        (),
                    ),
                    "iam_role": NAME,
                    "source_dest_check": {"type": "boolean"},
                    "state": {"enum": ["running", "stopped"]},  # vpclab: StopInstances
                    "mtu": {"type": "integer", "minimum": MIN_INSTANCE_MTU, "maximum": INSTANCE_MTU},
                    "security_groups": NAMES,
                    "server": TEXT,
                },
                ("name", "subnet"),
            )
        ),
    },
    ("name", "cidr"),
)

PORT_NUMBER = {"type": "integer", "minimum": 1, "maximum": 65535}
LOAD_BALANCER = _object(
    {
        "name": NAME,
        "subnets": {**NAMES, "minItems": 1},
        "listeners": {
            **_list(
                _object(
                    {"port": PORT_NUMBER, "protocol": {"enum": ["tcp", "udp"]}, "target_port": PORT_NUMBER},
                    ("port",),
                )
            ),
            "minItems": 1,
        },
        "targets": {**NAMES, "minItems": 1},
        # vpclab's health checks (Terraform's names); AWS's NLB defaults
        "health_check": _object(
            {
                "port": PORT_NUMBER,
                "interval": {"type": "number", "minimum": 0.05, "maximum": 300},
                "healthy_threshold": {"type": "integer", "minimum": 1, "maximum": 100},
                "unhealthy_threshold": {"type": "integer", "minimum": 1, "maximum": 100},
            }
        ),
        "unhealthy_targets": NAMES,  # runtime state: the targets the health checks found dead
    },
    ("name", "subnets", "listeners", "targets"),
)

NETWORK_LOAD_BALANCER = _object(
    {
        **LOAD_BALANCER["properties"],
        "vpc": TEXT,
        "scheme": {"enum": ["internal", "internet-facing"]},  # internal: emulated; the other refused
        "enable_cross_zone_load_balancing": {"type": "boolean"},  # Terraform's name; AWS's default false
        "preserve_client_ip": {"type": "boolean"},  # the target group's; true for instance targets
        "addresses": NAMES,  # vpclab: its nodes' addresses, one per subnet (an import keeps the real ones)
    },
    ("name", "vpc", "subnets", "listeners", "targets"),
)

TOPOLOGY = _object(
    {
        "name": NAME,
        "description": {"type": "string"},
        "servers": {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 64},
                _list(_object({"name": NAME, "az": NAME, "region": TEXT}, ("name",))),
            ]
        },
        "internet": _object(
            {"hosts": _list(_object({"name": NAME, "ip": TEXT, "ipv6": TEXT}, ("name", "ip")))}
        ),
        "dns_domain": DOMAIN,  # vpclab's: the instances' YAML names as DNS names under it
        "private_hosted_zones": _list(
            _object(
                {
                    "name": DOMAIN,
                    "vpcs": {**NAMES, "minItems": 1},
                    "records": _list(
                        _object(
                            {
                                "name": TEXT,
                                "type": {"enum": ["A", "AAAA", "CNAME", "TXT"]},
                                "values": {**NAMES, "minItems": 1},
                                "ttl": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                            },
                            ("name", "type", "values"),
                        )
                    ),
                },
                ("name", "vpcs"),
            )
        ),
        "accounts": {
            **_list(
                _object({"name": NAME, "id": {"type": "string", "pattern": "^[0-9]{12}$"}}, ("name", "id"))
            ),
            "minItems": 1,
        },
        "regions": {
            **_list(_object({"name": {"type": "string", "pattern": REGION_PATTERN}}, ("name",))),
            "minItems": 1,
        },
        "quotas": _object({key: {"type": "integer", "minimum": 1} for key in QUOTAS}),
        "vpcs": _list(VPC),  # none: an empty design (the EC2 API builds it)
        "peerings": _list(
            _object(
                {
                    "name": NAME,
                    "requester": TEXT,
                    "accepter": TEXT,
                    "status": {"enum": list(PEERING_STATES)},
                    "deleted": {"type": "boolean"},  # before contract v3: status deleted
                },
                ("name", "requester", "accepter"),
            )
        ),
        "transit_gateways": _list(
            _object(
                {
                    "name": NAME,
                    "account": TEXT,
                    "region": TEXT,
                    "shared_with": NAMES,  # accounts (AWS RAM)
                    "auto_accept_shared_attachments": {"type": "boolean"},
                    "security_group_referencing_support": {"type": "boolean"},
                    "vpn_ecmp_support": {"type": "boolean"},  # contract v3; AWS's default true
                    "asn": ASN,  # vpclab (Terraform: amazon_side_asn); AWS's default 64512
                    # the route table new attachments are associated with, and propagate into
                    # (AWS's default route table; Terraform's ..._default_route_table_id)
                    "association_default_route_table": NAME,
                    "propagation_default_route_table": NAME,
                    "attachments": _list(
                        _object(
                            {
                                "name": NAME,
                                "vpc": TEXT,
                                "subnets": NAMES,
                                "security_group_referencing_support": {"type": "boolean"},
                                "status": {"enum": list(ATTACHMENT_STATES)},
                                "peering": TEXT,  # a TGW peering attachment (no vpc, no subnets)
                                "vpn": TEXT,  # contract v3: a VPN connection to this TGW
                                "direct_connect_gateway": TEXT,  # contract v3: an associated DX gateway
                            },
                            ("name",),
                        )
                    ),
                    "route_tables": _list(
                        _object(
                            {
                                "name": NAME,
                                "associations": NAMES,
                                "propagations": NAMES,
                                "routes": _list(TGW_ROUTE),
                            },
                            ("name",),
                        )
                    ),
                },
                ("name",),
            )
        ),
        "transit_gateway_peerings": _list(
            _object(
                {"name": NAME, "requester": TEXT, "accepter": TEXT, "status": {"enum": list(PEERING_STATES)}},
                ("name", "requester", "accepter"),
            )
        ),
        "prefix_lists": _list(
            _object(
                {
                    "name": NAME,
                    "address_family": {"enum": ["IPv4"]},
                    "max_entries": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "region": TEXT,
                    "entries": {
                        "type": "array",
                        "items": _object({"cidr": TEXT, "description": {"type": "string"}}, ("cidr",)),
                    },
                },
                ("name", "entries"),
            )
        ),
        "endpoint_services": _list(
            _object(
                {
                    "name": NAME,
                    "vpc": TEXT,
                    "load_balancer": LOAD_BALANCER,
                    "private_dns_name": DOMAIN,
                },
                ("name", "vpc", "load_balancer"),
            )
        ),
        "network_load_balancers": _list(NETWORK_LOAD_BALANCER),  # vpclab: NLBs reached directly
        **HYBRID,  # contract v3: on-premises sites, VPN, Direct Connect
        "vpc_endpoints": _list(
            _object(
                {
                    "name": NAME,
                    "vpc": TEXT,
                    "service": TEXT,
                    "vpc_endpoint_type": {"enum": ["Interface", "Gateway", "interface", "gateway"]},
                    "subnets": {**NAMES, "minItems": 1},
                    "security_groups": NAMES,
                    "private_dns_enabled": {"type": "boolean"},
                    "route_tables": NAMES,  # a gateway endpoint's (none: AWS takes it)
                    "addresses": NAMES,  # vpclab: an AWS service's interfaces' addresses, per subnet
                    "aws_cidrs": {"type": "array", "items": TEXT},  # vpclab: the service's real CIDRs
                },
                ("name", "vpc", "service"),
            )
        ),
        "numbering": NUMBERING,
        "flow_logs": _list(
            _object(
                {
                    "name": NAME,
                    "resource": TEXT,
                    "traffic_type": {"enum": ["ALL", "ACCEPT", "REJECT"]},
                    "max_aggregation_interval": {"type": "integer", "minimum": 1, "maximum": 600},
                },
                ("name", "resource"),
            )
        ),
    },
    ("name", "vpcs"),
)

_VALIDATOR = Draft202012Validator(TOPOLOGY)


_ITEM_VALIDATORS = {
    key: Draft202012Validator(schema["items"])
    for key, schema in TOPOLOGY["properties"].items()
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict)
}


def shape_problems(document, valid_before: dict | None = None) -> list[Problem]:
    """Every place where the document's shape differs from the format, as Problems.

    ``valid_before``: a version of the data known to be valid (a runtime change edits one
    object); then only the list items that differ from it are checked, the rest is as before.
    """
    data = document.data
    if valid_before is not None and _only_items_differ(data, valid_before):
        problems = []
        for key, check in _ITEM_VALIDATORS.items():
            for n, (item, old) in enumerate(zip(data.get(key, []), valid_before.get(key, []), strict=True)):
                if item != old:
                    for error in check.iter_errors(item):
                        problems.extend(_explain(document, (key, n, *error.absolute_path), error))
        return problems
    problems = []
    for error in _VALIDATOR.iter_errors(data):
        problems.extend(_explain(document, tuple(error.absolute_path), error))
    return problems


def _only_items_differ(data, before: dict) -> bool:
    """Do ``data`` and ``before`` differ only inside items of the top-level lists?"""
    if not isinstance(data, dict) or data.keys() != before.keys():
        return False
    for key, value in data.items():
        if key in _ITEM_VALIDATORS and isinstance(value, list) and isinstance(before[key], list):
            if len(value) != len(before[key]):
                return False
        elif value != before[key]:
            return False
    return True


# What AWS's API, CloudFormation and Terraform call the keys of this format, without '_'
# (so availability_zone and AvailabilityZone are one entry)
AWS_NAMES = {
    "availabilityzone": "az",
    "zone": "az",
    "cidrblock": "cidr",
    "cidrblocks": "cidr",
    "cidrip": "cidr",
    "fromport": "ports",
    "toport": "ports",
    "port": "ports",
    "portrange": "ports",
    "ipprotocol": "protocol",
    "ruleaction": "action",
    "rulenumber": "rule",
    "vpcsecuritygroupids": "security_groups",
    "securitygroupids": "security_groups",
    "sourcesecuritygroupid": "security_group",
    "privateip": "ip",
    "privateipaddress": "ip",
    "subnetid": "subnet",
    "subnetids": "subnets",
    "destinationcidrblock": "destination",
    "transitgatewayid": "transit_gateway",
    "vpcpeeringconnectionid": "peering",
    "transitgatewayattachmentid": "attachment",
    "vpcid": "vpc",
    "peervpcid": "accepter",
    "rules": "ingress",
    "tgw": "transit_gateway",
    "tgwid": "transit_gateway",
    "gatewayid": "internet_gateway",
    "igw": "internet_gateway",
    "internetgatewayid": "internet_gateway",
    "natgatewayid": "nat_gateway",
    "metadataoptions": "metadata_options",
    "httptokens": "http_tokens",
    "httpputresponsehoplimit": "http_put_response_hop_limit",
    "iaminstanceprofile": "iam_role",
    "sourcedestcheck": "source_dest_check",
    "natgateway": "nat_gateway",
    "associatepublicipaddress": "public_ip",
    "publicipaddress": "public_ip",
    "elasticip": "public_ip",
    "eip": "public_ip",
}

# The accepted form of a value, shown when a value has the wrong type
FORMS = {
    "ports": 'ports: 443 or ports: "1024-65535"',
    "cidr": "cidr: 10.0.0.0/16 (a VPC may list several)",
    "destination": "destination: 10.1.0.0/16",
    "protocol": "protocol: tcp, udp, icmp, all (or -1), or a number 0-255",
    "icmp_type": "icmp_type: 8 (0-255, or -1 for any)",
    "icmp_code": "icmp_code: 0 (0-255, or -1 for any)",
    "security_groups": "security_groups: [web-sg, ssh-sg]",
    "subnets": "subnets: [a, b]",
    "associations": "associations: [prod-att]",
    "propagations": "propagations: [prod-att]",
    "rule": "rule: 100",
    "public_ip": "public_ip: true (from 203.0.113.0/24) or public_ip: 203.0.113.10 (an Elastic IP)",
}


def closest_key(key: str, allowed) -> str | None:
    """The known key a user most likely meant: AWS's or Terraform's name for it, or the nearest
    spelling (difflib); None when nothing is close."""
    allowed = list(allowed)
    folded = str(key).lower().replace("-", "_")
    alias = AWS_NAMES.get(folded.replace("_", ""))
    if alias in allowed:
        return alias
    if folded in allowed:
        return folded
    close = difflib.get_close_matches(folded, allowed, n=1, cutoff=0.6)
    return close[0] if close else None


# keys of the contract (v2, docs/topology-format.md) that vpclab does not implement yet, each
# with a key of the mapping where the contract puts it (a route's 'instance' is no typo there)
def _unknown_key(key: str, allowed: list[str]) -> str:
    guess = closest_key(key, allowed)
    return (f"unknown key; did you mean '{guess}'? " if guess else "unknown key ") + (
        f"(allowed here: {', '.join(allowed)})"
    )


def _explain(document, path, error) -> list[Problem]:
    if error.validator == "additionalProperties":
        allowed = list(error.schema["properties"])
        return [
            document.problem(path + (key,), _unknown_key(key, allowed))
            for key in sorted(set(error.instance) - set(allowed))
        ]
    if error.validator == "required":
        return [
            document.problem(path, f"missing required key '{key}'")
            for key in error.validator_value
            if key not in error.instance
        ]
    if error.validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        form = FORMS.get(path[-1]) if path and isinstance(path[-1], str) else None
        return [
            document.problem(
                path,
                f"expected {_type_phrase(wanted)}, got {error.instance!r}" + (f" ({form})" if form else ""),
            )
        ]
    if error.validator == "pattern" and error.validator_value == DOMAIN["pattern"]:
        return [
            document.problem(
                path, f"{error.instance!r} is not a DNS name (labels of letters, digits and '-')"
            )
        ]
    if error.validator == "pattern":
        return [
            document.problem(
                path,
                f"{error.instance!r} is not a valid name "
                "(letters, digits and '-', starting with a letter or digit)",
            )
        ]
    if error.validator == "enum":
        choices = " or ".join(repr(choice) for choice in error.validator_value)
        return [document.problem(path, f"expected {choices}, got {error.instance!r}")]
    if error.validator in ("minProperties", "maxProperties") and "failover" in path:
        return [
            document.problem(path, "a failover path is one of 'peering: NAME' or 'transit_gateway: NAME'")
        ]
    if error.validator == "oneOf" and path == ("servers",):
        return [document.problem(path, "expected a number of servers (1-64) or a list of {name, az} entries")]
    return [document.problem(path, error.message)]


_TYPE_PHRASES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
}


def _type_phrase(type_names: str) -> str:
    return " or ".join(_TYPE_PHRASES.get(name, name) for name in type_names.split(" or "))
