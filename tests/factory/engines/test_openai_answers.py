"""A paid answer is never lost and no secret is written: hostile 200 answers from an OpenAI-compatible server (fast,
against the fake teacher).

Each answer below was paid for but cannot be stored or read as it is: a lone surrogate in the text, a `usage` that
is not a number, a choice `index` that is not an integer, token counts beyond 32 bits, a message that is not text, a
body that never ends. Each must become samples with a reason (never a failed request), be journaled, and never be
asked for again by a rerun. A server that echoes the request's Authorization header must not put the key into the
journal, the samples or an error message.
"""

from __future__ import annotations

import json

import pytest

from factory.engines.openai_engine import OpenAIEngine
from tests.factory.fault_proxy import FakeTeacher, FaultProxy, fake_text
from tests.factory.engines.test_openai_engine import SAMPLING, fast, prompts

KEY = "sk-test-8c1f0e2b9a7d4c35"


def _lone_surrogate(answer, request, headers):
    raw = json.dumps(answer).replace("thinking", "thinking \\ud800 here")
    return raw.encode()


def _usage_text(answer, request, headers):
    return {**answer, "usage": {"prompt_tokens": "many", "completion_tokens": "lots"}}


def _index_text(answer, request, headers):
    answer["choices"][-1]["index"] = "last"  # the others keep their integers: no order between them
    return answer


def _huge_tokens(answer, request, headers):
    return {**answer, "usage": {"prompt_tokens": 2**40, "completion_tokens": 2**41}}


def _content_list(answer, request, headers):
    answer["choices"][0]["message"]["content"] = ["not", "text"]
    return answer


HOSTILE = {  # name -> (mangle, the finish_reasons the samples of one answer get)
    "lone_surrogate": (_lone_surrogate, {"stop"}),
    "usage_not_a_number": (_usage_text, {"invalid_usage"}),
    "index_not_an_integer": (_index_text, {"stop"}),
    "tokens_beyond_32_bits": (_huge_tokens, {"invalid_usage"}),
    "content_not_text": (_content_list, {"invalid_answer", "stop"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_paid_answer_that_cannot_be_read_becomes_samples_and_is_never_paid_again(name, tmp_path):
    mangle, reasons = HOSTILE[name]
    batch = prompts(2)
    with FakeTeacher(mangle=mangle) as teacher, FaultProxy(teacher.url) as proxy:
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_n_per_request=4), tmp_path / "journal")
        try:
            first = engine.generate(batch, SAMPLING)
        finally:
            engine.close()
        assert [(c.prompt_id, c.sample_index) for c in first] == \
            [(p.prompt_id, i) for p in batch for i in range(SAMPLING.n)]
        assert {c.finish_reason for c in first} == reasons
        assert all(0 <= c.prompt_tokens < 2**31 and 0 <= c.completion_tokens < 2**31 for c in first)
        assert len(proxy.forwarded()) == len(batch)  # one answer per prompt, none retried
        proxy.reset_log()
        engine = OpenAIEngine(teacher.model, fast(proxy.base_url, max_n_per_request=4), tmp_path / "journal")
        try:
            again = engine.generate(batch, SAMPLING)
        finally:
            engine.close()
        assert proxy.forwarded() == []  # the rerun pays for nothing
    assert again == first


def test_an_endless_body_is_cut_at_the_bound_and_its_samples_say_so(tmp_path):
    with FakeTeacher(mangle=lambda answer, request, headers: "endless") as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, max_n_per_request=4, request_timeout_s=60,
                                                  max_response_bytes=4 * 2**20), tmp_path / "journal")
        try:
            samples = engine.generate(prompts(1), SAMPLING)
        finally:
            engine.close()
    assert [c.finish_reason for c in samples] == ["response_too_large"] * SAMPLING.n
    assert engine.counters()["retries"] == 0


def _echo_key(answer, request, headers):
    authorization = headers.get("Authorization", "")
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in authorization)  # the key in JSON-escaped form too
    for choice in answer["choices"]:
        choice["message"]["content"] += f" (you sent {authorization})"
        choice["message"]["reasoning_content"] = "PLACEHOLDER"
    raw = json.dumps({**answer, "echo": {"headers": headers}}).replace("PLACEHOLDER", f"header {escaped}")
    return raw.encode()


def test_a_server_echoing_the_authorization_header_never_gets_the_key_written(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_TEST_KEY", KEY)
    with FakeTeacher(api_key=KEY, mangle=_echo_key) as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url, api_key_env="FACTORY_TEST_KEY"),
                              tmp_path / "journal")
        try:
            samples = engine.generate(prompts(2), SAMPLING)
        finally:
            engine.close()
    assert samples and all("***" in c.text and KEY not in c.text for c in samples)
    assert samples[0].text.startswith("<think>\nheader Bearer ***")
    written = b"".join(p.read_bytes() for p in (tmp_path / "journal").glob("*.jsonl"))
    assert written and KEY.encode() not in written
    decoded = [json.loads(line)["body"] for line in written.splitlines()]
    assert all(KEY not in json.dumps(json.loads(body), ensure_ascii=False) for body in decoded)


def test_ordinary_answers_are_read_as_before(tmp_path):
    batch = prompts(2)
    with FakeTeacher() as teacher:
        engine = OpenAIEngine(teacher.model, fast(teacher.base_url), tmp_path / "journal")
        try:
            samples = engine.generate(batch, SAMPLING)
        finally:
            engine.close()
    assert [c.text for c in samples] == [fake_text(p.messages[-1]["content"], i)
                                         for p in batch for i in range(SAMPLING.n)]
    assert {c.finish_reason for c in samples} == {"stop"}
