"""The mix's first pass: every source read once, in mixture order, to decide which of its rows the mix takes.

Per batch: the rows are shaped (`factory.mix.shape`), their problem texts normalised with curation's normalisation
(on every core), checked against the benchmarks with curation's `BenchmarkIndex` (vectorised), then against the
prompts of earlier sources: exact dedup keys each normalised text by 128 bits (two 64-bit polars hashes with
different seeds; with ideal hashing a false match among 10^8 prompts has a probability near 10^-23, the class of
guarantee of curation's `ExactDedup` 16-byte digests, but vectorised over the batch instead of a Python dict per
row), and, when asked, curation's `NearDedup` (MinHash LSH). Dedup is across sources only: a prompt met in an
earlier source drops the row (the first source listed wins); a source's own repeats are kept, since a run's several
accepted samples of one prompt are samples, not duplicates.

Then each source's surviving rows are drawn: `rows: N` takes N of them (all when fewer), `weight: w` takes
round(w x survivors), neither takes all; the draw is seeded by the mixture's seed and the source's name, so it does
not change when another source is added. Finally one seeded permutation gives every taken row its position in the
output. What is kept in memory: one byte per source row, 18 bytes per distinct prompt, and two integers per
taken row (`Plan`), not the rows.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from factory.mix.settings import Mixture
from factory.mix.shape import shape_batch
from factory.mix.sources import SourceReader

LISTED_DROPS = 2_000
SCAN_BATCH_ROWS = 65_536  # large enough for the normalisation to use every core


@dataclass
class SourceScan:
    name: str
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    """Rows the mix cannot use, by reason (shape problems; unreadable JSONL lines)."""
    dropped: Counter = field(default_factory=Counter)
    """Rows dropped by curation, by reason: contaminated, duplicate_prompt, near_duplicate_prompt."""
    available: int = 0
    """Rows left after skipping and curation: what `weight` and `rows` draw from."""
    target: int | None = None
    """What the mixture asked for (`rows`, or weight x available); None: every row."""
    taken: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows_read": self.rows_read, "skipped": dict(self.skipped),
                "dropped": dict(self.dropped), "available": self.available, "target": self.target,
                "taken": self.taken, "short": max(0, (self.target or 0) - self.taken)}


@dataclass
class Plan:
    """Which rows the mix takes, and where each goes: per source, the 0-based row numbers taken (sorted) and their
    output positions (a permutation of 0..total-1 over all sources)."""

    rows: list[np.ndarray]
    positions: list[np.ndarray]
    scans: list[SourceScan]
    drops: list[dict[str, Any]]
    """The first `LISTED_DROPS` dropped rows with their evidence (source, row, id, reason, details)."""

    @property
    def total(self) -> int:
        return int(sum(len(r) for r in self.rows))


class UnionCurator:
    """Curation over the union of the sources, batch by batch, in mixture order (see the module docstring)."""

    def __init__(self, mixture: Mixture) -> None:
        from factory.prompts.curation import load_benchmarks
        from factory.prompts.curation.dedup import NearDedup

        dedup = mixture.dedup
        self.benchmarks = load_benchmarks(mixture.decontaminate)
        self.exact = ExactKeys() if dedup is not None and dedup.exact else None
        self.near = NearDedup(dedup) if dedup is not None and dedup.near else None
        self.names = [s.name for s in mixture.sources]

    def keep(self, k: int, problems: Any, usable: np.ndarray, first_row: int,
             ids: list[str], drops: list[dict[str, Any]], scan: SourceScan) -> np.ndarray:
        """The mask of rows of source `k` that survive (among the `usable` ones)."""
        import polars as pl

        from factory.prompts.curation.normalize import normalize_many

        keep = usable.copy()
        norms = normalize_many(problems, chunk=max(4096, -(-len(problems) // (os.cpu_count() or 1))))

        def drop(i: int, reason: str, **details: Any) -> None:
            keep[i] = False
            scan.dropped[reason] += 1
            if len(drops) < LISTED_DROPS:
                drops.append({"source": self.names[k], "row": first_row + i, "id": ids[i], "reason": reason,
                              **details})

        if self.benchmarks is not None:
            for i, hit in sorted(self.benchmarks.match_series(norms).items()):
                if keep[i]:
                    drop(i, "contaminated", benchmark=hit.benchmark, ngram=hit.ngram)
        if self.exact is not None:
            for i, first in self.exact.check(k, norms, keep):
                drop(i, "duplicate_prompt", duplicate_of_source=self.names[first])
        if self.near is not None:
            survivors = np.flatnonzero(keep)
            texts = norms.gather(pl.Series(survivors, dtype=pl.UInt32)).to_list() if len(survivors) else []
            found = self.near.check_batch([(f"{k}\t{first_row + i}", t) for i, t in zip(survivors, texts)])
            for i, hit in zip(survivors, found):
                if hit is not None and int(hit[0].split("\t")[0]) != k:
                    other, row = hit[0].split("\t")
                    drop(int(i), "near_duplicate_prompt", duplicate_of_source=self.names[int(other)],
                         duplicate_of_row=int(row), jaccard=hit[1])
        return keep


class ExactKeys:
    """The normalised prompts seen so far, by 128-bit key, with the first source that had each."""

    def __init__(self) -> None:
        import polars as pl

        self.seen = pl.DataFrame(schema={"h1": pl.UInt64, "h2": pl.UInt64, "first": pl.UInt16})

    def check(self, k: int, norms: Any, usable: np.ndarray) -> list[tuple[int, int]]:
        """(row, first source) of the usable rows of source `k` whose prompt an earlier source had; the others'
        keys are remembered for source `k` (its own repeats are not duplicates)."""
        import polars as pl

        batch = pl.DataFrame({"h1": norms.hash(0x5EED), "h2": norms.hash(0xC0FFEE)}).with_row_index("row").filter(
            pl.Series(usable))
        joined = batch.join(self.seen, on=["h1", "h2"], how="left", maintain_order="left")
        new = joined.filter(pl.col("first").is_null()).unique(["h1", "h2"], keep="first", maintain_order=True)
        if new.height:
            self.seen = pl.concat([self.seen, new.select("h1", "h2", pl.lit(k, dtype=pl.UInt16).alias("first"))],
                                  rechunk=False)
        hits = joined.filter(pl.col("first").is_not_null() & (pl.col("first") != k))
        return [(int(row), int(first)) for row, first in hits.select("row", "first").iter_rows()]


def scan(mixture: Mixture, readers: list[SourceReader]) -> Plan:
    """Read every source once and decide the mix (see the module docstring)."""
    curator = UnionCurator(mixture)
    scans, masks, drops = [], [], []
    for k, reader in enumerate(readers):
        result = SourceScan(reader.spec.name)
        parts = []
        for table in reader.batches(SCAN_BATCH_ROWS):
            first_row = result.rows_read + 1
            frame = shape_batch(table, reader.spec.columns, first_row, reader.origin)
            result.rows_read += frame.height
            skip = frame["skip"]
            usable = skip.is_null().to_numpy()
            for reason, count in Counter(skip.drop_nulls().to_list()).items():
                result.skipped[reason] += count
            parts.append(curator.keep(k, frame["problem"], usable, first_row, frame["source_id"].to_list(), drops,
                                      result))
        if reader.skipped:
            result.skipped["unreadable line"] += len(reader.skipped)
        mask = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        result.available = int(mask.sum())
        scans.append(result)
        masks.append(mask)
    return select(mixture, scans, masks, drops)


def select(mixture: Mixture, scans: list[SourceScan], masks: list[np.ndarray], drops: list[dict[str, Any]]) -> Plan:
    """Draw each source's rows (seeded per source) and give every taken row its output position."""
    rows = []
    for spec, result, mask in zip(mixture.sources, scans, masks):
        survivors = np.flatnonzero(mask)
        if spec.rows is not None:
            result.target = spec.rows
        elif spec.weight is not None:
            result.target = int(round(spec.weight * len(survivors)))
        want = len(survivors) if result.target is None else min(result.target, len(survivors))
        if want < len(survivors):
            rng = np.random.default_rng([mixture.seed, zlib.crc32(spec.name.encode())])
            survivors = np.sort(rng.choice(survivors, size=want, replace=False))
        result.taken = want
        rows.append(survivors.astype(np.int64))
    total = sum(len(r) for r in rows)
    order = np.random.default_rng([mixture.seed, 0x5EED]).permutation(total).astype(np.int64)
    offsets = np.cumsum([0] + [len(r) for r in rows])
    positions = [order[offsets[k]:offsets[k + 1]] for k in range(len(rows))]
    return Plan(rows, positions, scans, drops)
