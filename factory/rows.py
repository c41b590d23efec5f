"""The output row: how one verified sample is stored, and the one explicit Arrow schema every shard is written with.

`build_row` is the only place a row is made and `ROW_FIELDS` the only list of its columns; `ROW_SCHEMA` is built
from it, so a column that is all null in one shard keeps its type and `datasets.load_dataset(run_dir)` never has to
guess (and fail to cast) across shards.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import pyarrow as pa

from verifiers.types import Prompt, Completion, Verdict, split_think


def row_id(prompt_id: str, sample_index: int) -> str:
    """The stable id of one sample: the key that resume guarantees to be written exactly once."""
    return f"{prompt_id}#{sample_index}"


def build_row(
    prompt: Prompt,
    completion: Completion,
    verdicts: Sequence[Verdict],
    *,
    accepted: bool,
    run_info: dict[str, Any],
) -> dict[str, Any]:
    """One output row (accepted or rejected split) as a plain dict matching `ROW_FIELDS`.

    `run_info` carries the per-run constants: model, recipe, recipe_fingerprint, sampling (dict),
    factory_version, verifier_versions (dict).
    """
    split = split_think(completion.text)
    messages = [dict(m) for m in prompt.messages] + [{"role": "assistant", "content": completion.text}]
    rejected_by = [v.reason for v in verdicts if v.status in ("rejected", "unverifiable")]
    return {
        "id": row_id(prompt.prompt_id, completion.sample_index),
        "prompt_id": prompt.prompt_id,
        "sample_index": completion.sample_index,
        "source": prompt.source,
        "messages": messages,
        "prompt": prompt.problem,
        "completion": completion.text,
        "reasoning": split.reasoning,
        "answer": split.answer,
        "gold": json.dumps(prompt.gold, ensure_ascii=False) if not isinstance(prompt.gold, str) else prompt.gold,
        "accepted": accepted,
        "rejection_reasons": rejected_by,
        "verdicts": [v.to_row() for v in verdicts],
        "finish_reason": completion.finish_reason,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "model": run_info.get("model", ""),
        "recipe": run_info.get("recipe", ""),
        "recipe_fingerprint": run_info.get("recipe_fingerprint", ""),
        "sampling": json.dumps(run_info.get("sampling", {}), sort_keys=True),
        "factory_version": run_info.get("factory_version", ""),
        "verifier_versions": json.dumps(run_info.get("verifier_versions", {}), sort_keys=True),
        "metadata": json.dumps(prompt.metadata, ensure_ascii=False, sort_keys=True, default=str),
    }


# Column name -> a type tag that factory.schema maps to Arrow. Order is the column order in the Parquet files.
ROW_FIELDS: dict[str, str] = {
    "id": "string",
    "prompt_id": "string",
    "sample_index": "int32",
    "source": "string",
    "messages": "messages",
    "prompt": "string",
    "completion": "string",
    "reasoning": "string",
    "answer": "string",
    "gold": "string",
    "accepted": "bool",
    "rejection_reasons": "list<string>",
    "verdicts": "verdicts",
    "finish_reason": "string",
    "prompt_tokens": "int32",
    "completion_tokens": "int32",
    "model": "string",
    "recipe": "string",
    "recipe_fingerprint": "string",
    "sampling": "string",
    "factory_version": "string",
    "verifier_versions": "string",
    "metadata": "string",
}


_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_VERDICT = pa.struct([
    ("name", pa.string()),
    ("accepted", pa.bool_()),
    ("status", pa.string()),
    ("reason", pa.string()),
    ("details", pa.string()),
])
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
    "list<string>": pa.list_(pa.string()),
    "messages": pa.list_(_MESSAGE),
    "verdicts": pa.list_(_VERDICT),
}

ROW_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[tag]) for name, tag in ROW_FIELDS.items()])


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts from `build_row`) as a table with exactly `ROW_SCHEMA`, even when empty."""
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)

