"""OpenAIEngine against a real vLLM OpenAI-compatible server (the CPU build, the shipped tiny teacher), started
once for the module on 127.0.0.1. Run under `flock /tmp/vllm.lock` (one vLLM on the machine at a time).

What these prove: rows shaped like the in-process engine's (n per prompt in order, <think> traces, usage per
sample, `length` kept); every sample exactly once through injected faults on the way to the real server; kill -9
then a rerun reuses the journaled answers verbatim and sends only the rest.
"""

from __future__ import annotations

from collections import Counter

import pytest

from factory.engines.base import SamplingConfig
from factory.engines.openai_engine import HTTPSettings, OpenAIEngine, TeacherConfigError
from tests.factory.fault_proxy import FaultProxy
from tests.factory.openai_engine_child import arith_prompts, child_command, journaled, kill_once_journaled, rerun
from tests.factory.vllm_server import vllm_server
from verifiers.types import split_think

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with vllm_server() as info:
        yield info


def settings(base_url: str, **overrides) -> HTTPSettings:
    values = dict(base_url=base_url, max_concurrency=8, request_timeout_s=120, max_retries=8, backoff_base_s=0.05,
                  backoff_max_s=0.5)
    values.update(overrides)
    return HTTPSettings(**values)


def test_rows_from_a_real_server(server):
    prompts = arith_prompts(6)
    engine = OpenAIEngine(server.model, settings(server.base_url, max_n_per_request=3,
                                                 extra_body={"return_token_ids": True}), None)
    try:
        engine.preflight()
        sampling = SamplingConfig(n=4, temperature=1.0, top_p=1.0, max_tokens=448)
        completions = engine.generate(prompts, sampling)
        truncated = engine.generate(prompts[:2], SamplingConfig(n=2, temperature=1.0, top_p=1.0, max_tokens=12))
        counts = engine.counters()
        with pytest.raises(TeacherConfigError, match="400"):  # more tokens than the model's context
            engine.generate(prompts[:1], SamplingConfig(n=1, temperature=1.0, top_p=1.0, max_tokens=5000))
    finally:
        engine.close()
    assert [(c.prompt_id, c.sample_index) for c in completions] == [(p.prompt_id, i) for p in prompts for i in range(4)]
    assert all(c.text.startswith("<think>") and c.completion_tokens > 0 for c in completions)
    assert {c.finish_reason for c in completions} <= {"stop", "length"}
    assert Counter(split_think(c.text).state for c in completions if c.finish_reason == "stop")["ok"] >= 20
    for prompt in prompts:
        mine = [c for c in completions if c.prompt_id == prompt.prompt_id]
        assert len({c.prompt_tokens for c in mine}) == 1 and mine[0].prompt_tokens > 20
    assert all(c.finish_reason == "length" and c.completion_tokens == 12 for c in truncated)
    assert counts["requests_sent"] == 6 * 2 + 2 and counts["retries"] == 0 and counts["requests_in_flight"] == 0
    assert counts["completion_tokens"] == sum(c.completion_tokens for c in completions + truncated)


def test_every_sample_exactly_once_through_faults_to_vllm(server, tmp_path):
    plan = ["429", "500", "503", "drop", "drop_after", "reset", "malformed", "502", "504"]
    prompts = arith_prompts(8)
    with FaultProxy(f"http://127.0.0.1:{server.port}", plan=list(plan), retry_after=0) as proxy:
        engine = OpenAIEngine(server.model, settings(proxy.base_url, max_concurrency=4), tmp_path / "journal")
        try:
            completions = engine.generate(prompts, SamplingConfig(n=3, temperature=1.0, top_p=1.0, max_tokens=448))
            counts = engine.counters()
        finally:
            engine.close()
    assert [(c.prompt_id, c.sample_index) for c in completions] == [(p.prompt_id, i) for p in prompts for i in range(3)]
    assert all(c.text.startswith("<think>") for c in completions)
    assert counts["retries"] == len(plan) and counts["requests_sent"] == len(proxy.log) == 8 + len(plan)


def test_kill_9_then_rerun_through_vllm(server, tmp_path):
    journal_dir, out = tmp_path / "journal", tmp_path / "out.json"
    prompts = arith_prompts(16)
    prompt_of = {p.messages[-1]["content"]: p.prompt_id for p in prompts}
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        cmd = child_command(proxy.base_url, server.model, journal_dir, out, prompts=16, n=4, max_concurrency=2,
                            max_n_per_request=2)
        kept = kill_once_journaled(cmd, journal_dir, samples=12)
        before = journaled(journal_dir)
        proxy.reset_log()
        result = rerun(cmd, out)
        second_run = proxy.forwarded()
    assert not set(before) - {(p.prompt_id, i) for p in prompts for i in range(4)}
    completions = result["completions"]
    assert [(c["prompt_id"], c["sample_index"]) for c in completions] == [(p.prompt_id, i) for p in prompts
                                                                          for i in range(4)]
    for c in completions:
        if (c["prompt_id"], c["sample_index"]) in before:
            assert c["text"] == before[(c["prompt_id"], c["sample_index"])]  # the answer paid for, verbatim
    asked = Counter()
    for record in second_run:
        start, stop = map(int, record.sample_range.split("-"))
        asked.update((prompt_of[record.user], i) for i in range(start, stop))
    assert not set(asked) & set(before) and set(asked.values()) == {1}
    assert len(asked) == 16 * 4 - len(before) and result["counters"]["reused_from_journal"] == kept
