"""Benchmark of `factory mix`: 2,000,000 rows from four Parquet sources, with cross-source exact dedup and
decontamination against 1,000 benchmark problems, prints the time of each pass and the peak memory.

    python -m factory.bench.mix [--rows-per-source 500000] [--work DIR]

The sources are made first (not timed): TRL prompt-completion rows (a ~140-character problem of 16 pseudo-words and
three numbers, a ~420-character `<think>` trace and answer, token counts), 10% of each source's problems repeating the previous source's (so dedup
has work), and 1,000 benchmark problems of which 500 appear in the sources (so decontamination has work). The
mixture takes all of source 0, 400,000 rows of source 1, weight 0.8 of source 2 and all of source 3.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def problem_pool(count: int, seed: int = 0) -> "object":
    """`count` distinct-enough problem texts: 16 words drawn from a 6,000-word pseudo vocabulary, then a question
    with three numbers (so two problems share an 8-gram only by copying)."""
    import numpy as np
    import polars as pl

    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    vocab = np.array(sorted({a + b + c for a in syllables for b in syllables for c in syllables[:8]}))[:6000]
    rng = np.random.default_rng(seed)
    words = vocab[rng.integers(0, len(vocab), size=(count, 16))]
    numbers = rng.integers(2, 999, size=(count, 3))
    frame = pl.DataFrame({f"w{j}": words[:, j] for j in range(16)} | {f"n{j}": numbers[:, j] for j in range(3)})
    return frame.select(pl.format("{} What is {} times {} plus {}?", pl.concat_str([f"w{j}" for j in range(16)],
                                                                               separator=" "),
                                  "n0", "n1", "n2").alias("problem"))["problem"]


def make_source(path: Path, k: int, rows: int, pool: "object") -> None:
    import polars as pl

    index = pl.int_range(0, rows, eager=True)
    # 10% of the rows repeat a problem of the previous source: exact duplicates across sources
    take = pl.select(pl.when((index % 10 == 0) & (k > 0)).then(index + 1 + (k - 1) * rows).otherwise(index + k * rows))
    frame = pl.DataFrame({"i": index, "problem": pool.gather(take.to_series())})
    frame = frame.with_columns(
        id=pl.format("s{}-{}", pl.lit(k), pl.col("i")),
        prompt=pl.concat_list(pl.struct(role=pl.lit("user"), content=pl.col("problem"))),
        completion=pl.concat_list(pl.struct(role=pl.lit("assistant"), content=pl.format(
            "<think>\nFirst the product, then the sum. I multiply the two numbers carefully, digit by digit, and "
            "check the result by estimating it; then I add the last number and check the total once more before I "
            "answer, since one slip would change everything. Row {}.\n</think>\n\nDoing the product first and then "
            "the sum gives the result, so the answer is \\boxed{{{}}}.", pl.col("i"), pl.col("i") % 997))),
        prompt_tokens=pl.lit(31, dtype=pl.Int32), completion_tokens=pl.lit(97, dtype=pl.Int32))
    frame.select("id", "prompt", "completion", "problem", "prompt_tokens", "completion_tokens").write_parquet(
        path, row_group_size=65_536)


def make_sources(work: Path, rows: int) -> None:
    import polars as pl

    pool = problem_pool(4 * rows + 500)
    for k in range(4):
        make_source(work / f"source-{k}.parquet", k, rows, pool)
    step = 4 * rows // 500
    # 500 in the sources (off the rows that repeat the previous source, so every source has some)
    problems = pool.gather(list(range(5, 4 * rows, step))[:500]).to_list()
    problems += pool.tail(500).to_list()  # 500 that no source asks
    pl.DataFrame({"problem": problems}).write_parquet(work / "bench.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-per-source", type=int, default=500_000, help="rows in each of the four sources")
    parser.add_argument("--work", help="working folder (default: a temporary one, removed at the end)")
    args = parser.parse_args()
    import yaml

    from factory.mix import load_mixture, mix

    work = Path(args.work or tempfile.mkdtemp(prefix="mix-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # The sources are made in a child process, so the peak memory printed below is the mix's alone.
    maker = multiprocessing.get_context("spawn").Process(target=make_sources, args=(work, args.rows_per_source))
    maker.start()
    maker.join()
    if maker.exitcode != 0:
        raise SystemExit(f"making the sources failed (exit {maker.exitcode})")
    print(f"sources: 4 x {args.rows_per_source:,} rows made in {time.perf_counter() - started:.1f} s (not timed)")
    mixture_file = work / "mixture.yaml"
    mixture_file.write_text(yaml.safe_dump({"name": "bench", "seed": 0, "sources": [
        {"name": "s0", "path": str(work / "source-0.parquet")},
        {"name": "s1", "path": str(work / "source-1.parquet"), "rows": 400_000},
        {"name": "s2", "path": str(work / "source-2.parquet"), "weight": 0.8},
        {"name": "s3", "path": str(work / "source-3.parquet")}],
        "dedup": {"exact": True}, "decontaminate": {"against": [{"path": str(work / "bench.parquet"),
                                                                  "column": "problem"}], "ngram": 8}}))
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    marks: list[tuple[str, float]] = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    result = mix(load_mixture(mixture_file), out, log=lambda message: marks.append((message, time.perf_counter())))
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    previous = start
    for message, at in marks:
        print(f"  {at - previous:7.1f} s  then: {message}")
        previous = at
    print(f"  {start + total - previous:7.1f} s  then: card and manifest")
    read = sum(s["rows_read"] for s in result.sources)
    print(f"mixed {result.rows:,} rows (of {read:,} read) into {result.shards} shards in {total:.1f} s, "
          f"peak memory {peak:,.0f} MiB")
    print(f"CPU time {cpu:.1f} s (all threads); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"on {os.cpu_count()} cores")
    for source in result.sources:
        print(f"  {source['name']}: read {source['rows_read']:,}, dropped {source['dropped']}, taken {source['taken']:,}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
