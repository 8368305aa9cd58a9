"""`vpclab fuzz`: random valid topologies through `check` and `verify`; every mismatch is
saved with a minimal topology that still shows it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vpclab.intent.errors import TopologyError
from vpclab.intent.loader import load_topology
from vpclab.verify import report, verify
from vpclab.verify.live import Result

from .generate import generate
from .shrink import shrink


@dataclass
class SeedOutcome:
    seed: int
    ok: bool
    summary: str
    saved: list[str] = field(default_factory=list)


WORK = Path(tempfile.gettempdir()) / f"vpclab-fuzz-{os.getpid()}"


def _load(seed: int, data: dict[str, Any]):
    """Load the data as a file (Hyperplane reads its design from the topology's file)."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"fuzz-{seed}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_topology(str(path))


def _valid(seed: int, data: dict[str, Any]) -> bool:
    try:
        _load(seed, data)
    except TopologyError:
        return False
    return True


def run_seed(seed: int, out: Path, log=print, shrink_budget: int = 40) -> SeedOutcome:
    data = generate(seed)
    try:
        topology = _load(seed, data)
    except TopologyError as error:  # the generator's bug, never the user's: save and say so
        path = _save(out, f"seed-{seed}-invalid.yaml", data, error.render().splitlines())
        return SeedOutcome(seed, False, f"generated an invalid topology ({path})", [str(path)])
    started = time.monotonic()
    verification = verify(topology, log=lambda line: None, seed=seed)
    took = time.monotonic() - started
    size = f"{len(topology.vpcs)} VPCs, {len(topology.instances)} instances"
    if verification.agrees:
        return SeedOutcome(seed, True, f"{size}: {len(verification.results)} probes agree ({took:.1f} s)")
    lines = report(verification, False).splitlines()
    first = next(r for r in verification.results if not r.agrees)
    saved = [str(_save(out, f"seed-{seed}.yaml", data, lines))]
    log(f"seed {seed}: {lines[0]}; shrinking")
    minimal = shrink(
        data,
        {first.source, first.target},
        lambda variant: _still_fails(seed, variant, first),
        lambda variant: _valid(seed, variant),
        budget=shrink_budget,
        log=log,
    )
    again = verify(_load(seed, minimal), log=lambda line: None, seed=seed)
    saved.append(str(_save(out, f"seed-{seed}-minimal.yaml", minimal, report(again, False).splitlines())))
    mismatches = sum(not r.agrees for r in verification.results)
    return SeedOutcome(seed, False, f"{size}: {mismatches} mismatches, first: {lines[0]}", saved)


def _still_fails(seed: int, data: dict[str, Any], mismatch: Result) -> bool:
    """Does the variant still disagree on the same source, target and kind of probe?"""
    same = lambda p: (
        (p.source, p.target or str(p.address), p.kind) == (mismatch.source, mismatch.target, mismatch.kind)
    )
    return not verify(_load(seed, data), log=lambda line: None, seed=seed, only=same).agrees


def _save(out: Path, name: str, data: dict[str, Any], comments: list[str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    header = "".join(f"# {line}\n" for line in comments)
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))
    return path


def fuzz(seeds: int, start: int, out: Path, log=print) -> list[SeedOutcome]:
    outcomes = []
    try:
        for seed in range(start, start + seeds):
            outcomes.append(_logged(run_seed(seed, out, log), log))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    failed = [o.seed for o in outcomes if not o.ok]
    log(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} seeds agree"
        + (f"; failing: {failed}" if failed else "")
    )
    return outcomes


def _logged(outcome: SeedOutcome, log) -> SeedOutcome:
    log(f"seed {outcome.seed}: {'ok' if outcome.ok else 'FAIL'}: {outcome.summary}")
    for path in outcome.saved:
        log(f"  saved {path}")
    return outcome
