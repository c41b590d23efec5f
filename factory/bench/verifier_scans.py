"""Benchmark: the text scans of the cheap verifiers on hostile completions, at two sizes.

    python -m factory.bench.verifier_scans [--size 120000] [--runs 3]

Each hostile text is one shape that made a scan quadratic or worse before (one long line of `def f()->)->...`, of
`a@a@...` with no space, of unspaced CJK, of unclosed `\\(` or `\\[`, of backticks, ...). For each shape and each
verifier (`format`, the five readability filters, and the prose cut that the language verifier uses) it prints the
median seconds of `verify_batch` on the text at `size` characters and at twice that, and their ratio: about 2 for a
linear scan, about 4 for a quadratic one. A completion longer than `selection.max_completion_chars` never reaches
these scans (it is rejected as `factory:completion_too_large` first), so that limit times these figures is the bound.
"""

from __future__ import annotations

import argparse
import statistics
import time

from verifiers.prose import prose_segments
from verifiers.registry import create_verifier
from verifiers.types import Completion, Prompt, chat

SHAPES = {
    "def_arrow_line": lambda n: "<think>\nx\n</think>\ndef f(" + ")->" * (n // 3),
    "at_signs_unspaced": lambda n: "<think>\n" + "a@" * (n // 2) + "\n</think>\nok",
    "backticks_unspaced": lambda n: "<think>\n" + "`a" * (n // 2) + "\n</think>\nok",
    "dollars_unspaced": lambda n: "<think>\n" + "$a" * (n // 2) + "\n</think>\nok",
    "cjk_unspaced": lambda n: "<think>\n" + "数学题" * (n // 3) + "\n</think>\nok",
    "unclosed_paren_math": lambda n: "<think>\n" + "\\(a " * (n // 4) + "\n</think>\nok",
    "unclosed_bracket_math": lambda n: "<think>\n" + "\\[a " * (n // 4) + "\n</think>\nok",
    "begin_environments": lambda n: "<think>\n" + "\\begin{a}" * (n // 9) + "\n</think>\nok",
    "fence_lines": lambda n: "<think>\n" + "```x\n" * (n // 5) + "</think>\nok",
    "word_loop": lambda n: "<think>\n" + "so " * (n // 3) + "\n</think>\nok",
    "short_lines": lambda n: "<think>\n" + "ab\n" * (n // 3) + "\n</think>\nok",
    "think_tags": lambda n: "<think>" * (n // 7) + "</think>",
    "open_boxes": lambda n: "<think>\nx\n</think>\n" + "\\boxed{" * (n // 7),
}
VERIFIERS = ["format", "repetition", "paragraph_length", "code_in_answer", "trivial_reasoning", "final_summary"]


def _seconds(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=120_000, help="characters of the smaller text")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is printed)")
    args = parser.parse_args()
    prompt = Prompt("p", chat(None, "q"), "q", "1")
    verifiers = [create_verifier(name) for name in VERIFIERS]
    names = VERIFIERS + ["prose_cut"]
    print(f"median seconds at {args.size} / {2 * args.size} characters (ratio), {args.runs} runs")
    print(f"{'shape':24s}" + "".join(f"{name:>26s}" for name in names))
    for shape, make in SHAPES.items():
        cells = []
        for index, name in enumerate(names):
            figures = []
            for size in (args.size, 2 * args.size):
                text = make(size)
                if name == "prose_cut":
                    call = lambda t=text: prose_segments(t, "reasoning", min_letters=16, max_letters=300,  # noqa: E731
                                                         max_chars=len(t))
                else:
                    call = lambda t=text, v=verifiers[index]: v.verify_batch(prompt, [Completion("p", 0, t)])  # noqa
                figures.append(_seconds(call, args.runs))
            ratio = figures[1] / figures[0] if figures[0] > 1e-4 else float("nan")
            cells.append(f"{figures[0]:.3f}/{figures[1]:.3f} ({ratio:.1f})")
        print(f"{shape:24s}" + "".join(f"{cell:>26s}" for cell in cells))


if __name__ == "__main__":
    main()
