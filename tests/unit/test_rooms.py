"""The rooms stay small: no source module over 600 lines (a module per AWS concept instead)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("vpclab", "controller", "nitro_switch", "agents", "experiments")
LIMIT = 600


def test_no_source_module_is_over_600_lines():
    sizes = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as handle:
                        sizes[os.path.relpath(path, ROOT)] = sum(1 for _ in handle)
    assert len(sizes) > 100
    over = {path: lines for path, lines in sizes.items() if lines > LIMIT}
    assert not over, f"split these by concept: {over}"
