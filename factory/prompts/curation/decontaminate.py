"""Benchmark decontamination: a prompt that shares a normalised word n-gram with a benchmark problem is dropped.

Both sides are normalised the same way (`factory.prompts.curation.normalize`). A prompt is contaminated by the first
position (in the prompt) of an n-gram that some benchmark problem also has; the benchmark reported is the first of
`against` that has that n-gram. A text shorter than n tokens has no n-grams and is compared whole: a short
benchmark problem contaminates a prompt whose whole normalised text equals it (not any prompt that merely contains
its few words, which would drop every prompt extending "compute 2 + 2"). Short prompts are likewise compared whole.

Tokens include operators, single letters and digits (`f x = frac 3 x - 2` is 8 tokens), so an 8-gram of a formula
spans less text than 8 words of prose, and two problems that open with the same formula share one: a problem that
differs from a benchmark problem only in its last number is reported contaminated. Formula-heavy sources that
want fewer such hits can raise `ngram` (13 is the other common choice).

Two ways to ask, with the same answers: `BenchmarkIndex.match` for one normalised text (the streaming path) and
`BenchmarkIndex.match_series` for a polars Series of them (the vectorised path: token hashes, n-gram hashes from
shifted columns, a hash join against the benchmark n-grams; the few hits are then checked on the strings, so a
64-bit hash collision cannot drop a prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.prompts.curation.benchmarks import Benchmark
from factory.prompts.curation.normalize import normalize_many, tokens_of

_SEED = 0x5EED
# Odd 64-bit multipliers, one per n-gram position (polars u64 arithmetic wraps, which is the intended mod 2^64).
_MULTIPLIERS = [(0x9E3779B97F4A7C15 * (2 * k + 1) + 0xD1B54A32D192ED03 * k) % (1 << 64) | 1 for k in range(64)]


@dataclass(frozen=True)
class Contamination:
    benchmark: str
    ngram: str  # the matching normalised n-gram (a short problem's whole normalised text)


def _gram_hashes(norms: Any, n: int) -> Any:
    """Frame of (row, i, h): h is the hash of the n-gram starting at exploded token i of row `row` (rows with at
    least n tokens), in row and token order."""
    import polars as pl

    frame = pl.DataFrame({"tok": norms.str.split(" ")}).with_row_index("row")
    frame = frame.filter((norms != "") & (pl.col("tok").list.len() >= n)).explode("tok").with_row_index("i")
    frame = frame.with_columns(pl.col("tok").hash(_SEED).alias("th")).drop("tok")
    gram = pl.col("th") * pl.lit(_MULTIPLIERS[0], dtype=pl.UInt64)
    for k in range(1, n):
        gram = gram + pl.col("th").shift(-k) * pl.lit(_MULTIPLIERS[k], dtype=pl.UInt64)
    valid = pl.col("row").shift(-(n - 1)) == pl.col("row")
    return frame.select("row", "i", gram.alias("h"), valid.alias("valid")).filter(pl.col("valid")).drop("valid")


class BenchmarkIndex:
    """The normalised n-grams (and whole short problems) of the benchmarks, with the first benchmark having each."""

    def __init__(self, benchmarks: list[Benchmark], n: int):
        import polars as pl

        self.n = n
        self.benchmarks = benchmarks
        self.names = [b.name for b in benchmarks]
        self.grams: dict[str, int] = {}
        self.wholes: dict[str, int] = {}
        hashes = []
        for rank, benchmark in enumerate(benchmarks):
            norms = normalize_many(pl.Series(list(benchmark.problems), dtype=pl.String))
            for norm in norms.to_list():
                tokens = tokens_of(norm)
                if 0 < len(tokens) < n:
                    self.wholes.setdefault(norm, rank)
                for i in range(len(tokens) - n + 1):
                    self.grams.setdefault(" ".join(tokens[i:i + n]), rank)
            hashes.append(_gram_hashes(norms, n).select("h"))
        self._hashes = pl.concat(hashes).unique() if hashes else pl.DataFrame({"h": []}, schema={"h": pl.UInt64})

    def _found(self, gram: str, whole: bool) -> Contamination | None:
        rank = (self.wholes if whole else self.grams).get(gram)
        return None if rank is None else Contamination(self.names[rank], gram)

    def match(self, normalized: str) -> Contamination | None:
        """The contamination of one normalised text, or None."""
        tokens = tokens_of(normalized)
        if len(tokens) < self.n:
            return self._found(normalized, whole=True) if tokens else None
        for i in range(len(tokens) - self.n + 1):
            found = self._found(" ".join(tokens[i:i + self.n]), whole=False)
            if found:
                return found
        return None

    def match_series(self, norms: Any, chunk: int = 50_000) -> dict[int, Contamination]:
        """Row number -> contamination, for a polars Series of normalised texts (vectorised, `chunk` rows at a time
        to bound memory: the n-gram hashes of a chunk take about 60 bytes per token)."""
        found: dict[int, Contamination] = {}
        for offset in range(0, len(norms), chunk):
            for row, hit in self._match_chunk(norms.slice(offset, chunk)).items():
                found[offset + row] = hit
        return found

    def _match_chunk(self, norms: Any) -> dict[int, Contamination]:
        import numpy as np
        import polars as pl

        found: dict[int, Contamination] = {}
        counts = norms.str.split(" ").list.len().to_numpy().astype(np.int64)
        counts[(norms == "").to_numpy()] = 0
        if self.wholes:
            short = pl.DataFrame({"norm": norms}).with_row_index("row").filter(
                (pl.Series(counts) > 0) & (pl.Series(counts) < self.n))
            hits = short.filter(pl.col("norm").is_in(list(self.wholes)))
            for row, norm in hits.iter_rows():
                found[row] = self._found(norm, whole=True)  # type: ignore[assignment]
        if not self.grams:
            return found
        candidates = _gram_hashes(norms, self.n).join(self._hashes, on="h", how="semi", maintain_order="left")
        if candidates.height:
            eligible = np.where(counts >= self.n, counts, 0)
            offsets = eligible.cumsum() - eligible  # exploded index of each row's first token
            for row, i in candidates.select("row", "i").iter_rows():
                if row in found:
                    continue
                tokens = tokens_of(norms[row])
                start = i - int(offsets[row])
                hit = self._found(" ".join(tokens[start:start + self.n]), whole=False)
                if hit:
                    found[row] = hit
        return found
