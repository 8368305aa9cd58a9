"""Runtime changes that launch and terminate instances, create and delete NAT gateways and VPCs
(what the EC2 API's RunInstances, TerminateInstances, CreateNatGateway, DeleteNatGateway,
CreateVpc and DeleteVpc do; the shell's ``launch``, ``terminate``, ``nat-create``...).

An instance or NAT gateway that comes or goes must move nothing else: before the first one
does, every instance's and NAT gateway's server, addresses and numbers (``numbering:``) are
written into the running data as they are, so the loader's defaults (least loaded server,
first free address, lowest free zone, port and number, in file order) only ever place the
newcomer. Its private address is its subnet's lowest free one, as AWS assigns it, counting
every interface the subnet holds.

A VPC is appended (its number, its VNI, stays the others'); AWS refuses to delete one that
still holds subnets, gateways, connections or objects other than its defaults
(DependencyViolation), and so does vpclab."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, ip_network
from typing import Optional

from . import model as m
from .errors import ChangeError, DependencyViolation, GatewayNotAttached
from .resources import _instance, _pin_public_ips, _vpc, blackhole


def _pin_instances(topology: m.Topology, data: dict) -> None:
    """Write every instance's server, addresses and card numbers as they are now."""
    _pin_public_ips(topology, data)
    for vpc in data["vpcs"]:
        for entry in vpc.get("instances", []):
            instance = topology.instance(entry["name"])
            entry["server"] = instance.server
            if instance.ip is not None:
                entry["ip"] = str(instance.ip)
            if instance.ipv6 is not None:
                entry["ipv6"] = str(instance.ipv6)
    data["numbering"].update(
        instances={n.instance: {"zone": n.zone, "port": n.port} for n in topology.numbering},
        nat_gateways=dict(topology.nat_numbers),
    )
    for vpc in data["vpcs"]:
        for entry in vpc.get("nat_gateways", []):
            nat = topology.vpc(vpc["name"]).nat_gateway(entry["name"])
            entry["ip"], entry["server"] = str(nat.ip), nat.server


def lowest_free_address(topology: m.Topology, vpc: str, subnet: str) -> Optional[IPv4Address]:
    """The subnet's lowest address no interface holds (AWS's first four and its last are
    reserved): instances, NAT gateways, endpoint interfaces, load balancer nodes."""
    block = topology.vpc(vpc).subnet(subnet).cidr
    if block is None:
        return None  # an IPv6-only subnet
    taken = {i.ip for i in topology.instances if i.vpc == vpc}
    taken |= {n.ip for n in topology.nat_gateways if n.vpc == vpc}
    taken |= {i.ip for i in topology.endpoint_interfaces if i.vpc == vpc}
    taken |= {n.ip for b in topology.load_balancers if b.vpc == vpc for n in b.nodes}
    reserved = len(m.RESERVED_HOST_OFFSETS)
    for offset in range(reserved, block.num_addresses - 1):
        address = block.network_address + offset
        if address not in taken:
            return address
    raise ChangeError(f"subnet '{subnet}' of VPC '{vpc}' has no free address ({block})")


def launch_instance(
    intent,
    data,
    vpc: str,
    subnet: str,
    name: str,
    security_groups: Optional[list] = None,
    ip: Optional[str] = None,
    ipv6: Optional[str] = None,
    public_ip=None,
    iam_role: Optional[str] = None,
    server: Optional[str] = None,
    description: Optional[str] = None,
) -> str:
    """A new instance in a subnet (its VPC's default group unless groups are named), at the
    subnet's lowest free address unless ``ip`` names one; ``ipv6``: an address, or True for
    one assigned; ``public_ip``: True for one of the pool, or an address; ``description``:
    its AWS id first (the EC2 API's launches: the metadata service answers with it)."""
    topology = intent.topology
    entry = _vpc(data, vpc)
    if not any(s.get("name") == subnet for s in entry.get("subnets", [])):
        raise ChangeError(f"no subnet '{subnet}' in VPC '{vpc}'")
    if any(i.name == name for i in topology.instances):
        raise ChangeError(f"there is an instance named '{name}' already")
    _pin_instances(topology, data)
    launched: dict = {"name": name, "subnet": subnet}
    address = ip if ip is not None else lowest_free_address(topology, vpc, subnet)
    if address is not None:
        launched["ip"] = str(address)
    for key, value in (
        ("security_groups", list(security_groups or [])),
        ("ipv6", ipv6),
        ("public_ip", public_ip),
        ("iam_role", iam_role),
        ("server", server),
        ("description", description),
    ):
        if value:
            launched[key] = value
    entry.setdefault("instances", []).append(launched)
    where = f" ({launched['ip']})" if "ip" in launched else ""
    return f"launched instance '{name}' in subnet '{subnet}' of VPC '{vpc}'{where}"


def terminate_instance(intent, data, instance: str) -> str:
    """Terminate an instance: its interface goes, and routes to it become blackholes (as
    AWS's do); it leaves the NLBs that had it as a target."""
    _pin_instances(intent.topology, data)
    vpc, entry = _instance(data, instance)
    vpc["instances"] = [i for i in vpc["instances"] if i is not entry]
    del data["numbering"]["instances"][instance]
    data["numbering"]["public_ips"].pop(instance, None)
    data["numbering"].get("released_public_ips", {}).pop(instance, None)
    blackholed = blackhole(vpc.get("route_tables", []), "instance", instance)
    for balancer in data.get("network_load_balancers", []):
        if instance in balancer.get("targets", []):
            balancer["targets"] = [t for t in balancer["targets"] if t != instance]
    routes = f"; {blackholed} route(s) to it are blackholes now" if blackholed else ""
    return f"terminated instance '{instance}'{routes}"


def stop_instance(intent, data, instance: str, keep_public_ip: bool = False) -> str:
    """Stop an instance: its interface, private addresses and card port stay, it sends and
    answers nothing; an automatic public IP is released (an Elastic IP stays), as AWS does.
    ``keep_public_ip``: the API holds the automatic one as an Elastic IP (the design's own
    instances are seeded so): it stays, an Elastic IP from then on."""
    _pin_instances(intent.topology, data)
    _, entry = _instance(data, instance)
    if entry.get("state") == "stopped":
        return f"instance '{instance}' is stopped already"
    entry["state"] = "stopped"
    if keep_public_ip and instance in data["numbering"]["public_ips"]:
        entry["public_ip"] = data["numbering"]["public_ips"].pop(instance)
    released = data["numbering"]["public_ips"].pop(instance, None)
    if released:
        data["numbering"].setdefault("released_public_ips", {})[instance] = released
    return f"stopped instance '{instance}'" + (f"; its public IP {released} is released" if released else "")


def start_instance(intent, data, instance: str) -> str:
    """Start a stopped instance: on the same server and port with the same private addresses;
    ``public_ip: true`` takes a public IP from the pool again (AWS gives a new one)."""
    _pin_instances(intent.topology, data)
    _, entry = _instance(data, instance)
    if entry.get("state") != "stopped":
        return f"instance '{instance}' is running already"
    del entry["state"]
    return f"started instance '{instance}'"


def create_nat_gateway(intent, data, vpc: str, subnet: str, name: str, public_ip: str) -> str:
    """A public NAT gateway in a subnet, with an Elastic IP (its VPC needs an internet gateway,
    as AWS's does), at the subnet's lowest free address."""
    topology = intent.topology
    entry = _vpc(data, vpc)
    if not any(s.get("name") == subnet for s in entry.get("subnets", [])):
        raise ChangeError(f"no subnet '{subnet}' in VPC '{vpc}'")
    if not entry.get("internet_gateway"):
        raise GatewayNotAttached(f"VPC '{vpc}' has no internet gateway: a public NAT gateway needs one")
    _pin_instances(topology, data)
    address = lowest_free_address(topology, vpc, subnet)
    gateway = {"name": name, "subnet": subnet, "ip": str(address), "public_ip": str(public_ip)}
    entry.setdefault("nat_gateways", []).append(gateway)
    return f"created NAT gateway '{name}' in subnet '{subnet}' of VPC '{vpc}' ({address}, {public_ip})"


def delete_nat_gateway(intent, data, vpc: str, name: str) -> str:
    """Delete a NAT gateway: its translations end, routes to it become blackholes (as AWS's
    do) and its Elastic IP is free."""
    _pin_instances(intent.topology, data)
    entry = _vpc(data, vpc)
    gateways = entry.get("nat_gateways", [])
    if not any(g.get("name") == name for g in gateways):
        raise ChangeError(f"no NAT gateway '{name}' in VPC '{vpc}'")
    entry["nat_gateways"] = [g for g in gateways if g.get("name") != name]
    del data["numbering"]["nat_gateways"][name]
    blackholed = blackhole(entry.get("route_tables", []), "nat_gateway", name)
    routes = f"; {blackholed} route(s) to it are blackholes now" if blackholed else ""
    return f"deleted NAT gateway '{name}' of VPC '{vpc}'{routes}"


def create_vpc(
    intent, data, name: str, cidr: str, account: Optional[str] = None, region: Optional[str] = None
) -> str:
    """A new VPC with an IPv4 CIDR: its main route table, default NACL and default group are
    the implicit ones AWS creates with it."""
    if any(v.get("name") == name for v in data["vpcs"]):
        raise ChangeError(f"there is a VPC named '{name}' already")
    vpc: dict = {"name": name, "cidr": str(ip_network(cidr, strict=False))}
    for key, value in (("account", account), ("region", region)):
        if value:
            vpc[key] = value
    data["vpcs"].append(vpc)
    return f"created VPC '{name}' ({vpc['cidr']})"


def delete_vpc(intent, data, name: str) -> str:
    """Delete a VPC that holds nothing but its defaults (AWS: DependencyViolation)."""
    entry = _vpc(data, name)
    held = [f"subnet {s['name']}" for s in entry.get("subnets", [])]
    held += [f"internet gateway {entry['internet_gateway']}"] if entry.get("internet_gateway") else []
    for key, what in (
        ("security_groups", "security group"),
        ("route_tables", "route table"),
        ("nacls", "NACL"),
    ):
        held += [
            f"{what} {o['name']}" for o in entry.get(key, []) if o.get("name") not in ("default", "main")
        ]
    held += [
        f"peering {p['name']}"
        for p in data.get("peerings", [])
        if name in (p.get("requester"), p.get("accepter"))
        and p.get("status", "active") in ("active", "pending-acceptance")
        and not p.get("deleted")
    ]
    held += [
        f"attachment {a['name']}"
        for t in data.get("transit_gateways", [])
        for a in t.get("attachments", [])
        if a.get("vpc") == name
    ]
    held += [f"endpoint {e['name']}" for e in data.get("vpc_endpoints", []) if e.get("vpc") == name]
    if held:
        raise DependencyViolation(f"VPC '{name}' still has {', '.join(held)}")
    data["vpcs"] = [v for v in data["vpcs"] if v is not entry]
    data["peerings"] = [
        p for p in data.get("peerings", []) if name not in (p.get("requester"), p.get("accepter"))
    ]
    if not data["peerings"]:
        del data["peerings"]
    return f"deleted VPC '{name}'"


LIFECYCLE_OPERATIONS: dict[str, Callable] = {
    "launch-instance": launch_instance,
    "terminate-instance": terminate_instance,
    "stop-instance": stop_instance,
    "start-instance": start_instance,
    "create-nat-gateway": create_nat_gateway,
    "delete-nat-gateway": delete_nat_gateway,
    "create-vpc": create_vpc,
    "delete-vpc": delete_vpc,
}
