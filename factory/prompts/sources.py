"""Prompt sources: local JSONL / Parquet files or a Hugging Face Hub dataset, turned into `Prompt`s.

Contract: rows come out in source order, so work units (fixed groups of consecutive prompts) are the same on every
run. A problem with the whole source (file missing or not a regular file, a mapped column absent, duplicate ids,
ids shared by rows that disagree) raises `SourceError` naming the file, row and field. A problem with one row skips
that row and records a `SkippedRow` with file, row, field and reason: counted in the run's stats, never lost
silently, and nothing in a row can stop the run. Rows are numbered from 1 (the line number in a JSONL file, the row
index + 1 in Parquet).

Every row is validated here, with bounded resources, before anything else sees it:
- a JSONL line longer than `prompts.max_row_bytes` is skipped without being held in memory (read in pieces);
- a row nested deeper than `prompts.max_row_depth` (JSON arrays and objects) is skipped, and so is one the JSON
  parser cannot follow;
- not UTF-8, not JSON, not an object, text with a lone surrogate: skipped. A UTF-8 byte-order mark is read;
- types, by one documented rule: the problem must be a string; an id a string or an integer (written in decimal;
  a boolean, float, list or bytes is refused); the gold any JSON value (a string for math, tests for code) but not
  bytes; a completion (traces) and a `model` strings. Bytes are never turned into text (decode them upstream):
  no field is ever stored as `str()` of bytes or of a list.
- Rows without an id get `row-<row number>`; such a generated id never merges with or duplicates an explicit id
  that looks the same: the later of the two rows is skipped, naming the earlier one.

Only the mapped columns (id, problem, gold, and an optional per-prompt `language`) and those the recipe names in
`prompts.keep_columns` reach the prompts (and so the output rows, under `metadata`).

Every load also returns the input's identity (`LoadedPrompts.identity`): the file's resolved path, size and sha256,
or the Hub dataset's id, config, split and revision. It is part of the run's fingerprint, so a changed input is
never mixed into a run folder made from another one. The identity is the bytes actually read: a JSONL file is read
up to the size that was hashed (lines appended while the run reads it are not part of this run) and hashed again
as it is read; if those bytes changed meanwhile, the read stops with a `SourceError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Iterator

from factory.paths import resolve_data_path
from factory.prompts.reading import (FILE_TYPES, SkippedRow, SourceError, file_identity, jsonl_rows,  # noqa: F401
                                     local_file, parquet_rows)
from factory.prompts.row_rules import completion_text, row_problem
from factory.recipe import PromptSource, Template
from verifiers.types import Completion, Prompt, chat
MODEL_LOOKAHEAD = 1000
"""Rows `PromptStream.first_model` may hold while it looks for the traces' model."""
ID_PATTERN = "row-{:06d}"
"""The id of a row that has none (its row number)."""


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
    completions: dict[str, list[Completion]] = field(default_factory=dict)
    """For `factory verify`: prompt_id -> its completions in input order (empty for generation)."""
    models: set[str] = field(default_factory=set)
    """For `factory verify`: the values of the input's `model` column, if it has one."""


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
    identity = file_identity(path)
    rows = parquet_rows(path) if path.suffix == ".parquet" else jsonl_rows(path, identity, source.max_row_bytes)
    return str(path), identity, rows


class PromptStream:
    """A prompt source read row by row: iterating yields `(prompt, row number, completions)` in source order
    (`completions` is None for generation; for traces made elsewhere, the completion texts of the prompt's rows).
    Rows that must be skipped are appended to `skipped` as they are met; a problem with the whole source raises
    `SourceError` when it is met (a missing column at the first row, a duplicate id, rows of one id that disagree
    or are not adjacent). Memory holds the ids seen so far, not the rows.

    For traces, rows sharing an id must be adjacent (they are the samples of one prompt): an input sorted or
    grouped by id, as `factory verify` documents.
    """

    def __init__(self, source: PromptSource, template: Template, *, limit: int | None = None,
                 traces: bool = False) -> None:
        self.source, self.template, self.limit, self.traces = source, template, limit, traces
        self.origin, self.identity, self._rows = iter_source_rows(source, with_run_folders=traces)
        self.id_column = source.columns.get("id")
        """For traces, decided at the first usable row (`_trace_id_column`)."""
        self.skipped: list[SkippedRow] = []
        self.model: str | None = None
        """For traces: the first row's `model` column, if the input has one."""

    def first_model(self) -> str | None:
        """For traces: the first usable row's `model` column (the rows record it as the traces' model; else
        "external"). The rows read to find it are put back in front of the stream, so nothing is read twice; at
        most `MODEL_LOOKAHEAD` rows are held for it (an input with no usable completion is not read into memory)."""
        ahead = []
        model = None
        for item in self._rows:
            ahead.append(item)
            if len(ahead) >= MODEL_LOOKAHEAD:
                break
            row = item[1]
            if isinstance(row, dict) and completion_text(row.get("completion")) is not None:
                model = row.get("model") if isinstance(row.get("model"), str) and row["model"] else None
                break
        self._rows = chain(ahead, self._rows)
        return model

    def __iter__(self) -> Iterator[tuple[Prompt, int, list[Completion] | None]]:
        problem_column, gold_column = self.source.columns["problem"], self.source.columns.get("gold")
        seen: dict[str, tuple[int, bool]] = {}  # prompt id -> (its first row, whether the id was explicit)
        group: tuple[Prompt, int, list[Completion], bool] | None = None
        """For traces: the prompt being read, its first row, its samples, and whether its rows carry no id."""
        emitted = usable = 0
        for number, row in self._rows:
            if isinstance(row, SkippedRow):
                self.skipped.append(row)
                continue
            usable += 1
            if usable == 1:
                if self.traces and FACTORY_ROW_COLUMNS <= set(row):
                    # the factory's own rows (a run's shards, a downloaded factory dataset): read by their own
                    # names, whatever the recipe maps (their `answer` is the sample's answer, not the gold)
                    problem_column, gold_column, self.id_column = "problem", "gold", "prompt_id"
                else:
                    _check_columns(self.origin, number, row, self.source, self.traces)
                    if self.traces:
                        self.id_column = _trace_id_column(row, self.source.columns.get("id"))
            skip = row_problem(row, self.source, self.id_column, self.traces, problem_column, gold_column)
            if skip:
                self.skipped.append(SkippedRow(self.origin, number, *skip))
                continue
            problem = row[problem_column].strip()
            gold = row.get(gold_column) if gold_column else ""  # gold-less prompts (general data): no reference
            raw_id = row.get(self.id_column) if self.id_column else None
            explicit = str(raw_id).strip() if raw_id is not None else ""  # a string or an int (checked above)
            if self.traces and group is not None and (
                    (explicit and not group[3] and group[0].prompt_id == explicit)
                    or (not explicit and group[3] and (group[0].problem, group[0].gold) == (problem, gold))):
                # the next sample of the same prompt: same id, or (rows without ids) the same problem and gold
                self._check_same(group, group[0].prompt_id, problem, gold, number)
                group[2].append(trace_completion(row, group[0].prompt_id, len(group[2])))
                continue
            prompt_id = explicit or ID_PATTERN.format(number)
            if prompt_id in seen and seen[prompt_id][1] != bool(explicit):
                first_row = seen[prompt_id][0]
                self.skipped.append(SkippedRow(self.origin, number, self.id_column or "id",
                                               f"id {prompt_id!r} is also the {'generated' if explicit else 'explicit'}"
                                               f" id of row {first_row}; an id-less row never merges with another"))
                continue
            if prompt_id in seen:
                raise SourceError(self._repeat_message(prompt_id, seen[prompt_id][0], number))
            if self.limit is not None and emitted >= self.limit:
                break
            if group is not None:
                yield group[:3]
                group = None
            seen[prompt_id] = (number, bool(explicit))
            prompt = self._prompt(row, prompt_id, problem, gold)
            emitted += 1
            if self.traces:
                if self.model is None and row.get("model"):
                    self.model = row["model"]
                group = (prompt, number, [trace_completion(row, prompt_id, 0)], not explicit)
            else:
                yield prompt, number, None
        if group is not None:
            yield group[:3]
        if usable == 0:
            raise SourceError(f"{self.origin}: no usable rows" + (
                f" ({len(self.skipped)} skipped: {self.skipped[0]})" if self.skipped else ""))

    def _prompt(self, row: dict[str, Any], prompt_id: str, problem: str, gold: Any) -> Prompt:
        metadata = {k: row.get(k) for k in self.source.keep_columns if k in row}
        language_column = self.source.columns.get("language")
        if language_column and isinstance(row.get(language_column), str) and row[language_column].strip():
            metadata["language"] = row[language_column].strip()
        return Prompt(
            prompt_id=prompt_id,
            messages=chat(self.template.system_prompt, self.template.user_template.format(problem=problem)),
            problem=problem,
            gold=gold,
            source=self.source.hub_id or Path(self.origin).name,
            metadata=json.loads(json.dumps(metadata, default=str)) if metadata else {},
        )

    def _check_same(self, group: tuple[Prompt, int, list[Completion], bool], prompt_id: str, problem: str,
                    gold: Any, number: int) -> None:
        first, first_row = group[0], group[1]
        if first.problem != problem or first.gold != gold:
            columns = self.source.columns
            differs = columns["problem"] if first.problem != problem else columns.get("gold", "gold")
            raise SourceError(f"{self.origin}: rows {first_row} and {number} share id {prompt_id!r} but differ in "
                              f"'{differs}'; rows of one id are samples of one prompt and must agree on problem "
                              "and gold")

    def _repeat_message(self, prompt_id: str, first_row: int, number: int) -> str:
        if self.traces:
            return (f"{self.origin}: rows {first_row} and {number} share id {prompt_id!r} but are not adjacent; "
                    "the samples of one prompt must be consecutive rows (sort the input by id)")
        return (f"{self.origin}: row {number}: field '{self.id_column}': duplicate id {prompt_id!r} "
                f"(first seen at row {first_row}); ids must be unique")


def rows_estimate(stream: PromptStream) -> int | None:
    """The number of source rows, read cheaply (JSONL lines, Parquet metadata, a Hub dataset's length), for the
    progress bar; None when unknown."""
    identity = stream.identity
    if identity.get("kind") != "file":
        return None
    path = Path(identity["path"])
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b""))


def load_prompts(source: PromptSource, template: Template, *, limit: int | None = None) -> LoadedPrompts:
    """The whole prompt source at once (for small sources, tools and tests; a run streams it)."""
    return _collect(PromptStream(source, template, limit=limit))


def load_traces(source: PromptSource, template: Template, *, limit: int | None = None) -> LoadedPrompts:
    """`factory verify` / `factory curate` input, whole: rows with the recipe's problem and gold columns,
    `completion`, an optional `id` (adjacent rows sharing it are samples of one prompt, numbered in input order;
    they must agree on problem and gold) and an optional `model`. The `id` column is the input's own, whatever the
    recipe maps for generation. The input may also be a run folder: its accepted and rejected samples, in unit and
    sample order."""
    return _collect(PromptStream(source, template, limit=limit, traces=True))


def _run_folder_rows(root: Path, columns: dict[str, str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """A run folder's samples as trace rows (prompt id, problem, gold, completion, model, finish reason, token
    counts): exactly the shards its unit markers commit (a stray or half-written file under data/ is not read),
    unit by unit, each unit's samples by prompt (in first-seen order) and sample index."""
    import pyarrow.parquet as pq

    wanted = ["prompt_id", "sample_index", "problem", "gold", "completion", "model", "finish_reason",
              "prompt_tokens", "completion_tokens"]
    number = 0
    for marker_path in sorted((root / ".factory" / "units").glob("*.json")):
        try:
            marker = json.loads(marker_path.read_text(encoding="utf-8"))
            unit, shards = int(marker["unit"]), marker["shards"]
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise SourceError(f"{marker_path}: not a readable unit marker ({exc}); verify the run folder's own "
                              "copy after `factory generate` has repaired it, or give the shards as files") from exc
        rows = []
        for split in ("accepted", "rejected"):
            path = root / "data" / split / f"part-{unit:05d}.parquet"
            if split in shards and path.is_file():
                present = set(pq.read_schema(path).names)
                rows += pq.read_table(path, columns=[c for c in wanted if c in present]).to_pylist()
        order = {pid: i for i, pid in reversed(list(enumerate(r["prompt_id"] for r in rows)))}
        for row in sorted(rows, key=lambda r: (order[r["prompt_id"]], r["sample_index"])):
            number += 1
            yield number, {**{k: row.get(k) for k in ("completion", "model", "finish_reason", "prompt_tokens",
                                                       "completion_tokens")},
                           "id": row["prompt_id"], columns["problem"]: row["problem"],
                           columns.get("gold", "gold"): row["gold"]}


def _collect(stream: PromptStream) -> LoadedPrompts:
    loaded = LoadedPrompts([], stream.skipped, stream.origin, {}, stream.identity)
    for prompt, number, completions in stream:
        loaded.prompts.append(prompt)
        loaded.row_of[prompt.prompt_id] = number
        if completions is not None:
            loaded.completions[prompt.prompt_id] = completions
    if stream.model:
        loaded.models.add(stream.model)
    return loaded


FACTORY_ROW_COLUMNS = frozenset({"prompt_id", "sample_index", "problem", "gold", "completion", "run_fingerprint"})
"""Columns that mark a trace row as the factory's own (see factory/output/rows.py)."""


def _count(value: Any) -> int:
    """A token count from an input column: a non-negative integer, else 0 (unknown)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0


def trace_completion(row: dict[str, Any], prompt_id: str, sample_index: int) -> Completion:
    """A trace made elsewhere as a Completion: its text, and the input's `finish_reason` (`stop`, `length`, ...) and
    token counts when it has them (else `external` and 0)."""
    finish = row.get("finish_reason")
    return Completion(prompt_id, sample_index, completion_text(row.get("completion")) or "",
                      finish if isinstance(finish, str) and finish.strip() else "external",
                      _count(row.get("prompt_tokens")), _count(row.get("completion_tokens")))


def _trace_id_column(row: dict[str, Any], mapped: str | None) -> str | None:
    """The column that names a trace's prompt: the recipe's `prompts.columns.id` when the input has it, else `id`,
    else `prompt_id` (the factory's own rows); when the first row has none of them, the recipe's (or `id`): rows
    without it are id-less, and adjacent id-less rows with the same problem and gold are samples of one prompt."""
    for column in (mapped, "id", "prompt_id"):
        if column and column in row:
            return column
    return mapped or "id"


def _check_columns(origin: str, number: int, row: dict[str, Any], source: PromptSource,
                   with_completions: bool) -> None:
    columns = source.columns
    required = [columns["problem"], *([columns["gold"]] if "gold" in columns else [])] + (
        ["completion"] if with_completions else [])
    missing = [c for c in required if c not in row]
    if missing:
        raise SourceError(f"{origin}: row {number}: missing column(s) {', '.join(repr(c) for c in missing)} "
                          f"(the recipe maps problem<-{columns['problem']!r}, gold<-{columns.get('gold')!r}; "
                          f"columns present: {', '.join(sorted(row))})")


