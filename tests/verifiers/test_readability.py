"""Readability verifiers: real traces pass, each defect is caught with its own reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.bench.language import load_fixtures
from verifiers.types import Completion, Prompt
from verifiers.readability import (
    CodeInAnswerVerifier,
    FinalSummaryVerifier,
    ParagraphLengthVerifier,
    RepetitionVerifier,
    TrivialReasoningVerifier,
)
from verifiers.registry import create_verifier

HERE = Path(__file__).parent / "fixtures" / "readability"
TINY = (HERE / "tiny_teacher.txt").read_text(encoding="utf-8").split("=====\n")
LANG = {f.language: f.completion for f in load_fixtures()}
PROMPT = Prompt("p", (), "What is 345 + 278?", "623")
NAMES = ["repetition", "paragraph_length", "code_in_answer", "trivial_reasoning", "final_summary"]


def judge(verifier, text: str):
    return verifier.verify(PROMPT, Completion("p", 0, text))


def test_registry_names_build_each_verifier() -> None:
    classes = [RepetitionVerifier, ParagraphLengthVerifier, CodeInAnswerVerifier, TrivialReasoningVerifier,
               FinalSummaryVerifier]
    for name, cls in zip(NAMES, classes):
        verifier = create_verifier(name)
        assert type(verifier) is cls and verifier.name == name


def test_unknown_parameter_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        create_verifier("repetition", {"max_repeats": 3})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("index", range(len(TINY)))
def test_short_tiny_teacher_traces_pass_every_filter(name: str, index: int) -> None:
    verdict = judge(create_verifier(name), TINY[index])
    assert verdict.accepted, verdict


@pytest.mark.parametrize("name", NAMES)
def test_real_multilingual_traces_pass_every_filter(name: str) -> None:
    verifier = create_verifier(name)
    rejected = {lang: judge(verifier, text) for lang, text in LANG.items()}
    assert all(v.accepted for v in rejected.values()), {k: v for k, v in rejected.items() if not v.accepted}


# --- repetition -------------------------------------------------------------------------------------------------


def test_loop_fixture_is_a_repetition_loop() -> None:
    verdict = judge(RepetitionVerifier(), (HERE / "loop.txt").read_text(encoding="utf-8"))
    assert verdict.reason == "repetition_loop" and verdict.details["kind"] == "consecutive_lines"
    assert verdict.details["count"] >= 4


def test_a_line_repeated_until_max_tokens_is_caught() -> None:
    text = "<think>\nWe add 345 and 278.\n" + "5 + 8 = 13, write 3 carry 1.\n" * 40
    verdict = judge(RepetitionVerifier(), text)
    assert verdict.reason == "repetition_loop" and verdict.details["count"] == 40


def test_a_loop_inside_one_paragraph_is_caught() -> None:
    text = "<think>\nWe add 345 and 278. " + "Let me check the units digit again. " * 6 + "\n</think>\n\nDone."
    verdict = judge(RepetitionVerifier(), text)
    assert verdict.reason == "repetition_loop" and verdict.details["kind"] == "consecutive_sentences"


def test_a_loop_of_words_without_breaks_is_caught() -> None:
    verdict = judge(RepetitionVerifier(), "<think>\nSo the answer is " + "so the the " * 30)
    assert verdict.reason == "repetition_loop" and verdict.details["kind"] == "consecutive_words"


def test_a_line_recurring_across_the_trace_is_caught_past_the_limit() -> None:
    steps = [f"Step {i}: {i} * 7 = {i * 7}.\nWait, let me verify that again." for i in range(12)]
    verdict = judge(RepetitionVerifier(), "<think>\n" + "\n".join(steps) + "\n</think>\n\nDone.")
    assert verdict.reason == "repetition_loop" and verdict.details["kind"] == "line"
    assert judge(RepetitionVerifier(max_line_repeats=12), "<think>\n" + "\n".join(steps)).accepted


def test_long_but_varied_arithmetic_is_not_a_loop() -> None:
    lines = [f"{a} + {a + 1} = {2 * a + 1}, write {(2 * a + 1) % 10}." for a in range(300)]
    assert judge(RepetitionVerifier(), "<think>\n" + "\n".join(lines) + "\n</think>\n\nThe answer is 1.").accepted


def test_three_copies_in_a_row_are_allowed_four_are_not() -> None:
    line = "Let me double-check this step.\n"
    assert judge(RepetitionVerifier(), "<think>\nStart.\n" + line * 3 + "</think>\n\nOk then.").accepted
    assert not judge(RepetitionVerifier(), "<think>\nStart.\n" + line * 4 + "</think>\n\nOk then.").accepted


def test_a_run_of_one_character_is_caught() -> None:
    verdict = judge(RepetitionVerifier(), "<think>\nThe number is 1" + "0" * 500 + "\n</think>\n\nok")
    assert verdict.reason == "repetition_loop" and verdict.details["kind"] == "character_run"


# --- paragraph length ----------------------------------------------------------------------------------------------

SENTENCE = "We compare the two sides of the equation and simplify the fraction once more. "


def test_a_wall_of_text_is_a_long_paragraph() -> None:
    wall = "<think>\n" + SENTENCE * 50 + "\n</think>\n\nThe answer is 1."
    verdict = judge(ParagraphLengthVerifier(), wall)
    assert verdict.reason == "long_paragraph" and verdict.details["width"] > 3000
    split = "<think>\n" + "\n\n".join([SENTENCE * 10] * 5) + "\n</think>\n\nThe answer is 1."
    assert judge(ParagraphLengthVerifier(), split).accepted


def test_cjk_paragraph_width_counts_double() -> None:
    text = "<think>\n" + "我们把两边同时乘以二然后化简。" * 110 + "\n</think>\n\n答案是一。"  # 1,650 characters
    assert judge(ParagraphLengthVerifier(), text).reason == "long_paragraph"
    assert judge(ParagraphLengthVerifier(max_paragraph_chars=4000), text).accepted


def test_code_lines_are_not_paragraphs() -> None:
    text = "<think>\nOk.\n```\n" + "x" * 5000 + "\n```\n</think>\n\nThe answer is 1."
    assert judge(ParagraphLengthVerifier(), text).accepted


# --- code in answer ----------------------------------------------------------------------------------------------

CODE = "```python\ndef add(a, b):\n    return a + b\nprint(add(345, 278))\n```"


def test_a_code_block_in_the_answer_is_rejected() -> None:
    verdict = judge(CodeInAnswerVerifier(), TINY[0].replace("The answer is", CODE + "\nThe answer is"))
    assert verdict.reason == "code_block_in_answer" and verdict.details["part"] == "answer"
    assert verdict.details["info"] == "python"


def test_a_code_block_in_the_reasoning_is_rejected_unless_only_answers_are_checked() -> None:
    text = TINY[0].replace("So the sum is", CODE + "\nSo the sum is")
    assert judge(CodeInAnswerVerifier(), text).details["part"] == "reasoning"
    assert judge(CodeInAnswerVerifier(check_reasoning=False), text).accepted


def test_code_can_be_allowed() -> None:
    text = TINY[0].replace("The answer is", CODE + "\nThe answer is")
    assert judge(CodeInAnswerVerifier(allow_code=True), text).accepted
    table = TINY[0].replace("The answer is", "```text\n 345\n+278\n----\n 623\n```\nThe answer is")
    assert not judge(CodeInAnswerVerifier(), table).accepted
    assert judge(CodeInAnswerVerifier(allowed_languages=["text"]), table).accepted


def test_unfenced_code_lines_are_caught_but_prose_is_not() -> None:
    code = "<think>\nLet me write it.\ndef f(n):\n    return n * (n + 1) // 2\nfor i in range(10):\n    print(f(i))\n</think>\n\nThe answer is 45."
    assert judge(CodeInAnswerVerifier(), code).details["kind"] == "code_lines"
    prose = "<think>\nWe import the result from the previous step and for each term in the sum we add one.\n</think>\n\nThe answer is 45."
    assert judge(CodeInAnswerVerifier(), prose).accepted


# --- trivial reasoning -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("<think>\n\n</think>\n\nThe answer is \\boxed{623}.", "empty"),
        ("The answer is \\boxed{623}.", "empty"),
        ("<think>\n345+278=623\n</think>\n\nThe answer is \\boxed{623}.", "too_short"),
        ("<think>\n先算个位。\n</think>\n\n答案是 \\boxed{623}。", "too_short"),
        ("<think>\nThe answer is \\boxed{623}.\n</think>\n\nThe answer is \\boxed{623}.", "restates_answer"),
    ],
)
def test_trivial_reasoning_is_rejected(text: str, kind: str) -> None:
    verdict = judge(TrivialReasoningVerifier(), text)
    assert verdict.reason == "trivial_reasoning" and verdict.details["kind"] == kind


def test_short_real_reasoning_passes_in_cjk_too() -> None:
    assert judge(TrivialReasoningVerifier(), "<think>\n个位五加八得十三，写三进一。\n</think>\n\n答案是 \\boxed{623}。").accepted


# --- final summary -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    ["", "\\boxed{623}", "$\\boxed{623}$", "**Answer:** \\boxed{623}", "**Final Answer**\n\\[\n\\boxed{\\frac{1}{2}}\n\\]"],
)
def test_a_bare_or_empty_answer_is_a_missing_summary(answer: str) -> None:
    verdict = judge(FinalSummaryVerifier(), "<think>\nWe add 345 and 278 digit by digit.\n</think>\n\n" + answer)
    assert verdict.reason == "missing_summary"


@pytest.mark.parametrize(
    "answer",
    ["The answer is \\boxed{623}.", "So $345 + 278 = 623$.", "答案是 \\boxed{623}。", "Ответ: сумма равна \\boxed{623}."],
)
def test_a_one_line_summary_is_enough(answer: str) -> None:
    assert judge(FinalSummaryVerifier(), "<think>\nWe add 345 and 278 digit by digit.\n</think>\n\n" + answer).accepted


def test_an_unclosed_think_block_has_no_summary() -> None:
    verdict = judge(FinalSummaryVerifier(), "<think>\nWe add 345 and 278. The answer is \\boxed{623}.")
    assert verdict.reason == "missing_summary" and verdict.details["think_state"] == "unclosed_think"


def test_summary_threshold_is_tunable() -> None:
    text = "<think>\nWe add 345 and 278 digit by digit.\n</think>\n\n**Answer:** \\boxed{623}"
    assert judge(FinalSummaryVerifier(min_summary_tokens=1), text).accepted
