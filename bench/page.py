"""Write docs/performance.md, the one page of measured figures, from the last `make bench`:
each bench's first docstring line as its title, what it printed (bench/results/NAME.txt, which
`make bench` tees) and its plot (docs/bench/NAME.png). A bench that has not printed in this
checkout stops the page: every figure on it comes from one run of the scripts.

    .venv/bin/python bench/page.py     (make bench runs it last)
"""

from __future__ import annotations

import ast
import datetime
import os
import platform
import sys

from _lib import HERE, RESULTS, ROOT

BENCHES = (  # in the order make bench runs them
    "throughput",
    "pps",
    "connections",
    "flowlogs",
    "bringup",
    "bringup_scale",
    "change_latency",
    "controller_load",
    "flows",
    "scale",
    "reach",
    "sites",
    "ec2_api",
    "run_instances",
)
PAGE = os.path.join(ROOT, "docs", "performance.md")


def title(name: str) -> str:
    with open(os.path.join(HERE, f"{name}.py"), encoding="utf-8") as handle:
        doc = ast.get_docstring(ast.parse(handle.read())) or name
    return doc.splitlines()[0].rstrip(".")


def section(name: str) -> str:
    with open(os.path.join(RESULTS, f"{name}.txt"), encoding="utf-8") as handle:
        lines = handle.read().rstrip().splitlines()
    printed = "\n".join(line for line in lines if not line.endswith(".png"))  # where it saved the plot
    plot = os.path.join(ROOT, "docs", "bench", f"{name}.png")
    figure = f"\n\n![{title(name)}](bench/{name}.png)" if os.path.exists(plot) else ""
    return f"## {title(name)}\n\n`bench/{name}.py` printed:\n\n```\n{printed}\n```{figure}\n"


def main() -> int:
    missing = [name for name in BENCHES if not os.path.exists(os.path.join(RESULTS, f"{name}.txt"))]
    if missing:
        print(f"page: no printout of {', '.join(missing)}: run make bench", file=sys.stderr)
        return 2
    cores = os.cpu_count()
    header = (
        "# Measured performance\n\n"
        f"Written by `bench/page.py` after `make bench` on {datetime.date.today().isoformat()}, "
        f"on this machine ({cores} cores, {platform.system()} {platform.release()}, OVS's "
        "userspace datapath). Every figure is what a bench script printed; each compares with "
        "a baseline it measured in the same run (a bare veth pair, plain Mininet, the previous "
        "design's checkout, the same design without the feature). Re-measure with `make bench` "
        "(root); this page is then written again.\n"
    )
    with open(PAGE, "w", encoding="utf-8") as handle:
        handle.write(header + "".join(f"\n{section(name)}" for name in BENCHES))
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
