"""kill -9 mid-generation, then a rerun: the rows are exactly those of an uninterrupted run, and no request
journaled before the kill is sent again (counted at the proxy). Against the fake teacher (deterministic answers,
so "exactly" can be checked text for text); tests/factory/test_openai_engine_vllm.py does the same through vLLM."""

from __future__ import annotations

from collections import Counter

from tests.factory.fault_proxy import FakeTeacher, FaultProxy, fake_text
from tests.factory.openai_engine_child import arith_prompts, child_command, journaled, kill_once_journaled, rerun

PROMPTS, N = 12, 4


def test_kill_9_then_rerun_sends_only_what_is_missing(tmp_path):
    journal_dir, out = tmp_path / "journal", tmp_path / "out.json"
    prompts = arith_prompts(PROMPTS)
    prompt_of = {p.messages[-1]["content"]: p.prompt_id for p in prompts}
    with FakeTeacher(delay_s=0.15) as teacher, FaultProxy(teacher.url) as proxy:
        cmd = child_command(proxy.base_url, teacher.model, journal_dir, out, prompts=PROMPTS, n=N,
                            max_concurrency=2, max_n_per_request=2)
        kept = kill_once_journaled(cmd, journal_dir, samples=10)
        before = journaled(journal_dir)
        assert not out.exists() and 10 <= len(before) < PROMPTS * N
        first_run = len(proxy.forwarded())
        proxy.reset_log()
        result = rerun(cmd, out)
        second_run = proxy.forwarded()

    completions = result["completions"]
    assert [(c["prompt_id"], c["sample_index"]) for c in completions] == \
        [(p.prompt_id, i) for p in prompts for i in range(N)]
    by_id = {p.prompt_id: p for p in prompts}
    for c in completions:  # exactly what an uninterrupted run writes (the fake teacher's answers are fixed)
        assert c["text"] == fake_text(by_id[c["prompt_id"]].messages[-1]["content"], c["sample_index"])
        if (c["prompt_id"], c["sample_index"]) in before:
            assert before[(c["prompt_id"], c["sample_index"])] == c["text"]
    # nothing journaled before the kill was asked for again; everything else was asked for exactly once
    asked = Counter()
    for record in second_run:
        start, stop = map(int, record.sample_range.split("-"))
        for index in range(start, stop):
            asked[(prompt_of[record.user], index)] += 1
    assert not set(asked) & set(before)
    assert set(asked) | set(before) == {(p.prompt_id, i) for p in prompts for i in range(N)}
    assert set(asked.values()) == {1}
    assert result["counters"]["reused_from_journal"] == kept
    assert first_run + len(second_run) >= PROMPTS * N // 2  # the lost in-flight requests are the only repeats
