"""The `choice` verifier on rows of our own in the public formats of MMLU-Pro (TIGER-Lab/MMLU-Pro: options list,
answer letter, answer_index), SuperGPQA (m-a-p/SuperGPQA: options list, answer text, answer_letter) and GPQA
(Idavidrein/gpqa CSV: Correct Answer, Incorrect Answer 1-3), answered the way their public evaluations ask
("The answer is (X)", "Answer: X", "Answer: $LETTER") and the ways models stray from it. Each case says whether
it is right (accepted) or which reason it must get; `split` cuts them into a tuning half and a held-out half.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifiers.choice import ChoiceVerifier
from verifiers.registry import create_verifier
from verifiers.types import Completion, Prompt

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "choice_cases.jsonl").open()]
GPQA_ORDER = ["Incorrect Answer 1", "Correct Answer", "Incorrect Answer 2", "Incorrect Answer 3"]


def prompt_of(fmt: str, row: dict) -> tuple[ChoiceVerifier, Prompt]:
    """The verifier settings and the prompt a recipe would build from one row of the format."""
    if fmt == "mmlu_pro":
        return ChoiceVerifier(), Prompt(str(row["question_id"]), (), row["question"], row["answer"],
                                        metadata={"options": row["options"]})
    if fmt == "supergpqa":
        return ChoiceVerifier(), Prompt(row["uuid"], (), row["question"], row["answer"],
                                        metadata={"options": row["options"]})
    assert fmt == "gpqa"
    return ChoiceVerifier(options_key=GPQA_ORDER), Prompt("g", (), row["Question"], row["Correct Answer"],
                                                          metadata={k: row[k] for k in GPQA_ORDER})


def outcome(case: dict) -> str:
    verifier, prompt = prompt_of(case["format"], case["row"])
    verdict = verifier.verify(prompt, Completion(prompt.prompt_id, 0, "<think>\nwork\n</think>\n\n" + case["answer"]))
    return "accepted" if verdict.accepted else verdict.reason


@pytest.mark.parametrize("split", ["tuning", "held_out"])
def test_cases_of_each_half(split):
    cases = [c for c in CASES if c["split"] == split]
    assert {c["format"] for c in cases} == {"mmlu_pro", "supergpqa", "gpqa"}
    # both directions: right answers accepted and wrong or hedged ones rejected, in every half
    assert {c["expect"] for c in cases} >= {"accepted", "wrong_answer", "multiple_answers"}
    failures = [(c["format"], c["note"], c["answer"], c["expect"], outcome(c)) for c in cases
                if outcome(c) != c["expect"]]
    assert not failures, failures


def test_gold_as_index_letter_or_text_names_the_same_option():
    row = next(c["row"] for c in CASES if c["format"] == "mmlu_pro")
    verifier = create_verifier("choice", {})
    answer = Completion("p", 0, "<think>x</think>The answer is (C).")
    for gold in ("C", "(C)", 2, row["options"][2]):
        prompt = Prompt("p", (), row["question"], gold, metadata={"options": row["options"]})
        assert verifier.verify(prompt, answer).accepted, gold
    one_based = ChoiceVerifier(index_base=1)
    assert not one_based.verify(Prompt("p", (), "q", 2, metadata={"options": row["options"]}), answer).accepted


def test_options_given_as_json_text_or_mapping():
    answer = Completion("p", 0, "<think>x</think>\\boxed{Thymine}")
    for options in (json.dumps(["Guanine", "Thymine"]), {"A": "Guanine", "B": "Thymine"}):
        verdict = ChoiceVerifier().verify(Prompt("p", (), "q", "B", metadata={"options": options}), answer)
        assert verdict.accepted and verdict.details["answer"] == "B"


def test_unverifiable_gold_and_letters_out_of_range():
    options = {"options": ["x", "y", "z"]}
    verifier = ChoiceVerifier()
    for gold in ("F", "not an option", 7, None, True):
        prompt = Prompt("p", (), "q", gold, metadata=options)
        assert verifier.check_gold(prompt) == "unverifiable_gold"
        assert verifier.verify(prompt, Completion("p", 0, "</think>A")).status == "unverifiable"
    # a letter past the prompt's options is no choice at all
    verdict = verifier.verify(Prompt("p", (), "q", "A", metadata=options), Completion("p", 0, "</think>\\boxed{E}"))
    assert verdict.reason == "unparseable_answer"


def test_without_options_letters_only():
    verifier = ChoiceVerifier()
    prompt = Prompt("p", (), "q", "D")
    assert verifier.verify(prompt, Completion("p", 0, "</think>The answer is D.")).accepted
    assert verifier.verify(prompt, Completion("p", 0, "</think>the answer is: B")).reason == "wrong_answer"
    assert verifier.verify(prompt, Completion("p", 0, "<think>The answer is D")).reason == "no_answer"  # unclosed


def test_bad_parameters_raise():
    with pytest.raises(ValueError):
        ChoiceVerifier(index_base=2)
    with pytest.raises(ValueError):
        ChoiceVerifier(max_letters=40)
    with pytest.raises(TypeError):
        ChoiceVerifier(options_key=[])
