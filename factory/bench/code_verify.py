"""Benchmark of `factory verify --recipe code` end to end: samples verified per second, and the share of the
machine's cores kept busy.

    python -m factory.bench.code_verify [--samples 1000] [--tests 20] [--verify-cpus N] [--concurrency 2]

Writes `--samples` traces (one sample per prompt, every prompt a stdio problem with `--tests` tests; nine in ten
programs correct, the rest wrong at their last test, so both verdicts cost a full run) and runs the real CLI on them
in a child process, the code verifier alone (`resources.verify_cpus` worker threads in the replay runtime, each
with `concurrency` sandboxes). Prints samples/s, test executions/s, and the share of cores busy: CPU seconds of the
CLI and every sandbox it started (getrusage of the reaped children) over wall seconds times the number of CPUs.
Timing lives here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOOD = "print(2 * int(input()))"
WRONG = "n = int(input())\nprint(2 * n if n < {last} else 0)"


def write_traces(path: Path, samples: int, tests: int) -> None:
    with path.open("w") as handle:
        for i in range(samples):
            cases = [{"input": f"{i + k}\n", "output": f"{2 * (i + k)}\n"} for k in range(tests)]
            program = WRONG.format(last=i + tests - 1) if i % 10 == 9 else GOOD
            handle.write(json.dumps({
                "id": f"p{i}", "problem": "Print twice n.", "tests": json.dumps({"type": "stdio", "cases": cases}),
                "completion": f"<think>\nDouble it.\n</think>\n\n```python\n{program}\n```\n"}) + "\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--verify-cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--concurrency", type=int, default=2, help="sandboxes per verification worker")
    parser.add_argument("--prompts-per-shard", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-code-verify-") as tmp:
        traces, out = Path(tmp) / "traces.jsonl", Path(tmp) / "run"
        write_traces(traces, args.samples, args.tests)
        params = (f"{{timeout_s: 5, memory_mb: 256, concurrency: {args.concurrency}, "
                  f"stop_on_first_failure: true}}")
        cmd = [sys.executable, "-m", "factory.cli", "verify", "--recipe", "code", "--input", str(traces),
               "--out", str(out), "--set", f"verifiers=[{{name: code, params: {params}}}]",
               "--set", f"resources.verify_cpus={args.verify_cpus}",
               "--set", f"output.prompts_per_shard={args.prompts_per_shard}"]
        cpu_before, started = _children_cpu(), time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall, cpu = time.monotonic() - started, _children_cpu() - cpu_before
        if done.returncode != 0:
            sys.exit(f"factory verify failed ({done.returncode}):\n{done.stderr[-3000:]}")
        stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").is_file() else {}
    cpus = os.cpu_count() or 1
    executions = args.samples * args.tests
    print(f"{args.samples} samples x {args.tests} tests, verify_cpus={args.verify_cpus}, "
          f"concurrency={args.concurrency}, {cpus} CPUs")
    print(f"  wall {wall:.1f} s: {args.samples / wall:.1f} samples/s, {executions / wall:.1f} test executions/s")
    print(f"  CPU {cpu:.1f} s: {cpu / (wall * cpus):.0%} of the cores busy "
          f"({executions / max(cpu, 1e-9):.1f} test executions per CPU-second)")
    funnel = stats.get("funnel", {})
    print(f"  accepted {funnel.get('accepted')} of {funnel.get('generated')} "
          f"(expected {args.samples - args.samples // 10}); rejected by reason {funnel.get('rejected_by_reason')}")


if __name__ == "__main__":
    main()
