"""Prompt sources: local JSONL / Parquet files or a Hugging Face Hub dataset, turned into `Prompt`s.

Contract: rows come out in source order, so work units (fixed groups of consecutive prompts) are the same on every
run. A problem with the whole source (file missing, a mapped column absent, duplicate ids, ids shared by rows that
disagree) raises `SourceError` naming the file, row and field. A problem with one row (not UTF-8, not JSON, text
that is not valid Unicode, empty problem, empty gold) skips that row and records a `SkippedRow` with file, row,
field and reason: counted in the run's stats, never lost silently. Rows are numbered from 1 (the line number in a
JSONL file, the row index + 1 in Parquet).

Only the mapped columns (id, problem, gold, and an optional per-prompt `language`) and those the recipe names in
`prompts.keep_columns` reach the prompts (and so the output rows, under `metadata`).

Every load also returns the input's identity (`LoadedPrompts.identity`): the file's resolved path, size and sha256,
or the Hub dataset's id, config, split and revision. It is part of the run's fingerprint, so a changed input is
never mixed into a run folder made from another one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from factory.paths import resolve_data_path
from factory.recipe import PromptSource, Template
from verifiers.types import Prompt, chat

FILE_TYPES = (".jsonl", ".json", ".parquet")


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
    origin: str
    """The file or Hub dataset, as messages name it."""
    row_of: dict[str, int]
    """prompt_id -> the source row it came from (for messages that name the row)."""
    identity: dict[str, Any] = field(default_factory=dict)
    """What the input is, for the run's fingerprint: path + sha256, or Hub id + revision."""
    completions: dict[str, list[str]] = field(default_factory=dict)
    """For `factory verify`: prompt_id -> completion texts in input order (empty for generation)."""
    models: set[str] = field(default_factory=set)
    """For `factory verify`: the values of the input's `model` column, if it has one."""


def file_identity(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return {"kind": "file", "path": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def local_file(name: str, what: str) -> Path:
    """The local file `name` (see `resolve_data_path`), or a SourceError that says what is wrong with it."""
    path = resolve_data_path(name)
    if path.is_dir():
        raise SourceError(f"{what} {name}: is a folder, not a file (give a .jsonl or .parquet file)")
    if not path.is_file():
        raise SourceError(f"{what} not found: {name} (looked at {path})")
    if path.suffix not in FILE_TYPES:
        raise SourceError(f"{path}: unsupported file type '{path.suffix}' (use .jsonl or .parquet)")
    return path


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


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise SourceError(f"{path}: not a readable Parquet file: {exc}") from exc
    number = 0
    for batch in reader.iter_batches(batch_size=4096):  # row groups streamed, not one read_table
        for row in batch.to_pylist():
            number += 1
            yield number, row


def iter_source_rows(source: PromptSource, with_run_folders: bool = False
                     ) -> tuple[str, dict[str, Any], Iterator[tuple[int, Any]]]:
    """(origin, identity, rows) for the configured source; origin names the file or Hub dataset in messages.
    `with_run_folders`: a run folder is a source too (its samples, for `verify` / `curate`)."""
    if source.hub_id:
        import datasets  # heavy; only when a Hub source is used

        origin = f"{source.hub_id}[{source.config or 'default'}:{source.split}]"
        try:
            dataset = datasets.load_dataset(source.hub_id, source.config, split=source.split,
                                            revision=source.revision)
        except Exception as exc:  # noqa: BLE001 - datasets raises many types; the message is what matters
            raise SourceError(f"{origin}: could not load the Hub dataset: {exc}") from exc
        identity = {"kind": "hub", "id": source.hub_id, "config": source.config, "split": source.split,
                    "revision": source.revision or getattr(dataset, "_fingerprint", None)}
        return origin, identity, enumerate(dataset, start=1)
    folder = resolve_data_path(source.path or "")
    if with_run_folders and folder.is_dir() and (folder / ".factory" / "run.json").is_file():
        run_info = json.loads((folder / ".factory" / "run.json").read_text())
        identity = {"kind": "run_folder", "path": str(folder), "fingerprint": run_info.get("fingerprint"),
                    "units": sorted(p.name for p in (folder / ".factory" / "units").glob("*.json"))}
        return str(folder), identity, _run_folder_rows(folder, source.columns)
    path = local_file(source.path or "", "prompt file")
    rows = _parquet_rows(path) if path.suffix == ".parquet" else _jsonl_rows(path)
    return str(path), file_identity(path), rows


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _not_unicode(value: Any) -> bool:
    """Text with a lone surrogate ("\\ud800" in JSON) cannot be stored in Parquet."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return False
    except (UnicodeEncodeError, TypeError, ValueError):
        return True


def load_prompts(source: PromptSource, template: Template, *, limit: int | None = None) -> LoadedPrompts:
    """Read the prompt source, apply the column mapping and template; return prompts plus skipped rows."""
    return _load(source, template, limit=limit, id_column=source.columns.get("id"), with_completions=False)


def load_traces(source: PromptSource, template: Template, *, limit: int | None = None) -> LoadedPrompts:
    """`factory verify` / `factory curate` input: rows with the recipe's problem and gold columns, `completion`, an
    optional `id` (rows sharing it are samples of one prompt, numbered in input order; they must agree on problem
    and gold) and an optional `model`. The `id` column is the input's own, whatever the recipe maps for generation.
    The input may also be a run folder: its accepted and rejected samples, in unit and sample order."""
    return _load(source, template, limit=limit, id_column="id", with_completions=True)


def _run_folder_rows(root: Path, columns: dict[str, str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """A run folder's samples as verify-input rows (prompt id, problem, gold, completion text, model), unit by
    unit, each unit's samples by prompt (in first-seen order) and sample index."""
    import pyarrow.parquet as pq

    number = 0
    units = sorted({p.name for split in ("accepted", "rejected") for p in (root / "data" / split).glob("part-*.parquet")})
    for name in units:
        rows = []
        for split in ("accepted", "rejected"):
            path = root / "data" / split / name
            if path.is_file():
                rows += pq.read_table(path, columns=["prompt_id", "sample_index", "problem", "gold", "completion",
                                                     "model"]).to_pylist()
        order = {pid: i for i, pid in reversed(list(enumerate(r["prompt_id"] for r in rows)))}
        for row in sorted(rows, key=lambda r: (order[r["prompt_id"]], r["sample_index"])):
            number += 1
            yield number, {"id": row["prompt_id"], columns["problem"]: row["problem"], columns["gold"]: row["gold"],
                           "completion": row["completion"][0]["content"] if row["completion"] else "",
                           "model": row["model"]}


def _load(source: PromptSource, template: Template, *, limit: int | None, id_column: str | None,
          with_completions: bool) -> LoadedPrompts:
    origin, identity, rows = iter_source_rows(source, with_run_folders=with_completions)
    columns = source.columns
    problem_column, gold_column, language_column = columns["problem"], columns["gold"], columns.get("language")
    loaded = LoadedPrompts([], [], origin, {}, identity)
    prompts: dict[str, Prompt] = {}
    seen_rows = 0
    for number, row in rows:
        if isinstance(row, SkippedRow):
            loaded.skipped.append(row)
            continue
        seen_rows += 1
        if seen_rows == 1:
            _check_columns(origin, number, row, source, with_completions)
        problem, gold = _text(row.get(problem_column)).strip(), row.get(gold_column)
        skip = _row_problem(row, problem, gold, problem_column, gold_column, with_completions)
        if skip:
            loaded.skipped.append(SkippedRow(origin, number, *skip))
            continue
        raw_id = row.get(id_column) if id_column else None
        prompt_id = _text(raw_id).strip() or f"row-{number:06d}"
        if prompt_id in prompts:
            if not with_completions:
                raise SourceError(f"{origin}: row {number}: field '{id_column}': duplicate id {prompt_id!r} "
                                  f"(first seen at row {loaded.row_of[prompt_id]}); ids must be unique")
            first = prompts[prompt_id]
            if first.problem != problem or first.gold != gold:
                differs = problem_column if first.problem != problem else gold_column
                raise SourceError(f"{origin}: rows {loaded.row_of[prompt_id]} and {number} share id {prompt_id!r} "
                                  f"but differ in '{differs}'; rows of one id are samples of one prompt and must "
                                  "agree on problem and gold")
            loaded.completions[prompt_id].append(row["completion"])
            continue
        if limit is not None and len(prompts) >= limit:
            break
        metadata = {k: row.get(k) for k in source.keep_columns if k in row}
        if language_column and row.get(language_column):
            metadata["language"] = _text(row.get(language_column)).strip()
        prompts[prompt_id] = Prompt(
            prompt_id=prompt_id,
            messages=chat(template.system_prompt, template.user_template.format(problem=problem)),
            problem=problem,
            gold=gold,
            source=source.hub_id or Path(origin).name,
            metadata=json.loads(json.dumps(metadata, default=str)),
        )
        loaded.row_of[prompt_id] = number
        if with_completions:
            loaded.completions[prompt_id] = [row["completion"]]
            if row.get("model"):
                loaded.models.add(_text(row["model"]))
    if seen_rows == 0:
        raise SourceError(f"{origin}: no usable rows" + (f" ({len(loaded.skipped)} skipped: {loaded.skipped[0]})"
                                                         if loaded.skipped else ""))
    loaded.prompts = list(prompts.values())
    return loaded


def _check_columns(origin: str, number: int, row: dict[str, Any], source: PromptSource,
                   with_completions: bool) -> None:
    columns = source.columns
    required = [columns["problem"], columns["gold"]] + (["completion"] if with_completions else [])
    missing = [c for c in required if c not in row]
    if missing:
        raise SourceError(f"{origin}: row {number}: missing column(s) {', '.join(repr(c) for c in missing)} "
                          f"(the recipe maps problem<-{columns['problem']!r}, gold<-{columns['gold']!r}; "
                          f"columns present: {', '.join(sorted(row))})")


def _row_problem(row: dict[str, Any], problem: str, gold: Any, problem_column: str, gold_column: str,
                 with_completions: bool) -> tuple[str, str] | None:
    """(field, reason) when this row must be skipped, else None."""
    if not problem:
        return problem_column, "empty problem"
    if gold is None or (isinstance(gold, str) and not gold.strip()):
        return gold_column, "empty gold answer"
    if with_completions and not isinstance(row.get("completion"), str):
        return "completion", "completion must be a string"
    for name, value in ((problem_column, problem), (gold_column, gold)) + (
            (("completion", row.get("completion")),) if with_completions else ()):
        if _not_unicode(value):
            return name, "text is not valid Unicode (a lone surrogate); it cannot be stored"
    return None
