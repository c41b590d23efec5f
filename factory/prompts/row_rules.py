"""The rules a prompt row must meet, checked at the boundary with bounded resources (see `factory.prompts.sources`
for the contract): depth, bytes, types, empty fields, text that cannot be stored. Each answers `(field, reason)` for
a row to skip, or None. Iterative walks, so no row can exhaust the stack.
"""

from __future__ import annotations

import json
from typing import Any

from factory.recipe import PromptSource


def completion_text(value: Any) -> str | None:
    """A trace's assistant text: the `completion` column as a string, or as the factory's (and TRL's) chat form, a
    list of messages whose last is the assistant's turn. None when it is neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict) and value[-1].get("role") == "assistant" \
            and isinstance(value[-1].get("content"), str):
        return value[-1]["content"]
    return None


def row_problem(row: dict[str, Any], source: PromptSource, id_column: str | None, with_completions: bool,
                problem_column: str, gold_column: str | None) -> tuple[str, str] | None:
    """(field, reason) when this row must be skipped, else None (the rules of the module docstring). A recipe
    that maps no gold column (general data: writing, factual questions, translation) has gold-less prompts."""
    for name in row:
        depth = _depth(row[name], source.max_row_depth)
        if depth > source.max_row_depth:
            return str(name), f"nested deeper than {source.max_row_depth} levels (prompts.max_row_depth)"
        if _holds_bytes(row[name]) and (name in source.columns.values() or name in source.keep_columns
                                        or name in ("completion", "model", "id")):
            return str(name), "holds bytes, not text (decode it to UTF-8 before the factory reads it)"
    problem = row.get(problem_column)
    if not isinstance(problem, str):
        return problem_column, f"the problem must be a string, got {_kind(problem)}"
    if not problem.strip():
        return problem_column, "empty problem"
    raw_id = row.get(id_column) if id_column else None
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int))):
        return str(id_column), f"an id must be a string or an integer, got {_kind(raw_id)}"
    gold = row.get(gold_column) if gold_column else ""
    if gold_column and (gold is None or (isinstance(gold, str) and not gold.strip())):
        return gold_column, "empty gold answer"
    if with_completions and completion_text(row.get("completion")) is None:
        return "completion", ("completion must be a string, or a list of chat messages ending with the assistant's "
                              f"turn (the factory's own format), got {_kind(row.get('completion'))}")
    if with_completions and row.get("model") is not None and not isinstance(row.get("model"), str):
        return "model", f"model must be a string, got {_kind(row.get('model'))}"
    for name in [problem_column, gold_column, source.columns.get("language"), id_column] + (
            ["completion"] if with_completions else []):
        value = completion_text(row.get(name)) if name == "completion" else row.get(name)
        if name and _not_unicode(value):
            return name, "text is not valid Unicode (a lone surrogate) or not JSON data; it cannot be stored"
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _depth(value: Any, limit: int) -> int:
    """How deep lists and mappings nest in `value` (a scalar is 0); stops counting past `limit`. Iterative."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _holds_bytes(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (bytes, bytearray, memoryview)):
            return True
        if isinstance(item, (list, tuple, dict)):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _not_unicode(value: Any) -> bool:
    """Text with a lone surrogate ("\\ud800" in JSON) cannot be stored in Parquet."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return False
    except (UnicodeEncodeError, TypeError, ValueError):
        return True
