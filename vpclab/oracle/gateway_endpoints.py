"""Gateway endpoints: a route to one takes a packet from its VPC to the AWS service (S3,
DynamoDB) with its private source address; the reply comes back the same way. As AWS
documents, an endpoint serves only traffic that starts in its VPC: not what a peering, a
transit gateway or a NAT gateway brought there."""

from __future__ import annotations

from vpclab.intent import model as m

from .packet import RETURN, Arrival, Endpoint, Packet
from .walk import WalkState


class GatewayEndpoints(WalkState):
    def via_gateway_endpoint(self, vpc: m.Vpc, route: m.Route, packet: Packet, source) -> Endpoint:
        assert route.gateway_endpoint is not None
        endpoint = self.topology.gateway_endpoint(route.gateway_endpoint)
        at = f"{vpc.name}/{endpoint.name}"
        self.hop("route", at, True, route.origin, route.describe())
        if self.options.direction == RETURN:  # the request came another way
            self.fail(
                "gateway-endpoint",
                at,
                endpoint.origin,
                f"the reply to {packet.dst} leaves by endpoint {endpoint.name}, not the way its "
                f"request came: {endpoint.service_name} never opened that connection",
                "reply-misrouted",
            )
        own = isinstance(source, m.Instance) and source.vpc == vpc.name and not self.carried.from_tgw
        self.hop(
            "gateway-endpoint",
            at,
            own and packet.src == getattr(source, "ip", None),
            endpoint.origin,
            f"endpoint {endpoint.name} carries {packet.describe()} to {endpoint.service_name}"
            if own
            else f"{packet.src} did not start in {vpc.name}: a gateway endpoint serves only its own VPC",
            "not-transitive",
        )
        host = self.topology.internet_host_at(packet.dst)
        if host is None or host.service != endpoint.service_name:
            self.fail(  # the loader routes only the service's own list to it
                "gateway-endpoint",
                at,
                endpoint.origin,
                f"{packet.dst} is no address of {endpoint.service_name}",
            )
        self.found.arrival = Arrival("internet", None, "")
        self.found.gateway = endpoint
        return self.arrive(host, packet, route.origin)

    def back_through_gateway(self, packet: Packet, source) -> Endpoint:
        """A service's reply to a connection that came through a gateway endpoint: back to
        the private address it came from, into its subnet (NACL ingress, SG by state)."""
        endpoint = self.options.gateway
        assert endpoint is not None and self.options.direction == RETURN
        vpc = self.topology.vpc(endpoint.vpc)
        at = f"{vpc.name}/{endpoint.name}"
        self.hop(
            "gateway-endpoint",
            at,
            True,
            endpoint.origin,
            f"the reply of a connection through endpoint {endpoint.name} goes back to {packet.dst}",
        )
        owner = self.topology.instance_at(vpc.name, packet.dst)
        az = vpc.subnet(owner.subnet).az if owner else ""
        return self.deliver(vpc, packet, Arrival("internet", None, az), source)
