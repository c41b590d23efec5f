"""Extraction and verdict reasons of MathVerifier: where the answer is read from, hedges, unreadable answers,
unverifiable golds, batch behaviour."""

from __future__ import annotations

import pytest

from verifiers.types import Completion, Prompt
from verifiers.math import MathVerifier
from verifiers.math.extract import boxed_contents, extract_answer
from verifiers.registry import create_verifier


@pytest.fixture(scope="module")
def verifier():
    v = MathVerifier(timeout_s=20.0)
    yield v
    v.close()


def prompt(gold) -> Prompt:
    return Prompt("p", ({"role": "user", "content": "q"},), "q", gold)


def judge(verifier, gold, text):
    return verifier.verify(prompt(gold), Completion("p", 0, text))


# (gold, full completion text, expected status, expected reason)
CASES = [
    # boxed answers, nested braces, \fbox, the last distinct box
    ("3/4", r"<think>try \boxed{5}</think>So $\boxed{\frac{3}{4}}$.", "accepted", ""),
    ("5", r"<think>the answer might be \boxed{5}</think>I am not sure.", "rejected", "no_answer"),
    ("5", r"<think>unfinished \boxed{5}", "rejected", "no_answer"),
    ("5", "<think>x</think>", "rejected", "no_answer"),
    (r"\frac{1}{2}", r"</think>\boxed{\frac{\sqrt{4}}{4}}", "accepted", ""),
    ("9", r"</think>\fbox{9}", "accepted", ""),
    ("9", r"</think>\boxed 9", "accepted", ""),
    ("5", r"</think>First \boxed{5}, and again \boxed{5}.", "accepted", ""),
    ("5", r"</think>\boxed{5} or maybe \boxed{0.5\cdot 10}", "accepted", ""),
    ("10", r"</think>\boxed{\left\{10\right\}}", "accepted", ""),
    # hedges: several distinct boxes, "or", \lor
    ("5", r"</think>\boxed{3} or \boxed{5}", "rejected", "multiple_answers"),
    ("5", r"</think>\boxed{5} \boxed{6}", "rejected", "multiple_answers"),
    ("5", r"</think>\boxed{3 \text{ or } 5}", "rejected", "multiple_answers"),
    ("5", r"</think>\boxed{5 or 6}", "rejected", "multiple_answers"),
    ("5", r"</think>\boxed{x = 5 \lor x = 7}", "rejected", "multiple_answers"),
    ("3", r"</think>\boxed{3} \boxed{4} \boxed{5}", "rejected", "multiple_answers"),
    # several values are fine when the gold lists several
    ("2, 3", r"</think>\boxed{2} and \boxed{3}", "accepted", ""),
    ("2, 3", r"</think>\boxed{x = 2 \text{ or } x = 3}", "accepted", ""),
    (r"\pm 3", r"</think>\boxed{3 \text{ or } -3}", "accepted", ""),
    ("2, 3", r"</think>\boxed{2} and \boxed{4}", "rejected", "wrong_answer"),
    # fallbacks when there is no box
    ("5", "</think><answer>5</answer>", "accepted", ""),
    ("5", "</think><answer> $x = 5$ </answer>", "accepted", ""),
    ("5", "</think>The final answer is $5$. I hope it is correct.", "accepted", ""),
    ("120", "</think>Final Answer: The volume of $ABCD$ is 120.", "accepted", ""),
    ("12000023", "</think>Final Answer: The final answer is 12,000,023. I hope it is correct.", "accepted", ""),
    ("7", "</think>**Answer:** 7", "accepted", ""),
    ("9", "</think>Answer \\[\n 9 \n\\]", "accepted", ""),
    (r"\frac{1}{2}", r"</think>$\frac{1}{2}$", "accepted", ""),
    ("2/3", "</think>Therefore the probability that Alice wins is 2/3.", "accepted", ""),
    ("6", "</think>So we get $2 \\cdot 3$, that is $6$ apples in total.", "accepted", ""),
    ("5", "</think>I could not solve it.", "rejected", "no_answer"),
    ("2", "</think>AZYUK2A", "rejected", "no_answer"),
    # unparseable answers and the caps checked before parsing
    ("5", r"</think>\boxed{\frac{}{}}", "rejected", "unparseable_answer"),
    ("5", r"</think>\boxed{)(}", "rejected", "unparseable_answer"),
    ("5", "</think>\\boxed{" + "(" * 200 + "1" + ")" * 200 + "}", "rejected", "unparseable_answer"),
    ("5", "</think>\\boxed{" + "1+" * 3000 + "1}", "rejected", "unparseable_answer"),
    ("5", "</think>\\boxed{" + "7" * 1_000_000 + "}", "rejected", "unparseable_answer"),
    ("5", "</think>\\boxed{" + "\\sqrt{" * 60 + "2" + "}" * 60 + "}", "rejected", "unparseable_answer"),
    # wrong answers
    ("5", r"</think>\boxed{6}", "rejected", "wrong_answer"),
    ("5", r"</think>\boxed{\text{five apples and two pears}}", "rejected", "wrong_answer"),
    # the gold itself
    (r"\frac{", r"</think>\boxed{5}", "unverifiable", "unverifiable_gold"),
    ("", r"</think>\boxed{5}", "unverifiable", "unverifiable_gold"),
    (None, r"</think>\boxed{5}", "unverifiable", "unverifiable_gold"),
    ({"tests": []}, r"</think>\boxed{5}", "unverifiable", "unverifiable_gold"),
    ("x" * 5000, r"</think>\boxed{5}", "unverifiable", "unverifiable_gold"),
    (r"The answer is $\boxed{14{,}916}$.", r"</think>\boxed{14916}", "accepted", ""),
    (r"So \boxed{1} and \boxed{-2}.", r"</think>\boxed{-2, 1}", "accepted", ""),
    (r"First \boxed{1}. Then after more work we get \boxed{2}", r"</think>\boxed{2}", "accepted", ""),
    ("$28\\%$", r"</think>\boxed{28}", "accepted", ""),
]


@pytest.mark.parametrize("gold,text,status,reason", CASES)
def test_verdict_and_reason(verifier, gold, text, status, reason):
    verdict = judge(verifier, gold, text)
    assert (verdict.status, verdict.reason) == (status, reason), verdict


def test_boxed_only_mode_ignores_fallbacks():
    with MathVerifier(fallbacks=()) as v:
        assert judge(v, "5", "</think>The final answer is $5$.").reason == "no_answer"
        assert judge(v, "5", r"</think>\boxed{5}").accepted


def test_unknown_fallback_is_refused():
    with pytest.raises(ValueError):
        MathVerifier(fallbacks=("telepathy",))


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError):
        create_verifier("math", {"timeuot_s": 3})


@pytest.mark.parametrize("text,expected", [
    (r"a \boxed{\frac{1}{2}} b", [r"\frac{1}{2}"]),
    (r"\boxed{a{b{c}}} \fbox{d}", ["a{b{c}}", "d"]),
    (r"\boxed{\{1, 2\}}", [r"\{1, 2\}"]),
    (r"\boxed{unclosed", []),
    (r"\boxed{1} \boxed{2", ["1"]),
])
def test_boxed_contents(text, expected):
    assert boxed_contents(text) == expected


def test_extraction_details_are_truncated(verifier):
    verdict = judge(verifier, "5", "</think>\\boxed{" + "9" * 900 + "}")
    assert verdict.reason == "wrong_answer"
    assert len(verdict.details["extracted"]) <= 200


def test_ordered_lists_option():
    with MathVerifier(ordered_lists=True) as v:
        assert not judge(v, "1, 2, 3", r"</think>\boxed{3, 2, 1}").accepted
        assert judge(v, "1, 2, 3", r"</think>\boxed{1, 2, 3}").accepted
    with MathVerifier() as v:
        assert judge(v, "1, 2, 3", r"</think>\boxed{3, 2, 1}").accepted


def test_batch_parses_gold_once_and_judges_each_sample(verifier):
    texts = [r"</think>\boxed{\sqrt{2}}", r"</think>\boxed{\frac{2}{\sqrt{2}}}", r"</think>\boxed{1.5}", "</think>none",
             r"</think>\boxed{\sqrt{2}}"]
    completions = [Completion("p", i, t) for i, t in enumerate(texts)]
    verdicts = verifier.verify_batch(prompt(r"\sqrt{2}"), completions)
    assert [v.status for v in verdicts] == ["accepted", "accepted", "rejected", "rejected", "accepted"]
    assert [v.reason for v in verdicts[2:4]] == ["wrong_answer", "no_answer"]
    assert verifier.check_gold(prompt(r"\sqrt{2}")) is None
    assert verifier.check_gold(prompt(r"\sqrt{")) == "unverifiable_gold"


def test_extract_answer_order():
    assert extract_answer(r"<answer>4</answer> \boxed{5}").candidates == ("5",)
    assert extract_answer("<answer>4</answer> The final answer is 6").candidates == ("4",)
    assert extract_answer("The final answer is 6", fallbacks=("answer_tag",)).candidates == ()
