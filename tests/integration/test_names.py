"""Instance names are the user's: names that `ip` reads as keywords must still bring up."""

import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_helpers import leftovers, live

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

pytestmark = live
IP_KEYWORDS = [
    "up",
    "down",
    "dev",
    "a",
    "name",
    "type",
    "link",
    "help",
    "mtu",
    "netns",
    "peer",
    "master",
    "addr",
    "all",
    "default",
    "set",
    "add",
    "del",
    "vf",
    "to",
    "via",
]
NAME = st.one_of(st.sampled_from(IP_KEYWORDS), st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))


def topology_with(names):
    """The topology, written to a file (the controller reads the design from its file)."""
    instances = "\n".join(f"      - {{name: {name}, subnet: s}}" for name in names)
    path = os.path.join(tempfile.mkdtemp(prefix="vpclab-names-"), "names.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"""
name: names
servers: 1
vpcs:
  - name: v
    cidr: 10.5.0.0/16
    subnets: [{{name: s, cidr: 10.5.1.0/24}}]
    instances:
{instances}
""")
    return load_topology(path)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(NAME, min_size=2, max_size=6, unique=True))
def test_instances_named_like_ip_keywords_come_up_and_talk(names):
    names = ["up", "dev", "all", *[n for n in names if n not in ("up", "dev", "all")]]
    topology = topology_with(names)
    with Emulation(topology, log=lambda line: None) as lab:
        first, second = lab.hosts.hosts[names[0]], topology.instance(names[-1])
        assert "1 received" in first.cmd(f"ping -c 1 -W 2 {second.ip}")
    assert leftovers(lab.names.short) == {"namespaces": [], "interfaces": []}
