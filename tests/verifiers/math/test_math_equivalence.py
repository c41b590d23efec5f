"""Equivalence cases for MathVerifier: each pair is judged through the public interface (a boxed answer after
`</think>`), and pairs whose equivalence is symmetric are checked in both directions."""

from __future__ import annotations

import pytest

from verifiers.types import Completion, Prompt
from verifiers.math import MathVerifier


@pytest.fixture(scope="module")
def verifier():
    v = MathVerifier(timeout_s=20.0)  # generous: the machine is shared; timing is the benchmark's job
    yield v
    v.close()


def judge(verifier: MathVerifier, gold, answer: str):
    prompt = Prompt("p", ({"role": "user", "content": "q"},), "q", gold)
    return verifier.verify(prompt, Completion("p", 0, f"<think>work</think>The answer is $\\boxed{{{answer}}}$."))


# Equal in both directions.
EQUIVALENT = [
    # integers, decimals, fractions (fast path)
    ("42", "42"), ("-5", "-5"), ("0", "0"), ("0.5", r"\frac{1}{2}"), ("0.75", r"\frac{3}{4}"), ("0.75", r"\frac{6}{8}"),
    (r"\frac{3}{4}", r"\dfrac{3}{4}"), (r"\frac{3}{4}", r"\tfrac{6}{8}"), ("3/4", r"\frac{3}{4}"), ("-3/4", r"-\frac{3}{4}"),
    (r"-\frac{3}{4}", r"\frac{-3}{4}"), ("1.50", "1.5"), ("2", "2.0"), (".5", "0.5"), ("1000", "1,000"), ("1000000", "1{,}000{,}000"),
    ("1000000", r"1\,000\,000"), ("7425000", "7,425,000"), ("1500", "1.5e3"), ("1500", r"1.5 \times 10^{3}"), ("0.0001", r"1 \cdot 10^{-4}"),
    (r"\frac{5}{2}", r"2\frac{1}{2}"), ("2.5", r"2\frac{1}{2}"), (r"\frac{1}{3}", "0.3333333"), (r"\frac{2}{3}", "0.666667"),
    ("12", r"12\text{ cm}"), ("12", r"12 \text{ dollars}"), ("5", r"5\text{ m}^2"), ("90", r"90^\circ"), ("90", r"90^{\circ}"),
    ("100", r"\$100"), ("7", "7."), ("1000.99", r"\$1,000.99"),
    # surds, constants and expressions
    (r"\sqrt{8}", r"2\sqrt{2}"), (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"), (r"\sqrt{2}", "1.4142136"), (r"\pi", "3.14159265"),
    (r"1-\frac{1}{e}", r"\frac{e-1}{e}"), (r"2\pi", r"\pi \cdot 2"), (r"\frac{\pi}{6}", r"\pi/6"), (r"3\sqrt{3}", r"\sqrt{27}"),
    (r"\sin(\pi/6)", r"\frac{1}{2}"), (r"\log_2 8", "3"), (r"\ln(e^2)", "2"), ("5!", "120"), (r"\binom{5}{2}", "10"),
    (r"2^{10}", "1024"), (r"\sqrt[3]{27}", "3"), (r"\left(\frac{1}{2}\right)^2", r"\frac{1}{4}"), (r"e^{i\pi}", "-1"),
    (r"\frac{1+\sqrt{5}}{2}", r"\frac{1}{2}+\frac{\sqrt{5}}{2}"), (r"\cos^2 x + \sin^2 x", "1"), (r"\infty", r"\infty"),
    (r"-\infty", r"-\infty"), ("10^{100}", "10^{100}"),
    # algebra with variables
    ("x^2+2x+1", "(x+1)^2"), ("2x+2", "2(x+1)"), (r"\frac{x^2-1}{x-1}", "x+1"), ("a^2-b^2", "(a-b)(a+b)"), ("x^2", "x**2"),
    (r"\sqrt{x^2}", "|x|"), ("3x", "x+x+x"), (r"\frac{1}{x}+\frac{1}{y}", r"\frac{x+y}{xy}"), ("2^{x+1}", r"2\cdot 2^x"),
    # complex numbers
    ("3+4i", "4i+3"), ("i", r"\sqrt{-1}"), ("(1+i)^2", "2i"), ("-i", r"\frac{1}{i}"),
    # tuples, sets, intervals, lists
    ("(1,2)", r"\left( 1, 2 \right)"), ("(3, -1)", "(3,-1)"), (r"(3,\frac{\pi}{2})", r"\left(3, \frac{\pi}{2}\right)"),
    (r"\{1,2,3\}", r"\{3,1,2\}"), (r"\{1,2\}", r"\left\{2, 1\right\}"), ("[1,2)", "[1, 2)"), ("(1,2]", r"\left(1,2\right]"),
    (r"[3,\infty)", r"[3, \infty)"), (r"(-\infty,1)\cup(2,\infty)", r"(-\infty, 1) \cup (2, \infty)"), ("1,2,3", "3,2,1"),
    ("1, 2", "2 and 1"), ("(1,2),(3,4)", "(3,4),(1,2)"), ("(1,2,3)", r"\left(1,2,3\right)"), (r"\emptyset", r"\{\}"),
    (r"3\pm\sqrt{2}", r"3+\sqrt{2}, 3-\sqrt{2}"), (r"\pm 2", "2, -2"), (r"\frac{-1\pm\sqrt{5}}{2}", r"\frac{-1+\sqrt{5}}{2}, \frac{-1-\sqrt{5}}{2}"),
    # relations and equations
    ("x\\ge 3", "3 \\le x"), ("x > 3", "3 < x"), ("y=2x+1", "y = 1 + 2x"), ("2x+3y=6", "y = 2 - \\frac{2x}{3}"),
    ("x=3", "x = 3"), (r"x \le -1", r"-1 \geq x"), ("(1,2)", "1 < x < 2"), (r"[3,\infty)", r"x \geq 3"), (r"(-\infty, 5)", "x < 5"),
    # matrices
    (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\begin{bmatrix}1\\2\end{bmatrix}"),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}"),
    (r"\begin{pmatrix}\frac{1}{2}&0\\0&1\end{pmatrix}", r"\begin{pmatrix}0.5&0\\0&1\end{pmatrix}"),
    (r"\begin{pmatrix}1\\2\\3\end{pmatrix}", "(1,2,3)"),
    # percentages
    (r"28\%", "28"), (r"28\%", r"28\%"), (r"12.5\%", r"\frac{25}{2}\%"),
    # text and multiple choice
    (r"\text{Evelyn}", "Evelyn"), (r"\text{even}", r"\textbf{even}"), (r"\text{No solution}", r"\text{no solution}"),
]

# Wrong in both directions.
NOT_EQUIVALENT = [
    ("42", "43"), ("-5", "5"), ("0", "1"), ("1000000", "1000001"), (r"\frac{1}{3}", "0.33"), (r"\frac{1}{3}", "0.333"),
    ("0.5", "0.500001"), ("0.5", "0.51"), (r"\frac{3}{4}", r"\frac{4}{3}"), ("1500", "1.5e4"), ("2.5", r"2\cdot\frac{1}{2}"),
    (r"1-\frac{1}{e}", r"1+\frac{1}{e}"), (r"\sqrt{2}", "1.414"), (r"\pi", "3.14"), (r"\pi", r"\frac{22}{7}"), (r"\sqrt{8}", r"3\sqrt{2}"),
    (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}"), (r"2\pi", r"\pi"), (r"e^2", r"2e"), (r"\log_2 8", "2"), ("x+1", "y+1"), ("x^2+1", "(x+1)^2"),
    ("2x", "x^2"), (r"\frac{1}{x}", "x"), ("3+4i", "3-4i"), ("i", "1"), ("(1,2)", "(2,1)"), ("(1,2)", "(1,2,3)"), (r"\{1,2\}", r"\{1,3\}"),
    ("[1,2)", "(1,2)"), ("[1,2)", "[1,2]"), ("(1,2]", "[1,2)"), (r"[3,\infty)", r"(3,\infty)"), ("1,2,3", "1,2"), ("1,2,3", "1,2,4"),
    (r"(-\infty,1)\cup(2,\infty)", r"(-\infty,1]\cup(2,\infty)"), (r"\infty", r"-\infty"), ("x>3", "x<3"), ("x > 3", "x \\ge 3"),
    ("y=2x+1", "y=2x-1"), ("x=3", "y=3"), (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&3\\2&4\end{pmatrix}"),
    (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\begin{pmatrix}1\\2\\3\end{pmatrix}"), (r"\text{Evelyn}", r"\text{Bob}"),
    (r"\text{even}", r"\text{odd}"), ("12", "120"), ("3", r"\sqrt{3}"), (r"10^{10}", r"10^{11}"), ("2", r"\sqrt[3]{8}+1"),
    ("0.1", "0.01"),
]

# (gold, boxed answer): accepted only in this direction; the reverse is a different question.
ONE_WAY_ACCEPTED = [
    ("3", "x = 3"), ("3", "x=1+2=3"), ("x=3", "3"), (r"\frac{1}{3}", r"x = \frac{1}{3} \approx 0.33"), ("11", r"x \approx 11"),
    (r"28\%", "0.28"), ("0.28", r"28\%"), ("5", r"5\text{ units}"), ("1000", "1,000 students"), ("A", "A"), ("B", "(B)"),
    ("C", r"\text{(C)}"), (r"\text{(D)}", "D"), ("E", r"\textbf{(E)} 12"), ("2", r"\{2\}"), ("4, 5", r"AB=4, CD=5"),
    (r"\frac{1}{\sqrt{6}}", r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}"), ("7:32", "7:32"), ("12:00", "12:00"),
    (r"(37,3,3,13),(17,3,3,7)", r"(17,3,3,7), (37,3,3,13), (17, 3, 3, 7)"),
    (r"\frac{1}{2}", r"\frac12"), (r"\sqrt{3}", r"\sqrt3"), (r"\text{A, C}", r"\text{C, A}"), ("f(x)=2x", "2x"),
    (r"k \le 2", r"(-\infty, 2]"), (r"x \in [-2,7]", "[-2,7]"), ("0", "-0"), (r"\frac{1}{4}", r"25\%"), (r"\text{Sunday}", "Sunday"),
    ("24", r"24 \mbox{ inches}"), ("2000", "2,000.00"), ("(-1,1]", r"-1 < x \le 1"), (r"\$18.90", "18.9"),
]

ONE_WAY_REJECTED = [
    ("0.28", "28"), ("28", "0.28"), ("A", "B"), ("B", r"\text{(C)} 12"), ("12:00", "1:00"), ("2", r"\{2, 3\}"), ("(1,3)", r"\{3,1\}"),
    ("3", "x > 3"), ("x=3", "x=4"), ("4", "4.0000001"), (r"\text{Sunday}", r"\text{Monday}"), ("x+1", "f(x)=x"),
]


@pytest.mark.parametrize("gold,answer", EQUIVALENT + [(b, a) for a, b in EQUIVALENT])
def test_equivalent_answers_are_accepted(verifier, gold, answer):
    verdict = judge(verifier, gold, answer)
    assert verdict.status == "accepted", (gold, answer, verdict)


@pytest.mark.parametrize("gold,answer", NOT_EQUIVALENT + [(b, a) for a, b in NOT_EQUIVALENT])
def test_different_answers_are_wrong(verifier, gold, answer):
    verdict = judge(verifier, gold, answer)
    assert (verdict.status, verdict.reason) == ("rejected", "wrong_answer"), (gold, answer, verdict)


@pytest.mark.parametrize("gold,answer", ONE_WAY_ACCEPTED)
def test_one_way_accepted(verifier, gold, answer):
    verdict = judge(verifier, gold, answer)
    assert verdict.status == "accepted", (gold, answer, verdict)


@pytest.mark.parametrize("gold,answer", ONE_WAY_REJECTED)
def test_one_way_rejected(verifier, gold, answer):
    verdict = judge(verifier, gold, answer)
    assert (verdict.status, verdict.reason) == ("rejected", "wrong_answer"), (gold, answer, verdict)


@pytest.mark.parametrize("gold,answer,accepted", [(7, "7", True), (7, "7.0", True), (0.5, r"\frac12", True), (0.75, "3/4", True),
                                                  (3, "4", False), (2.5, "2.4", False)])
def test_numeric_gold_from_a_dataset(verifier, gold, answer, accepted):
    assert judge(verifier, gold, answer).accepted is accepted


def test_sympy_is_only_used_when_needed():
    with MathVerifier() as v:
        for gold, answer in [("3/4", r"\frac{6}{8}"), ("0.75", r"\frac{3}{4}"), ("12", "12"), ("12", "13"), ("B", "(B)")]:
            judge(v, gold, answer)
        assert v._runner is None  # plain numbers and choices never start the child (the no-sympy fast path)
        assert judge(v, r"\sqrt{2}", r"\frac{2}{\sqrt{2}}").accepted
        assert v._runner is not None
