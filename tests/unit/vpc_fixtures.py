import textwrap

import pytest

from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import load_topology


def load(text: str):
    """Load a topology from YAML text (dedented), as file 'test.yaml'."""
    return load_topology("test.yaml", textwrap.dedent(text))


def problems(text: str) -> list[str]:
    """The rendered problems of an invalid topology (fails the test if it is valid)."""
    with pytest.raises(TopologyError) as caught:
        load(text)
    return caught.value.render().splitlines()


def one_vpc(body: str = "", extra: str = "") -> str:
    """A minimal valid topology with one VPC; ``body`` is indented into the VPC mapping."""
    vpc = textwrap.indent(textwrap.dedent(body), "    ")
    return f"name: t\nvpcs:\n  - name: prod\n    cidr: 10.0.0.0/16\n{vpc}\n" + textwrap.dedent(extra)


def verdict(topology, src: str, dst: str, protocol: str = "icmp", port=None, **options):
    """Trace from instance ``src`` to instance (or IP) ``dst``; returns the Verdict."""
    from ipaddress import ip_address

    from vpclab.intent.values import parse_protocol
    from vpclab.oracle.trace import trace

    try:
        destination = topology.instance(dst).ip
    except KeyError:
        destination = ip_address(dst)
    return trace(topology, topology.instance(src), destination, parse_protocol(protocol), port, **options)


def example(name: str):
    """Load one of the example topologies shipped in topologies/."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "topologies" / name
    return load_topology(str(path))
