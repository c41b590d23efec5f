"""Settings of prompt curation: the recipe's `prompts.decontaminate` and `prompts.dedup` (standard library only).

```yaml
prompts:
  decontaminate:
    against: [MATH-500, HuggingFaceH4/aime_2024, {path: data/my_eval.jsonl, column: question}]
    ngram: 8
  dedup: {exact: true, near: true, threshold: 0.8, num_perm: 128, shingle: 3}
```

`parse_decontaminate` and `parse_dedup` turn the mapping of a recipe into these dataclasses; every error is a
ValueError naming `where` (the recipe file and section) and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCHMARK_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")


@dataclass
class BenchmarkRef:
    """One entry of `prompts.decontaminate.against`: a local file or a Hub dataset. Exactly one of `path`, `hub_id`."""

    path: str | None = None
    """A local .jsonl, .json (a list of records), .parquet or .csv file; relative paths are resolved against the
    working folder, then the project root."""
    hub_id: str | None = None
    """A Hugging Face dataset id, read with `datasets.load_dataset` (needs a network or the local Hub cache). The ids
    in `factory.prompts.curation.benchmarks.KNOWN_BENCHMARKS` (and their short names, e.g. `MATH-500`) bring their column,
    config and split."""
    config: str | None = None
    """The Hub dataset's configuration (e.g. `gpqa_diamond`); default from the known-benchmark table, else none.
    For LiveCodeBench it is the version tag (`release_v1` ... `release_v6`, `v5`, `v4_v6`)."""
    split: str | None = None
    """The Hub dataset's split; default from the known-benchmark table, else `test`."""
    column: str | None = None
    """The column holding the problem text; default from the known-benchmark table, else `problem`."""
    name: str | None = None
    """The name shown in manifest.json and the funnel; default: the known benchmark's name, else the file's stem or
    the last part of the Hub id."""


@dataclass
class Decontaminate:
    """Drop prompts that share a normalised word n-gram with a benchmark problem, before any generation."""

    against: list[BenchmarkRef] = field(default_factory=list)
    """The benchmarks, at least one. A recipe may give a plain string: a path if it ends in .jsonl/.json/.parquet/
    .csv or names an existing file, else a Hub id or a known short name (`MATH-500`, `AIME-2024`, ...)."""
    ngram: int = 8
    """Word n-gram length, 1 to 64. A text shorter than `ngram` words is compared whole (equal after
    normalisation). 8 is a common choice (13 in GPT-3's report): shorter catches more rewording but also shared
    boilerplate ("find the sum of all positive integers")."""


@dataclass
class Dedup:
    """Drop repeated prompts, before any generation; the first prompt of each group (source order) is kept."""

    exact: bool = True
    """Drop prompts whose normalised text equals an earlier prompt's."""
    near: bool = False
    """Also drop near-duplicates: MinHash LSH over word shingles (datasketch), estimated Jaccard >= `threshold`."""
    threshold: float = 0.8
    """Jaccard similarity of the shingle sets at which two prompts are near-duplicates, in (0, 1]."""
    num_perm: int = 128
    """MinHash permutations, 16 to 1024: more is a finer Jaccard estimate (standard error about
    sqrt(J(1-J)/num_perm), 0.03 at 128) and a slower index."""
    shingle: int = 3
    """Word shingle size (tokens of the normalised text), 1 to 16. With 3, one changed word in a 40-word problem
    leaves a Jaccard of about 0.85; with 5 it would be about 0.76. A text shorter than this is one shingle."""


def _fail(where: str, key: str, message: str) -> ValueError:
    return ValueError(f"{where}: key '{key}': {message}")


def _check_keys(data: dict[str, Any], cls: type, where: str, prefix: str) -> None:
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(where, f"{prefix}{key}", f"unknown key{hint} (known: {', '.join(known)})")


def _int_in(value: Any, low: int, high: int, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, key, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, key, f"must be true or false, got {value!r}")
    return value


def looks_like_file(text: str) -> bool:
    """A plain `against` string names a file if it has a benchmark file suffix or exists on disk."""
    return text.lower().endswith(BENCHMARK_SUFFIXES) or Path(text).is_file()


def parse_benchmark_ref(item: Any, where: str, key: str) -> BenchmarkRef:
    """One `against` entry: a string (file or Hub id) or a mapping of BenchmarkRef keys."""
    if isinstance(item, str):
        if not item.strip():
            raise _fail(where, key, "an empty benchmark name")
        return BenchmarkRef(path=item) if looks_like_file(item) else BenchmarkRef(hub_id=item)
    if not isinstance(item, dict):
        raise _fail(where, key, f"must be a path, a Hub id or a mapping, got {type(item).__name__}")
    _check_keys(item, BenchmarkRef, where, f"{key}.")
    for name, value in item.items():
        if value is not None and not isinstance(value, str):
            raise _fail(where, f"{key}.{name}", f"must be a string, got {value!r}")
    ref = BenchmarkRef(**item)
    if (ref.path is None) == (ref.hub_id is None):
        raise _fail(where, key, "give exactly one of 'path' and 'hub_id'")
    return ref


def parse_decontaminate(data: dict[str, Any] | None, where: str) -> Decontaminate | None:
    """`prompts.decontaminate` of a recipe (None or absent: no decontamination)."""
    if data is None:
        return None
    prefix = "decontaminate"
    if not isinstance(data, dict):
        raise _fail(where, prefix, f"must be a mapping, got {type(data).__name__}")
    _check_keys(data, Decontaminate, where, f"{prefix}.")
    against = data.get("against")
    if isinstance(against, (str, dict)):
        against = [against]
    if not isinstance(against, list) or not against:
        raise _fail(where, f"{prefix}.against", "must be a non-empty list of benchmark files or Hub ids")
    refs = [parse_benchmark_ref(item, where, f"{prefix}.against[{i}]") for i, item in enumerate(against)]
    ngram = _int_in(data.get("ngram", 8), 1, 64, where, f"{prefix}.ngram")
    return Decontaminate(against=refs, ngram=ngram)


def parse_dedup(data: dict[str, Any] | None, where: str) -> Dedup | None:
    """`prompts.dedup` of a recipe (None or absent: no dedup)."""
    if data is None:
        return None
    prefix = "dedup"
    if not isinstance(data, dict):
        raise _fail(where, prefix, f"must be a mapping, got {type(data).__name__}")
    _check_keys(data, Dedup, where, f"{prefix}.")
    dedup = Dedup()
    for key in ("exact", "near"):
        if key in data:
            setattr(dedup, key, _bool(data[key], where, f"{prefix}.{key}"))
    if "threshold" in data:
        value = data["threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise _fail(where, f"{prefix}.threshold", f"must be a number in (0, 1], got {value!r}")
        dedup.threshold = float(value)
    if "num_perm" in data:
        dedup.num_perm = _int_in(data["num_perm"], 16, 1024, where, f"{prefix}.num_perm")
    if "shingle" in data:
        dedup.shingle = _int_in(data["shingle"], 1, 16, where, f"{prefix}.shingle")
    return dedup
