"""Time from an API call (blackhole / restore a TGW route) to its effect on packets.

A UDP prober at 500 probes/s runs inside app1 towards svc1 (tgw-incident topology) while the
10.0.0.0/8 route of the spokes table is blackholed and restored N times. The effect of a
blackhole is the first lost probe sent after the call; of a restore, the first answered one.
Target: median <= 100 ms. Writes results/change_latency.{json,png}.
Usage: python bench/change_latency.py [--changes 10]   (as root)
"""

import argparse
import json
import statistics
import time

from _lib import ROOT, save, udp_probes

from nitro_switch.emulation import Emulation
from vpclab.intent.loader import load_topology

RATE, SETTLE = 500.0, 0.4


def effect_ms(samples, called_at: float, lost: bool):
    """Milliseconds from the call to the first probe sent after it that is lost (or answered)."""
    for _, sent, rtt in samples:
        if sent >= called_at and (rtt is None) == lost:
            return round((sent - called_at) * 1000, 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    duration = 1.0 + args.changes * 2 * SETTLE + 1.0
    with Emulation(load_topology(f"{ROOT}/topologies/tgw-incident.yaml"), log=lambda line: None) as lab:
        listener, prober = udp_probes(
            lab.hosts.hosts["svc1"], lab.hosts.hosts["app1"], "10.0.1.4", RATE, duration
        )
        time.sleep(1.0)
        calls = []
        for _ in range(args.changes):
            for operation in ("blackhole", "restore-tgw-route"):
                called = time.time()
                answer = lab.api.change(operation, tgw="core", table="spokes", cidr="10.0.0.0/8")
                calls.append((operation, called, answer["elapsed_ms"]))
                time.sleep(SETTLE)
        samples = json.loads(prober.communicate(timeout=60)[0].strip().splitlines()[-1])
        listener.kill()
        listener.wait()
    effects = {"blackhole": [], "restore-tgw-route": []}
    barriers = [elapsed for _, _, elapsed in calls]
    for operation, called, _ in calls:
        effect = effect_ms(samples, called, lost=operation == "blackhole")
        if effect is not None:
            effects[operation].append(effect)
    everything = effects["blackhole"] + effects["restore-tgw-route"]
    print(f"API call -> barrier confirmed: median {statistics.median(barriers):.1f} ms")
    for operation, values in effects.items():
        print(
            f"API call -> {operation} seen by packets: median {statistics.median(values):.1f} ms "
            f"(n={len(values)}, max {max(values):.1f})"
        )
    print(
        f"all changes: median {statistics.median(everything):.1f} ms (target <= 100 ms; "
        f"probe resolution {1000 / RATE:.0f} ms)"
    )

    def plot(axes):
        axes.boxplot(
            [effects["blackhole"], effects["restore-tgw-route"], barriers],
            tick_labels=["blackhole\n(first lost)", "restore\n(first answered)", "barrier\nconfirmed"],
        )
        axes.axhline(100, color="#d62728", linestyle="--", linewidth=1)
        axes.set_ylabel("ms after the API call")
        axes.set_title("Runtime change to data-plane effect (target <= 100 ms)")

    print(
        save(
            "change_latency",
            {"effects_ms": effects, "barrier_ms": barriers, "median_ms": statistics.median(everything)},
            plot,
        )
    )


if __name__ == "__main__":
    main()
