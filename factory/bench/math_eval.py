"""Score MathVerifier (and Math-Verify, when installed) on the public evaluation sets.

    python -m factory.bench.math_eval [--half tune|heldout|all] [--show] [--math-verify]

The sets live in `tests/verifiers/math/eval/*.jsonl` (see `build_sets.py` there for their sources and split):
`older` (graders' test suites: hendrycks MATH, Qwen2.5-Math, verl, open-r1, GSM8K `####` and AIME formats),
`calculator` (STACK's AlgEquiv and Sets answer tests in calculator notation: equations, solution sets), `probes`
(words and function names inside a box). Each row is graded as a teacher's answer part against its gold; accepted
is compared with the row's label. Prints, per set and half: rows, agreement, false accepts (accepted, label
false), false rejects; rows with a label caveat are counted apart (`caveat` column) and not in the agreement.
`--show` lists the disagreements of the tuning half only: the held-out half is scored, never inspected.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from verifiers.types import Completion, Prompt

SETS_DIR = Path(__file__).resolve().parents[2] / "tests" / "verifiers" / "math" / "eval"


def load_rows(directory: Path = SETS_DIR) -> list[dict]:
    """Every row of every set; a malformed row is refused naming its file, line and field."""
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            for field in ("id", "set", "source", "gold", "completion", "label", "half"):
                if field not in row:
                    raise ValueError(f"{path.name}: line {n}: missing field {field!r}")
            rows.append(row)
    return rows


def grade_ours(rows: list[dict], timeout_s: float) -> list[tuple[bool, str]]:
    from verifiers.math import MathVerifier

    verifier = MathVerifier(timeout_s=timeout_s)
    try:
        out = []
        for r in rows:
            v = verifier.verify(Prompt(r["id"], (), "", r["gold"]), Completion(r["id"], 0, "</think>" + r["completion"]))
            out.append((v.accepted, v.reason))
        return out
    finally:
        verifier.close()


def grade_math_verify(rows: list[dict]) -> list[tuple[bool, str]]:
    from math_verify import parse, verify  # the `bench` extra

    out = []
    for r in rows:
        try:
            ok = bool(verify(parse(f"${r['gold']}$"), parse(r["completion"])))
        except Exception:
            ok = False
        out.append((ok, ""))
    return out


def summarise(rows: list[dict], verdicts: list[tuple[bool, str]]) -> dict:
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r, (ok, _) in zip(rows, verdicts):
        for key in ((r["set"], r["half"]), (r["set"], "all")):
            t = table[key]
            if r.get("caveat"):
                t["caveat"] += 1
                continue
            t["rows"] += 1
            t["agree"] += ok == r["label"]
            t["false_accepts"] += ok and not r["label"]
            t["false_rejects"] += r["label"] and not ok
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tune", "heldout", "all"), default="tune", help="which half to score")
    ap.add_argument("--show", action="store_true", help="list the tuning half's disagreements")
    ap.add_argument("--math-verify", action="store_true", help="also score Math-Verify on the same rows")
    ap.add_argument("--timeout", type=float, default=10.0, help="MathVerifier's timeout_s")
    args = ap.parse_args(argv)

    rows = [r for r in load_rows() if args.half == "all" or r["half"] == args.half]
    graders = [("MathVerifier", grade_ours(rows, args.timeout))]
    if args.math_verify:
        graders.append(("math-verify", grade_math_verify(rows)))
    for name, verdicts in graders:
        print(f"== {name} ({args.half} half)")
        print(f"{'set':12} {'half':8} {'rows':>5} {'agreement':>9} {'false acc':>9} {'false rej':>9} {'caveat':>6}")
        for (set_name, half), t in sorted(summarise(rows, verdicts).items()):
            agreement = t["agree"] / t["rows"] if t["rows"] else float("nan")
            print(f"{set_name:12} {half:8} {t['rows']:5d} {agreement:9.4f} {t['false_accepts']:9d} "
                  f"{t['false_rejects']:9d} {t['caveat']:6d}")
    if args.show:
        ours = graders[0][1]
        for r, (ok, reason) in zip(rows, ours):
            if r["half"] == "tune" and not r.get("caveat") and ok != r["label"]:
                print(f"[{r['set']}] label={r['label']} got={reason or 'accepted'} gold={r['gold']!r} "
                      f"answer={r['completion']!r}")


if __name__ == "__main__":
    main()
