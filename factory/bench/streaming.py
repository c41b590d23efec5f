"""Driver memory with large sources: `python -m factory.bench.streaming`.

Prints, in one run:
1. `factory generate --recipe tiny` on a 2,000,000-row prompt file: the driver's peak RSS and the time to the first
   committed unit (the run is stopped there: the point is that the source is not loaded first).
2. `factory verify` on 20,000 and 200,000 rows of traces (format + math verifiers): rows/s and the driver's peak RSS,
   and their ratios (streaming: the peak should not grow with the input).

The driver is the CLI process only (Ray's workers and the vLLM engine are other processes, sampled apart). Files are
written to a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def write_prompts(path: Path, rows: int) -> None:
    with path.open("w") as handle:
        for i in range(rows):
            a, b = i % 997, (i * 7) % 991
            handle.write(json.dumps({"id": f"q{i}", "problem": f"Problem {i}: what is {a} + {b}?",
                                     "answer": str(a + b)}) + "\n")


def write_traces(path: Path, rows: int) -> None:
    with path.open("w") as handle:
        for i in range(rows):
            a, b = i % 997, (i * 7) % 991
            answer = a + b if i % 4 else a + b + 1
            handle.write(json.dumps({"id": f"q{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b),
                                     "completion": f"<think>\nAdd {a} and {b}: {answer}.\n</think>\n\nThe sum is "
                                                   f"\\boxed{{{answer}}}."}) + "\n")


def watch(cmd: list[str], stop_when=None, timeout: float = 3600) -> tuple[float, float, int]:
    """Run `cmd`, sampling its RSS every 50 ms; returns (seconds, peak RSS MiB, return code). `stop_when()` true:
    the process is stopped (SIGTERM) and timed at that moment."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    handle = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
        except psutil.Error:
            break
        if stop_when and stop_when():
            elapsed = time.monotonic() - started
            proc.terminate()
            proc.wait(timeout=120)
            return elapsed, peak / 2**20, proc.returncode
        if time.monotonic() - started > timeout:
            proc.kill()
            raise SystemExit(f"timed out: {' '.join(cmd)}")
        time.sleep(0.05)
    return time.monotonic() - started, peak / 2**20, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m factory.bench.streaming", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=2_000_000, help="rows of the large prompt file")
    parser.add_argument("--verify-rows", type=int, nargs="+", default=[20_000, 200_000],
                        help="sizes of the verify inputs")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "factory.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        prompts = tmp_path / "prompts.jsonl"
        write_prompts(prompts, args.prompts)
        out = tmp_path / "gen"
        marker_dir = out / ".factory" / "units"
        seconds, peak, _ = watch(cli + ["generate", "--recipe", "tiny", "--prompts", str(prompts), "--out", str(out),
                                        "--log-json", "--n", "2", "--set", "output.prompts_per_shard=64"],
                                 stop_when=lambda: marker_dir.is_dir() and any(marker_dir.glob("*.json")))
        print(f"generate, {args.prompts:,}-row prompt file ({prompts.stat().st_size / 2**20:.0f} MiB): first unit "
              f"committed after {seconds:.1f} s, driver peak RSS {peak:.0f} MiB")
        figures = []
        for rows in args.verify_rows:
            traces = tmp_path / f"traces-{rows}.jsonl"
            write_traces(traces, rows)
            seconds, peak, code = watch(cli + ["verify", "--recipe", "tiny", "--input", str(traces), "--out",
                                               str(tmp_path / f"verify-{rows}"), "--log-json", "--set",
                                               "verifiers=[{name: format}, {name: math}]", "--set",
                                               "output.prompts_per_shard=1000", "--set", "prompts.dedup=null"])
            if code != 0:
                raise SystemExit(f"verify of {rows} rows exited {code}")
            figures.append((rows, rows / seconds, peak))
            print(f"verify, {rows:,} rows: {rows / seconds:,.0f} rows/s, {seconds:.1f} s, driver peak RSS {peak:.0f} MiB")
        if len(figures) >= 2:
            (r0, s0, m0), (r1, s1, m1) = figures[0], figures[-1]
            print(f"verify {r1:,} vs {r0:,} rows: throughput ratio {s1 / s0:.2f}, peak memory ratio {m1 / m0:.2f}")


if __name__ == "__main__":
    main()
