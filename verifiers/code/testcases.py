"""The tests of a code prompt: parsed once per prompt from `Prompt.gold` into a `TestSuite`.

Accepted forms (a JSON string or the already-parsed value):
- `{"type": "stdio", "cases": [{"input": "...", "output": "..."}, ...]}` (APPS, CodeContests, LiveCodeBench);
- `{"type": "function", "fn_name": "f", "cases": [{"args": [...], "expected": ...}, ...]}` (TACO call-based;
  optional `"kwargs": {...}` per case);
- `{"type": "assert", "entry_point": "f", "code": "def check(candidate): ..."}` (HumanEval / MBPP); `code` runs
  in its own process and may define helpers; if it defines `check`, it is called with the candidate's
  `entry_point`; names it uses but does not define call the candidate's functions of that name.
Two native forms are read as `assert` too, so Hub datasets work with a plain column mapping:
- HumanEval as `openai/openai_humaneval` ships it (gold <- `test`): a string with `def check(candidate)`; the entry
  point comes from the row's `entry_point` column (kept in `Prompt.metadata`), and the problem text (the prompt, which
  defines helpers such as `poly` or `encode_cyclic`) is run before the test code when it is valid Python;
- MBPP's `test_list`: a list of `assert ...` strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from verifiers.types import Prompt


class MalformedTests(ValueError):
    """The gold tests cannot be used; `reason` is the snake_case verdict reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TestSuite:
    kind: str  # "stdio" | "function" | "assert"
    cases: tuple[dict[str, Any], ...] = ()
    fn_name: str = ""
    check_code: str = ""
    entry_point: str = ""

    @property
    def size(self) -> int:
        return len(self.cases) if self.kind != "assert" else 1


def parse_tests(prompt: Prompt) -> TestSuite:
    """`prompt.gold` -> TestSuite; raises MalformedTests with a snake_case reason."""
    gold = prompt.gold
    if isinstance(gold, (bytes, bytearray)):
        gold = gold.decode("utf-8", "replace")
    if isinstance(gold, str):
        text = gold.strip()
        if text.startswith(("{", "[")):
            try:
                gold = json.loads(text)
            except ValueError as exc:
                raise MalformedTests("tests_not_json", f"tests are not valid JSON: {exc}") from None
        elif "def check(" in text:
            return _humaneval_native(prompt, text)
        else:
            raise MalformedTests("tests_not_json", "tests must be JSON (or HumanEval `def check(candidate)` code)")
    if isinstance(gold, list) and gold and all(isinstance(t, str) for t in gold):
        return _assert_suite("\n".join(gold), "")
    if not isinstance(gold, dict):
        raise MalformedTests("tests_malformed", f"tests must be a JSON object, got {type(gold).__name__}")
    kind = gold.get("type")
    if kind == "stdio":
        return TestSuite("stdio", _cases(gold, _stdio_case))
    if kind == "function":
        fn_name = gold.get("fn_name")
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise MalformedTests("tests_malformed", "function tests need `fn_name`, a Python identifier")
        return TestSuite("function", _cases(gold, _function_case), fn_name=fn_name)
    if kind == "assert":
        entry_point = gold.get("entry_point") or ""
        code = gold.get("code")
        if not isinstance(code, str) or not code.strip():
            raise MalformedTests("tests_malformed", "assert tests need `code` (Python source)")
        if not isinstance(entry_point, str) or (entry_point and not entry_point.isidentifier()):
            raise MalformedTests("tests_malformed", "`entry_point` must be a Python identifier")
        return _assert_suite(code, entry_point)
    raise MalformedTests("unknown_test_type", f"unknown tests type {kind!r} (use stdio, function or assert)")


def _cases(gold: dict, parse_one) -> tuple[dict[str, Any], ...]:
    cases = gold.get("cases")
    if not isinstance(cases, list) or not cases:
        raise MalformedTests("no_test_cases", "tests need a non-empty `cases` list")
    return tuple(parse_one(i, case) for i, case in enumerate(cases))


def _stdio_case(index: int, case: Any) -> dict[str, Any]:
    if not isinstance(case, dict) or not isinstance(case.get("input"), str) or not isinstance(case.get("output"), str):
        raise MalformedTests("tests_malformed", f"stdio case {index} needs string `input` and `output`")
    return {"input": case["input"], "output": case["output"]}


def _function_case(index: int, case: Any) -> dict[str, Any]:
    if not isinstance(case, dict) or not isinstance(case.get("args"), list) or "expected" not in case:
        raise MalformedTests("tests_malformed", f"function case {index} needs an `args` list and `expected`")
    kwargs = case.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise MalformedTests("tests_malformed", f"function case {index}: `kwargs` must be an object")
    return {"args": case["args"], "kwargs": kwargs, "expected": case["expected"]}


def _assert_suite(code: str, entry_point: str) -> TestSuite:
    try:
        compile(code, "check.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MalformedTests("check_code_syntax_error", f"the test code does not compile: {exc}") from None
    return TestSuite("assert", check_code=code, entry_point=entry_point)


def _humaneval_native(prompt: Prompt, test_code: str) -> TestSuite:
    entry_point = prompt.metadata.get("entry_point") if isinstance(prompt.metadata, dict) else None
    if not isinstance(entry_point, str) or not entry_point.isidentifier():
        raise MalformedTests("tests_malformed", "HumanEval-style tests need an `entry_point` column")
    prelude = ""
    try:
        compile(prompt.problem, "prompt.py", "exec", dont_inherit=True)
        prelude = prompt.problem
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass  # the problem is prose, not a code prompt: nothing to define
    return _assert_suite(prelude + "\n\n" + test_code, entry_point)
