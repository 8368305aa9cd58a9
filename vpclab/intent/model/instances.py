"""vpclab's model: instances."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Optional

from .constants import INSTANCE_MTU
from .security_groups import SGRef


@dataclass(frozen=True)
class MetadataOptions:
    """The instance metadata service's options (AWS's ``MetadataOptions``)."""

    http_tokens: str = "optional"  # optional: IMDSv1 allowed; required: IMDSv2 tokens only
    http_put_response_hop_limit: int = 1  # the IP TTL of the token response


@dataclass(frozen=True)
class Instance:
    origin: str
    vpc: str
    subnet: str
    name: str
    ip: Optional[IPv4Address]  # None: in an IPv6-only subnet
    security_groups: tuple[SGRef, ...]
    server: str
    public_ip: Optional[IPv4Address] = None  # its public IPv4 or Elastic IP (1:1 at the IGW)
    metadata: MetadataOptions = MetadataOptions()
    iam_role: Optional[str] = None  # its instance profile's role: credentials in the IMDS
    source_dest_check: bool = True  # False: it may send from addresses not its own (an appliance)
    mtu: int = INSTANCE_MTU  # its eth0's MTU (the OS's setting; AWS's default is 9001)
    aws_id: Optional[str] = None  # an imported instance's id (its description's first word)
    aws_public_ip: Optional[IPv4Address] = None  # an imported one's real public IP (public_ip's)
    # an interface endpoint's network interface to an AWS service (com.amazonaws.REGION.NAME):
    # vpclab's stand-in host, which answers as the service and opens no connections
    service: Optional[str] = None
    endpoint: Optional[str] = None  # ... and the endpoint it belongs to
    private_dns: bool = False  # ... whose private DNS name its VPC resolves to its interfaces
    ipv6: Optional[IPv6Address] = None  # in a subnet with an IPv6 CIDR: given, else assigned
    state: str = "running"  # or "stopped": its interface and addresses stay, it sends and answers nothing

    @property
    def stopped(self) -> bool:
        return self.state == "stopped"

    @property
    def ipv4(self) -> IPv4Address:
        """Its IPv4 address, where only an instance with one can be (NLB targets, the cards)."""
        assert self.ip is not None, f"{self.name} is IPv6-only"
        return self.ip

    @property
    def addresses(self) -> tuple:
        """Its private addresses, IPv4 first: what its card lets it send from."""
        return tuple(a for a in (self.ip, self.ipv6) if a is not None)

    @property
    def service_dns_name(self) -> Optional[str]:
        """An AWS service's regional name, as its endpoint's private DNS answers it:
        com.amazonaws.us-east-1.sqs is sqs.us-east-1.amazonaws.com."""
        if self.service is None:
            return None
        region, name = self.service.removeprefix("com.amazonaws.").split(".", 1)
        return f"{name}.{region}.amazonaws.com"

    @property
    def public_ip_origin(self) -> str:
        return f"{self.origin}.public_ip"
