"""Agreement of the code verifier with the real judges, on solutions written in the datasets' own formats.

`python -m factory.bench.code_judges [--split tuning|heldout|all] [--cases data/prompts/code-eval.jsonl]`

Each case is a row of one dataset as it is on the Hub (`columns`), a completion, and the verdict that dataset's
judge or harness gives it (`label`, with `source`: the public material the label rests on). The row goes through
that format's shipped recipe (recipes/code-<format>.yaml: its column mapping, kept columns and code-verifier
parameters) exactly as `factory generate` / `factory verify` would read it. Printed: per split, agreement (accepted
iff the judge accepts), false accepts, false rejects, and the cases the verifier could not express (unverifiable).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from factory.paths import shipped
from factory.recipe import load_recipe
from verifiers.code import CodeVerifier
from verifiers.types import Completion, Prompt, chat


def _prompt(case: dict, recipe) -> Prompt:
    columns, row = recipe.prompts.columns, case["columns"]
    metadata = {k: row[k] for k in recipe.prompts.keep_columns if k in row}
    problem = str(row[columns["problem"]])
    return Prompt(case["id"], chat(None, problem), problem, row[columns["gold"]],
                  metadata=json.loads(json.dumps(metadata)))


def run(cases: list[dict], workers: int = 2) -> list[tuple[dict, str, str]]:
    """(case, verdict status, reason) for every case, verified through its format's recipe."""
    verifiers: dict[str, tuple[object, CodeVerifier]] = {}
    for fmt in sorted({c["format"] for c in cases}):
        recipe = load_recipe(f"code-{fmt}")
        params = dict(next(v.params for v in recipe.verifiers if v.name == "code"))
        if os.geteuid() == 0:
            params["sandbox_uid"] = 2_000_124
        verifiers[fmt] = (recipe, CodeVerifier(**params))

    def one(case: dict) -> tuple[dict, str, str]:
        recipe, verifier = verifiers[case["format"]]
        verdict = verifier.verify(_prompt(case, recipe), Completion(case["id"], 0, case["completion"]))
        return case, verdict.status, verdict.reason

    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, cases))
    finally:
        for _, verifier in verifiers.values():
            verifier.close()


def report(results: list[tuple[dict, str, str]], split: str) -> dict:
    agree = [c["label"] == ("accepted" if s == "accepted" else "rejected") for c, s, _ in results]
    false_accepts = [c["id"] for c, s, _ in results if s == "accepted" and c["label"] != "accepted"]
    false_rejects = [(c["id"], r) for c, s, r in results if s == "rejected" and c["label"] == "accepted"]
    unexpressible = [(c["id"], r) for c, s, r in results if s == "unverifiable"]
    summary = {"split": split, "cases": len(results), "agreement": round(sum(agree) / max(1, len(agree)), 3),
               "false_accepts": false_accepts, "false_rejects": false_rejects, "unverifiable": unexpressible,
               "by_format": dict(Counter(c["format"] for c, _, _ in results))}
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(shipped("data") / "prompts" / "code-eval.jsonl"))
    parser.add_argument("--split", default="tuning", choices=["tuning", "heldout", "all"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    cases = [json.loads(line) for line in Path(args.cases).read_text().splitlines() if line.strip()]
    chosen = [c for c in cases if args.split == "all" or c["split"] == args.split]
    started = time.monotonic()
    results = run(chosen, args.workers)
    summary = report(results, args.split)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, indent=1))
    for case, status, reason in results:
        mark = "ok " if case["label"] == ("accepted" if status == "accepted" else "rejected") else "BAD"
        print(f"{mark} {case['id']:36s} label={case['label']:9s} got={status}:{reason}")


if __name__ == "__main__":
    main()
