"""Measure the tiny teacher with vLLM: pass@1, pass@8 and the rate of each defect kind on the test split.

`python -m factory.tiny_teacher.evaluate` samples n=8 completions per test problem at temperature 1.0 with the
real vLLM engine (CPU build), and prints:
- pass@1 and pass@8 with the unbiased estimator of Chen et al. (2021), overall and per problem kind; a sample is
  correct when the last `\\boxed{...}` after `</think>` equals the gold as an exact rational number (ints,
  decimals, `a/b`, `\\frac{a}{b}`, `\\dfrac{a}{b}`; parsed with `fractions.Fraction`, no sympy);
- the share of samples showing each defect: `loop` (ran to `max_tokens`), `unclosed_think` (stopped without
  `</think>`), `unboxed` (closed but no `\\boxed{}` in the answer), `foreign` (French, German or Chinese words in
  the reasoning), `arith_slip` (a false equation such as `7 + 5 + 1 = 12` in the reasoning), `wrong_answer`
  (closed, boxed, parsed, not equal to the gold);
- how many correct samples boxed a form other than the gold string (what a string comparison would miss).
`--write-card` puts these figures into the model card. This is a measuring tool, not a verifier: the factory's
own verifiers live in `verifiers/` and share no code with it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter, defaultdict
from fractions import Fraction
from math import comb
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
DEFECT_KINDS = ("loop", "unclosed_think", "unboxed", "foreign", "arith_slip", "wrong_answer")

_FRAC = re.compile(r"^(-?)\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}$")
_SLASH = re.compile(r"^(-?\d+)/(\d+)$")
_DECIMAL = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
_EQUATION = re.compile(r"(?<![\d./])(\d+(?:\s*[-+×]\s*\d+)+)\s*=\s*(\d+)(?!\d|/|\.\d)")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDS = re.compile(r"[^\W\d_]+")
FOREIGN_WORDS = {
    "fr": {"ensuite", "passe", "colonne", "suivante", "vérifions", "encore", "fois", "calcul", "donc", "résultat",
           "nous", "avec", "est", "le", "la", "les"},
    "de": {"jetzt", "rechnen", "wir", "nächste", "spalte", "prüfen", "rechnung", "noch", "einmal", "ergebnis",
           "sieht", "richtig", "aus", "das", "und", "der"},
}


def parse_number(text: str) -> Fraction | None:
    """An exact rational from a boxed answer, or None if it is not a plain number."""
    s = text.strip().strip("$").replace(" ", "").replace("{,}", "")
    s = s.removeprefix("\\left(").removesuffix("\\right)")
    try:
        if m := _FRAC.match(s):
            value = Fraction(int(m.group(2)), int(m.group(3)))
            return -value if m.group(1) else value
        if m := _SLASH.match(s):
            return Fraction(int(m.group(1)), int(m.group(2)))
        if _DECIMAL.match(s):
            return Fraction(s)
    except ZeroDivisionError:
        return None
    return None


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` in `text`, braces matched, or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1: j]
    return None


def false_equations(reasoning: str) -> int:
    """How many `a + b (+ c) = d` style equations (+, -, ×) in the reasoning are false."""
    bad = 0
    for lhs, rhs in _EQUATION.findall(reasoning):
        tokens = re.findall(r"\d+|[-+×]", lhs)
        value, op = int(tokens[0]), None
        for tok in tokens[1:]:
            if tok in "+-×":
                op = tok
            else:
                value = value + int(tok) if op == "+" else value - int(tok) if op == "-" else value * int(tok)
        bad += value != int(rhs)
    return bad


def foreign_languages(reasoning: str) -> set[str]:
    found = {"zh"} if _CJK.search(reasoning) else set()
    words = {w.lower() for w in _WORDS.findall(reasoning)}
    found.update(lang for lang, markers in FOREIGN_WORDS.items() if len(words & markers) >= 2)
    return found


def grade(text: str, finish_reason: str, gold: Fraction | None) -> dict:
    """Correctness and defect flags of one sample."""
    closed = "</think>" in text
    reasoning, _, answer = text.partition("</think>")
    boxed = last_boxed(answer) if closed else None
    value = parse_number(boxed) if boxed is not None else None
    correct = value is not None and gold is not None and value == gold
    flags = {
        "loop": finish_reason == "length",
        "unclosed_think": not closed and finish_reason != "length",
        "unboxed": closed and boxed is None,
        "foreign": bool(foreign_languages(reasoning)),
        "arith_slip": false_equations(reasoning) > 0,
        "wrong_answer": closed and value is not None and not correct,
    }
    return {"correct": correct, "boxed": boxed, "languages": sorted(foreign_languages(reasoning)), **flags}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimate from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def summarize(rows: list[dict], graded: list[list[dict]], n: int) -> dict:
    by_kind: dict[str, list[int]] = defaultdict(list)
    counts = []
    for row, samples in zip(rows, graded):
        c = sum(s["correct"] for s in samples)
        counts.append(c)
        by_kind[kind_of(row)].append(c)
    flat = [s for samples in graded for s in samples]
    golds = [row["answer"] for row, samples in zip(rows, graded) for _ in samples]
    other_form = sum(s["correct"] and s["boxed"].strip() != g for s, g in zip(flat, golds))
    languages = Counter(lang for s in flat for lang in s["languages"])
    k_top = min(8, n)
    return {
        "problems": len(rows), "samples": len(flat), "n": n,
        "pass@1": sum(pass_at_k(n, c, 1) for c in counts) / len(counts),
        f"pass@{k_top}": sum(pass_at_k(n, c, k_top) for c in counts) / len(counts),
        "per_kind_pass@1": {k: round(sum(pass_at_k(n, c, 1) for c in v) / len(v), 3) for k, v in by_kind.items()},
        "defect_rates": {d: sum(s[d] for s in flat) / len(flat) for d in DEFECT_KINDS},
        "foreign_languages": dict(languages),
        "correct_in_other_form": other_form,
        "correct_samples": sum(s["correct"] for s in flat),
    }


def kind_of(row: dict) -> str:
    """The problem kind, from ids shaped `arith-<split>-<kind>-<nnnnn>`."""
    return row["id"].split("-")[2]


def first_per_kind(rows: list[dict], limit: int) -> list[dict]:
    seen: Counter = Counter()
    kept = []
    for row in rows:
        seen[kind_of(row)] += 1
        if seen[kind_of(row)] <= limit:
            kept.append(row)
    return kept


def sample(rows: list[dict], args: argparse.Namespace) -> list:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams  # vLLM lives behind this tool only

    llm = LLM(model=str(args.model), enforce_eager=True, dtype="float32", seed=args.seed, max_model_len=1024)
    params = SamplingParams(n=args.n, temperature=args.temperature, top_p=1.0, max_tokens=args.max_tokens)
    suffix = "" if args.bare else "\n" + INSTRUCTION
    chats = [[{"role": "user", "content": row["problem"] + suffix}] for row in rows]
    try:
        return llm.chat(chats, params, use_tqdm=False)
    finally:
        from factory.engines.vllm_engine import shutdown_llm

        shutdown_llm(llm)


def scores_markdown(result: dict, args: argparse.Namespace) -> str:
    rates = ", ".join(f"`{k}` {v:.1%}" for k, v in result["defect_rates"].items())
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in result["per_kind_pass@1"].items())
    k_top = min(8, args.n)
    return (
        f"Measured with `python -m factory.tiny_teacher.evaluate --write-card` (vLLM CPU build, `LLM.chat`, "
        f"n={args.n} samples per problem, temperature {args.temperature}, top_p 1.0, max_tokens {args.max_tokens}, "
        f"engine seed {args.seed}) on the {result['problems']} problems of `data/prompts/arith-test.jsonl`, user "
        f"turn = problem{' (bare)' if args.bare else ' + newline + R1 instruction sentence'}; one run, "
        f"{result['minutes']} min on {os.cpu_count()} CPU cores.\n\n"
        f"| metric | value |\n|---|---|\n| pass@1 | {result['pass@1']:.3f} |\n"
        f"| pass@{k_top} | {result[f'pass@{k_top}']:.3f} |\n| pass@1 per kind | {kinds} |\n"
        f"| defect rates (share of {result['samples']} samples) | {rates} |\n"
        f"| foreign sentences by language (samples) | {result['foreign_languages']} |\n"
        f"| correct samples boxing a non-gold form (e.g. `0.75` for `\\frac{{3}}{{4}}`) | "
        f"{result['correct_in_other_form']} of {result['correct_samples']} |\n\n"
        "pass@k uses the unbiased estimator 1 - C(n-c, k)/C(n, k); a sample is correct when its last `\\boxed{}` "
        "after `</think>` equals the gold as an exact fraction. Sampling is not bit-reproducible across machines."
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "data/models/tiny-r1", help="model folder")
    parser.add_argument("--prompts", type=Path, default=REPO / "data/prompts/arith-test.jsonl",
                        help="JSONL rows {id, problem, answer}")
    parser.add_argument("--n", type=int, default=8, help="samples per problem")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--max-tokens", type=int, default=448, help="token limit per sample (loops run to it)")
    parser.add_argument("--seed", type=int, default=0, help="engine seed (LLM(seed=...); per-request seeds are "
                                                            "not supported by vLLM's CPU build)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N problems of each kind (0 = all)")
    parser.add_argument("--bare", action="store_true", help="send the bare problem, without R1's instruction")
    parser.add_argument("--json", type=Path, help="also write the summary and every sample here")
    parser.add_argument("--write-card", action="store_true", help="put the figures into the model card")
    args = parser.parse_args(argv)

    rows = [json.loads(line) for line in args.prompts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.limit:
        rows = first_per_kind(rows, args.limit)
    started = time.time()
    outputs = sample(rows, args)
    graded = [[grade(o.text, o.finish_reason, parse_number(row["answer"])) for o in out.outputs]
              for row, out in zip(rows, outputs)]
    result = summarize(rows, graded, args.n)
    result["minutes"] = round((time.time() - started) / 60, 1)
    print(json.dumps(result, indent=2))
    if args.json:
        samples = [{"id": row["id"], "text": o.text, "finish_reason": o.finish_reason, **g}
                   for row, out, gs in zip(rows, outputs, graded) for o, g in zip(out.outputs, gs)]
        args.json.write_text(json.dumps({"summary": result, "samples": samples}, ensure_ascii=False, indent=1))
    if args.write_card:
        from factory.tiny_teacher.card import update_scores

        update_scores(args.model, scores_markdown(result, args))
    return result


if __name__ == "__main__":
    main()
