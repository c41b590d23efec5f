"""What a verifier may be given is bounded, through the real CLI (`factory verify` in a subprocess): a completion
over `selection.max_completion_chars` is rejected as `factory:completion_too_large` before any verifier scans it,
and the hostile shapes that made the scans quadratic (one long line of `def f()->)->...`, `a@a@...` with no space,
unclosed `\\(`) are verified like any other text (the figures are in `python -m factory.bench.verifier_scans`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tests.conftest import write_jsonl

ROOT = Path(__file__).resolve().parents[3]
GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."


def verify(tmp_path: Path, rows: list[dict], *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    inp, out = write_jsonl(tmp_path / "traces.jsonl", rows), tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "verify", "--recipe", "tiny", "--input", str(inp),
                           "--out", str(out), "--log-json", *extra], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    found = [row for split in ("accepted", "rejected") for path in sorted((out / "data" / split).glob("*.parquet"))
             for row in pq.read_table(path).to_pylist()]
    return proc, found


def test_a_completion_over_the_limit_is_rejected_before_any_verifier(tmp_path):
    huge = "<think>\n" + "a@" * 60_000 + "\n</think>\n\nThe answer is \\boxed{7}."
    rows = [{"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD},
            {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": huge}]
    proc, found = verify(tmp_path, rows, "--set", "selection.max_completion_chars=100000")
    assert proc.returncode == 0, proc.stderr[-2000:]
    by_index = {r["sample_index"]: r for r in found}
    assert by_index[0]["accepted"]
    big = by_index[1]
    assert big["rejection_reasons"] == ["factory:completion_too_large"]
    verdicts = {v["name"]: v for v in big["verdicts"]}
    assert json.loads(verdicts["factory"]["details"]) == {"chars": len(huge), "limit": 100000}
    assert all(v["status"] == "skipped" for name, v in verdicts.items() if name != "factory")
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert "factory:completion_too_large" in json.dumps(summary)


def test_hostile_shapes_under_the_limit_are_verified_like_any_text(tmp_path):
    shapes = ["def f(" + ")->" * 40_000, "a@" * 60_000, "\\(a " * 30_000, "数学题" * 40_000]
    rows = [{"id": "a", "problem": "What is 3 + 4?", "answer": "7",
             "completion": f"<think>\n{shape}\n</think>\n\nSo 3 + 4 = 7, the answer is \\boxed{{7}}."}
            for shape in shapes]
    proc, found = verify(tmp_path, rows)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(found) == len(shapes)
    for row in found:
        reasons = row["rejection_reasons"]
        assert "factory:completion_too_large" not in reasons and not any("verifier_error" in r for r in reasons)
