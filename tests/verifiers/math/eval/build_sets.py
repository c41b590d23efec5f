"""Rebuild the math evaluation sets from public graders' test suites (run by hand; the tests never run it).

    python tests/verifiers/math/eval/build_sets.py --stack PATH_TO_moodle-qtype_stack [--out DIR]

Writes one JSONL file per set beside this script. Every row: `id`, `set`, `source` (repository and path the case
comes from), `gold`, `completion` (the text a teacher would write after `</think>`), `label` (true: the answer is
the gold), `caveat` (non-empty: the public label follows a convention other than "is this the same final answer",
so the row is reported apart), `half` ("tune" or "heldout", from a hash of the id: fixed, never chosen by hand).

- `stack_algequiv.jsonl`: STACK's (maths/moodle-qtype_stack) AlgEquiv and Sets answer-test results, written in
  calculator notation (`x^2`, `sqrt(12)`, `cos(x)^2`, `x=2 or x=-2`, `{1,2}`); Maxima's `%pi`, `%e`, `%i`,
  `nounor`/`nounand` are written as a student would (`pi`, `e`, `i`, `or`, `and`). A row is a caveat when it
  uses a CAS command or a function outside the documented known list, a float literal (AlgEquiv is exact on
  floats; an answer grader is not), Maxima's list indexing or noun quotes, or the words true/false/all/none.
  Rows the suite marks as expected failures, or that pass options, are left out.
- `disputed.json`: rows (seen in the tuning half only) whose public label contradicts the mathematics, each with
  the reason; they become caveats. Nothing of the held-out half is listed.
- The hand-transcribed sets (`graders_older.jsonl`, `word_probes.jsonl`) are kept as data files; this script
  only adds the split to rows that lack it. Probe labels are the mathematics (`abs(-18)` is 18, `total(18)` has
  no value, `half of 12` is refused); one was wrong when first scored (`factorial(2)` is 2) and was corrected.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWN = set("sqrt cbrt root abs floor ceil round sign signum exp ln log sin cos tan cot sec csc asin acos atan acot "
            "asec acsc arcsin arccos arctan sinh cosh tanh asinh acosh atanh min max gcd lcm factorial binomial".split())
_STACK_FILES = ("doc/en/Authoring/Answer_Tests/Results/AlgEquiv.md", "doc/en/Authoring/Answer_Tests/Results/Sets.md")


def half(row_id: str) -> str:
    return "heldout" if hashlib.sha1(row_id.encode()).digest()[0] % 2 else "tune"


def stack_rows(repo: Path) -> list[dict]:
    rows = []
    for path in _STACK_FILES:
        text = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, text=True,
                              check=True).stdout
        for n, (cls, body) in enumerate(re.findall(r'<tr class="([^"]*)">(.*?)</tr>', text, re.S)):
            cells = dict(re.findall(r'<td class="cell c(\d)">(.*?)</td>', body, re.S))
            sa, ta = (re.search(r"<pre>(.*?)</pre>", cells.get(k, ""), re.S) for k in "23")
            if cls != "pass" or not sa or not ta:
                continue
            options = re.sub("<[^>]+>", "", cells.get("4", "")).strip()
            mark = re.sub("<[^>]+>", "", cells.get("5", "")).strip()
            if options or mark not in ("0", "1"):
                continue
            student, teacher = (_student(html.unescape(m.group(1)).replace("\n", "")) for m in (sa, ta))
            row_id = f"stack:{Path(path).stem}:{n}"
            rows.append({"id": row_id, "set": "calculator", "source": f"maths/moodle-qtype_stack/{path}",
                         "gold": teacher, "completion": f"The answer is $\\boxed{{{student}}}$.",
                         "label": mark == "1", "half": half(row_id),
                         "caveat": _caveat(student) or _caveat(teacher) or _assignment_caveat(student, teacher)})
    return rows


def _student(s: str) -> str:
    s = s.replace("%pi", "pi").replace("%e", "e").replace("%i", "i")
    return re.sub(r"\bnoun(or|and)\b", r"\1", s)


def _caveat(s: str) -> str:
    for name in re.findall(r"([A-Za-z_][A-Za-z_0-9]*)\s*\(", s):
        if name not in KNOWN:
            return f"cas_function:{name}"
    if re.search(r"\d\.\d|\d\.(?!\d)|(?<!\d)\.\d", s):
        return "float_literal"
    if re.search(r"[A-Za-z_]\[|'|#|%|:", s):
        return "maxima_syntax"
    if re.search(r"\b(?:true|false|all|none|inf|minf|und)\b", s):
        return "maxima_constant"
    return ""


def _assignment_caveat(student: str, teacher: str) -> str:
    """AlgEquiv tells `x = 1` from `1` (an equation is not a value); answer graders (Qwen2.5-Math's, Math-Verify,
    this one) read `x = 1` as the value 1. A row comparing the two follows STACK's convention."""
    assignment = re.compile(r"^\s*[A-Za-z]\s*=[^=<>]+$")
    relation = re.compile(r"[=<>]")
    if bool(assignment.match(student)) != bool(assignment.match(teacher)) and not (
            relation.search(student) and relation.search(teacher)):
        return "value_vs_assignment"
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", type=Path, help="a git checkout of maths/moodle-qtype_stack")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    if args.stack:
        rows = stack_rows(args.stack)
        with open(args.out / "stack_algequiv.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"stack_algequiv.jsonl: {len(rows)} rows, {sum(not r['caveat'] for r in rows)} without caveat")
    disputed = json.loads((HERE / "disputed.json").read_text(encoding="utf-8"))
    for path in sorted(args.out.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for r in rows:
            r.setdefault("caveat", "")
            r["half"] = half(r["id"])
            if r["id"] in disputed:
                r["caveat"] = "disputed_label: " + disputed[r["id"]]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
