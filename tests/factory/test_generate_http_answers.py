"""`factory generate` (the real CLI, its own Ray instance) against a fake OpenAI-compatible teacher whose answers
are hostile: every paid answer ends as rows with a reason, the run completes (exit 0), a rerun pays for nothing,
and the API key the server echoes is in no file of the run folder and no line of the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.factory.fault_proxy import FakeTeacher, FaultProxy
from tests.factory.engines.test_openai_answers import KEY, _content_list, _huge_tokens, _index_text, _lone_surrogate, _usage_text

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PROMPTS, N = 6, 2
_FAULTS = [_lone_surrogate, _usage_text, _index_text, _huge_tokens, _content_list, None]
_SEEN: dict[str, int] = {}  # user turn -> its fault, in order of arrival: each prompt gets a different one
_LOCK = threading.Lock()


def hostile(answer, request, headers):
    """A different fault per prompt (chosen by the user turn), and the Authorization header echoed in every text."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    with _LOCK:
        fault = _FAULTS[_SEEN.setdefault(user, len(_SEEN)) % len(_FAULTS)]
    for choice in answer["choices"]:
        choice["message"]["content"] += f" [{headers.get('Authorization')}]"
    return fault(answer, request, headers) if fault else answer


def generate(base_url: str, model: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FACTORY_TEST_KEY": KEY}
    cmd = [sys.executable, "-m", "factory.cli", "generate", "--recipe", "tiny", "--base-url", base_url,
           "--model", model, "--limit", str(PROMPTS), "--n", str(N), "--out", str(out), "--log-json",
           "--set", "generation.api_key_env=FACTORY_TEST_KEY", "--set", "output.prompts_per_shard=3",
           "--set", "generation.http={backoff_base_s: 0.01, backoff_max_s: 0.05, max_retries: 2}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)


def test_hostile_answers_become_rows_with_reasons_and_no_key_is_written(tmp_path):
    out = tmp_path / "run"
    with FakeTeacher(api_key=KEY, mangle=hostile) as teacher, FaultProxy(teacher.url) as proxy:
        proc = generate(proxy.base_url, teacher.model, out)
        assert proc.returncode == 0, proc.stderr[-3000:]
        paid = len(proxy.forwarded())
        proxy.reset_log()
        rerun = generate(proxy.base_url, teacher.model, out)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert proxy.forwarded() == []  # nothing paid twice
    assert paid >= PROMPTS
    rows = [row for split in ("accepted", "rejected") for path in sorted((out / "data" / split).glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]
    manifest = json.loads((out / "manifest.json").read_text())
    left_out = {item["id"] for item in manifest["unwritable_samples"]}  # the lone surrogates' samples
    assert left_out and all(item["field"] == "completion" for item in manifest["unwritable_samples"])
    assert len(rows) + len(left_out) == PROMPTS * N  # every paid sample is a row or listed, none lost
    reasons = {reason for r in rows for reason in r["rejection_reasons"]}
    assert {"teacher:invalid_usage", "teacher:invalid_answer"} <= reasons
    assert all(0 <= r["completion_tokens"] < 2**31 for r in rows)
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in proc.stdout + proc.stderr + rerun.stdout + rerun.stderr
