"""Accounts, Regions and quotas (contract v3): who owns each VPC and TGW, where each lives,
and the AWS quotas the design is held to. A file without these keys is one account
('default', 123456789012) in one Region (us-east-1), at AWS's default quotas."""

from __future__ import annotations

from .. import model as m
from ..errors import DocPath
from .reporter import Known, Reporter


def build_accounts(r: Reporter, data: dict) -> tuple[m.Account, ...]:
    given = data.get("accounts")
    if not given:
        return m.DEFAULT_ACCOUNTS
    r.unique_names(given, ("accounts",), "account")
    ids: dict[str, str] = {}
    for n, account in enumerate(given):
        if account["id"] in ids:
            r.report(("accounts", n, "id"), f"account id {account['id']} is already '{ids[account['id']]}'")
        ids.setdefault(account["id"], account["name"])
    return tuple(m.Account(f"accounts[{n}]", a["name"], a["id"]) for n, a in enumerate(given))


def build_regions(r: Reporter, data: dict) -> tuple[m.Region, ...]:
    given = data.get("regions")
    if not given:
        return m.DEFAULT_REGIONS
    r.unique_names(given, ("regions",), "Region")
    return tuple(m.Region(f"regions[{n}]", region["name"]) for n, region in enumerate(given))


def build_quotas(data: dict) -> dict[str, int]:
    return {key: data.get("quotas", {}).get(key, quota.default) for key, quota in m.QUOTAS.items()}


def check_quotas(r: Reporter, data: dict) -> None:
    """A quota can be raised only as far as AWS raises it."""
    for key, value in data.get("quotas", {}).items():
        quota = m.QUOTAS[key]
        if value > quota.most:
            r.report(("quotas", key), f"AWS raises quota '{quota.name}' to at most {quota.most}, not {value}")


def over_quota(r: Reporter, known: Known, path: DocPath, key: str, count: int, what: str) -> bool:
    """Report ``count`` ``what`` if it is over the quota ``key``; say whether it is."""
    value = known.quotas[key]
    if count > value:
        r.report(path, f"{count} {what}: {m.QUOTAS[key].describe(value)} (raise it under 'quotas:')")
    return count > value


def place(r: Reporter, known: Known, path: DocPath, item: dict) -> tuple[str, str]:
    """(account, Region) of a VPC or TGW: its keys, else the first account and Region."""
    account = item.get("account", known.accounts[0].name)
    region = item.get("region", known.regions[0].name)
    if account not in {a.name for a in known.accounts}:
        r.report(
            path + ("account",), f"no account named '{account}' in 'accounts' ({_names(known.accounts)})"
        )
    if region not in {x.name for x in known.regions}:
        r.report(path + ("region",), f"no Region named '{region}' in 'regions' ({_names(known.regions)})")
    return account, region


def _names(items) -> str:
    return ", ".join(item.name for item in items)
