"""`vpclab import`: a real account's configuration (describe-* JSON files) as a topology."""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Optional

import yaml

from .live import fetch_snapshot
from .mapping import Mapper
from .snapshot import SnapshotError, read_snapshot
from .state import Imported, Skipped

__all__ = ["Imported", "Skipped", "SnapshotError", "import_account", "import_directory", "render"]


def topology_name(directory: str) -> str:
    """The snapshot's folder name (its parent's, for Batfish's 'aws_configs'), made valid."""
    path = os.path.abspath(directory)
    base = os.path.basename(path)
    if base in ("aws_configs", "aws-configs"):
        base = os.path.basename(os.path.dirname(path))
    return re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-")[:40] or "imported"


def import_directory(directory: str, servers_per_az: int = 1) -> Imported:
    return Mapper(read_snapshot(directory), topology_name(directory), servers_per_az).run()


def import_account(
    region: str, endpoint: Optional[str] = None, servers_per_az: int = 1, profile: Optional[str] = None
) -> Imported:
    """The account behind a live EC2 API (boto3: the user's credentials, or an emulator's)."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"account-{region}").strip("-")[:40]
    return Mapper(fetch_snapshot(region, endpoint, profile), name, servers_per_az).run()


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


def render(imported: Imported, source: str) -> str:
    """The topology as YAML, with what was and was not imported as comments at the top."""
    header = [f"Imported by `vpclab import` from {source}", *summary_lines(imported)]
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.safe_dump(imported.data, sort_keys=False, default_flow_style=None, width=100)
