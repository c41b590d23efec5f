"""The mix's second and third passes: the taken rows spilled by output shard, then each shard sorted and written.

Spill: every source is read again in order; the rows the plan takes from a batch are shaped, given their
provenance and their output position, and appended to the spill file of their output shard (Arrow IPC streams,
lz4). Shards: each shard's spill file is read, its rows ordered by position and written as one Parquet shard with
the output schema, then committed (`MixFolder.commit_shard`). Memory holds one source batch, then one shard.

The output rows (`OUTPUT_SCHEMA`) are TRL's conversational prompt-completion form, so `SFTTrainer` trains on them as
is: `prompt` and `completion` (lists of `{role, content}`), plus `id` (`<source>/<source id>`), `problem`,
`prompt_tokens` and `completion_tokens` (null where unknown), and `provenance` (`{source, fingerprint, id}`: the
mixture source's name, its fingerprint (a run's fingerprint, a file's sha256, a Hub revision), the row's id there).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from factory.mix.folder import MixFolder
from factory.mix.shape import MESSAGES, shape_batch
from factory.mix.sources import SourceReader

OUTPUT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("prompt", MESSAGES),
    ("completion", MESSAGES),
    ("problem", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("completion_tokens", pa.int32()),
    ("provenance", pa.struct([("source", pa.string()), ("fingerprint", pa.string()), ("id", pa.string())])),
])
SPILL_SCHEMA = pa.schema([*OUTPUT_SCHEMA, ("position", pa.int64())])
SPILL_BATCH_ROWS = 65_536


class TokenCounter:
    """Token counts for rows whose source has none, with the mixture's tokenizer (content tokens of each turn,
    without a chat template); without a tokenizer they stay null."""

    def __init__(self, name: str | None) -> None:
        self.tokenizer = None
        if name:
            from transformers import AutoTokenizer

            from factory.paths import resolve_model

            self.tokenizer = AutoTokenizer.from_pretrained(resolve_model(name))

    def fill(self, frame: Any) -> Any:
        import polars as pl

        if self.tokenizer is None or frame.height == 0:
            return frame
        for column, messages in (("prompt_tokens", "prompt"), ("completion_tokens", "completion")):
            missing = frame[column].is_null()
            if not missing.any():
                continue
            texts = frame.filter(missing)[messages].list.eval(pl.element().struct.field("content")).list.join("\n")
            counts = [len(ids) for ids in self.tokenizer(texts.to_list(), add_special_tokens=False)["input_ids"]]
            filled = frame[column].scatter(missing.arg_true(), pl.Series(counts, dtype=pl.Int32))
            frame = frame.with_columns(filled.alias(column))
        return frame


def spill(folder: MixFolder, readers: list[SourceReader], rows: list[np.ndarray], positions: list[np.ndarray],
          rows_per_shard: int, tokens: TokenCounter) -> None:
    """Write every taken row to its output shard's spill file, then the spill marker."""
    import polars as pl

    folder.reset_spill()
    writers: dict[int, Any] = {}
    options = ipc.IpcWriteOptions(compression="lz4")
    try:
        for reader, taken, where in zip(readers, rows, positions):
            seen = 0
            for table in reader.batches(SPILL_BATCH_ROWS):
                lo, hi = np.searchsorted(taken, [seen, seen + table.num_rows])
                if hi > lo:
                    frame = shape_batch(table, reader.spec.columns, seen + 1, reader.origin)
                    picked = frame[pl.Series(taken[lo:hi] - seen, dtype=pl.UInt32)]
                    picked = tokens.fill(picked).with_columns(
                        id=pl.format("{}/{}", pl.lit(reader.spec.name), pl.col("source_id")),
                        provenance=pl.struct(source=pl.lit(reader.spec.name), fingerprint=pl.lit(reader.fingerprint),
                                             id=pl.col("source_id")),
                        position=pl.Series(where[lo:hi], dtype=pl.Int64))
                    shards = where[lo:hi] // rows_per_shard
                    order = np.argsort(shards, kind="stable")  # grouped by shard: one slice per shard, no filters
                    out = picked.select(SPILL_SCHEMA.names).to_arrow().cast(SPILL_SCHEMA).take(pa.array(order))
                    shards = shards[order]
                    starts = np.flatnonzero(np.r_[True, shards[1:] != shards[:-1]])
                    for start, end in zip(starts, np.r_[starts[1:], len(shards)]):
                        shard = int(shards[start])
                        if shard not in writers:
                            sink = pa.OSFile(str(folder.spill_path(shard)), "wb")
                            writers[shard] = (sink, ipc.new_stream(sink, SPILL_SCHEMA, options=options))
                        writers[shard][1].write_table(out.slice(start, end - start))
                seen += table.num_rows
    finally:
        for sink, writer in writers.values():
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
            sink.close()
    folder.write_json("spill/spill.json", {"shards": sorted(int(s) for s in writers)}, meta=True)


def write_shard(folder: MixFolder, shard: int, expected_rows: int) -> dict[str, Any]:
    """Order shard `shard`'s spilled rows by position, write and commit it; returns its marker."""
    import pyarrow.compute as pc

    path = folder.spill_path(shard)
    if path.is_file():
        with pa.memory_map(str(path)) as source:
            table = ipc.open_stream(source).read_all()
    else:
        table = SPILL_SCHEMA.empty_table()
    if table.num_rows != expected_rows:
        raise RuntimeError(f"{path}: holds {table.num_rows} rows, the plan puts {expected_rows} in shard {shard}")
    table = table.take(pc.sort_indices(table["position"])).drop_columns(["position"]).cast(OUTPUT_SCHEMA)
    tmp = folder.tmp / f"part-{shard:05d}.parquet"
    pq.write_table(table, tmp, compression="zstd")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    by_source = _per_source(table)
    return folder.commit_shard(shard, tmp, {"shard": shard, "rows": table.num_rows, "by_source": by_source})


def _per_source(table: pa.Table) -> dict[str, dict[str, int]]:
    """Rows, known tokens and rows without token counts, per source, in one shard."""
    import polars as pl

    frame = pl.from_arrow(table.select(["prompt_tokens", "completion_tokens", "provenance"]))
    stats = frame.group_by(pl.col("provenance").struct.field("source")).agg(
        rows=pl.len(),
        tokens=(pl.col("prompt_tokens").fill_null(0) + pl.col("completion_tokens").fill_null(0)).sum(),
        unknown=(pl.col("prompt_tokens").is_null() | pl.col("completion_tokens").is_null()).sum())
    return {row["source"]: {"rows": int(row["rows"]), "tokens": int(row["tokens"]), "unknown": int(row["unknown"])}
            for row in stats.iter_rows(named=True)}
