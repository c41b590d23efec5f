"""Nothing in a row can stop the run: every input row is validated at the boundary with bounded resources (depth,
size, types) and skipped with file, row, field and reason, through the real CLI (`factory verify` in a subprocess).
Also: a UTF-8 byte-order mark is read, a FIFO is named as such, an id-less row never merges with an explicit id
that looks generated, and an input's identity is the bytes actually read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.prompts.sources import PromptStream, SourceError
from factory.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[3]
GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."


def row(rid: object = "a", **fields: object) -> dict:
    base = {"id": rid, "problem": f"What is 3 + 4? (asked as {rid!r})", "answer": "7", "completion": GOOD}
    base.update(fields)
    return base


def verify(tmp_path: Path, inp: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict], list[str]]:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "verify", "--recipe", "tiny", "--input", str(inp),
                           "--out", str(out), "--log-json", *extra], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    rows = [r for split in ("accepted", "rejected") for p in sorted((out / "data" / split).glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    skipped = [e["message"] for e in events if e.get("event") == "skipped"]
    return proc, rows, skipped


def lines(path: Path, items: list) -> Path:
    path.write_bytes(b"".join((item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n"
                              for item in items))
    return path


def test_a_deeply_nested_row_is_skipped_and_the_rows_after_it_are_read(tmp_path):
    deep = b'{"id": "b", "problem": "What is 3 + 4?", "answer": "7", "completion": "x", "extra": ' + \
        b"[" * 1000 + b"]" * 1000 + b"}"
    shallow_but_over = row("c", extra=json.loads("[" * 80 + "]" * 80))
    inp = lines(tmp_path / "in.jsonl", [row("a"), deep, shallow_but_over, row("d")])
    proc, rows, skipped = verify(tmp_path, inp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(r["prompt_id"] for r in rows) == ["a", "d"]
    assert any("row 2" in m and "nested" in m for m in skipped), skipped
    assert any("row 3" in m and "'extra'" in m and "prompts.max_row_depth" in m for m in skipped), skipped


def test_an_overlong_line_is_skipped_without_stopping(tmp_path):
    inp = lines(tmp_path / "in.jsonl", [row("a"), row("b", completion=GOOD + "x" * 5000), row("c")])
    proc, rows, skipped = verify(tmp_path, inp, "--set", "prompts.max_row_bytes=2048")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(r["prompt_id"] for r in rows) == ["a", "c"]
    assert any("row 2" in m and "longer than 2048 bytes" in m for m in skipped), skipped


def test_non_string_fields_are_refused_or_converted_by_the_rule_never_str(tmp_path):
    inp = lines(tmp_path / "in.jsonl", [row(7), row("b", problem=["What", "is"]), row(["c"]), row(True),
                                        row("e", completion=["x"]), row("f", model={"name": "m"}), row("g")])
    proc, rows, skipped = verify(tmp_path, inp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(r["prompt_id"] for r in rows) == ["7", "g"]  # an integer id is written in decimal
    for number, field in ((2, "problem"), (3, "id"), (4, "id"), (5, "completion"), (6, "model")):
        assert any(f"row {number}" in m and f"'{field}'" in m for m in skipped), (number, skipped)
    assert all("[" not in r["problem"] for r in rows)


def test_bytes_in_a_parquet_input_are_never_stored_as_their_repr(tmp_path):
    table = pa.table({"id": ["a", "b"], "problem": [b"What is 3 + 4?", b"What is 3 + 4?"],
                      "answer": ["7", "7"], "completion": [GOOD, GOOD]})
    pq.write_table(table, tmp_path / "in.parquet")
    mixed = pa.table({"id": ["a", "b"], "problem": ["What is 3 + 4?", "What is 3 + 4?"],
                      "answer": [b"7", b"7"], "completion": [GOOD, GOOD]})
    pq.write_table(mixed, tmp_path / "gold.parquet")
    for name, field in (("in.parquet", "problem"), ("gold.parquet", "answer")):
        proc, rows, skipped = verify(tmp_path, tmp_path / name)
        assert proc.returncode == 2 and not rows  # no usable row at all: refused, naming the first skip
        said = proc.stdout + proc.stderr  # with --log-json the error is the last event
        assert f"'{field}'" in said and "holds bytes" in said and "b'" not in said


def test_a_byte_order_mark_costs_no_row(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b"\xef\xbb\xbf" + json.dumps(row("a")).encode() + b"\n" + json.dumps(row("b")).encode() + b"\n")
    proc, rows, skipped = verify(tmp_path, inp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(r["prompt_id"] for r in rows) == ["a", "b"] and skipped == []


def test_a_fifo_is_named_as_not_a_regular_file(tmp_path):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    proc, rows, _ = verify(tmp_path, fifo)
    assert proc.returncode == 2
    said = proc.stdout + proc.stderr
    assert "not a regular file" in said and "not found" not in said


def test_a_row_without_id_never_merges_with_an_explicit_id_that_looks_generated(tmp_path):
    unnamed = {k: v for k, v in row("row-000001").items() if k != "id"}  # the same problem: it could merge
    inp = lines(tmp_path / "in.jsonl", [unnamed, row("row-000001", completion=GOOD.replace("{7}", "{8}")), row("c")])
    proc, rows, skipped = verify(tmp_path, inp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted((r["prompt_id"], r["sample_index"]) for r in rows) == [("c", 0), ("row-000001", 0)]
    assert any("row 2" in m and "generated" in m for m in skipped), skipped


def test_an_input_appended_to_while_it_is_read_is_read_as_hashed(tmp_path):
    inp = lines(tmp_path / "in.jsonl", [row("a"), row("b")])
    recipe = load_recipe("tiny", [f"prompts.path={inp}"])
    stream = PromptStream(recipe.prompts, recipe.template, traces=True)
    with inp.open("ab") as handle:
        handle.write(json.dumps(row("c")).encode() + b"\n")
    assert [prompt.prompt_id for prompt, _, _ in stream] == ["a", "b"]
    assert stream.identity["bytes"] < inp.stat().st_size

    stream = PromptStream(recipe.prompts, recipe.template, traces=True)
    inp.write_bytes(inp.read_bytes().replace(b'"a"', b'"z"'))  # changed in place, not appended
    with pytest.raises(SourceError, match="changed while it was read"):
        list(stream)
