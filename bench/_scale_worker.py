"""Run by bench/scale.py inside a checkout (this one, or the previous design's): compile the
design given on stdin, apply the changes, print figures as JSON. Works with both compilers:
the previous one recompiles everything per change, this one only the units a change touches.
Usage: python _scale_worker.py < job.json   (with the checkout's root on sys.path)
"""

import gc
import json
import statistics
import sys
import time

from controller import compiler

try:
    from controller.compiler.differ import diff
except ImportError:  # a checkout from before the rooms (issue 30)
    from controller.differ import diff  # type: ignore[no-redef]
from vpclab.intent.changes import Intent


def main() -> None:
    job = json.load(sys.stdin)
    intent = Intent(f"{job['name']}.yaml", job["design"])
    started = time.perf_counter()
    compiled = compiler.compile_topology(intent.topology)
    compile_s = time.perf_counter() - started
    per_card = [len(compiled.flows[server]) for server in compiled.flows]
    gc.collect()
    latencies: dict = {}
    for operation, arguments in job["changes"]:
        started = time.perf_counter()
        topology = intent.apply(operation, **arguments)
        validated = time.perf_counter()
        if hasattr(compiler, "recompile"):
            result = compiler.recompile(compiled, topology)
            deltas = list(result.changed.values())
            compiled = result.compiled
        else:
            fresh = compiler.compile_topology(topology)
            deltas = [diff(compiled.flows[s], fresh.flows[s]) for s in fresh.flows]
            compiled = fresh
        done = time.perf_counter()
        entry = latencies.setdefault(operation, {"validate": [], "compile_and_diff": [], "flow_mods": []})
        entry["validate"].append((validated - started) * 1000)
        entry["compile_and_diff"].append((done - validated) * 1000)
        entry["flow_mods"].append(sum(len(d) for d in deltas))
    print(
        json.dumps(
            {
                "flows_max": max(per_card),
                "flows_total": sum(per_card),
                "cards": len(per_card),
                "compile_s": compile_s,
                "changes": {
                    op: {key: statistics.median(values) for key, values in figures.items()}
                    for op, figures in latencies.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
