"""One row shape for every source: a batch of any source becomes the mix's columns (polars, vectorised).

Columns out: `source_id` (the source's `id`, else `row-N` by position), `prompt` and `completion` (TRL's
conversational messages: lists of `{role, content}`), `problem` (the text dedup and decontamination compare: the
source's `problem` column, else the content of the prompt's last turn), `prompt_tokens` and `completion_tokens`
(null when the source has none, or 0: not counted), and `skip` (null, or why the row cannot be used).

Accepted source shapes (after the source's `columns` renames), the first that fits:
1. `prompt` + `completion`: TRL's prompt-completion form, each a list of messages or a plain string (a string prompt
   is one user turn, a string completion one assistant turn). A factory run folder is this shape.
2. `messages`: one conversation; its last turn is the completion (it must be the assistant's), the rest the prompt.
3. `problem` + `completion`: `factory verify`'s input form (a string problem becomes the user turn).

A row is skipped (`skip`) when its completion is empty, its last `messages` turn is not the assistant's, or its
prompt has no turn. The batch is refused (SourceError) when none of the shapes fits its columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from factory.prompts.sources import SourceError

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
MESSAGES = pa.list_(MESSAGE)




def shape_batch(table: pa.Table, columns: dict[str, str], first_row: int, origin: str) -> Any:
    """The batch as a polars DataFrame with the mix's columns (see the module docstring); `first_row` is the
    source position (1-based) of its first row."""
    import polars as pl

    renames = {theirs: ours for ours, theirs in columns.items() if theirs in table.column_names}
    frame = pl.from_arrow(table.rename_columns([renames.get(c, c) for c in table.column_names]), rechunk=False)
    if not isinstance(frame, pl.DataFrame):
        frame = frame.to_frame()
    names = set(frame.columns)
    if {"prompt", "completion"} <= names:
        prompt, completion = _messages(frame, "prompt", "user"), _messages(frame, "completion", "assistant")
        frame = frame.with_columns(prompt=prompt, completion=completion)
        bad_last = pl.lit(None, dtype=pl.String)
    elif "messages" in names:
        msgs = _messages(frame, "messages", "user")
        frame = frame.with_columns(prompt=msgs.list.head(msgs.list.len() - 1),
                                   completion=msgs.list.tail(1))
        bad_last = pl.when(pl.col("completion").list.last().struct.field("role") != "assistant").then(
            pl.lit("the last turn of 'messages' is not the assistant's"))
    elif {"problem", "completion"} <= names:
        frame = frame.with_columns(prompt=_messages(frame, "problem", "user"),
                                   completion=_messages(frame, "completion", "assistant"))
        bad_last = pl.lit(None, dtype=pl.String)
    else:
        raise SourceError(f"{origin}: no usable columns: a source needs 'prompt' and 'completion', or "
                          f"'messages', or 'problem' and 'completion' (map them with the source's `columns`); "
                          f"columns present: {', '.join(sorted(names))}")
    if "problem" not in names:
        frame = frame.with_columns(problem=pl.col("prompt").list.last().struct.field("content"))
    ids = (pl.col("id").cast(pl.String) if "id" in names else
           pl.format("row-{}", pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64)))
    answer = pl.col("completion").list.last().struct.field("content")
    skip = pl.coalesce(bad_last,
                       pl.when(pl.col("prompt").list.len().fill_null(0) == 0).then(pl.lit("the prompt has no turn")),
                       pl.when(answer.fill_null("").str.strip_chars() == "").then(pl.lit("empty completion")))
    # A count of 0 means "not counted" (the factory writes 0 for traces made elsewhere): null, so the card says so
    # (or the mixture's tokenizer counts them).
    tokens = [pl.when(pl.col(c) > 0).then(pl.col(c)).cast(pl.Int32).alias(c) if c in names
              else pl.lit(None, dtype=pl.Int32).alias(c) for c in ("prompt_tokens", "completion_tokens")]
    return frame.select(ids.alias("source_id"), "prompt", "completion",
                        pl.col("problem").cast(pl.String).fill_null(""), *tokens, skip.alias("skip"))


def _messages(frame: Any, name: str, role: str) -> Any:
    """Column `name` as a list of {role, content} structs: a string becomes one `role` turn; a list of messages
    keeps only their role and content."""
    import polars as pl

    dtype = frame.schema[name]
    if dtype == pl.String or dtype == pl.Null:
        return pl.when(pl.col(name).is_null()).then(None).otherwise(
            pl.concat_list(pl.struct(role=pl.lit(role), content=pl.col(name).cast(pl.String))))
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        fields = {f.name for f in dtype.inner.fields}
        if dtype.inner == pl.Struct({"role": pl.String, "content": pl.String}):
            return pl.col(name)  # already the mix's shape (a factory run's rows): no per-row work
        if {"role", "content"} <= fields:
            return pl.col(name).list.eval(pl.struct(pl.element().struct.field("role").cast(pl.String),
                                                    pl.element().struct.field("content").cast(pl.String)))
    raise SourceError(f"column '{name}' must hold strings or lists of {{role, content}} messages, got {dtype}")
