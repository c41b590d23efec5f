"""Samples/s of the tiny recipe with one and with two engine actors (vLLM CPU build) on this machine.

    python -m factory.bench.cluster [--recipe tiny] [--prompts 128] [--per-unit 16] [--n 8] [--engines 1 2]

Each figure is `factory generate` in a subprocess (fresh output folder, its own local Ray) with
`resources.engine_actors` set. Steady state: samples of the units committed after the first engine was ready,
over the time from that `engines_ready` event to the last committed unit (a second engine that starts a little
later is inside that window, as it is in a real run). End to end: all samples over the whole run, start-up
included. The machine (cores, memory, load average before and after) is printed with the figures, since on a
shared machine they are only as good as the load around them. On a machine with fewer cores than engines times
the cores vLLM uses per engine, two engines share the same cores and gain little: the figure says so plainly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory()
    return (f"{os.cpu_count()} cores ({cpu}), {memory.total / 2**30:.0f} GiB RAM, "
            f"{memory.available / 2**30:.0f} GiB available")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def factory_run(recipe: str, prompts: int, n: int, per_unit: int, engines: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "factory.cli", "generate", "--recipe", recipe, "--limit", str(prompts),
             "--n", str(n), "--set", f"output.prompts_per_shard={per_unit}",
             "--set", f"resources.engine_actors={engines}", "--out", str(Path(tmp) / "run"), "--log-json"],
            capture_output=True, text=True)
        wall = time.time() - started
    if proc.returncode != 0:
        raise SystemExit(f"factory run failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    ready = [e["time"] for e in events if e["event"] == "engines_ready"]
    units = [e for e in events if e["event"] == "unit"]
    steady = units[-1]["time"] - ready[0]
    samples = sum(e["samples"] for e in units)
    return {"samples": samples, "start_s": ready[0] - started, "joined_s": ready[-1] - ready[0],
            "steady": samples / steady, "end_to_end": samples / wall, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="tiny", help="recipe name or path (default: tiny)")
    parser.add_argument("--prompts", type=int, default=128, help="prompts per run (default: 128)")
    parser.add_argument("--per-unit", type=int, default=16, help="prompts per unit (default: 16)")
    parser.add_argument("--n", type=int, default=8, help="samples per prompt (default: 8)")
    parser.add_argument("--engines", type=int, nargs="+", default=[1, 2], help="engine actors to try (default: 1 2)")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average before: {load()}")
    print(f"{args.recipe}: {args.prompts} prompts x {args.n} samples, {args.per_unit} prompts per unit")
    base = None
    for engines in args.engines:
        r = factory_run(args.recipe, args.prompts, args.n, args.per_unit, engines)
        base = base or r["steady"]
        print(f"{engines} engine(s): {r['steady']:.2f} samples/s steady ({r['steady'] / base:.2f}x), "
              f"{r['end_to_end']:.2f} samples/s end to end ({r['samples']:.0f} samples in {r['wall_s']:.0f} s; "
              f"first engine ready after {r['start_s']:.0f} s, last one {r['joined_s']:.0f} s later); "
              f"load average: {load()}", flush=True)


if __name__ == "__main__":
    main()
