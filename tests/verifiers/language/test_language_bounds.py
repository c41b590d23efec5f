"""The language verifier's time bound: every scan linear, every verdict bounded in wall-clock time (issue 26).

The figures (milliseconds per 4,000-character trace, seconds per 100 KB) are printed by
`python -m factory.bench.language`; these tests check the behaviour: hostile inputs that used to take tens of
seconds are judged within the default bound, and a bound that cannot be met gives a `timeout` rejection.
"""

from __future__ import annotations

import time

import pytest

from verifiers.language import LanguageVerifier
from verifiers.prose import prose_segments
from verifiers.types import Completion, Prompt

PROMPT = Prompt("p", ({"role": "user", "content": "计算三加四等于多少"},), "计算三加四等于多少", "7")
UNSPACED_CHINESE = "我们先计算三加四的结果然后再检查一遍答案是否正确" * 4200  # about 100 KB, no space or stop


def judge(verifier: LanguageVerifier, text: str, prompt: Prompt = PROMPT):
    return verifier.verify(prompt, Completion("p", 0, text))


def test_unspaced_chinese_of_100kb_is_judged_not_timed_out() -> None:
    # The e-mail pattern `\S+@` rescanned the rest of an unspaced run at every position: 26 s on 100 KB.
    verdict = judge(LanguageVerifier(), f"<think>{UNSPACED_CHINESE}</think>答案是七")
    assert verdict.accepted, verdict


@pytest.mark.parametrize("unit", ["\\[x ", "\\(x ", "a@", "aB_", "$$x ", "\\begin{a}x ", "`x ", "http://x "])
def test_thousands_of_unclosed_openers_are_judged_not_timed_out(unit: str) -> None:
    # An unclosed `\[` scanned to the end of the text for each of thousands of them (quadratic).
    english = Prompt("p", ({"role": "user", "content": "What is 2 + 2?"},), "What is 2 + 2?", "4")
    text = "<think>" + "We add the numbers here. " + unit * (60_000 // len(unit)) + "</think>The answer is 4."
    verdict = judge(LanguageVerifier(), text, english)
    assert verdict.reason != "timeout", verdict


def test_a_bound_that_cannot_be_met_is_a_timeout_rejection() -> None:
    verdict = judge(LanguageVerifier(max_seconds=0.001), "<think>" + "Wir addieren die Zahlen. " * 8000 + "</think>")
    assert verdict.status == "rejected" and verdict.reason == "timeout" and verdict.details["limit_s"] == 0.001


def test_a_prompt_too_long_to_read_in_time_times_out_every_sample() -> None:
    problem = "Wie viel ist zwei und zwei? " * 20_000
    prompt = Prompt("p", ({"role": "user", "content": problem},), problem, "4")
    verdicts = LanguageVerifier(max_seconds=0.001).verify_batch(prompt, [Completion("p", i, "Vier.") for i in range(3)])
    assert [(v.reason, v.details["scope"]) for v in verdicts] == [("timeout", "prompt")] * 3


def test_segmentation_stops_at_its_deadline() -> None:
    with pytest.raises(TimeoutError):
        prose_segments("Eins. Zwei. " * 1000, "reasoning", min_letters=12, max_letters=300,
                       deadline=time.monotonic() - 1)


def test_an_unspaced_run_is_cut_into_bounded_segments() -> None:
    segments = prose_segments("a" * 10_000, "reasoning", min_letters=12, max_letters=300)
    assert len(segments) == 34 and max(s.letters for s in segments) == 300


@pytest.mark.parametrize("value", [0, -1, "1", True])
def test_bad_bounds_are_refused(value) -> None:
    with pytest.raises((TypeError, ValueError)):
        LanguageVerifier.check_params(max_seconds=value)
