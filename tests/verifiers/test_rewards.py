"""verifiers.rewards: TRL's reward signature on both completion forms, gold columns, None for what cannot be judged,
the think block opened by the template, truncation, the time bound from threads and forked processes, and the
rewards built from a recipe's verifier chain."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time

import pytest

from verifiers import rewards
from verifiers.registry import UnknownVerifierError
from verifiers.rewards import (VerifierReward, chain_reward, completion_text, format_reward, language_reward,
                               math_reward, reward_funcs)

USER = "What is 12 + 30?\nPlease reason step by step, and put your final answer within \\boxed{}."
RIGHT = "<think>\n12 + 30 = 42.\n</think>\n\nAdding the two numbers gives \\boxed{42}."
WRONG = "<think>\n12 + 30 = 43.\n</think>\n\nAdding the two numbers gives \\boxed{43}."
UNBOXED = "<think>\n12 + 30 = 42.\n</think>\n\nThe answer is 42."
CHAT_PROMPT = [{"role": "user", "content": USER}]
# The math recipe's chain (recipes/math.yaml), as a recipe's `verifiers:` list holds it.
MATH_CHAIN = [
    {"name": "format"},
    {"name": "language", "params": {"max_other_share": 0.08}},
    {"name": "repetition", "params": {"max_line_repeats": 10}},
    {"name": "math", "params": {"timeout_s": 5.0, "fallbacks": []}},
]


def as_messages(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


@pytest.fixture(scope="module", autouse=True)
def _stop_children():
    yield
    rewards.close_default_rewards()


def test_both_completion_forms_give_the_same_rewards():
    texts = [RIGHT, WRONG, UNBOXED]
    plain = math_reward([USER] * 3, texts, gold=["42"] * 3)
    chat = math_reward([CHAT_PROMPT] * 3, [as_messages(t) for t in texts], gold=["42"] * 3)
    assert plain == chat == [1.0, 0.0, 0.0]


def test_gold_or_answer_column_and_gold_wins():
    assert math_reward([USER], [RIGHT], answer=["42"]) == [1.0]
    assert math_reward([USER], [RIGHT], gold=["42"], answer=["7"]) == [1.0]
    assert math_reward([USER], [RIGHT], gold=["7"], answer=["42"]) == [0.0]


def test_numbers_compare_as_numbers():
    texts = [RIGHT.replace("42}", "42.0}"), "<think>\nhalf\n</think>\n\nSo \\boxed{\\frac{2}{4}}."]
    assert math_reward([USER] * 2, texts, gold=["42", "0.5"]) == [1.0, 1.0]


def test_missing_gold_column_raises_and_names_the_columns():
    with pytest.raises(KeyError, match=r"'gold' or 'answer'.*\['id', 'problem'\]"):
        math_reward([USER], [RIGHT], id=["x"], problem=["q"], trainer_state=None, completion_ids=[[1]])


def test_unverifiable_gold_is_none_not_zero():
    out = math_reward([USER] * 3, [RIGHT] * 3, gold=["", "\\frac{1}{", "42"])
    assert out == [None, None, 1.0]


def test_trl_extra_kwargs_are_accepted_and_reasons_logged():
    logged = {}
    out = math_reward([USER] * 3, [RIGHT, WRONG, UNBOXED], gold=["42"] * 3, completion_ids=[[1], [2], [3]],
                      trainer_state=object(), log_metric=lambda *a: None,
                      log_extra=lambda column, values: logged.setdefault(column, values))
    assert out == [1.0, 0.0, 0.0]
    assert logged == {"math_reward_reason": ["accepted", "wrong_answer", "no_answer"]}


def test_format_when_the_template_opened_the_think_block():
    inside = "12 + 30 = 42.\n</think>\n\nAdding them gives \\boxed{42}."
    unclosed = "12 + 30 = 42. Then \\boxed{42} maybe"
    # Without knowing, a text starting inside the block is still well-formed (split_think), and an unclosed one
    # still rejected.
    assert format_reward([CHAT_PROMPT] * 3, [as_messages(t) for t in (RIGHT, inside, unclosed)]) == [1.0, 1.0, 0.0]
    told = VerifierReward("format", think_opened=True)
    assert [v.reason for v in told.verdicts([CHAT_PROMPT] * 2, [inside, unclosed])] == ["", "unclosed_think"]
    # A string prompt ending in <think> says so by itself; the unfinished block has no answer to grade.
    templated = "<|im_start|>user\n" + USER + "<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert format_reward([templated] * 2, [inside, unclosed]) == [1.0, 0.0]
    assert math_reward([templated] * 2, [inside, unclosed], gold=["42"] * 2) == [1.0, 0.0]


def test_reasoning_field_of_a_parsed_response_is_the_think_block():
    parsed = {"role": "assistant", "reasoning_content": "12 + 30 = 42.", "content": "So \\boxed{42}."}
    assert completion_text([parsed]).startswith("<think>\n12 + 30 = 42.\n</think>")
    assert format_reward([CHAT_PROMPT], [[parsed]]) == [1.0]
    assert math_reward([CHAT_PROMPT], [[parsed]], gold=["42"]) == [1.0]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": RIGHT}]}]
    assert completion_text(parts) == RIGHT


def test_truncation_from_completion_ids():
    reward = VerifierReward("format", eos_token_ids=[2])
    out = reward([USER] * 2, [RIGHT, RIGHT], completion_ids=[[5, 6, 2], [5, 6, 7]])
    assert out == [1.0, 0.0]
    assert reward.verdicts([USER], [RIGHT], completion_ids=[[5, 7]])[0].reason == "truncated"


def test_language_reward_rejects_mixing():
    mixed = ("<think>\nFirst we add the ones column and carry the one to the tens.\n"
             "Ensuite nous passons à la colonne suivante et nous vérifions encore une fois le calcul.\n"
             "Jetzt rechnen wir die nächste Spalte und prüfen die Rechnung noch einmal sorgfältig.\n"
             "12 + 30 = 42.\n</think>\n\nThe answer is \\boxed{42}.")
    assert language_reward([USER] * 2, [RIGHT, mixed], problem=["What is 12 + 30?"] * 2) == [1.0, 0.0]


def test_hostile_answer_returns_within_the_bound():
    reward = VerifierReward("math", {"timeout_s": 1.0, "fallbacks": []})
    gold = ["\\sqrt{2}"]  # not a plain number: the answer goes to sympy
    assert reward([USER], ["</think>\\boxed{\\sqrt{2}}"], gold=gold) == [1.0]  # warm: child start-up not counted
    for hostile in ("(10^{100000})!", "9^{9^{9^{9}}}"):
        start = time.monotonic()
        out = reward([USER], [f"<think>\nbig\n</think>\n\nSo \\boxed{{{hostile}}}."], gold=gold)
        assert out == [0.0]
        assert time.monotonic() - start < 8.0  # one comparison: 1 s bound plus killing and margins
    assert reward([USER], ["</think>\\boxed{\\frac{2}{\\sqrt{2}}}"], gold=gold) == [1.0]  # recovered
    reward.close()


def test_calls_from_threads_share_one_reward():
    reward = VerifierReward("math", {"timeout_s": 20.0, "fallbacks": []})
    results: dict[int, list] = {}

    def work(i: int) -> None:
        answer = "\\sin(\\pi/3)" if i % 2 == 0 else "\\cos(\\pi/3)"
        hostile = "(10^{100000})!" if i == 3 else answer
        texts = [f"</think>\\boxed{{{answer}}}", f"</think>\\boxed{{{hostile}}}"]
        results[i] = reward([USER] * 2, texts, gold=["\\frac{\\sqrt{3}}{2}"] * 2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    expected = {i: [1.0, 1.0] if i % 2 == 0 else [0.0, 0.0] for i in range(6)}
    assert results == expected
    reward.close()


def _grade_in_child(queue) -> None:
    queue.put((os.getpid(), math_reward([USER] * 2, [RIGHT, "</think>\\boxed{\\sqrt{4}}"], gold=["42", "2"])))


def test_forked_process_builds_its_own_verifier():
    assert math_reward([USER], ["</think>\\boxed{\\sqrt{4}}"], gold=["2"]) == [1.0]  # parent child is warm
    parent_runner = rewards._default("math").verifier._runner
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_grade_in_child, args=(queue,))
    proc.start()
    pid, out = queue.get(timeout=120)
    proc.join(timeout=60)
    assert pid != os.getpid() and out == [1.0, 1.0]
    assert rewards._default("math").verifier._runner is parent_runner  # the parent's child is untouched
    assert math_reward([USER], ["</think>\\boxed{\\sqrt{9}}"], gold=["3"]) == [1.0]


def test_rewards_pickle_without_their_verifier():
    reward = VerifierReward("math", {"timeout_s": 2.0})
    assert reward([USER], [RIGHT], gold=["42"]) == [1.0]
    clone = pickle.loads(pickle.dumps(reward))
    assert clone._verifier is None and clone.__name__ == "math_reward"
    assert clone([USER], [WRONG], gold=["42"]) == [0.0]
    reward.close()
    clone.close()


def test_reward_funcs_from_a_recipe_chain():
    funcs = reward_funcs(MATH_CHAIN)
    assert [f.__name__ for f in funcs] == ["format_reward", "language_reward", "repetition_reward", "math_reward"]
    texts = [RIGHT, WRONG, "no tags \\boxed{42}"]
    got = [f([CHAT_PROMPT] * 3, [as_messages(t) for t in texts], gold=["42"] * 3) for f in funcs]
    assert got == [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 1.0]]
    for f in funcs:
        f.close()


def test_reward_funcs_refuse_bad_specs_at_once():
    with pytest.raises(UnknownVerifierError, match="did you mean 'math'"):
        reward_funcs([{"name": "mth"}])
    with pytest.raises(TypeError):
        reward_funcs([{"name": "format", "params": {"require_thnk": True}}])


def test_chain_reward_is_the_factory_acceptance_rule():
    chain = chain_reward(MATH_CHAIN)
    texts = [RIGHT, WRONG, "no tags \\boxed{42}"]
    assert chain([USER] * 3, texts, gold=["42"] * 3) == [1.0, 0.0, 0.0]
    reasons = [v.reason for v in chain.verdicts([USER] * 3, texts, gold=["42"] * 3)]
    assert reasons == ["", "math:wrong_answer", "format:missing_think"]
    assert chain([USER], [RIGHT], gold=[""]) == [None]  # nothing rejected, the math could not be judged
    chain.close()


def test_code_reward_runs_the_tests():
    from verifiers.code.sandbox import SandboxUnavailableError

    tests = '{"type": "stdio", "cases": [{"input": "2 3\\n", "output": "5\\n"}]}'
    good = "<think>\nread, add\n</think>\n\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    bad = good.replace("a + b", "a - b")
    try:
        reward = VerifierReward("code", {"timeout_s": 3.0, "memory_mb": 256, "concurrency": 2}, lazy=False)
    except SandboxUnavailableError as exc:
        pytest.skip(f"no sandbox here: {exc}")
    assert reward(["Add a and b."] * 3, [good, bad, good], tests=[tests, tests, "not json"]) == [1.0, 0.0, None]
    reward.close()
