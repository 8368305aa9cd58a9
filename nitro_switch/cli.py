"""The Mininet CLI, with the VPC at hand."""
from __future__ import annotations

from mininet.cli import CLI


class VpcCLI(CLI):
    """Mininet's CLI over the instances of a running emulation."""

    prompt = "vpclab> "

    def __init__(self, emulation, **kwargs):
        self.emulation = emulation
        super().__init__(emulation.hosts.net, **kwargs)
