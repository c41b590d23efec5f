"""Benchmark: MathVerifier against math-verify on the same labelled completions.

    python -m factory.bench.math_verifier [--n 2000] [--seed 0] [--timeout 5]

Builds a deterministic, labelled set of R1-style completions (`<think>...</think>` then a boxed answer): plain
integers, fractions and decimals (the bulk of real math data), surds and constants, expressions, and structured
answers (tuples, sets, intervals, matrices, equations, hedges), each with a correct or a wrong answer whose label
is known by construction. Both graders see the same answer part (the text after `</think>`; math-verify does
not know think blocks). Prints, for each grader: accuracy against the labels, false accepts, samples/s on one
core (the graders run one sample at a time; MathVerifier's child only works while the parent waits), p50/p99
latency; then the agreement of the two. math-verify comes from the `bench` extra and is imported only here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from fractions import Fraction
from typing import Callable

from verifiers.types import Completion, Prompt, split_think

# Structured and symbolic cases: (gold, answer, equal?). Hand-written, labels checked by hand.
_STRUCTURED = [
    (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", True), (r"2\sqrt{2}", r"\sqrt{8}", True), (r"\sqrt{8}", r"3\sqrt{2}", False),
    (r"1-\frac{1}{e}", r"1+\frac{1}{e}", False), (r"1-\frac{1}{e}", r"\frac{e-1}{e}", True), (r"\pi", "3.14", False),
    (r"\frac{\pi}{6}", r"\pi/6", True), ("x^2+2x+1", "(x+1)^2", True), ("x^2+1", "(x+1)^2", False), ("3+4i", "4i+3", True),
    ("3+4i", "3-4i", False), ("(1,2)", r"\left(1, 2\right)", True), ("(1,2)", "(2,1)", False), (r"\{1,2,3\}", r"\{3,2,1\}", True),
    ("[1,2)", "(1,2)", False), (r"[3,\infty)", r"x \ge 3", True), (r"(-\infty,1)\cup(2,\infty)", r"(-\infty,1)\cup(2,\infty)", True),
    ("x=3", "3", True), ("y=2x+1", "y=2x-1", False), (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", True),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&3\\2&4\end{pmatrix}", False), (r"28\%", "28", True),
    (r"\text{Evelyn}", r"\text{Evelyn}", True), (r"3\pm\sqrt{2}", r"3+\sqrt{2}, 3-\sqrt{2}", True), ("5", r"3 \text{ or } 5", False),
    (r"\sin(\pi/6)", r"\frac{1}{2}", True), (r"\log_2 8", "3", True), ("5!", "120", True), (r"e^2", "2e", False),
    (r"\frac{1}{3}", "0.333", False), (r"\frac{1}{3}", "0.3333333", True), ("1000000", "1000001", False),
    # tiny and huge magnitudes, phrases, units and currency in boxes, the escaped brace (issue 16)
    (r"\frac{1}{50!}", r"\frac{1}{60!}", False), ("10^{-60}", r"2 \cdot 10^{-60}", False), ("0", "10^{-60}", False),
    (r"\frac{1}{50!}", r"\frac{2}{2 \cdot 50!}", True), ("2^{200}", "2^{200}+1", False), ("10^{30}", "10^{30}", True),
    ("10", r"\text{the number is } 10", True), ("10", r"\text{Answer: } 10", True), ("25", "25 €", True),
    ("12", r"12 \text{ cm}^2", True), ("10", r"\text{not } 10", False), ("3", r"\text{3 apples and 5 pears}", False),
    ("5", "5\\}", True), ("6", "5\\}", False),
]


def build_cases(n: int, seed: int) -> list[tuple[str, str, bool]]:
    """`n` labelled (gold, completion text, correct?) triples: 65% numeric, 15% surds, 20% structured."""
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        kind = rng.random()
        correct = rng.random() < 0.6
        if kind < 0.65:
            gold, answer = _numeric(rng, correct)
        elif kind < 0.8:
            gold, answer = _surd(rng, correct)
        else:
            gold, answer, correct = rng.choice(_STRUCTURED)
        reasoning = "Let me work this out step by step. " * rng.randint(5, 40)
        cases.append((gold, f"<think>{reasoning}</think>\nSo the answer is $\\boxed{{{answer}}}$.", correct))
    return cases


def _numeric(rng: random.Random, correct: bool) -> tuple[str, str]:
    form = rng.random()
    if form < 0.5:
        value = rng.randint(-50, 5000)
        wrong = value + rng.choice([-2, -1, 1, 10])
        return str(value), str(value if correct else wrong)
    num, den = rng.randint(1, 40), rng.randint(2, 12)
    value = Fraction(num, den)
    shown = value if correct else value + Fraction(1, den)
    k = rng.randint(1, 3)
    if form < 0.8 or shown.denominator not in (2, 4, 5, 8, 10, 20, 25):
        return f"\\frac{{{num}}}{{{den}}}", f"\\frac{{{shown.numerator * k}}}{{{shown.denominator * k}}}"
    return f"\\frac{{{num}}}{{{den}}}", str(float(shown))


def _surd(rng: random.Random, correct: bool) -> tuple[str, str]:
    a, m = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
    inside = a * a * m if correct else (a * a + 1) * m
    return f"{a}\\sqrt{{{m}}}", f"\\sqrt{{{inside}}}"


def run(name: str, grade: Callable[[str, str], bool], cases: list[tuple[str, str, bool]]) -> dict:
    for gold, text, _ in cases[:20]:  # warm-up: imports, the child process, caches of code paths
        grade(gold, text)
    verdicts, latencies = [], []
    start = time.perf_counter()
    for gold, text, _ in cases:
        t0 = time.perf_counter()
        verdicts.append(grade(gold, text))
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    labels = [c for _, _, c in cases]
    latencies.sort()
    return {
        "name": name,
        "verdicts": verdicts,
        "accuracy": sum(v == c for v, c in zip(verdicts, labels)) / len(cases),
        "false_accepts": sum(v and not c for v, c in zip(verdicts, labels)),
        "false_rejects": sum(c and not v for v, c in zip(verdicts, labels)),
        "samples_per_s": len(cases) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def ours(timeout_s: float, fast_path: bool = True) -> tuple[Callable[[str, str], bool], Callable[[], None]]:
    from verifiers.math import MathVerifier

    verifier = MathVerifier(timeout_s=timeout_s, fast_path=fast_path)

    def grade(gold: str, text: str) -> bool:
        return verifier.verify(Prompt("b", (), "", gold), Completion("b", 0, text)).accepted

    return grade, verifier.close


def math_verify(timeout_s: float) -> Callable[[str, str], bool]:
    from math_verify import parse, verify  # the `bench` extra

    def grade(gold: str, text: str) -> bool:
        answer = split_think(text).answer
        return bool(verify(parse(f"${gold}$", parsing_timeout=int(timeout_s)), parse(answer, parsing_timeout=int(timeout_s)),
                           timeout_seconds=int(timeout_s)))

    return grade


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="number of labelled completions")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated set")
    ap.add_argument("--timeout", type=float, default=5.0, help="per-verification bound given to both graders")
    ap.add_argument("--no-fast-path", action="store_true", help="send every answer through sympy (worst case)")
    args = ap.parse_args(argv)

    cases = build_cases(args.n, args.seed)
    grade, close = ours(args.timeout, fast_path=not args.no_fast_path)
    try:
        results = [run("MathVerifier", grade, cases)]
    finally:
        close()
    try:
        results.append(run("math-verify", math_verify(args.timeout), cases))
    except ImportError:
        print("math-verify is not installed (pip install '.[bench]'); only MathVerifier was measured")

    print(f"{len(cases)} labelled completions (seed {args.seed}), {sum(c for _, _, c in cases)} correct")
    print(f"{'grader':14} {'accuracy':>9} {'false acc':>9} {'false rej':>9} {'samples/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['name']:14} {r['accuracy']:9.4f} {r['false_accepts']:9d} {r['false_rejects']:9d} "
              f"{r['samples_per_s']:10.1f} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f}")
    if len(results) == 2:
        a, b = results[0]["verdicts"], results[1]["verdicts"]
        print(f"agreement: {sum(x == y for x, y in zip(a, b)) / len(a):.4f}; "
              f"throughput ratio: {results[0]['samples_per_s'] / results[1]['samples_per_s']:.2f}x")


if __name__ == "__main__":
    main()
