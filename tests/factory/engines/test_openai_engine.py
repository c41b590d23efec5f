"""OpenAIEngine's client logic against a fake OpenAI-compatible server behind a fault-injecting proxy (fast).

What these prove: n samples per prompt whatever number of choices the server returns, with deterministic sample
indices; reasoning_content back in <think>; usage split; every sample exactly once through 429/5xx/dropped
connections/resets/slow and malformed answers; 401/404/400 stop at once without retrying and without the key in
the message; exhausted retries raise TeacherUnavailableError; the journal is reused only for the same request.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from factory.engines.base import SamplingConfig
from factory.engines.journal import RequestJournal
from factory.engines.openai_engine import (HTTPSettings, OpenAIEngine, TeacherConfigError,
                                           TeacherUnavailableError)
from tests.factory.fault_proxy import FakeTeacher, FaultProxy, fake_text
from verifiers.types import Prompt, chat, split_think

SAMPLING = SamplingConfig(n=4, temperature=0.6, top_p=0.95, max_tokens=64)


def prompts(count: int, offset: int = 0) -> list[Prompt]:
    out = []
    for i in range(offset, offset + count):
        problem = f"What is {i} + {i}?"
        out.append(Prompt(prompt_id=f"p{i:03d}", messages=chat(None, problem + "\nPlease reason step by step."),
                          problem=problem, gold=str(2 * i)))
    return out


def fast(base_url: str, **overrides) -> HTTPSettings:
    settings = dict(base_url=base_url, max_concurrency=4, request_timeout_s=5, max_retries=3, backoff_base_s=0.01,
                    backoff_max_s=0.05)
    settings.update(overrides)
    return HTTPSettings(**settings)


def assert_exactly_once(batch: list[Prompt], completions, n: int) -> None:
    assert [(c.prompt_id, c.sample_index) for c in completions] == [(p.prompt_id, i) for p in batch for i in range(n)]
    for prompt, c in zip([p for p in batch for _ in range(n)], completions):
        assert c.text == fake_text(prompt.messages[-1]["content"], c.sample_index)


@pytest.fixture
def teacher():
    with FakeTeacher() as server:
        yield server


@pytest.mark.parametrize("max_choices, requests_per_prompt", [(None, 2), (3, 2), (1, 4)])
def test_n_samples_whatever_the_server_returns(max_choices, requests_per_prompt):
    with FakeTeacher(max_choices=max_choices) as teacher, FaultProxy(teacher.url) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_n_per_request=3), None)
        try:
            engine.preflight()
            batch = prompts(3)
            completions = engine.generate(batch, SAMPLING)
        finally:
            engine.close()
    assert_exactly_once(batch, completions, SAMPLING.n)
    per_prompt = Counter(r.user for r in proxy.forwarded())
    assert set(per_prompt.values()) == {requests_per_prompt}
    # with max_n_per_request=3 and n=4 the first request asks for 3 and the next for what is missing
    assert sorted(r.n for r in proxy.forwarded())[:1] == [1]
    counts = engine.counters()
    assert counts["requests_sent"] == 3 * requests_per_prompt and counts["retries"] == 0
    assert counts["completion_tokens"] == sum(c.completion_tokens for c in completions)
    assert counts["estimated_cost_usd"] is None


def test_reasoning_content_becomes_think_and_length_stays_truncation():
    with FakeTeacher(reasoning_content=True, length_every=2) as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, price_input_per_mtok=1.0,
                                                  price_output_per_mtok=2.0), None)
        try:
            batch = prompts(2)
            completions = engine.generate(batch, SAMPLING)
        finally:
            engine.close()
    assert_exactly_once(batch, completions, SAMPLING.n)  # reasoning + content put back as the same text
    assert all(split_think(c.text).state == "ok" for c in completions)
    assert [c.finish_reason for c in completions[:4]] == ["stop", "length", "stop", "length"]
    assert all(c.prompt_tokens == len(batch[0].messages[-1]["content"].split()) for c in completions[:4])
    counts = engine.counters()
    assert counts["estimated_cost_usd"] == pytest.approx(
        (counts["prompt_tokens"] * 1.0 + counts["completion_tokens"] * 2.0) / 1e6)


def test_every_sample_exactly_once_through_faults(tmp_path):
    plan = ["429", "500", "502", "503", "504", "drop", "drop_after", "reset", "slow", "malformed"]
    with FakeTeacher() as teacher, FaultProxy(teacher.url, plan=list(plan), retry_after=1, slow_s=2) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, request_timeout_s=0.5, max_retries=12,
                                                  max_concurrency=1), tmp_path / "journal")
        try:
            batch = prompts(4)
            started = time.monotonic()
            completions = engine.generate(batch, SAMPLING)
            elapsed = time.monotonic() - started
        finally:
            engine.close()
    assert_exactly_once(batch, completions, SAMPLING.n)
    counts = engine.counters()
    assert counts["retries"] == len(plan)
    assert counts["requests_sent"] == len(proxy.log) == 4 + len(plan)
    assert elapsed >= 1.0  # the 429's Retry-After was honoured
    assert len(RequestJournal(tmp_path / "journal")) == 4 * SAMPLING.n


@pytest.mark.parametrize("fault", ["401", "404", "400"])
def test_fatal_answers_stop_at_once_without_retrying(fault):
    with FakeTeacher() as teacher, FaultProxy(teacher.url, plan=lambda number, body: fault) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_concurrency=2, max_retries=5), None)
        try:
            started = time.monotonic()
            with pytest.raises(TeacherConfigError, match=f"HTTP {fault}"):
                engine.generate(prompts(20), SAMPLING)
            assert time.monotonic() - started < 2
            with pytest.raises(TeacherConfigError):  # the engine stays stopped: later units fail at once
                engine.generate(prompts(1), SAMPLING)
        finally:
            engine.close()
    assert engine.counters()["retries"] == 0
    assert len(proxy.log) <= 2  # at most the requests already in flight


def test_wrong_key_and_unknown_model_fail_preflight_without_leaking_the_key(monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("FAKE_TEACHER_KEY", secret)
    with FakeTeacher(api_key="the-right-key") as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, api_key_env="FAKE_TEACHER_KEY"), None)
        try:
            with pytest.raises(TeacherConfigError) as caught:
                engine.preflight()
        finally:
            engine.close()
        assert "401" in str(caught.value) and "api_key_env" in str(caught.value) and secret not in str(caught.value)
        monkeypatch.setenv("FAKE_TEACHER_KEY", "the-right-key")
        engine = OpenAIEngine("no-such-model", fast(teacher.base_url, api_key_env="FAKE_TEACHER_KEY"), None)
        try:
            with pytest.raises(TeacherConfigError, match="'no-such-model' is not served.*fake-r1"):
                engine.preflight()
        finally:
            engine.close()
    monkeypatch.delenv("FAKE_TEACHER_KEY")
    with pytest.raises(TeacherConfigError, match="FAKE_TEACHER_KEY"):
        OpenAIEngine("m", fast("http://127.0.0.1:9/v1", api_key_env="FAKE_TEACHER_KEY"), None)


def test_exhausted_retries_fail_the_unit_but_keep_what_was_paid_for(tmp_path):
    def plan(number: int, body: dict) -> str:  # every request for prompt p001 answers 503, the others pass
        return "503" if "What is 1 + 1?" in body["messages"][-1]["content"] else "pass"

    with FakeTeacher() as teacher, FaultProxy(teacher.url, plan=plan) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_retries=2), tmp_path / "journal")
        try:
            with pytest.raises(TeacherUnavailableError, match="failed 3 times; last: HTTP 503"):
                engine.generate(prompts(3), SAMPLING)
        finally:
            engine.close()
    assert engine.counters()["requests_failed"] == 1
    assert Counter(r.action for r in proxy.log)["503"] == 3
    journal = RequestJournal(tmp_path / "journal")
    assert len(journal) == 2 * SAMPLING.n  # the other prompts' answers are kept for the rerun


def test_journal_is_reused_only_for_the_same_request(tmp_path):
    journal = tmp_path / "journal"
    with FakeTeacher() as teacher, FaultProxy(teacher.url) as proxy:
        for sampling, expected_requests in ((SAMPLING, 3), (SAMPLING, 0),
                                            (SamplingConfig(n=6, temperature=0.6, top_p=0.95, max_tokens=64), 3),
                                            (SamplingConfig(n=4, temperature=0.7, top_p=0.95, max_tokens=64), 3)):
            proxy.reset_log()
            engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_n_per_request=8), journal)
            try:
                batch = prompts(3)
                completions = engine.generate(batch, sampling)
            finally:
                engine.close()
            assert_exactly_once(batch, completions, sampling.n)
            assert len(proxy.forwarded()) == expected_requests, sampling
        # n=6 after n=4 asked only for samples 4-5
        assert {r.sample_range for r in proxy.log} == {"0-4"}


def test_torn_last_line_is_ignored(tmp_path):
    journal_dir = tmp_path / "journal"
    with FakeTeacher() as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, max_n_per_request=1), journal_dir)
        try:
            engine.generate(prompts(1), SAMPLING)
        finally:
            engine.close()
        (path,) = journal_dir.glob("*.jsonl")
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-1]) + lines[-1][:-20])  # the last sample's write cut short
        journal = RequestJournal(journal_dir)
        assert len(journal) == SAMPLING.n - 1 and journal.skipped_lines == 1
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, max_n_per_request=1), journal_dir)
        try:
            completions = engine.generate(prompts(1), SAMPLING)
        finally:
            engine.close()
    assert_exactly_once(prompts(1), completions, SAMPLING.n)
    assert engine.counters()["reused_from_journal"] == SAMPLING.n - 1 and engine.counters()["requests_sent"] == 1


def test_calls_from_several_threads_share_the_concurrency_limit():
    with FakeTeacher(delay_s=0.05) as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, max_concurrency=3, max_n_per_request=1), None)
        results: dict[int, list] = {}
        units = [prompts(3, offset) for offset in (0, 10, 20)]
        try:
            threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, engine.generate(units[k], SAMPLING)))
                       for k in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            engine.close()
    for k, unit in enumerate(units):
        assert_exactly_once(unit, results[k], SAMPLING.n)
    assert teacher.max_active == 3 and engine.counters()["requests_in_flight"] == 0


@pytest.mark.parametrize("field, value", [("base_url", "127.0.0.1:8000"), ("max_concurrency", 0),
                                          ("request_timeout_s", 0), ("max_retries", -1), ("backoff_max_s", 0.5),
                                          ("api_key_env", "sk-abc.def"), ("price_input_per_mtok", -1)])
def test_settings_name_the_bad_field(field, value):
    settings = HTTPSettings(base_url="http://127.0.0.1:8000/v1")
    setattr(settings, field, value)
    with pytest.raises(ValueError, match=f"generation.{field}"):
        settings.validate()


def test_later_rounds_are_numbered_from_first_index_and_reuse_the_journal(teacher, tmp_path):
    """Adaptive sampling asks for samples [first, first + n): their indices and texts follow, and a journaled
    later round is not asked for again."""
    batch = prompts(2)
    with FaultProxy(teacher.url) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url), tmp_path / "journal")
        try:
            later = engine.generate(batch, SamplingConfig(n=2, temperature=0.6, top_p=0.95, max_tokens=64), 4)
        finally:
            engine.close()
        assert [(c.prompt_id, c.sample_index) for c in later] == [(p.prompt_id, i) for p in batch for i in (4, 5)]
        for prompt, c in zip([p for p in batch for _ in range(2)], later):
            assert c.text == fake_text(prompt.messages[-1]["content"], c.sample_index)
        sent = len(proxy.forwarded())
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url), tmp_path / "journal")
        try:
            again = engine.generate(batch, SamplingConfig(n=2, temperature=0.6, top_p=0.95, max_tokens=64), 4)
        finally:
            engine.close()
        assert len(proxy.forwarded()) == sent and [c.text for c in again] == [c.text for c in later]
