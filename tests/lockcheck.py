"""Is this interpreter's environment exactly what requirements.lock pins?

Run with the venv's Python (make venv and make lint do): exit 1, naming each problem, when
- a distribution in the venv is not in the lock, or at another version than the lock pins;
- a distribution the lock pins for this Python and platform is missing from the venv;
- an import path leads outside the venv and the standard library, other than the directory
  that holds only the link to Debian's Mininet module.
vpclab itself (installed editable from this tree) is the one distribution the lock does not name.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PROJECT = "vpclab"
SYSTEM_MODULES = {"mininet"}  # what may come from Debian, each through a link in one directory


def pinned(lock_text: str) -> dict[str, str]:
    """name -> exact version, for the lock's entries whose markers hold on this interpreter."""
    pins: dict[str, str] = {}
    for line in lock_text.replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line.split(" --hash", 1)[0].strip())
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        versions = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if len(versions) != 1:
            raise ValueError(f"{LOCK.name}: '{requirement}' is not pinned to one exact version")
        pins[canonicalize_name(requirement.name)] = versions[0]
    return pins


def installed(prefix: str) -> dict[str, str]:
    """name -> version of every distribution installed under prefix."""
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        location = Path(str(distribution.locate_file(""))).resolve()
        if location.is_relative_to(Path(prefix).resolve()):
            found[canonicalize_name(distribution.metadata["Name"])] = distribution.version
    return found


def lock_problems(pins: dict[str, str], present: dict[str, str]) -> list[str]:
    problems = []
    for name, version in sorted(present.items()):
        if name == PROJECT:
            continue
        if name not in pins:
            problems.append(f"{name} {version} is installed but {LOCK.name} does not pin it")
        elif pins[name] != version:
            problems.append(f"{name} {version} is installed but {LOCK.name} pins {pins[name]}")
    for name, version in sorted(pins.items()):
        if name not in present:
            problems.append(f"{name} {version} is pinned in {LOCK.name} but not installed")
    return problems


def path_problems(paths: list[str], allowed: list[str]) -> list[str]:
    """Import paths, and links in them, that lead outside the allowed roots (the venv, the
    standard library, this tree); a link to one of SYSTEM_MODULES is the one exception."""
    roots = [Path(p).resolve() for p in allowed]
    inside = lambda where: any(where.is_relative_to(root) for root in roots)
    own = [Path(p).resolve() for p in allowed[:2]]  # the venv and this tree: links there are checked
    problems = []
    for entry in paths:
        if not entry or not os.path.isdir(entry):
            continue
        if not inside(Path(entry).resolve()):
            problems.append(f"{entry} on the import path is outside the venv")
            continue
        if not any(Path(entry).resolve().is_relative_to(root) for root in own):
            continue  # the interpreter's own standard library
        for child in Path(entry).iterdir():
            if child.is_symlink() and not inside(child.resolve()) and child.name not in SYSTEM_MODULES:
                problems.append(f"{child} on the import path links outside the venv")
    return problems


def main() -> int:
    if sys.prefix == sys.base_prefix:
        print("lockcheck: run me with the venv's Python (.venv/bin/python)", file=sys.stderr)
        return 1
    allowed = [sys.prefix, str(ROOT)] + [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")]
    allowed += [p for p in sys.path if p.endswith(".zip")]
    present = installed(sys.prefix)
    problems = lock_problems(pinned(LOCK.read_text()), present)
    problems += path_problems(sys.path, allowed)
    for problem in problems:
        print(f"lockcheck: {problem}", file=sys.stderr)
    if problems:
        print("lockcheck: rebuild the venv from the lock: make clean-venv venv", file=sys.stderr)
        return 1
    count = len(present) - 1
    print(f"lockcheck: the venv holds exactly what {LOCK.name} pins ({count} distributions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
