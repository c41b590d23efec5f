"""Benchmark of prompt curation: time and peak memory to normalise, exact-dedup and decontaminate a large source.

    python -m factory.bench.curation [--prompts 1000000] [--benchmarks 10000] [--near 100000] [--seed 0]

Builds a deterministic synthetic source (written to a temporary folder first, so generating it is not measured):
`--prompts` math-style problems of about 300 characters (words, numbers, inline LaTeX, some Unicode symbols), of
which 1% embed a benchmark problem (with case, spacing and LaTeX variants), 5% repeat an earlier prompt with such
variants and 2% change one word of an earlier prompt; and `--benchmarks` benchmark problems in a Parquet file.

Then, each in a fresh process (so peak RSS is that phase's own), it prints:
- the full pass: read the Parquet source, load and index the benchmark file, normalise, decontaminate (8-grams)
  and exact-dedup every prompt with `curate_frame`; wall time, peak RSS, and the counts dropped per reason;
- near-dedup alone (MinHash LSH, datasketch) over the first `--near` prompts, normalisation included.

The machine's cores may be shared with other work; the figures are one run's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_WORDS = ("find the value of sum product number integer positive real prime digit remainder when is divided by "
          "how many ways can be chosen from a set such that each every triangle circle square side length area "
          "radius point line segment angle degrees perpendicular parallel let and or if then what largest smallest "
          "possible probability random coin die rolled expected ratio sequence term first last polynomial root "
          "coefficient equation solve for all satisfying function defined over interval minimum maximum").split()
_SNIPPETS = [r"$x^{2}+%d$", r"$\frac{%d}{7}$", r"\(\sqrt{%d}\)", r"$a_{%d} \le b$", r"$%d \cdot y$", "%d ≤ π·θ",
             r"$\left( %d, 3 \right)$", r"$\dfrac{1}{%d}$"]


def _variant(text: str, k: int) -> str:
    """The same problem as a contributor might have retyped it: case, spacing, LaTeX spacing and delimiters."""
    if k % 4 == 0:
        return text.upper()
    if k % 4 == 1:
        return "  ".join(text.split(" ")).replace("\\frac", "\\dfrac")
    if k % 4 == 2:
        return text.replace("$", "").replace(" ", " \\, ", 3)
    return "Problem: " + text.replace(" \\le ", " \\leq ") + " Show your work."


def build_source(folder: Path, prompts: int, benchmarks: int, seed: int) -> tuple[Path, Path]:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    invented = ["".join(rng.choice(letters, size=int(rng.integers(3, 9)))) for _ in range(30000)]
    vocab = np.array(list(_WORDS) + invented, dtype=object)
    weights = np.where(np.arange(len(vocab)) < len(_WORDS), 40.0, 1.0)
    weights /= weights.sum()

    def problems(count: int) -> list[str]:
        words = rng.choice(vocab, size=(count, 40), p=weights)
        numbers = rng.integers(0, 10000, size=(count, 3))
        out = []
        for i in range(count):
            row = words[i].tolist()
            row[6] = _SNIPPETS[i % len(_SNIPPETS)] % numbers[i, 0]
            row[18] = str(numbers[i, 1])
            row[29] = _SNIPPETS[(i + 3) % len(_SNIPPETS)] % numbers[i, 2]
            out.append(" ".join(row).capitalize() + "?")
        return out

    bench = problems(benchmarks)
    texts = problems(prompts)
    picks = rng.integers(0, prompts, size=prompts)
    for i in range(prompts):
        roll = i % 100
        if roll == 7:
            texts[i] = "Solve the following. " + _variant(bench[int(picks[i]) % benchmarks], i // 100)
        elif roll in (11, 23, 35, 47, 59) and i > 0:
            texts[i] = _variant(texts[int(picks[i]) % i], i // 100 + roll)
        elif roll in (13, 71) and i > 0:
            words = texts[int(picks[i]) % i].split(" ")
            words[len(words) // 2] = "changed"
            texts[i] = " ".join(words)
    source = folder / "prompts.parquet"
    pl.DataFrame({"id": [f"p{i:07d}" for i in range(prompts)], "problem": texts}).write_parquet(source)
    bench_path = folder / "benchmark.parquet"
    pl.DataFrame({"problem": bench}).write_parquet(bench_path)
    return source, bench_path


def run_phase(phase: str, source: Path, bench_path: Path, near: int) -> dict:
    """One measured phase, in this (fresh) process."""
    import polars as pl

    from factory.prompts.curation import BenchmarkRef, Decontaminate, Dedup, curate_frame

    start = time.perf_counter()
    frame = pl.read_parquet(source, n_rows=None if phase == "full" else near)
    if phase == "full":
        decontaminate = Decontaminate(against=[BenchmarkRef(path=str(bench_path), column="problem")], ngram=8)
        kept, dropped = curate_frame(frame, "id", "problem", decontaminate, Dedup(exact=True, near=False))
    else:
        kept, dropped = curate_frame(frame, "id", "problem", None, Dedup(exact=False, near=True))
    seconds = time.perf_counter() - start
    counts: dict[str, int] = {}
    for item in dropped:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {"phase": phase, "rows": frame.height, "kept": kept.height, "seconds": seconds, "peak_rss": peak,
            "dropped": counts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=1_000_000, help="prompts in the synthetic source")
    parser.add_argument("--benchmarks", type=int, default=10_000, help="benchmark problems to decontaminate against")
    parser.add_argument("--near", type=int, default=100_000, help="prompts for the near-dedup figure")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--phase", choices=["full", "near"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        result = run_phase(args.phase, args.folder / "prompts.parquet", args.folder / "benchmark.parquet", args.near)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"building {args.prompts:,} prompts and {args.benchmarks:,} benchmark problems ...", flush=True)
        source, _ = build_source(folder, args.prompts, args.benchmarks, args.seed)
        size = source.stat().st_size
        print(f"source: {source.name}, {size / 2**20:.0f} MiB Parquet")
        for phase in ("full", "near"):
            out = subprocess.run([sys.executable, "-m", "factory.bench.curation", "--phase", phase, "--folder",
                                  str(folder), "--near", str(args.near)], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            label = ("normalise + exact dedup + decontaminate (8-grams vs "
                     f"{args.benchmarks:,} problems)" if phase == "full" else "near dedup (MinHash LSH, 128 perm, "
                     "threshold 0.8, 3-word shingles; normalisation included)")
            print(f"{label}\n  {r['rows']:,} prompts: {r['seconds']:.1f} s, peak RSS {r['peak_rss'] / 2**30:.2f} GiB, "
                  f"{r['rows'] / r['seconds']:,.0f} prompts/s; kept {r['kept']:,}; dropped {r['dropped']}")


if __name__ == "__main__":
    main()
