"""An imported account's IPv6, in the documentation space: each VPC's /56 (Amazon's, or the
owner's BYOIP) becomes 2001:db8:N00::/56, N the VPC's number in the snapshot, keeping the
subnet and interface bits below the /56, so a subnet's /64, an instance's address and a rule's
or route's CIDR inside the VPC map alike. ``::/0`` stays; a CIDR outside every imported VPC
(a partner's network) stays as written: no emulated address is in it (vpclab's internet
hosts use 2001:db8:ffff::/48)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network, ip_network
from typing import Optional

BASE = IPv6Network("2001:db8::/32")
VPC_PREFIX = 56
FIRST = 1  # the first VPC's /56: 2001:db8:100::/56


class Ipv6Space:
    def __init__(self):
        self.blocks: dict[IPv6Network, IPv6Network] = {}  # a VPC's real /56 -> its emulated one

    def add_vpc(self, real: str) -> Optional[str]:
        """The emulated /56 of a VPC's real IPv6 block (None: not a /56, which AWS never gives)."""
        block = IPv6Network(real, strict=False)
        if block.prefixlen != VPC_PREFIX:
            return None
        if block not in self.blocks:
            number = FIRST + len(self.blocks)
            self.blocks[block] = IPv6Network(f"2001:db8:{number:x}00::/{VPC_PREFIX}")
        return str(self.blocks[block])

    def _move(self, address: IPv6Address) -> Optional[IPv6Address]:
        for real, emulated in self.blocks.items():
            if address in real:
                return emulated.network_address + (int(address) - int(real.network_address))
        return None

    def network(self, text: str) -> str:
        """A CIDR as the emulated design holds it: inside an imported VPC's /56, moved with it;
        else as written."""
        network = ip_network(text, strict=False)
        if network.version != 6 or network.prefixlen < VPC_PREFIX:
            return text
        moved = self._move(network.network_address)
        return text if moved is None else f"{moved}/{network.prefixlen}"

    def address(self, text: str) -> Optional[str]:
        """An instance's IPv6 address in its VPC's emulated /56 (None: in no imported VPC)."""
        moved = self._move(IPv6Address(text))
        return None if moved is None else str(moved)
