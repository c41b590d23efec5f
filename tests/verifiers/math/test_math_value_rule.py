"""The value rule, calculator notation, equations and solution sets (issue 21).

Cases are written after public graders' test suites (STACK's AlgEquiv answer tests, maths/moodle-qtype_stack
doc/en/Authoring/Answer_Tests/Results/AlgEquiv.md; QwenLM/Qwen2.5-Math evaluation/grader.py; hendrycks/math
modeling/math_equivalence_test.py; GSM8K's `####` format) with our own values, and the word-in-box probes of the
issue. Each asserts the verdict and its reason; the must-fail cases are the ones a false accept would poison.
"""

from __future__ import annotations

import pytest

from verifiers.types import Completion, Prompt
from verifiers.math import MathVerifier

from factory.bench.math_eval import load_rows


@pytest.fixture(scope="module")
def verifier():
    v = MathVerifier(timeout_s=20.0)  # generous: the machine is shared
    yield v
    v.close()


def judge(verifier, gold, answer):
    text = answer if "\\boxed" in answer or "####" in answer else f"\\boxed{{{answer}}}"
    v = verifier.verify(Prompt("p", (), "q", gold), Completion("p", 0, "</think>" + text))
    return v.status, v.reason


OK = ("accepted", "")
WRONG = ("rejected", "wrong_answer")
UNREADABLE = ("rejected", "unparseable_answer")
MULTIPLE = ("rejected", "multiple_answers")

VALUE_RULE = [
    # a known function is evaluated: never its argument
    ("13", "sqrt(13)", WRONG), ("-7", "abs(-7)", WRONG), ("4.5", "floor(4.5)", WRONG), ("3.2", "ceil(3.2)", WRONG),
    ("x<3", "abs(x)<3", WRONG), ("9", "round(9.6)", WRONG), ("5", "sign(5)", WRONG), ("27", "cbrt(27)", WRONG),
    ("7", "abs(-7)", OK), ("4", "floor(4.5)", OK), ("10", "round(9.6)", OK), ("3", "cbrt(27)", OK),
    ("-1", "signum(-4)", OK), ("6", "sqrt 36", OK), ("12", "max(12, 5)", OK), ("5", "min(12, 5)", OK),
    ("6", "gcd(18, 24)", OK), ("72", "lcm(18, 24)", OK), ("120", "factorial(5)", OK), ("10", "binomial(5, 2)", OK),
    ("1", "log(e)", OK), ("3", "log(8, 2)", OK), ("2", "ln(e^2)", OK), ("-3", "-3 < x", WRONG),
    ("9", "\\text{abs}(-9)", OK), ("9", "\\operatorname{abs}(-9)", OK), ("9", "\\mathrm{sqrt}(81)", OK),
    # an unknown name applied to a value has no value
    ("18", "total(18)", ("rejected", "unparseable_answer")), ("18", "\\operatorname{foo}(18)", UNREADABLE),
    ("18", "\\text{num}(18)", UNREADABLE), ("18", "\\mathrm{cnt}(18)", UNREADABLE), ("18", "mod(18)", UNREADABLE),
    # words that scale, bound, negate or hedge, wherever they stand
    ("12", "half of 12", UNREADABLE), ("12", "twice 12", UNREADABLE), ("12", "at least 12", UNREADABLE),
    ("12", "\\text{not } 12", UNREADABLE), ("12", "about 12", UNREADABLE), ("12", "negative 12", UNREADABLE),
    ("12", "12 \\text{ or more}", UNREADABLE), ("-12", "negative 12", UNREADABLE),
    # words around the whole value are labels, units, currency
    ("12", "\\text{The answer is } 12", OK), ("12", "12 \\text{ cm}", OK), ("12", "\\$12", OK),
    ("12", "\\text{Answer: }12", OK),
]

CALCULATOR = [
    ("\\sqrt{x}", "x^(1/2)", OK), ("2\\sqrt{3}", "sqrt(12)", OK), ("1", "cos(x)^2+sin(x)^2", OK),
    ("\\cos(2x)", "2*cos(x)^2-1", OK), ("x^{1/5}", "x^(0.2)", OK), ("3^{-x}", "3^-x", OK),
    ("\\frac{a}{b}", "a*b^-1", OK), ("e^{x+1}", "e^(x+1)", OK), ("(x+1)^2", "x**2+2x+1", OK),
    ("\\pi", "pi", OK), ("\\infty", "oo", OK), ("\\infty", "inf", OK), ("x^2+2x", "x^2+2*x+1", WRONG),
    ("\\frac{1}{2}", "4^(-1/2)", OK), ("2\\sqrt{2}", "2^(3/2)", OK), ("2", "2^(3/2)", WRONG),
    ("\\frac{e^x}{2}", "e^x/2", OK), ("3 \\pm \\sqrt{2}", "3+-sqrt(2)", OK),
]

EQUATIONS = [
    ("x=y", "y=x", OK), ("y=x", "2y=2x", OK), ("x+y=1", "y=1-x", OK), ("x=2", "x=1", WRONG), ("y=2x+1", "y=2x-1", WRONG),
    ("x^2=4", "x=2 \\text{ or } x=-2", OK), ("x^2=4", "x=\\pm 2", OK), ("x^2=4", "\\{2,-2\\}", OK), ("x^2=4", "2, -2", OK),
    ("x^2=9", "x=3", WRONG), ("x^2=9", "x=3 \\text{ or } x=-2", WRONG), ("2, -2", "x=2 or x=-2", OK),
    ("\\{2, -2\\}", "x=2 \\text{ and } x=-2", OK), ("x^2-5x+6=0", "x=2 or x=3", OK), ("x=2 or x=3", "x^2-5x+6=0", OK),
    ("x>2 or x<-2", "x^2>4", OK), ("-2<x<2", "x^2<4", OK), ("x<2 and x>-2", "x^2<4", OK), ("x>2 or x<-2", "x^2<4", WRONG),
    ("3", "x=3", OK), ("3", "x=3 or x=-3", MULTIPLE), ("3", "\\boxed{3} or \\boxed{4}", MULTIPLE),
    ("3, 4", "3 and 4", OK), ("3, 4", "3 or 4", OK), ("3, 4", "3, 5", WRONG),
]

GOLDS = [
    ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18", OK),
    ("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "9", WRONG),
    ("sqrt(12)", "2\\sqrt{3}", OK), ("abs(-5)", "5", OK), ("x^2=4", "x=\\pm 2", OK),
    ("18", "So the total is:\n#### 18", OK),
]


# power towers and huge factorials in plain-text notation are read unevaluated (never computed in full)
HUGE = [("1", "9^9^9", WRONG), ("1", "9**9**9", WRONG), ("1", "factorial(100000)", WRONG), ("16", "2^(2^2)", OK)]


@pytest.mark.parametrize("gold, answer, expected", VALUE_RULE + CALCULATOR + EQUATIONS + GOLDS + HUGE)
def test_verdicts(verifier, gold, answer, expected):
    assert judge(verifier, gold, answer) == expected


@pytest.mark.parametrize("gold", ["total(18)", "half of 12", "\\operatorname{foo}(3)"])
def test_a_gold_the_verifier_cannot_read_is_unverifiable(verifier, gold):
    assert judge(verifier, gold, "18") == ("unverifiable", "unverifiable_gold")


def test_evaluation_sets_are_well_formed():
    rows = load_rows()
    assert {r["set"] for r in rows} == {"older", "calculator", "probes"}
    assert all(r["half"] in ("tune", "heldout") and isinstance(r["label"], bool) and r["source"] for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)
    for name in ("older", "calculator", "probes"):  # both halves and both labels in every set
        halves = {(r["half"], r["label"]) for r in rows if r["set"] == name}
        assert halves == {("tune", True), ("tune", False), ("heldout", True), ("heldout", False)}


def test_a_malformed_evaluation_row_is_refused_naming_file_line_and_field(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "set": "x"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: line 1: missing field 'source'"):
        load_rows(tmp_path)
