"""`vpclab import`: a real account's configuration (describe-* JSON files) as a topology."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from typing import Optional

import yaml

from .live import fetch_snapshot
from .mapping import Mapper
from .routers import read_routers
from .snapshot import SnapshotError, merge, read_snapshot
from .state import Imported, Skipped
from .terraform import PlanSnapshot, read_plan

__all__ = [
    "Imported",
    "Skipped",
    "SnapshotError",
    "import_account",
    "import_directory",
    "import_plan",
    "render",
    "report",
]


def topology_name(directory: str) -> str:
    """The snapshot's folder name (its parent's, for Batfish's 'aws_configs'), made valid."""
    path = os.path.abspath(directory)
    base = os.path.basename(path)
    if base in ("aws_configs", "aws-configs"):
        base = os.path.basename(os.path.dirname(path))
    return re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-")[:40] or "imported"


def import_directory(directory: str, servers_per_az: int = 1) -> Imported:
    """A snapshot's describe-* files as a design, with the on-premises routers' configurations
    it carries (``configs/``) for its sites."""
    mapper = Mapper(read_snapshot(directory), topology_name(directory), servers_per_az)
    mapper.routers = read_routers(directory)
    return mapper.run()


def import_plan(path: str, servers_per_az: int = 1) -> Imported:
    """A Terraform plan (``terraform show -json``) as a design: what it leaves once applied."""
    plan = read_plan(path)
    snapshot = PlanSnapshot(plan)
    snapshot.run()
    if not snapshot.files["Vpcs"]:
        held = [r.address for r in plan.resources if r.mode == "managed"]
        raise SnapshotError(
            f"{path}: no VPC in the plan: vpclab emulates VPCs and what joins them; it holds "
            + (", ".join(held[:8]) + (f" and {len(held) - 8} more" if len(held) > 8 else "") or "nothing")
        )
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in ("plan", "tfplan", "plan.out", "state"):  # named by its folder, as Terraform's are
        stem = os.path.basename(os.path.dirname(os.path.abspath(path)))
    name = re.sub(r"[^A-Za-z0-9-]+", "-", stem).strip("-")[:40]
    imported = Mapper(merge(snapshot.parts()), name or "terraform", servers_per_az).run()
    imported.skipped += snapshot.skipped
    imported.changed += snapshot.changed
    return imported


def import_account(
    regions: str | Sequence[str],
    endpoint: Optional[str] = None,
    servers_per_az: int = 1,
    profiles: Optional[str | Sequence[Optional[str]]] = None,
) -> Imported:
    """The accounts behind a live EC2 API (boto3: the user's credentials, one profile per
    account, or an emulator's), every Region of each, as one design."""
    regions = [regions] if isinstance(regions, str) else list(regions)
    profiles = [profiles] if profiles is None or isinstance(profiles, str) else list(profiles)
    parts = [
        (None, region, fetch_snapshot(region, endpoint, profile))
        for profile in profiles
        for region in regions
    ]
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"account-{'-'.join(regions)}").strip("-")[:40]
    return Mapper(merge(parts), name, servers_per_az).run()


def summary_lines(imported: Imported) -> list[str]:
    """What was imported per kind, then every skipped object with its AWS id and the reason."""
    lines = ["imported: " + ", ".join(f"{kind} {count}" for kind, count in imported.counts.items())]
    skipped = Counter(s.kind for s in imported.skipped)
    if skipped:
        lines.append("skipped: " + ", ".join(f"{kind} {count}" for kind, count in skipped.items()))
        lines += [f"  {s.kind} {s.aws_id}: {s.reason}" for s in imported.skipped]
    if imported.changed:
        lines.append(
            "emulated as: "
            + ", ".join(
                f"{kind} {count}" for kind, count in Counter(c.kind for c in imported.changed).items()
            )
        )
        lines += [f"  {c.kind} {c.aws_id}: {c.reason}" for c in imported.changed]
    return lines


def report(imported: Imported, source: str) -> dict:
    """What was imported (per kind), skipped and changed, with ids and reasons (``--report``)."""
    return {
        "source": source,
        "imported": dict(imported.counts),
        "skipped": [{"kind": s.kind, "id": s.aws_id, "reason": s.reason} for s in imported.skipped],
        "changed": [{"kind": c.kind, "id": c.aws_id, "how": c.reason} for c in imported.changed],
    }


def render(imported: Imported, source: str) -> str:
    """The topology as YAML, with what was and was not imported as comments at the top."""
    header = [f"Imported by `vpclab import` from {source}", *summary_lines(imported)]
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.safe_dump(imported.data, sort_keys=False, default_flow_style=None, width=100)
