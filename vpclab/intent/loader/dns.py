"""DNS: the VPCs' resolver switch (enable_dns_support), the private hosted zones, the domain of
the instances' YAML names."""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address, IPv6Address

from .. import model as m
from ..errors import format_path
from .reporter import Reporter


def domain(text: str) -> str:
    """A DNS name as vpclab keeps it: lower case, without the final dot."""
    return text.lower().rstrip(".")


def build_hosted_zones(r: Reporter, data: dict) -> tuple[m.HostedZone, ...]:
    listed = data.get("private_hosted_zones", [])
    vpcs = {vpc["name"] for vpc in data["vpcs"]}
    zones: list[m.HostedZone] = []
    seen: dict[tuple[str, str], int] = {}
    for n, entry in enumerate(listed):
        path = ("private_hosted_zones", n)
        name = domain(entry["name"])
        for v, vpc in enumerate(entry["vpcs"]):
            if vpc not in vpcs:
                r.report(path + ("vpcs", v), f"no VPC '{vpc}' (VPCs: {', '.join(sorted(vpcs))})")
            elif (name, vpc) in seen:
                r.report(
                    path + ("vpcs", v),
                    f"VPC '{vpc}' already has a private zone {name} "
                    f"(private_hosted_zones[{seen[(name, vpc)]}])",
                )
            seen.setdefault((name, vpc), n)
        records = [
            _record(r, path + ("records", k), name, record)
            for k, record in enumerate(entry.get("records", []))
        ]
        zones.append(
            m.HostedZone(
                format_path(path), name, tuple(entry["vpcs"]), tuple(x for x in records if x is not None)
            )
        )
    return tuple(zones)


def _record(r: Reporter, path, zone: str, record: dict):
    """A record named relative to its zone (``db``), by its full name, or ``@`` (the apex)."""
    written = domain(record["name"])
    name = (
        zone if written in ("@", zone) else written if written.endswith("." + zone) else f"{written}.{zone}"
    )
    values = tuple(str(value) for value in record["values"])
    if record["type"] in ("A", "AAAA"):
        family, parse = ("IPv4", IPv4Address) if record["type"] == "A" else ("IPv6", IPv6Address)
        for k, value in enumerate(values):
            try:
                values = values[:k] + (str(parse(value)),) + values[k + 1 :]  # AAAA: compressed
            except AddressValueError:
                r.report(
                    path + ("values", k),
                    f"an {record['type']} record's value is an {family} address, not {value!r}",
                )
                return None
    if record["type"] == "CNAME":
        if len(values) != 1:
            r.report(path + ("values",), "a CNAME record has exactly one value (a DNS name)")
            return None
        values = (domain(values[0]),)
    return m.DnsRecord(name, record["type"], values, record.get("ttl", 300))
