"""Network Load Balancers, their listeners and target groups, as ``network_load_balancers``.

An internal NLB with TCP or UDP listeners that forward to one group of instance targets becomes
an NLB reached directly: its subnets, its nodes' real addresses (its network interfaces,
described "ELB net/NAME/ID"), the targets' port (a listener's ``target_port``), cross-zone load
balancing from its attributes, the health checks' settings, and the targets the snapshot found
unhealthy. Everything else in the load balancer files is listed with the reason.
"""

from __future__ import annotations

from typing import Optional

from .snapshot import OTHERS
from .state import MapperState

FILES = (
    "LoadBalancers",
    "LoadBalancerListeners",
    "LoadBalancerAttributes",
    "LoadBalancerTargetHealth",
    "TargetGroups",
)
OTHER_TYPES = {
    "application": "Application Load Balancers are not emulated yet (issue 36)",
    "gateway": "Gateway Load Balancers are not emulated",
}


class LoadBalancerMapping(MapperState):
    def others(self, file: str) -> list[dict]:
        found: dict[str, list] = self.snapshot.get(OTHERS, {})  # type: ignore[assignment]
        return [r for r in found.get(file, []) if isinstance(r, dict)]

    def map_load_balancers(self) -> None:
        """Every load balancer mapped or listed; then the target groups no mapped NLB uses."""
        listeners = {
            entry.get("LoadBalancerArn"): entry.get("Listeners", [])
            for entry in self.others("LoadBalancerListeners")
        }
        attributes = {
            entry.get("LoadBalancerArn"): {a.get("Key"): a.get("Value") for a in entry.get("Attributes", [])}
            for entry in self.others("LoadBalancerAttributes")
        }
        health = {
            str(entry.get("TargetGroupArn", "?")): entry.get("TargetHealthDescriptions", [])
            for entry in self.others("LoadBalancerTargetHealth")
        }
        groups = {str(group.get("TargetGroupArn", "?")): group for group in self.others("TargetGroups")}
        used: set = set()
        for balancer in self.others("LoadBalancers"):
            arn = balancer.get("LoadBalancerArn", "?")
            reason = self._map_balancer(
                balancer, listeners.get(arn, []), attributes.get(arn, {}), groups, health
            )
            if reason is not None:
                self.skip("load balancer", arn, reason)
                if arn in attributes:
                    self.skip("load balancer attributes", arn, "its load balancer is not imported")
                for listener in listeners.get(arn, []):
                    self.skip(
                        "load balancer listener",
                        listener.get("ListenerArn", "?"),
                        "its load balancer is not imported",
                    )
            else:
                used |= {
                    a.get("TargetGroupArn")
                    for x in listeners.get(arn, [])
                    for a in x.get("DefaultActions", [])
                }
        for arn in groups:
            if arn not in used:
                self.skip("target group", arn, "no imported load balancer forwards to it")
        for arn in health:
            if arn not in used:
                self.skip("target health", arn, "its target group is not imported")

    def _map_balancer(self, balancer, listeners, attributes, groups, health) -> Optional[str]:
        """The NLB as design data, or why not."""
        kind = balancer.get("Type", "network")
        if kind != "network":
            return OTHER_TYPES.get(kind, f"{kind} load balancers are not emulated")
        if balancer.get("VpcId") not in self.vpcs:
            return f"its VPC {balancer.get('VpcId')} was not imported"
        if balancer.get("Scheme") != "internal":
            return "an internet-facing NLB is not emulated yet (vpclab emulates internal NLBs)"
        if not listeners:
            return "it has no listener"
        arns = {a.get("TargetGroupArn") for x in listeners for a in x.get("DefaultActions", [])}
        if len(arns) != 1 or any(len(x.get("DefaultActions", [])) != 1 for x in listeners):
            return "its listeners forward to more than one target group (vpclab: one set of targets)"
        group = groups.get(next(iter(arns)))
        if group is None:
            return "its target group is not in the snapshot"
        if group.get("TargetType") != "instance":
            return f"its targets are of type {group.get('TargetType')} (vpclab emulates instance targets)"
        targets, ports, unhealthy = [], set(), []
        for described in health.get(group["TargetGroupArn"], []):
            target = described.get("Target", {})
            if target.get("Id") not in self.instances:
                return f"its target {target.get('Id')} is not an imported instance"
            name = self.instances[target["Id"]][1]
            targets.append(name)
            ports.add(target.get("Port", group.get("Port")))
            if described.get("TargetHealth", {}).get("State") == "unhealthy":
                unhealthy.append(name)
        if not targets:
            return "its target group has no registered target (LoadBalancerTargetHealth.json)"
        if len(ports) != 1:
            return "its targets listen on different ports (vpclab: one target port per listener)"
        mapped = []
        for listener in listeners:
            protocol = listener.get("Protocol", "TCP").lower()
            if protocol not in ("tcp", "udp"):
                return f"a {listener.get('Protocol')} listener (vpclab emulates TCP and UDP listeners)"
            mapped.append({"port": listener["Port"], "protocol": protocol, "target_port": next(iter(ports))})
        subnets, addresses = [], []
        interfaces = [
            i
            for i in self.others("NetworkInterfaces")
            if i.get("Description", "").startswith("ELB ")
            and balancer["LoadBalancerArn"].endswith(i["Description"][4:])
        ]
        for zone in balancer.get("AvailabilityZones", []):
            if zone.get("SubnetId") not in self.subnets:
                return f"its subnet {zone.get('SubnetId')} was not imported"
            subnets.append(self.subnets[zone["SubnetId"]][1])
            addresses.append(
                next(
                    (i.get("PrivateIpAddress") for i in interfaces if i.get("SubnetId") == zone["SubnetId"]),
                    None,
                )
            )
        entry: dict = {
            "name": self.names.name(
                balancer, balancer["LoadBalancerArn"], ("load-balancer",), balancer.get("LoadBalancerName")
            ),
            "description": f"{balancer['LoadBalancerArn']}, target group {group['TargetGroupArn']}",
            "vpc": self.vpcs[balancer["VpcId"]]["name"],
            "scheme": "internal",
            "subnets": subnets,
            "listeners": mapped,
            "targets": targets,
            "enable_cross_zone_load_balancing": attributes.get("load_balancing.cross_zone.enabled") == "true",
        }
        if all(addresses):
            entry["addresses"] = addresses
        check = {
            "interval": group.get("HealthCheckIntervalSeconds", 30),
            "healthy_threshold": group.get("HealthyThresholdCount", 5),
            "unhealthy_threshold": group.get("UnhealthyThresholdCount", 2),
        }
        if str(group.get("HealthCheckPort", "traffic-port")).isdigit():
            check["port"] = int(group["HealthCheckPort"])
        entry["health_check"] = check
        if unhealthy:
            entry["unhealthy_targets"] = unhealthy
        self.endpoint_interfaces.update(i["NetworkInterfaceId"] for i in interfaces)
        self.imported.data.setdefault("network_load_balancers", []).append(entry)
        self.count("network load balancer")
        for _ in listeners:
            self.count("load balancer listener")
        self.count("target group")
        return None
