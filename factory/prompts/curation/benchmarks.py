"""Benchmarks to decontaminate against: the known Hub ids, and loading a file or a Hub dataset into problem texts.

`KNOWN_BENCHMARKS` documents the Hub ids of the usual reasoning evaluations with the column that holds the problem,
the config and the split (checked against the datasets' cards and loaders where marked `verified`). A recipe may
name them by id or by short name (`MATH-500`, `AIME-2024`, `AIME-2025`, `GPQA-Diamond`, `LiveCodeBench`). Other Hub
ids and local files work too: give `column` (default `problem`) and, for the Hub, `split` (default `test`).

Errors in the input are ValueErrors that name the file (or Hub id) and the column: a file that is missing or
unreadable, a column that is absent, a benchmark with no non-empty problem. Hub datasets need a network (or the
local Hub cache); `datasets` is imported only when one is loaded.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.recipe.sections import BenchmarkRef

PROJECT_ROOT = Path(__file__).resolve().parents[2]

KNOWN_BENCHMARKS: dict[str, dict[str, Any]] = {
    # 500 problems (Lightman et al.'s subset of MATH); columns problem, solution, answer, subject, level, unique_id.
    "HuggingFaceH4/MATH-500": {"name": "MATH-500", "column": "problem", "config": None, "split": "test",
                               "verified": True},
    # AIME 2024 I and II, 30 problems; columns id, problem, solution, answer, url, year; one split, train.
    "HuggingFaceH4/aime_2024": {"name": "AIME-2024", "column": "problem", "config": None, "split": "train",
                                "verified": True},
    # The same 30 problems; columns ID, Problem, Solution, Answer (capitalised); split train.
    "Maxwell-Jia/AIME_2024": {"name": "AIME-2024", "column": "Problem", "config": None, "split": "train",
                              "verified": True},
    # AIME 2025 I and II, 30 problems; columns problem, answer, id; split test.
    "math-ai/aime25": {"name": "AIME-2025", "column": "problem", "config": None, "split": "test", "verified": True},
    # AIME 2025 as two configs, AIME2025-I and AIME2025-II (15 each; name both to cover all 30); split test.
    "opencompass/AIME2025": {"name": "AIME-2025", "column": "question", "config": "AIME2025-I", "split": "test",
                             "verified": False},
    # GPQA: configs gpqa_diamond (198), gpqa_main, gpqa_extended; gated (accept the terms on the Hub, then log
    # in); one split, train; the question is in "Question" (answers in "Correct Answer", "Incorrect Answer 1".."3").
    "Idavidrein/gpqa": {"name": "GPQA-Diamond", "column": "Question", "config": "gpqa_diamond", "split": "train",
                        "verified": True},
    # LiveCodeBench code generation (lite): JSONL files test.jsonl, test2.jsonl .. test6.jsonl, one per release
    # (v1 .. v6); column question_content. Its loading script does not run under datasets >= 4, so the files are
    # read directly; `config` is the version tag (release_v6 = all six files, v5 = test5.jsonl, v4_v6 = 4..6).
    "livecodebench/code_generation_lite": {"name": "LiveCodeBench", "column": "question_content",
                                           "config": "release_v6", "split": "train", "verified": True},
}
SHORT_NAMES = {
    "math-500": "HuggingFaceH4/MATH-500", "math500": "HuggingFaceH4/MATH-500",
    "aime-2024": "HuggingFaceH4/aime_2024", "aime2024": "HuggingFaceH4/aime_2024", "aime24": "HuggingFaceH4/aime_2024",
    "aime-2025": "math-ai/aime25", "aime2025": "math-ai/aime25", "aime25": "math-ai/aime25",
    "gpqa-diamond": "Idavidrein/gpqa", "gpqa": "Idavidrein/gpqa",
    "livecodebench": "livecodebench/code_generation_lite", "lcb": "livecodebench/code_generation_lite",
}


@dataclass(frozen=True)
class Benchmark:
    """The problems of one benchmark, as loaded (not normalised)."""

    name: str
    source: str  # the file path or the Hub id (with config and split)
    column: str
    problems: tuple[str, ...]


def resolved(ref: BenchmarkRef) -> BenchmarkRef:
    """The reference with the defaults filled in: a short name becomes its Hub id, then the known table's column,
    config, split and name apply, then the generic defaults (column `problem`, split `test`)."""
    hub_id = ref.hub_id
    if hub_id is not None and hub_id.lower() in SHORT_NAMES:
        hub_id = SHORT_NAMES[hub_id.lower()]
    known = KNOWN_BENCHMARKS.get(hub_id or "", {})
    if ref.path is not None:
        name = ref.name or Path(ref.path).stem
        return BenchmarkRef(path=ref.path, column=ref.column or "problem", name=name)
    return BenchmarkRef(
        hub_id=hub_id, config=ref.config or known.get("config"), split=ref.split or known.get("split", "test"),
        column=ref.column or known.get("column", "problem"),
        name=ref.name or known.get("name") or str(hub_id).rstrip("/").split("/")[-1])


def resolve_benchmark_path(path: str) -> Path:
    candidate = Path(path)
    if candidate.is_file() or candidate.is_absolute():
        return candidate
    in_project = PROJECT_ROOT / candidate
    return in_project if in_project.is_file() else candidate


def _file_rows(path: Path) -> tuple[list[str], list[Any]]:
    """(column names, the values of every row as dicts) of a benchmark file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            rows = []
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as exc:
                            raise ValueError(f"benchmark file {path}: line {number} is not JSON ({exc.msg})") from exc
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data if isinstance(data, list) else next((v for v in data.values() if isinstance(v, list)), None) \
                if isinstance(data, dict) else None
            if rows is None:
                raise ValueError(f"benchmark file {path}: expected a JSON list of records")
        elif suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                return list(reader.fieldnames or []), rows
        elif suffix == ".parquet":
            import polars as pl

            frame = pl.read_parquet(path)
            return frame.columns, frame.to_dicts()
        else:
            raise ValueError(f"benchmark file {path}: unsupported format (use .jsonl, .json, .parquet or .csv)")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"benchmark file {path}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"benchmark file {path}: not valid JSON ({exc.msg})") from exc
    columns: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            columns.extend(k for k in row if k not in columns)
    return columns, rows


def _problems(rows: list[Any], columns: list[str], column: str, where: str) -> tuple[str, ...]:
    if column not in columns:
        raise ValueError(f"{where}: no column '{column}' (columns: {', '.join(map(str, columns)) or 'none'})")
    problems = tuple(str(row[column]) for row in rows
                     if isinstance(row, dict) and row.get(column) is not None and str(row[column]).strip())
    if not problems:
        raise ValueError(f"{where}: column '{column}' has no non-empty problem")
    return problems


def _lcb_files(version: str) -> list[str]:
    files = ["test.jsonl"] + [f"test{i}.jsonl" for i in range(2, 7)]
    if version in ("release_latest", "release_v6"):
        return files
    if version.startswith("release_v") and version[9:].isdigit():
        return files[: int(version[9:])]
    parts = version.split("_")
    if all(p[:1] == "v" and p[1:].isdigit() for p in parts) and len(parts) in (1, 2):
        first, last = int(parts[0][1:]), int(parts[-1][1:])
        return files[first - 1: last]
    raise ValueError(f"LiveCodeBench: unknown version tag '{version}' (release_v1..release_v6, v1..v6, v1_v3, ...)")


def _hub_rows(ref: BenchmarkRef) -> tuple[list[str], list[Any]]:
    import datasets

    kwargs: dict[str, Any] = {"split": ref.split}
    if ref.hub_id == "livecodebench/code_generation_lite":
        kwargs["data_files"] = _lcb_files(ref.config or "release_v6")
        args: tuple[Any, ...] = (ref.hub_id,)
    else:
        args = (ref.hub_id, ref.config) if ref.config else (ref.hub_id,)
    try:
        dataset = datasets.load_dataset(*args, **kwargs)
    except (FileNotFoundError, ValueError) as exc:  # DatasetNotFoundError is a FileNotFoundError; bad split/config
        raise ValueError(f"benchmark {ref.hub_id} (config {ref.config}, split {ref.split}): {exc}") from exc
    columns = list(dataset.column_names)
    if ref.column not in columns:
        return columns, []
    return columns, [{ref.column: value} for value in dataset[ref.column]]


def load_benchmark(ref: BenchmarkRef) -> Benchmark:
    """Load one benchmark's problem texts (defaults resolved as in `resolved`)."""
    ref = resolved(ref)
    assert ref.column is not None and ref.name is not None
    if ref.path is not None:
        path = resolve_benchmark_path(ref.path)
        if not path.is_file():
            raise ValueError(f"benchmark file not found: {ref.path} (column '{ref.column}')")
        where = f"benchmark file {path}"
        columns, rows = _file_rows(path)
        return Benchmark(ref.name, str(path), ref.column, _problems(rows, columns, ref.column, where))
    source = f"{ref.hub_id}" + (f" ({ref.config})" if ref.config else "") + f" split {ref.split}"
    columns, rows = _hub_rows(ref)
    return Benchmark(ref.name, source, ref.column, _problems(rows, columns, ref.column, f"benchmark {source}"))
