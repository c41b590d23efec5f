"""Curation of prompts before any generation: benchmark decontamination, exact and near-duplicate dedup.

Checks run in this order on each prompt, and the first that fires names the reason:

1. `contaminated`: the prompt shares a normalised word n-gram with a benchmark problem (`decontaminate.py`);
   details `{"benchmark": name, "ngram": the matching normalised n-gram}`.
2. `duplicate_prompt`: its normalised text equals an earlier non-contaminated prompt's; details `{"duplicate_of": id}`.
3. `near_duplicate_prompt`: MinHash LSH finds an earlier kept prompt with estimated Jaccard >= threshold
   (`dedup.py`); details `{"duplicate_of": id, "jaccard": estimate}`.

The first prompt of every duplicate group is kept; results are deterministic. Two entry points agree on the same
data: `PromptCurator.filter` over a stream of batches (stateful: a prompt that repeats one of an earlier batch is
dropped) and `curate_frame` over a whole polars DataFrame (vectorised; what the benchmark script times).

What this does not catch: a benchmark problem reworded so that no 8 consecutive normalised words survive, a
translated one, or the same problem with different numbers (which is also a different problem). Importing this
package is light: polars and datasketch are imported when a curator is built or a frame is curated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factory.prompts.curation.benchmarks import KNOWN_BENCHMARKS, Benchmark, load_benchmark
from factory.prompts.curation.decontaminate import BenchmarkIndex, Contamination
from factory.prompts.curation.dedup import ExactDedup, NearDedup
from factory.prompts.curation.normalize import dedup_texts, normalize_text, normalize_texts
from factory.recipe.fields import build_section
from factory.recipe.sections import BenchmarkRef, Decontaminate, Dedup

__all__ = [
    "KNOWN_BENCHMARKS", "REASONS", "BenchmarkIndex", "BenchmarkRef", "Decontaminate", "Dedup", "Dropped",
    "PromptCurator", "curate_frame", "dedup_texts", "load_benchmarks", "normalize_text", "normalize_texts",
    "parse_decontaminate", "parse_dedup",
]

REASONS = ("contaminated", "duplicate_prompt", "near_duplicate_prompt")


def parse_decontaminate(data: Any, where: str) -> Decontaminate | None:
    """A decontamination setting from its recipe mapping (None: none), checked as a recipe's is."""
    return None if data is None else build_section(Decontaminate, data, f"{where}: key 'decontaminate'")


def parse_dedup(data: Any, where: str) -> Dedup | None:
    """A prompt dedup setting from its recipe mapping (None: none), checked as a recipe's is."""
    return None if data is None else build_section(Dedup, data, f"{where}: key 'dedup'")


@dataclass(frozen=True)
class Dropped:
    """One prompt removed by curation, for manifest.json and the funnel."""

    prompt_id: str
    reason: str
    """One of `REASONS`: contaminated | duplicate_prompt | near_duplicate_prompt."""
    details: dict[str, Any] = field(default_factory=dict)
    """contaminated: {"benchmark", "ngram"}; duplicate_prompt: {"duplicate_of"}; near: {"duplicate_of", "jaccard"}."""

    def to_dict(self) -> dict[str, Any]:
        return {"prompt_id": self.prompt_id, "reason": self.reason, "details": dict(self.details)}


def _contaminated(prompt_id: str, hit: Contamination) -> Dropped:
    return Dropped(prompt_id, "contaminated", {"benchmark": hit.benchmark, "ngram": hit.ngram})


def load_benchmarks(decontaminate: Decontaminate | None) -> BenchmarkIndex | None:
    """Load and index the benchmarks of a decontamination setting (ValueError naming file and column on bad input)."""
    if decontaminate is None:
        return None
    return BenchmarkIndex([load_benchmark(ref) for ref in decontaminate.against], decontaminate.ngram)


class PromptCurator:
    """Curation over a stream of batches of (prompt_id, problem text), in source order.

    The benchmarks are loaded and indexed once, here. State kept across `filter` calls: one digest per distinct
    normalised prompt (exact dedup) and the MinHash LSH index of kept prompts (near dedup).
    """

    def __init__(self, decontaminate: Decontaminate | None, dedup: Dedup | None,
                 benchmarks: BenchmarkIndex | None = None):
        self.decontaminate = decontaminate
        self.dedup = dedup
        self.benchmarks = benchmarks if benchmarks is not None else load_benchmarks(decontaminate)
        self._exact = ExactDedup() if dedup is not None and dedup.exact else None
        self._near = NearDedup(dedup) if dedup is not None and dedup.near else None

    def filter(self, items: list[tuple[str, str]]) -> tuple[list[str], list[Dropped]]:
        """items: (prompt_id, problem text) in source order. Returns the kept ids (in order) and the dropped ones.
        Stateful across calls: a duplicate of a prompt seen in an earlier batch is dropped."""
        norms = normalize_texts([text for _, text in items])
        dropped: dict[int, Dropped] = {}
        survivors: list[int] = []
        for index, ((prompt_id, _), norm) in enumerate(zip(items, norms)):
            hit = self.benchmarks.match(norm) if self.benchmarks is not None else None
            first = None if hit is not None or self._exact is None else self._exact.check(prompt_id, norm)
            if hit is not None:
                dropped[index] = _contaminated(prompt_id, hit)
            elif first is not None:
                dropped[index] = Dropped(prompt_id, "duplicate_prompt", {"duplicate_of": first})
            else:
                survivors.append(index)
        if self._near is not None and survivors:
            near = self._near.check_batch([(items[i][0], norms[i]) for i in survivors])
            for index, found in zip(survivors, near):
                if found is not None:
                    dropped[index] = Dropped(items[index][0], "near_duplicate_prompt",
                                             {"duplicate_of": found[0], "jaccard": found[1]})
        kept = [prompt_id for index, (prompt_id, _) in enumerate(items) if index not in dropped]
        return kept, [dropped[index] for index in sorted(dropped)]

    def describe(self) -> dict[str, Any]:
        """What was checked, for manifest.json: the settings and each benchmark's source, column and size."""
        benchmarks = [] if self.benchmarks is None else [
            {"name": b.name, "source": b.source, "column": b.column, "problems": len(b.problems)}
            for b in self.benchmarks.benchmarks]
        return {
            "decontaminate": None if self.decontaminate is None else {"ngram": self.decontaminate.ngram,
                                                                       "benchmarks": benchmarks},
            "dedup": None if self.dedup is None else {
                "exact": self.dedup.exact, "near": self.dedup.near, "threshold": self.dedup.threshold,
                "num_perm": self.dedup.num_perm, "shingle": self.dedup.shingle},
        }


def curate_frame(frame: Any, id_col: str, text_col: str, decontaminate: Decontaminate | None, dedup: Dedup | None,
                 *, benchmarks: BenchmarkIndex | None = None) -> tuple[Any, list[Dropped]]:
    """Curate a whole polars DataFrame at once (vectorised normalisation, n-gram join and exact dedup; near dedup
    runs over the survivors in order). Returns the kept rows (all columns, source order) and the dropped ones, in
    source order. Same decisions as one `PromptCurator.filter` over the same rows. `benchmarks` reuses an index
    already loaded (e.g. `PromptCurator.benchmarks`)."""
    import polars as pl

    from factory.prompts.curation.normalize import normalize_many

    for column in (id_col, text_col):
        if column not in frame.columns:
            raise ValueError(f"curate_frame: no column '{column}' (columns: {', '.join(frame.columns)})")
    if benchmarks is None:
        benchmarks = load_benchmarks(decontaminate)
    norms = normalize_many(frame[text_col])
    ids = frame[id_col].cast(pl.String)
    dropped: dict[int, Dropped] = {}
    if benchmarks is not None:
        for row, hit in benchmarks.match_series(norms).items():
            dropped[row] = _contaminated(ids[row], hit)
    work = pl.DataFrame({"id": ids, "norm": norms}).with_row_index("row")
    if dropped:
        work = work.filter(~pl.col("row").is_in(pl.Series(list(dropped), dtype=pl.UInt32).implode()))
    if dedup is not None and dedup.exact:
        work = _exact_dedup_frame(work, dropped)
    if dedup is not None and dedup.near:
        near = NearDedup(dedup)
        rows = work["row"].to_list()
        for row, found in zip(rows, near.check_batch(list(zip(work["id"].to_list(), work["norm"].to_list())))):
            if found is not None:
                dropped[row] = Dropped(ids[row], "near_duplicate_prompt",
                                       {"duplicate_of": found[0], "jaccard": found[1]})
    del work, norms
    keep = ~pl.int_range(frame.height, eager=True, dtype=pl.UInt32).is_in(pl.Series(list(dropped), dtype=pl.UInt32).implode())
    return frame.filter(keep), [dropped[row] for row in sorted(dropped)]


def _exact_dedup_frame(work: Any, dropped: dict[int, Dropped]) -> Any:
    """Rows of `work` (row, id, norm) whose norm is the first of its value; the others go to `dropped`. Grouped by a
    64-bit hash of the text (cheaper than the strings); a repeat is checked against its first on the strings, so a
    hash collision keeps a prompt rather than dropping it."""
    import polars as pl

    work = work.with_columns(pl.col("norm").hash(0x5EED).alias("h"))
    first = pl.col("h").is_first_distinct()
    repeats = work.filter(~first)
    firsts = work.filter(first & pl.col("h").is_in(repeats["h"].unique().implode())).select(
        "h", pl.col("id").alias("first"), pl.col("norm").alias("first_norm"))
    repeats = repeats.join(firsts, on="h", maintain_order="left")
    collided = []
    for row, prompt_id, norm, first_id, first_norm in repeats.select("row", "id", "norm", "first",
                                                                     "first_norm").iter_rows():
        if norm == first_norm:
            dropped[row] = Dropped(prompt_id, "duplicate_prompt", {"duplicate_of": first_id})
        else:
            collided.append(row)
    keep = first | pl.col("row").is_in(pl.Series(collided, dtype=pl.UInt32).implode())
    return work.filter(keep).drop("h")
