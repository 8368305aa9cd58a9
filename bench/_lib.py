"""Shared by the bench scripts: where results go, and writing JSON + a PNG beside it."""

from __future__ import annotations

import json
import os
import sys

from matplotlib.figure import Figure

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, ROOT)


def save(name: str, data: dict, plot) -> str:
    """Write results/NAME.json and results/NAME.png (``plot(axes)`` draws on the figure)."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    plot(axes)
    figure.tight_layout()
    path = os.path.join(RESULTS, f"{name}.png")
    figure.savefig(path, dpi=110)
    return path
