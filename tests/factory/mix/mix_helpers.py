"""Sources for the mix tests: small run folders made by `factory verify` (real verifiers, no engine) on traces
written here, and corpora in the other shapes a mixture reads."""

from __future__ import annotations

import json
from pathlib import Path

from factory.cli import EXIT_OK, main
from tests.conftest import PROJECT_ROOT, write_jsonl

GENERAL_TRACES = PROJECT_ROOT / "tests" / "factory" / "mix" / "fixtures" / "general-traces.jsonl"


def arith_trace(a: int, b: int, wrong: bool = False) -> str:
    total = a + b + (1 if wrong else 0)
    return (f"<think>\nWe add {a} and {b}. The ones first, then the tens: {a} + {b} = {total}.\n</think>\n\n"
            f"The sum of {a} and {b} is {total}, so the answer is \\boxed{{{total}}}.")


def arith_rows(start: int, count: int, prefix: str) -> list[dict]:
    """Two traces per problem (a right one, and every third problem a wrong one too)."""
    rows = []
    for i in range(start, start + count):
        a, b = 100 + i, 7 * i + 3
        problem = f"What is {a} + {b}?"
        rows.append({"id": f"{prefix}-{i:04d}", "problem": problem, "answer": str(a + b),
                     "completion": arith_trace(a, b)})
        if i % 3 == 0:
            rows.append({"id": f"{prefix}-{i:04d}", "problem": problem, "answer": str(a + b),
                         "completion": arith_trace(a, b, wrong=True)})
    return rows


def verify_run(tmp: Path, name: str, rows: list[dict] | None = None, recipe: str = "tiny",
               traces: Path | None = None) -> Path:
    """A run folder made by `factory verify` on `rows` (or the `traces` file)."""
    if traces is None:
        traces = write_jsonl(tmp / f"{name}.jsonl", rows or [])
    out = tmp / name
    no_judge = ["--set", "judge.engine=none"] if recipe == "general" else []  # its judge is DeepSeek's API
    code = main(["verify", "--recipe", recipe, "--input", str(traces), "--out", str(out),
                 "--set", "output.prompts_per_shard=8", "--log-json", *no_judge])
    assert code == EXIT_OK
    return out


def run_fingerprint(run: Path) -> str:
    return json.loads((run / ".factory" / "run.json").read_text())["fingerprint"]


def write_mixture(path: Path, body: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path
