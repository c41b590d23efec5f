"""`factory generate` against a real OpenAI-compatible server: vLLM's (CPU build) with the tiny teacher on
127.0.0.1, behind a fault-injecting proxy. The run is the real CLI in a subprocess, with its own Ray instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from factory.tiny_teacher.evaluate import parse_number
from tests.conftest import ARITH_TEST, boxed_number
from tests.factory.fault_proxy import FaultProxy
from tests.factory.openai_engine_child import journaled as journaled_texts
from tests.factory.vllm_server import vllm_server

pytestmark = pytest.mark.slow
PROMPTS, N, PER_UNIT = 16, 4, 4


@pytest.fixture(scope="module")
def server():
    with vllm_server() as info:
        yield info


def command(proxy: FaultProxy, model: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "factory.cli", "generate", "--recipe", "tiny", "--base-url", proxy.base_url,
            "--model", model, "--limit", str(PROMPTS), "--n", str(N), "--out", str(out), "--log-json",
            "--set", f"output.prompts_per_shard={PER_UNIT}", "--set", "generation.max_concurrency=2",
            "--set", "generation.http={backoff_base_s: 0.05, backoff_max_s: 0.5, request_timeout_s: 60, "
                     "max_n_per_request: 2}"]


def rows(out: Path) -> list[dict]:
    found = []
    for split in ("accepted", "rejected"):
        for path in sorted((out / "data" / split).glob("part-*.parquet")):
            found += pq.read_table(path).to_pylist()
    return found


def user_to_prompt_id() -> dict[str, str]:
    problems = [json.loads(line) for line in ARITH_TEST.read_text().splitlines()][:PROMPTS]
    return {f"{p['problem']}\nPlease reason step by step, and put your final answer within \\boxed{{}}.": p["id"]
            for p in problems}


def test_generate_through_a_faulty_proxy_writes_every_sample_once(server, tmp_path):
    faults = ["429", "503", "drop", "500", "malformed", "502", "reset", "504"]
    with FaultProxy(server.base_url.rsplit("/v1", 1)[0], plan=faults, retry_after=0.1) as proxy:
        out = tmp_path / "run"
        proc = subprocess.run(command(proxy, server.model, out), capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert {r.action for r in proxy.log} >= set(faults)
    found = rows(out)
    assert sorted((r["prompt_id"], r["sample_index"]) for r in found) == sorted(
        (pid, i) for pid in user_to_prompt_id().values() for i in range(N))
    for row in found:
        text = row["completion"][0]["content"]
        assert text.startswith("<think>") and row["finish_reason"] in ("stop", "length")
        assert row["completion_tokens"] > 0 and row["prompt_tokens"] > 0 and row["model"] == server.model
        if row["accepted"]:
            assert boxed_number(row["answer"]) == parse_number(row["gold"]), row["answer"]
    assert any(r["accepted"] for r in found) and not all(r["accepted"] for r in found)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["engine"]["retries"] >= len(faults) and stats["engine"]["requests_failed"] == 0


def test_kill_9_then_rerun_reuses_every_journaled_answer(server, tmp_path):
    ids = user_to_prompt_id()
    with FaultProxy(server.base_url.rsplit("/v1", 1)[0]) as proxy:
        out = tmp_path / "run"
        proc = subprocess.Popen(command(proxy, server.model, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        deadline = time.monotonic() + 600
        units = out / ".factory" / "units"
        journal = out / ".factory" / "journal"

        def unit_committed_and_more_journaled() -> bool:
            # Killed only once answers beyond the committed units are journaled: those are what the rerun must
            # reuse (killed right after the first commit, nothing else may be journaled yet, proving nothing).
            committed = len(list(units.glob("*.json"))) if units.is_dir() else 0
            return committed > 0 and len(journaled_texts(journal)) > committed * PER_UNIT * N

        while not unit_committed_and_more_journaled():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        subprocess.run(["pkill", "-9", "-s", str(proc.pid)], check=False)  # its Ray instance
        journaled = journaled_texts(journal)  # a torn last line: not counted, sent again
        assert journaled, "nothing was journaled before the kill; the test proved nothing"
        assert len(list(units.glob("*.json"))) < PROMPTS // PER_UNIT, "the run finished before the kill"
        proxy.reset_log()
        rerun = subprocess.run(command(proxy, server.model, out), capture_output=True, text=True, timeout=900)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        # Engine counters add up over invocations, like the wall time: the rerun's own requests, plus those the
        # first invocation had recorded by its last commit (before, stats.json held the last invocation's only).
        engine = json.loads((out / "stats.json").read_text())["engine"]
        rerun_requests = len(proxy.forwarded())
        assert engine["requests_sent"] > rerun_requests, (engine, rerun_requests)
        assert engine["reused_from_journal"] > 0
        shown = subprocess.run([sys.executable, "-m", "factory.cli", "stats", str(out)], capture_output=True,
                               text=True, timeout=120)
        assert f"requests_sent {engine['requests_sent']}" in shown.stdout, shown.stdout
        for record in proxy.forwarded():
            start, end = (int(x) for x in record.sample_range.split("-"))
            resent = {(ids[record.user], i) for i in range(start, end)} & set(journaled)
            assert not resent, f"journaled answers requested again: {sorted(resent)[:5]}"
    found = rows(out)
    keys = [(r["prompt_id"], r["sample_index"]) for r in found]
    assert len(keys) == len(set(keys)) == PROMPTS * N
    texts = {(r["prompt_id"], r["sample_index"]): r["completion"][0]["content"] for r in found}
    assert all(texts[key] == text for key, text in journaled.items())
