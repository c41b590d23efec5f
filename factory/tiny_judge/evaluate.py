"""Score the shipped tiny judge on its held-out pairs, through vLLM, as the judge stage asks it.

`nice -n 10 python -m factory.tiny_judge.evaluate` reads `data/judge/tiny-judge-heldout.jsonl` (pairs never
trained on, written by `train`), asks `data/models/tiny-judge` about each pair in both orders with the `tiny-judge` recipe's
judge settings (its own template, strict parsing of the reply after its think block), and compares the outcome (equivalent only
when both orders say so) with:
- the math verifier (`MathVerifier`, the reference as gold, the answer boxed), on the pairs it reads: every pair
  without number words (the rules read "three quarters" as symbols and call it wrong, so there the verifier is
  not a reference);
- the truth (equal values, `Fraction`), on every pair and on the number-word pairs alone.
Prints the figures as JSON (and writes them to the model folder's `scores.json` with `--write`).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from factory.tiny_judge.pairs import has_words
from factory.tiny_judge.train import HELD_OUT_FILE, REPO

MODEL = REPO / "data" / "models" / "tiny-judge"


def judge_pairs(pairs: list[dict], model: Path, limit: int | None = None) -> list[bool | None]:
    """The judge's outcome per pair (True: equivalent in both orders, None: a judge error)."""
    import dataclasses

    from factory.recipe import load_recipe
    from factory.verification.judge_client import JudgeClient
    from factory.verification.judge_template import load_template, render

    settings = dataclasses.replace(load_recipe("tiny-judge").judge, model=str(model))  # as the recipe runs it
    template = load_template(settings.template)
    contexts = [json.loads(line)["problem"] for line in (REPO / "data" / "prompts" / "arith-test.jsonl").open()]
    rng = random.Random(0)
    chats = []
    for pair in pairs[:limit]:
        problem = rng.choice(contexts)
        chats += [render(template, problem, pair["reference"], pair["answer"]),
                  render(template, problem, pair["answer"], pair["reference"])]
    client = JudgeClient.build(settings, None)
    try:
        replies = client.ask(chats)
    finally:
        client.close()
    out = []
    for k in range(0, len(replies), 2):
        choices = [replies[k].choice, replies[k + 1].choice]
        out.append(None if None in choices else choices == ["equivalent", "equivalent"])
    return out


def math_outcomes(pairs: list[dict]) -> list[bool | None]:
    """The math verifier's outcome per pair (None: it gave neither accepted nor wrong_answer)."""
    from verifiers.math import MathVerifier
    from verifiers.types import Completion, Prompt

    out = []
    with MathVerifier() as verifier:
        for pair in pairs:
            verdict = verifier.verify(Prompt("p", (), "", pair["reference"]),
                                      Completion("p", 0, f"<think>x</think>\\boxed{{{pair['answer']}}}"))
            out.append(True if verdict.accepted else False if verdict.reason == "wrong_answer" else None)
    return out


def score(pairs: list[dict], judged: list[bool | None], rules: list[bool | None]) -> dict:
    truth = [p["label"] == "equivalent" for p in pairs]
    readable = [i for i, p in enumerate(pairs) if not has_words(p["answer"]) and not has_words(p["reference"])
                and rules[i] is not None]
    words = [i for i, p in enumerate(pairs) if has_words(p["answer"]) or has_words(p["reference"])]

    def share(indices: list[int], reference: list, judge: list | None = None) -> dict:
        agree = sum((judge or judged)[i] == reference[i] for i in indices)
        return {"pairs": len(indices), "agree": agree, "share": round(agree / len(indices), 4) if indices else None}

    return {"held_out_pairs": len(pairs), "judge_errors": sum(j is None for j in judged),
            "agreement_with_math_verifier": share(readable, rules),
            "math_verifier_vs_truth": share(readable, truth, rules),
            "accuracy_vs_truth": share(list(range(len(pairs))), truth),
            "accuracy_on_number_words": share(words, truth)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL, help="the judge's folder (default: the shipped one)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out pairs")
    parser.add_argument("--write", action="store_true", help="write the figures to the model folder's scores.json")
    args = parser.parse_args(argv)
    pairs = [json.loads(line) for line in (REPO / "data" / HELD_OUT_FILE).open()][: args.limit]
    figures = score(pairs, judge_pairs(pairs, args.model), math_outcomes(pairs))
    print(json.dumps(figures, indent=2))
    if args.write:
        (args.model / "scores.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
