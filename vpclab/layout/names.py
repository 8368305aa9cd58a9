"""Names of every resource vpclab creates, all derived from the topology's name.

Everything carries a prefix so that ``vpclab clean`` can find exactly what vpclab made:
network namespaces ``vpclab-<id>-<topology>-<server>``, root-namespace interfaces
``vpl<id>...`` (id: 6 hex digits of the topology name's hash; Linux allows 15 characters: the
underlay bridge ``ul``, uplinks ``u<n>``, a Region's bridge ``rb<n>`` and its link to the
backbone ``rl<n>``/``rk<n>``),
the nftables table ``bridge vpl<id>`` of its impaired links, and the run directory
``/run/vpclab/<topology>/``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

RUN_ROOT = os.environ.get("VPCLAB_RUN_ROOT", "/run/vpclab")
NETNS_PREFIX = "vpclab-"
RUN_MARKER = "VPCLAB_RUN"  # exported in every instance's shell: its processes carry the run's name
INTERFACE_PATTERN = re.compile(r"^vpl[0-9a-f]{6}(ul|u\d+|rb\d+|rl\d+|rk\d+)$")
IMPAIRMENT_TABLE = re.compile(r"^vpl[0-9a-f]{6}$")  # nftables, bridge family: impaired links


@dataclass(frozen=True)
class Names:
    topology: str

    @property
    def short(self) -> str:
        return hashlib.blake2b(self.topology.encode(), digest_size=3).hexdigest()

    @property
    def run_dir(self) -> str:
        return os.path.join(RUN_ROOT, self.topology)

    def server_dir(self, server: str) -> str:
        return os.path.join(self.run_dir, server)

    def netns(self, server: str) -> str:
        return f"{self.netns_prefix}{self.topology}-{server}"

    @property
    def netns_prefix(self) -> str:
        return f"{NETNS_PREFIX}{self.short}-"

    @property
    def underlay_bridge(self) -> str:
        return f"vpl{self.short}ul"

    def underlay_port(self, index: int) -> str:
        return f"vpl{self.short}u{index}"

    def region_bridge(self, index: int) -> str:
        """The underlay of the ``index``-th Region (its servers' uplinks), when there are several."""
        return f"vpl{self.short}rb{index}"

    def region_link(self, index: int) -> tuple[str, str]:
        """The Region-to-Region link of the ``index``-th Region: (its end, the backbone's end)."""
        return f"vpl{self.short}rl{index}", f"vpl{self.short}rk{index}"

    @property
    def impairment_table(self) -> str:
        """The nftables table (bridge family, root namespace) of its impaired underlay links."""
        return f"vpl{self.short}"

    @property
    def status_file(self) -> str:
        return os.path.join(self.run_dir, "hyperplane.json")

    @property
    def intent_file(self) -> str:
        """The running design (original, changed, change log), kept by the controller."""
        return os.path.join(self.run_dir, "intent.json")

    @property
    def state_file(self) -> str:
        return os.path.join(self.run_dir, "processes.json")
