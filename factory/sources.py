"""Prompt sources: local JSONL / Parquet files or a Hugging Face Hub dataset, turned into `Prompt`s.

Contract: rows come out in source order, so work units (fixed groups of consecutive prompts) are the same on every
run. A problem with the whole source (file missing, a mapped column absent, duplicate ids) raises `SourceError`
naming the file, row and field. A problem with one row (not UTF-8, not JSON, empty problem, empty gold) skips that
row and records a `SkippedRow` with file, row, field and reason: counted in the run's stats, never lost silently.
Rows are numbered from 1 (the line number in a JSONL file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from factory.recipe import PROJECT_ROOT, PromptSource, Template
from verifiers.types import Prompt, chat


class SourceError(ValueError):
    """The prompt source cannot be used at all; the message names file, row and field."""


@dataclass(frozen=True)
class SkippedRow:
    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: field '{self.field}': {self.reason}"


@dataclass
class LoadedPrompts:
    prompts: list[Prompt]
    skipped: list[SkippedRow]
    completions: dict[str, list[str]]
    """For `factory verify`: prompt_id -> completion texts in input order (empty for generation)."""
    origin: str
    row_of: dict[str, int]
    """prompt_id -> the source row it came from (for messages that name the row)."""


def resolve_data_path(path: str) -> Path:
    """Relative paths are tried against the working folder first, then the project root (for shipped data)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    shipped = PROJECT_ROOT / candidate
    return shipped if shipped.exists() else candidate


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | SkippedRow]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, SkippedRow(str(path), number, "*", f"not valid UTF-8 (byte {exc.start})")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, SkippedRow(str(path), number, "*", f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield number, SkippedRow(str(path), number, "*", "a row must be a JSON object")
                continue
            yield number, row


def _table_rows(rows: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in enumerate(rows, start=1):
        yield number, row


def iter_source_rows(source: PromptSource) -> tuple[str, Iterator[tuple[int, dict[str, Any] | SkippedRow]]]:
    """(origin, rows) for the configured source; origin names the file or Hub dataset in messages."""
    if source.hub_id:
        import datasets  # heavy; only when a Hub source is used

        origin = f"{source.hub_id}[{source.config or 'default'}:{source.split}]"
        try:
            dataset = datasets.load_dataset(source.hub_id, source.config, split=source.split)
        except Exception as exc:  # noqa: BLE001 - datasets raises many types; the message is what matters
            raise SourceError(f"{origin}: could not load the Hub dataset: {exc}") from exc
        return origin, _table_rows(dataset)
    path = resolve_data_path(source.path or "")
    if not path.is_file():
        raise SourceError(f"prompt file not found: {source.path} (looked in {Path.cwd()} and {PROJECT_ROOT})")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"{path}: not a readable Parquet file: {exc}") from exc
        return str(path), _table_rows(table.to_pylist())
    if path.suffix in (".jsonl", ".json"):
        return str(path), _jsonl_rows(path)
    raise SourceError(f"{path}: unsupported prompt file type '{path.suffix}' (use .jsonl or .parquet)")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def load_prompts(
    source: PromptSource,
    template: Template,
    *,
    limit: int | None = None,
    with_completions: bool = False,
) -> LoadedPrompts:
    """Read the source, apply the column mapping and template, and return prompts plus skipped rows.

    with_completions: `factory verify` input, where each row also has a `completion` column; rows sharing an `id`
    become one prompt with several completions (sample_index = order of appearance).
    """
    origin, rows = iter_source_rows(source)
    columns = source.columns
    id_column, problem_column, gold_column = columns.get("id"), columns["problem"], columns["gold"]
    prompts: dict[str, Prompt] = {}
    first_row_of: dict[str, int] = {}
    completions: dict[str, list[str]] = {}
    skipped: list[SkippedRow] = []
    seen_rows = 0
    for number, row in rows:
        if isinstance(row, SkippedRow):
            skipped.append(row)
            continue
        seen_rows += 1
        if seen_rows == 1:
            required = [problem_column, gold_column] + (["completion"] if with_completions else [])
            missing = [c for c in required if c not in row]
            if missing:
                raise SourceError(f"{origin}: row {number}: missing column(s) {', '.join(repr(c) for c in missing)} "
                                  f"(the recipe maps problem<-{problem_column!r}, gold<-{gold_column!r}; "
                                  f"columns present: {', '.join(sorted(row))})")
        problem, gold = _text(row.get(problem_column)).strip(), row.get(gold_column)
        if not problem:
            skipped.append(SkippedRow(origin, number, problem_column, "empty problem"))
            continue
        if gold is None or (isinstance(gold, str) and not gold.strip()):
            skipped.append(SkippedRow(origin, number, gold_column, "empty gold answer"))
            continue
        raw_id = row.get(id_column) if id_column else None
        prompt_id = _text(raw_id).strip() or f"row-{number:06d}"
        if with_completions:
            completion = row.get("completion")
            if not isinstance(completion, str):
                skipped.append(SkippedRow(origin, number, "completion", "completion must be a string"))
                continue
            completions.setdefault(prompt_id, []).append(completion)
            if prompt_id in prompts:
                continue
        elif prompt_id in prompts:
            raise SourceError(f"{origin}: row {number}: field '{id_column}': duplicate id {prompt_id!r} "
                              f"(first seen at row {first_row_of[prompt_id]}); ids must be unique")
        if limit is not None and len(prompts) >= limit:
            if with_completions:
                completions.pop(prompt_id, None)
            break
        metadata = {k: v for k, v in row.items() if k not in {id_column, problem_column, gold_column, "completion"}}
        prompts[prompt_id] = Prompt(
            prompt_id=prompt_id,
            messages=chat(template.system_prompt, template.user_template.format(problem=problem)),
            problem=problem,
            gold=gold,
            source=source.hub_id or Path(origin).name,
            metadata=json.loads(json.dumps(metadata, default=str)),
        )
        first_row_of[prompt_id] = number
    if seen_rows == 0:
        raise SourceError(f"{origin}: no usable rows" + (f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""))
    return LoadedPrompts(list(prompts.values()), skipped, completions, origin, first_row_of)
