"""The tests of a code prompt: parsed once per prompt from `Prompt.gold` (and the row's kept columns,
`Prompt.metadata`) into a `TestSuite`.

The project's own forms (a JSON string or the already-parsed value):
- `{"type": "stdio", "cases": [{"input": "...", "output": "..."}, ...]}`;
- `{"type": "function", "fn_name": "f", "cases": [{"args": [...], "expected": ...}, ...]}` (optional `"kwargs"`);
  a design problem (a sequence of method calls on one instance) names its class as `fn_name` and gives cases in
  LeetCode's layout, `{"methods": ["MinStack", "push", "getMin"], "args": [[], [1], []], "expected": [null, null,
  1]}`;
- `{"type": "assert", "entry_point": "f", "code": "def check(candidate): ..."}`: `code` runs in its own process and
  may define helpers; if it defines `check`, it is called with the candidate's `entry_point`; names it uses but does
  not define call the candidate's functions of that name.
Each may carry the per-problem judging keys `time_limit` (seconds), `memory_limit` (MB), `checker` (Python source,
see `verifiers.code.checker`, or C++ against testlib.h, `verifiers.code.testlib`), `interactor` (likewise,
`verifiers.code.interactive`), `compare` ("tokens"
| "lines"), `float_tol` and `case_insensitive`.

The datasets' own formats, read as they are on the Hub, are in `verifiers.code.formats`, whose `parse_tests` is
the entry point (`tests_format` picks one; "auto" recognises them by their shape).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from verifiers.code.compare import DEFAULT, Comparison


class MalformedTests(ValueError):
    """The gold tests cannot be used; `reason` is the snake_case verdict reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TestSuite:
    kind: str  # "stdio" | "function" | "assert" | "pytest"
    cases: tuple[dict[str, Any], ...] = ()
    fn_name: str = ""
    check_code: str = ""
    entry_point: str = ""
    comparison: Comparison = DEFAULT
    time_limit_s: float | None = None
    """The problem's own time limit per test (judges set these for C++; the verifier scales them for Python)."""
    memory_mb: int | None = None
    """The problem's own memory limit."""
    checker: str = ""
    """Checker source: Python (`checker.py input.txt correct_output.txt solution_output.txt`, prints 1 to accept,
    `verifiers.code.checker`) or C++ against testlib.h (`verifiers.code.testlib`)."""
    unwrap: bool = False
    """APPS/TACO call-based rule: an expected value wrapped in a one-element list also matches its element."""
    prelude: str = ""
    """Code run before the candidate's own (LeetCode's pre-imported names)."""
    interactor: str = ""
    """Interactor source for interactive problems: Python (`verifiers.code.interactive`) or C++ testlib."""
    files: tuple[str, str] | None = None
    """(input file, output file) for problems that read and write files instead of stdin/stdout."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return len(self.cases) if self.kind in ("stdio", "function") else 1


def load_json(value: Any, what: str) -> Any:
    """`value` parsed if it is a JSON string (bytes decoded), else as is."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise MalformedTests("tests_not_json", f"{what} is not valid JSON: {exc}") from None
    return value


def native_suite(gold: dict) -> TestSuite:
    """The project's own `{"type": ...}` form."""
    kind = gold.get("type")
    judging = judging_keys(gold)
    if kind == "stdio":
        return TestSuite("stdio", cases(gold.get("cases"), stdio_case), **judging)
    if kind == "function":
        fn_name = gold.get("fn_name")
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise MalformedTests("tests_malformed", "function tests need `fn_name`, a Python identifier")
        return TestSuite("function", cases(gold.get("cases"), function_case), fn_name=fn_name, **judging)
    if kind == "assert":
        entry_point = gold.get("entry_point") or ""
        code = gold.get("code")
        if not isinstance(code, str) or not code.strip():
            raise MalformedTests("tests_malformed", "assert tests need `code` (Python source)")
        if not isinstance(entry_point, str) or (entry_point and not entry_point.isidentifier()):
            raise MalformedTests("tests_malformed", "`entry_point` must be a Python identifier")
        return assert_suite(code, entry_point, **judging)
    raise MalformedTests("unknown_test_type", f"unknown tests type {kind!r} (use stdio, function or assert)")


def judging_keys(gold: dict) -> dict[str, Any]:
    """The optional per-problem judging keys of the project's own form, as TestSuite fields."""
    out: dict[str, Any] = {}
    mode = gold.get("compare", "tokens")
    tol = gold.get("float_tol")
    if mode not in ("tokens", "lines") or not (tol is None or isinstance(tol, (int, float)) and tol >= 0):
        raise MalformedTests("tests_malformed", "`compare` must be tokens or lines and `float_tol` a number >= 0")
    out["comparison"] = Comparison(mode, None if tol is None else float(tol), bool(gold.get("case_insensitive")))
    for key, name, kind in (("time_limit", "time_limit_s", float), ("memory_limit", "memory_mb", int)):
        value = gold.get(key)
        if value is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise MalformedTests("tests_malformed", f"`{key}` must be a positive number")
            out[name] = kind(value)
    interactor = gold.get("interactor") or ""
    if not isinstance(interactor, str):
        raise MalformedTests("tests_malformed", "`interactor` must be Python or C++ (testlib) source")
    if interactor:
        out["interactor"] = checker_source(interactor)
    checker = gold.get("checker") or ""
    if not isinstance(checker, str):
        raise MalformedTests("tests_malformed", "`checker` must be Python or C++ (testlib) source")
    if checker:
        out["checker"] = checker_source(checker)
    return out


def checker_source(code: str) -> str:
    """A checker's or interactor's source: Python that compiles, or C++ (`is_cpp`, compiled when judging)."""
    if is_cpp(code):
        return code
    try:
        compile(code, "checker.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MalformedTests("checker_syntax_error", f"the checker does not compile: {exc}") from None
    return code


_CPP_MARKER = re.compile(r"^\s*#\s*include\s*[<\"]|\bint\s+main\s*\(", re.MULTILINE)


@functools.lru_cache(maxsize=256)
def is_cpp(source: str) -> bool:
    """A judge's language: C++ (testlib style, `verifiers.code.testlib`) when the text has a C++ marker (an
    `#include <...>`/`"..."` line, `int main(`) and does not compile as Python; otherwise Python."""
    if not isinstance(source, str) or not _CPP_MARKER.search(source):
        return False
    try:
        compile(source, "judge.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return False


def cases(items: Any, parse_one) -> tuple[dict[str, Any], ...]:
    if not isinstance(items, list) or not items:
        raise MalformedTests("no_test_cases", "tests need a non-empty `cases` list")
    return tuple(parse_one(i, case) for i, case in enumerate(items))


def stdio_case(index: int, case: Any) -> dict[str, Any]:
    if not isinstance(case, dict):
        raise MalformedTests("tests_malformed", f"stdio case {index} must be an object with `input` and `output`")
    got_in, got_out = case.get("input"), case.get("output")
    # APPS and TACO sometimes store an input or output as a list of lines.
    if isinstance(got_in, list) and all(isinstance(x, str) for x in got_in):
        got_in = "\n".join(got_in)
    if isinstance(got_out, list) and all(isinstance(x, str) for x in got_out):
        got_out = "\n".join(got_out)
    if not isinstance(got_in, str) or not isinstance(got_out, str):
        raise MalformedTests("tests_malformed", f"stdio case {index} needs string `input` and `output`")
    return {"input": got_in, "output": got_out}


def design_case(index: int, case: Any) -> dict[str, Any]:
    """A design problem's case, LeetCode's layout: {"methods": ["MinStack", "push", ...], "args": [[], [1], ...],
    "expected": [null, null, ...]} (the first method is the constructor)."""
    methods, args, expected = (case.get(k) for k in ("methods", "args", "expected")) if isinstance(case, dict) else (
        None, None, None)
    if not (isinstance(methods, list) and isinstance(args, list) and isinstance(expected, list) and methods
            and len(methods) == len(args) == len(expected) and all(isinstance(a, list) for a in args)
            and all(isinstance(m, str) and m.isidentifier() for m in methods)):
        raise MalformedTests("tests_malformed", f"design case {index} needs `methods`, `args` (lists of arguments) "
                                                "and `expected`, all of one length")
    return {"args": args[0], "kwargs": {}, "calls": list(zip(methods[1:], args[1:])), "expected": expected,
            "class": methods[0]}


def function_case(index: int, case: Any) -> dict[str, Any]:
    if isinstance(case, dict) and "methods" in case:
        return design_case(index, case)
    if not isinstance(case, dict) or not isinstance(case.get("args"), list) or "expected" not in case:
        raise MalformedTests("tests_malformed", f"function case {index} needs an `args` list and `expected`")
    kwargs = case.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise MalformedTests("tests_malformed", f"function case {index}: `kwargs` must be an object")
    return {"args": case["args"], "kwargs": kwargs, "expected": case["expected"]}


def assert_suite(code: str, entry_point: str, **judging: Any) -> TestSuite:
    try:
        compile(code, "check.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MalformedTests("check_code_syntax_error", f"the test code does not compile: {exc}") from None
    return TestSuite("assert", check_code=code, entry_point=entry_point, **judging)
