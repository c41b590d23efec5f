"""Issue 16: tiny and huge magnitudes, phrases, units and currency in boxes, the escaped brace, hostile box counts.

Every case is our own. Each asserts the verdict status and its reason; no case times anything.
"""

from __future__ import annotations

import pytest

from verifiers.math import MathVerifier
from verifiers.math.phrase import phrase_values
from verifiers.types import Completion, Prompt

OK = ("accepted", "")
WRONG = ("rejected", "wrong_answer")
MULTIPLE = ("rejected", "multiple_answers")
AMBIGUOUS = ("rejected", "unparseable_answer")


@pytest.fixture(scope="module", params=["default", "boxed_only"])
def verifier(request):
    v = MathVerifier(timeout_s=20.0, fallbacks=() if request.param == "boxed_only" else ("answer_tag", "final_answer_phrase", "last_math"))
    yield v
    v.close()


def judge(verifier, gold, text):
    return verifier.verify(Prompt("p", ({"role": "user", "content": "q"},), "q", gold), Completion("p", 0, text))


def boxed(answer: str) -> str:
    return f"<think>Work.</think>\nSo the answer is $\\boxed{{{answer}}}$."


MAGNITUDES = [
    # tiny values that differ by orders of magnitude are different values: the tolerance is relative
    ("\\frac{1}{50!}", "\\frac{1}{60!}", WRONG),
    ("\\frac{1}{20!}", "\\frac{1}{21!}", WRONG),
    ("10^{-60}", "10^{-70}", WRONG),
    ("10^{-60}", "2 \\cdot 10^{-60}", WRONG),
    ("0", "10^{-60}", WRONG),
    ("0", "\\frac{1}{50!}", WRONG),
    ("e^{-100}", "e^{-101}", WRONG),
    ("\\frac{1}{2^{100}}", "\\frac{1}{2^{100}+1}", WRONG),
    ("3 \\times 10^{-45}", "3.0000001 \\times 10^{-45}", WRONG),
    ("\\frac{1}{3} \\cdot 10^{-50}", "3.4 \\times 10^{-51}", WRONG),
    # ... and equal values are equal at any magnitude
    ("\\frac{1}{50!}", "\\frac{2}{2 \\cdot 50!}", OK),
    ("10^{-60}", "\\frac{1}{10^{60}}", OK),
    ("\\frac{1}{3} \\cdot 10^{-50}", "3.333333 \\times 10^{-51}", OK),
    ("0", "\\sqrt{3 + 2\\sqrt{2}} - 1 - \\sqrt{2}", OK),  # cancels to no digit in evalf: simplify decides
    # huge values: exact rationals must be identical (60 digits cannot tell 2^200 from 2^200 + 1)
    ("2^{200}", "2^{200} + 1", WRONG),
    ("10^{30}", "10^{30} + 1", WRONG),
    ("100!", "100! + 1", WRONG),
    ("2^{200}", "1606938044258990275541962092341162602522202993782792835301376", OK),
    ("1.5 \\times 10^{30}", "15 \\cdot 10^{29}", OK),
    ("6.02 \\times 10^{23}", "6.02e23", OK),
    ("\\frac{10^{100}}{3}", "3.333333 \\times 10^{99}", OK),
    ("\\frac{10^{100}}{3}", "3.34 \\times 10^{99}", WRONG),
]


@pytest.mark.parametrize("gold, answer, expected", MAGNITUDES)
def test_magnitudes(verifier, gold, answer, expected):
    verdict = judge(verifier, gold, boxed(answer))
    assert (verdict.status, verdict.reason) == expected, verdict


PHRASES = [
    # a short phrase, label, unit or currency around one value: the value is compared
    ("10", "\\text{The number is } 10", OK),
    ("10", "the number is 10", OK),
    ("10", "\\text{Answer: } 10", OK),
    ("10", "Answer: 10", OK),
    ("10", "\\textbf{Answer:} 10", OK),
    ("10", "\\$10", OK),
    ("10", "€ 10", OK),
    ("10", "10 €", OK),
    ("7.5", "£7.50", OK),
    ("500", "\\text{Rs. } 500", OK),
    ("12", "12 \\text{ cm}^2", OK),
    ("10", "\\text{10 apples}", OK),
    ("12", "a total of 12", OK),
    ("7", "x \\text{ is } 7", OK),
    ("\\frac{3}{4}", "\\frac{3}{4} \\text{ of the cake}", OK),
    ("10", "\\text{The length } AB \\text{ is } 10", OK),
    ("10", "\\text{10, that is } 10", OK),
    ("12", "\\text{The number is } 12 \\text{ apples}", OK),
    ("12 apples", "12", OK),  # a reference written as a phrase
    ("\\text{Answer: } 12", "12", OK),
    ("B", "\\text{Answer: B}", OK),
    ("C", "\\text{Option } C", OK),
    # the value is still checked
    ("10", "\\text{The number is } 11", WRONG),
    ("10", "\\$11", WRONG),
    ("12 apples", "13", WRONG),
    # two different values in one box stay two answers
    ("3", "\\text{3 apples and 5 pears}", MULTIPLE),
    ("5", "5 \\text{ hours and } 30 \\text{ minutes}", MULTIPLE),
    ("10", "\\text{between } 9 \\text{ and } 10", AMBIGUOUS),
    # words that change the value's meaning: refused, never read as the value
    ("10", "\\text{not } 10", AMBIGUOUS),
    ("10", "\\text{at least } 10", AMBIGUOUS),
    ("10", "\\text{approximately } 10", AMBIGUOUS),
    ("10", "\\text{less than } 10", AMBIGUOUS),
    ("10", "\\text{no more than } 10", AMBIGUOUS),
    ("10", "10 \\text{ squared}", AMBIGUOUS),
    ("10", "\\text{10 is incorrect}", AMBIGUOUS),
    ("16", "\\text{square root of } 16", AMBIGUOUS),
    ("12", "12 \\text{ square units}", OK),
    ("12", "12 \\text{ sq units}", OK),
    # plain-word answers are not phrases: compared as text, as before
    ("\\text{odd}", "\\text{odd}", OK),
    ("\\text{Evelyn}", "\\text{Evelyn}", OK),
    ("\\text{odd}", "\\text{even}", WRONG),
    # structures with words in their commands are not phrases
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{bmatrix}1\\\\2\\end{bmatrix}", OK),
    ("x = 2", "x = 2", OK),
    ("2\\sin x", "2 \\sin x", OK),
]


@pytest.mark.parametrize("gold, answer, expected", PHRASES)
def test_phrases_units_and_currency_in_boxes(verifier, gold, answer, expected):
    verdict = judge(verifier, gold, boxed(answer))
    assert (verdict.status, verdict.reason) == expected, verdict
    if expected == AMBIGUOUS:
        assert verdict.details["cause"] == "ambiguous_phrase"


def test_an_or_with_a_qualifier_is_not_accepted(verifier):
    verdict = judge(verifier, "10", boxed("10 \\text{ or more}"))
    assert verdict.status == "rejected", verdict


ESCAPED = [
    ("5", "<think>x</think>So $\\boxed{5\\}}$.", OK),  # the box's closing brace written escaped as well
    ("5", "<think>x</think>So $\\boxed{5\\}$.", OK),  # ... or only escaped: the box never closes otherwise
    ("\\frac{1}{2}", "<think>x</think>\\boxed{\\frac{1}{2}\\}}", OK),
    ("5", "<think>x</think>\\boxed{5\\\\}", OK),  # a line break before the box closes
    ("\\{1, 2\\}", "<think>x</think>\\boxed{\\{1, 2\\}}", OK),  # escaped braces of a set are not that edge
    ("6", "<think>x</think>So $\\boxed{5\\}}$.", WRONG),
]


@pytest.mark.parametrize("gold, text, expected", ESCAPED)
def test_escaped_brace_at_the_end_of_a_box(verifier, gold, text, expected):
    verdict = judge(verifier, gold, text)
    assert (verdict.status, verdict.reason) == expected, verdict


def test_an_unclosed_box_with_escaped_braces_inside_is_not_an_answer():
    v = MathVerifier(timeout_s=20.0, fallbacks=())
    try:
        for text in ("<think>x</think>\\boxed{\\{1, 2\\}", "<think>x</think>\\boxed{5\\} and then we go on to the next part"):
            verdict = judge(v, "5", text)
            assert (verdict.status, verdict.reason) == ("rejected", "no_answer"), verdict
    finally:
        v.close()


def test_many_distinct_boxes_are_multiple_answers_and_come_back():
    v = MathVerifier(timeout_s=20.0)
    try:
        text = "<think>x</think>" + " ".join(f"\\boxed{{{i}}}" for i in range(20_000))
        verdict = judge(v, "5", text)
        assert (verdict.status, verdict.reason) == MULTIPLE, verdict
    finally:
        v.close()


def test_a_hostile_answer_part_is_searched_in_the_bounded_child():
    v = MathVerifier(timeout_s=0.5)
    try:
        verdict = judge(v, "5", "<think>x</think>" + "\\( a " * 400_000)  # unclosed openers on one long line
        assert verdict.status == "rejected" and verdict.reason in ("timeout", "no_answer"), verdict
        assert (judge(v, "5", boxed("5")).status) == "accepted"  # the replacement child works
    finally:
        v.close()


@pytest.mark.parametrize("gold, answer, expected", [(g, a, e) for g, a, e in PHRASES[:6] + MAGNITUDES[:4]])
def test_extraction_in_the_child_gives_the_same_verdicts(gold, answer, expected):
    v = MathVerifier(timeout_s=20.0, max_inline_chars=0)
    try:
        verdict = judge(v, gold, boxed(answer))
        assert (verdict.status, verdict.reason) == expected, verdict
    finally:
        v.close()


@pytest.mark.parametrize(
    "text, values",
    [
        ("\\text{The number is } 10", (["10"], "")),
        ("\\text{3 apples and 5 pears}", (["3", "5"], "")),
        ("\\text{not } 10", ([], "ambiguous_phrase")),
        ("\\text{odd}", (["\\text{odd}"], "")),
        ("x = 10", (["x = 10"], "")),
        ("x=2 \\text{ and } y=3", (["x=2", "y=3"], "")),
        ("25 €", (["25"], "")),
    ],
)
def test_phrase_values(text, values):
    assert phrase_values(text) == values


@pytest.mark.parametrize("params", [{"max_inline_chars": -1}, {"max_inline_chars": 10**6}, {"max_inline_chars": 2.5}])
def test_bad_max_inline_chars_is_refused(params):
    with pytest.raises((TypeError, ValueError)):
        MathVerifier.check_params(**params)


def test_version_changed():
    assert MathVerifier.version not in ("1", "2")
