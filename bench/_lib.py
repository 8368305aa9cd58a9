"""Shared by the bench scripts: where results go, and writing JSON + a PNG beside it. The PNGs
also go to docs/bench/, which the README shows (bench/results/ is not committed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from matplotlib.figure import Figure

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
FIGURES = os.path.join(ROOT, "docs", "bench")
sys.path.insert(0, ROOT)


def save(name: str, data: dict, plot, panels: int = 1) -> str:
    """Write results/NAME.json and results/NAME.png (``plot(axes)`` draws on the figure; with
    ``panels`` > 1 it gets that many axes side by side)."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    figure = Figure(figsize=(7 * panels, 4))
    axes = figure.subplots(1, panels)
    plot(axes)
    figure.tight_layout()
    path = os.path.join(RESULTS, f"{name}.png")
    figure.savefig(path, dpi=110)
    publish(path)
    return path


def publish(path: str) -> None:
    """Copy a plot to docs/bench/, where the README finds it."""
    os.makedirs(FIGURES, exist_ok=True)
    shutil.copy(path, os.path.join(FIGURES, os.path.basename(path)))


def udp_probes(listener_host, prober_host, target: str, rate: float, duration: float):
    """A UDP listener on port 7 of ``listener_host`` and a prober in ``prober_host`` sending to
    ``target``:7 at ``rate`` per second for ``duration`` s (2x0.2 s timeout), both started;
    returns (listener, prober): the prober prints its samples as JSON when done."""
    from agents.launch import Process, command  # noqa: PLC0415 (after sys.path holds the root)

    listener = listener_host.popen(command(Process.PROBE, "listen", "--udp", "7"), stdout=subprocess.PIPE)
    listener.stdout.readline()
    arguments = ["udp", f"{target}:7", "--rate", str(rate), "--duration", str(duration), "--timeout", "0.2"]
    prober = prober_host.popen(command(Process.PROBER, *arguments), stdout=subprocess.PIPE, text=True)
    prober.stdout.readline()
    return listener, prober
