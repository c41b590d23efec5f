"""The output rows: how a verified sample (and a preference pair) is stored, and the one explicit Arrow schema of
each kind of shard.

The columns are TRL's, so its trainers read a split as is:
- sample rows (the `accepted` and `rejected` splits) are TRL's conversational prompt-completion form: `prompt` is
  the templated chat sent to the teacher (system and user turns, the instruction included) and `completion` the
  assistant turn (`<think>…</think>` and the answer). `SFTTrainer` applies the chat template, ends the turn with the
  template's end-of-turn token, and puts the loss on the completion only (its default for this form);
  `GRPOTrainer` reads `prompt` and passes `gold` to reward functions. No other column has a name a TRL trainer
  reads (`text`, `messages`, `chosen`, `rejected`, `label`): the bare problem is `problem`.
- pair rows (the `pairs` config) are TRL's conversational preference form with an explicit prompt: `prompt`,
  `chosen`, `rejected`, which `DPOTrainer` reads as is.

`build_row` / `build_pair` are the only places rows are made and `ROW_FIELDS` / `PAIR_FIELDS` the only lists of
their columns; the Arrow schemas are built from them, so a column that is all null in one shard keeps its type and
`datasets.load_dataset(run_dir)` never has to guess (and fail to cast) across shards.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import pyarrow as pa

from verifiers.types import Prompt, Completion, Verdict, split_think


def row_id(prompt_id: str, sample_index: int) -> str:
    """The stable id of one sample: the key that resume guarantees to be written exactly once."""
    return f"{prompt_id}#{sample_index}"


def gold_text(gold: Any) -> str:
    """The gold data as stored: a string answer as is, anything else (code tests) as JSON."""
    return gold if isinstance(gold, str) else json.dumps(gold, ensure_ascii=False)


def build_pair(prompt: Prompt, chosen: Completion, rejected: Completion, rejected_reasons: Sequence[str],
               run_info: dict[str, Any]) -> dict[str, Any]:
    """One preference pair: a verified sample (chosen) and a wrong one (rejected) of the same prompt."""
    return {
        "id": f"{row_id(prompt.prompt_id, chosen.sample_index)}>{rejected.sample_index}",
        "prompt_id": prompt.prompt_id,
        "source": prompt.source,
        "prompt": [dict(m) for m in prompt.messages],
        "chosen": [{"role": "assistant", "content": chosen.text}],
        "rejected": [{"role": "assistant", "content": rejected.text}],
        "problem": prompt.problem,
        "gold": gold_text(prompt.gold),
        "chosen_id": row_id(prompt.prompt_id, chosen.sample_index),
        "rejected_id": row_id(prompt.prompt_id, rejected.sample_index),
        "rejected_reasons": list(rejected_reasons),
        "model": run_info.get("model", ""),
        "recipe": run_info.get("recipe", ""),
        "run_fingerprint": run_info.get("run_fingerprint", ""),
    }


def build_row(
    prompt: Prompt,
    completion: Completion,
    verdicts: Sequence[Verdict],
    *,
    accepted: bool,
    run_info: dict[str, Any],
) -> dict[str, Any]:
    """One output row (accepted or rejected split) as a plain dict matching `ROW_FIELDS`.

    `run_info` carries the per-run constants: model, recipe, run_fingerprint, sampling (dict),
    factory_version, verifier_versions (dict).
    """
    split = split_think(completion.text)
    rejected_by = [f"{v.name}:{v.reason}" for v in verdicts if v.status in ("rejected", "unverifiable")]
    return {
        "id": row_id(prompt.prompt_id, completion.sample_index),
        "prompt_id": prompt.prompt_id,
        "sample_index": completion.sample_index,
        "source": prompt.source,
        "prompt": [dict(m) for m in prompt.messages],
        "completion": [{"role": "assistant", "content": completion.text}],
        "problem": prompt.problem,
        "reasoning": split.reasoning,
        "answer": split.answer,
        "gold": gold_text(prompt.gold),
        "accepted": accepted,
        "rejection_reasons": rejected_by,
        "verdicts": [v.to_row() for v in verdicts],
        "finish_reason": completion.finish_reason,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "model": run_info.get("model", ""),
        "recipe": run_info.get("recipe", ""),
        "run_fingerprint": run_info.get("run_fingerprint", ""),
        "sampling": json.dumps(run_info.get("sampling", {}), sort_keys=True),
        "factory_version": run_info.get("factory_version", ""),
        "verifier_versions": json.dumps(run_info.get("verifier_versions", {}), sort_keys=True),
        "metadata": json.dumps(prompt.metadata, ensure_ascii=False, sort_keys=True, default=str),
    }


def unwritable_field(row: dict[str, Any]) -> str | None:
    """The first column of `row` holding text that cannot be stored (not encodable as UTF-8: a lone surrogate
    such as "\\ud800" from a JSON input or an HTTP answer), else None. Parquet would fail the whole shard on it."""
    def bad(value: Any) -> bool:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
            return False
        if isinstance(value, dict):
            return any(bad(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(bad(v) for v in value)
        return False

    for name, value in row.items():
        if bad(value):
            return name
    return None


# Column name -> a type tag that `_ARROW_TYPES` below maps to Arrow. Order is the column order in the Parquet files.
ROW_FIELDS: dict[str, str] = {
    "id": "string",
    "prompt_id": "string",
    "sample_index": "int32",
    "source": "string",
    "prompt": "messages",
    "completion": "messages",
    "problem": "string",
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
    "run_fingerprint": "string",
    "sampling": "string",
    "factory_version": "string",
    "verifier_versions": "string",
    "metadata": "string",
}


PAIR_FIELDS: dict[str, str] = {
    "id": "string",
    "prompt_id": "string",
    "source": "string",
    "prompt": "messages",
    "chosen": "messages",
    "rejected": "messages",
    "problem": "string",
    "gold": "string",
    "chosen_id": "string",
    "rejected_id": "string",
    "rejected_reasons": "list<string>",
    "model": "string",
    "recipe": "string",
    "run_fingerprint": "string",
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
PAIR_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[tag]) for name, tag in PAIR_FIELDS.items()])
PAIRS_SPLIT = "pairs"


def schema_of(split: str) -> pa.Schema:
    """The schema of a split's shards: pair rows for `pairs`, sample rows for every other split."""
    return PAIR_SCHEMA if split == PAIRS_SPLIT else ROW_SCHEMA


def rows_to_table(rows: list[dict[str, Any]], split: str = "accepted") -> pa.Table:
    """Rows (dicts from `build_row` / `build_pair`) as a table with exactly the split's schema, even when empty."""
    return pa.Table.from_pylist(rows, schema=schema_of(split))

