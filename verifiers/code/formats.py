"""The datasets' own test formats, read as they are on the Hub (gold column + the row's kept columns in
`Prompt.metadata`), into a `TestSuite`. `tests_format` names one; "auto" recognises them by their shape.

- `native`: the project's `{"type": ...}` forms (`verifiers.code.testcases`).
- `apps` / `taco` (gold <- `input_output`): `{"inputs": [...], "outputs": [...], "fn_name"?}`; call-based problems
  follow the APPS harness (arguments are the input list, an output wrapped in a one-element list also matches its
  element, LeetCode's names pre-imported); TACO's `time_limit` ("1 second") and `memory_limit` ("256 megabytes").
- `livecodebench` (gold <- `public_test_cases`; kept: `private_test_cases`, `metadata`): JSON lists of
  `{"input", "output", "testtype": "stdin" | "functional"}`; private tests base64+zlib+pickle (a restricted
  unpickler, `datafields.decode_lcb_tests`); functional tests call `Solution().<metadata.func_name>` with one JSON
  argument per input line. Compared line by line, as LiveCodeBench's grader does.
- `codecontests` (gold <- `public_tests`; kept: `private_tests`, `generated_tests`, `time_limit`,
  `memory_limit_bytes`): `{"input": [...], "output": [...]}` each, all run.
- `codeforces` (open-r1/codeforces; gold <- `official_tests`; kept: `time_limit`, `memory_limit`,
  `generated_checker`, `input_mode`, `interaction_format`): a list of `{"input", "output"}`; the checker, when
  given (Python, or C++ against testlib.h: `verifiers.code.testlib`), judges every test; `input_mode: file` reads
  input.txt and writes output.txt; interactive problems run against their `interactor` (Python or C++ testlib,
  `verifiers.code.interactive`), and without one are unverifiable.
- `synthetic1` (PrimeIntellect SYNTHETIC-1 / verifiable-coding-problems; gold <- `verification_info`):
  `{"language", "test_cases": [{"type": "stdin_stdout" | "function_call", "fn_name"?, "input", "output"}]}`.
- `humaneval` (gold <- `test`): `def check(candidate)`; the entry point from the `entry_point` column, else the
  last function the prompt defines; the prompt's helpers are defined for the check.
- `kodcode` (KodCode; gold <- `test`, or `test_code`): a pytest file importing from `solution`, run under real
  pytest in the checker's sandbox (fixtures, parametrize, raises), `solution` standing for the candidate's module
  (objects it returns stay in its sandbox and are used through handles: classes and design problems work).
- `mbpp` (gold <- `test_list`; kept: `test_imports`, `test_setup_code`): assert strings, run after the imports and
  the setup code, which the candidate's program sees too (MBPP's harness runs them as one script).
Statements that allow answers in any letter case make token comparison case-insensitive (stdio problems without a
checker).
"""

from __future__ import annotations

import ast
import json
from typing import Any

from verifiers.code.compare import Comparison
from verifiers.code.datafields import any_case_answers, decode_lcb_tests, megabytes, seconds
from verifiers.code.testcases import (MalformedTests, TestSuite, assert_suite, cases, checker_source, function_case,
                                      is_cpp, load_json, native_suite, stdio_case)

FORMATS = ("auto", "native", "apps", "taco", "livecodebench", "codecontests", "codeforces", "synthetic1",
           "humaneval", "mbpp", "kodcode")

LEETCODE_PRELUDE = '''\
import typing, collections, heapq, bisect, math, functools, itertools, string, re
from typing import *
from collections import *
from heapq import *
from bisect import *
from math import *
from functools import *
from itertools import *


class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next


class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right
'''
"""What LeetCode-style harnesses (APPS/TACO call-based, LiveCodeBench functional) define before the candidate."""


def parse_tests(prompt, tests_format: str = "auto") -> TestSuite:
    """`prompt.gold` (+ `prompt.metadata`) -> TestSuite; raises MalformedTests with a snake_case reason."""
    meta = prompt.metadata if isinstance(prompt.metadata, dict) else {}
    gold = load_json(prompt.gold, "the tests")
    fmt = detect(gold, meta) if tests_format == "auto" else tests_format
    reader = _READERS.get(fmt)
    if reader is None:
        raise MalformedTests("unknown_test_type", f"unknown tests format {fmt!r} (one of {', '.join(FORMATS)})")
    return reader(gold, meta, prompt.problem or "")


def detect(gold: Any, meta: dict) -> str:
    if isinstance(gold, dict):
        if "type" in gold:
            return "native"
        if "inputs" in gold and "outputs" in gold:
            return "apps"
        if "test_cases" in gold:
            return "synthetic1"
        if "input" in gold and "output" in gold:
            return "codecontests"
    if "private_test_cases" in meta or (isinstance(gold, list) and gold and isinstance(gold[0], dict)
                                        and "testtype" in gold[0]):
        return "livecodebench"
    if isinstance(gold, list) and gold and all(isinstance(t, dict) for t in gold):
        return "codeforces"
    if isinstance(gold, list) and gold and all(isinstance(t, str) for t in gold):
        return "mbpp"
    if isinstance(gold, str) and "def check(" in gold:
        return "humaneval"
    if isinstance(gold, str) and "def test" in gold and "solution" in gold:
        return "kodcode"
    raise MalformedTests("tests_not_json", "tests are in no known form (JSON tests, HumanEval `def check`, "
                                           "MBPP asserts, or a dataset format named by tests_format)")


def _limits(meta: dict) -> dict[str, Any]:
    nested = meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {}
    source = {**nested, **meta}
    out: dict[str, Any] = {}
    limit = seconds(source.get("time_limit"))
    memory = megabytes(source.get("memory_limit"), source.get("memory_limit_bytes"))
    if limit:
        out["time_limit_s"] = limit
    if memory:
        out["memory_mb"] = memory
    return out


def _stdio_comparison(problem: str, meta: dict, mode: str = "tokens") -> Comparison:
    statement = " ".join(str(meta.get(k) or "") for k in ("description", "output_format", "question_content"))
    return Comparison(mode=mode, case_insensitive=any_case_answers(problem + " " + statement))


def _native(gold, meta, problem) -> TestSuite:
    if isinstance(gold, list) and gold and all(isinstance(t, str) for t in gold):
        return _mbpp(gold, meta, problem)
    if isinstance(gold, str) and "def check(" in gold:
        return _humaneval(gold, meta, problem)
    if not isinstance(gold, dict):
        raise MalformedTests("tests_malformed", f"tests must be a JSON object, got {type(gold).__name__}")
    return native_suite(gold)


def _apps(gold, meta, problem) -> TestSuite:
    if not isinstance(gold, dict) or not isinstance(gold.get("inputs"), list) or \
            not isinstance(gold.get("outputs"), list) or len(gold["inputs"]) != len(gold["outputs"]):
        raise MalformedTests("tests_malformed", "input_output needs `inputs` and `outputs` lists of one length")
    pairs = list(zip(gold["inputs"], gold["outputs"]))
    fn_name = gold.get("fn_name")
    if fn_name:
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise MalformedTests("tests_malformed", "`fn_name` must be a Python identifier")
        items = [{"args": i if isinstance(i, list) else [i], "expected": o} for i, o in pairs]
        return TestSuite("function", cases(items, function_case), fn_name=fn_name, unwrap=True,
                         prelude=LEETCODE_PRELUDE, **_limits(meta))
    items = [{"input": i, "output": o} for i, o in pairs]
    return TestSuite("stdio", cases(items, stdio_case), comparison=_stdio_comparison(problem, meta), **_limits(meta))


def _lcb_tests(value: Any, what: str) -> list:
    try:
        tests = decode_lcb_tests(value) if value not in (None, "") else []
    except ValueError as exc:
        raise MalformedTests("tests_malformed", f"{what}: {exc}") from None
    if not isinstance(tests, list) or not all(isinstance(t, dict) for t in tests):
        raise MalformedTests("tests_malformed", f"{what} must be a list of test objects")
    return tests


def _livecodebench(gold, meta, problem) -> TestSuite:
    tests = _lcb_tests(gold, "public_test_cases") + _lcb_tests(meta.get("private_test_cases"), "private_test_cases")
    if not tests:
        raise MalformedTests("no_test_cases", "no public or private test cases")
    info = load_json(meta.get("metadata") or {}, "metadata")
    if any(t.get("testtype") == "functional" for t in tests):
        fn_name = info.get("func_name") if isinstance(info, dict) else None
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise MalformedTests("tests_malformed", "functional tests need metadata.func_name (keep `metadata`)")
        items = []
        for index, test in enumerate(tests):
            try:
                args = [json.loads(line) for line in str(test.get("input", "")).split("\n") if line.strip()]
                expected = json.loads(str(test.get("output", "")))
            except ValueError as exc:
                raise MalformedTests("tests_malformed", f"functional test {index}: not JSON: {exc}") from None
            items.append({"args": args, "expected": expected})
        return TestSuite("function", cases(items, function_case), fn_name=fn_name, prelude=LEETCODE_PRELUDE,
                         **_limits(meta))
    return TestSuite("stdio", cases(tests, stdio_case), comparison=_stdio_comparison(problem, meta, "lines"),
                     **_limits(meta))


def _io_lists(value: Any, what: str) -> list[dict]:
    value = load_json(value, what)
    if value in (None, "", {}):
        return []
    if not isinstance(value, dict) or not isinstance(value.get("input"), list) or \
            not isinstance(value.get("output"), list) or len(value["input"]) != len(value["output"]):
        raise MalformedTests("tests_malformed", f"{what} needs `input` and `output` lists of one length")
    return [{"input": i, "output": o} for i, o in zip(value["input"], value["output"])]


def _codecontests(gold, meta, problem) -> TestSuite:
    tests = _io_lists(gold, "public_tests") + _io_lists(meta.get("private_tests"), "private_tests") + \
        _io_lists(meta.get("generated_tests"), "generated_tests")
    return TestSuite("stdio", cases(tests, stdio_case), comparison=_stdio_comparison(problem, meta), **_limits(meta))


def _codeforces(gold, meta, problem) -> TestSuite:
    tests = gold if isinstance(gold, list) and gold else load_json(meta.get("examples") or [], "examples")
    checker = meta.get("generated_checker") or ""
    interactor = meta.get("interactor") or ""
    if meta.get("interaction_format") or interactor:
        if not _is_python(interactor) and not is_cpp(interactor):
            raise MalformedTests("interactive_unsupported", "an interactive problem without a Python or C++ "
                                                            "(testlib) interactor")
    files = ("input.txt", "output.txt") if meta.get("input_mode") == "file" else None
    return TestSuite("stdio", cases(tests, stdio_case), comparison=_stdio_comparison(problem, meta),
                     checker=checker_source(checker) if checker else "", files=files, interactor=interactor,
                     **_limits(meta))


def _is_python(code: Any) -> bool:
    if not isinstance(code, str) or not code.strip():
        return False
    try:
        compile(code, "interactor.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _synthetic1(gold, meta, problem) -> TestSuite:
    tests = gold.get("test_cases") if isinstance(gold, dict) else None
    if not isinstance(tests, list) or not tests or not all(isinstance(t, dict) for t in tests):
        raise MalformedTests("no_test_cases", "verification_info needs a non-empty `test_cases` list")
    language = str(gold.get("language") or "python").lower()
    if language not in ("python", "python3", "py"):
        raise MalformedTests("unsupported_language", f"tests for {language!r} programs")
    if all(t.get("type") == "function_call" for t in tests):
        names = {t.get("fn_name") for t in tests}
        fn_name = names.pop() if len(names) == 1 else None
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise MalformedTests("tests_malformed", "function_call tests need one `fn_name`")
        items = []
        for test in tests:
            args = load_json(test.get("input"), "function_call input")
            items.append({"args": args if isinstance(args, list) else [args],
                          "expected": load_json(test.get("output"), "function_call output")})
        return TestSuite("function", cases(items, function_case), fn_name=fn_name, unwrap=True,
                         prelude=LEETCODE_PRELUDE, **_limits(meta))
    if any(t.get("type") not in ("stdin_stdout", None) for t in tests):
        raise MalformedTests("tests_malformed", "test_cases mix stdin_stdout and function_call tests")
    return TestSuite("stdio", cases(tests, stdio_case), comparison=_stdio_comparison(problem, meta), **_limits(meta))


def _entry_point(meta: dict, problem: str) -> str | None:
    entry_point = meta.get("entry_point")
    if isinstance(entry_point, str) and entry_point.isidentifier():
        return entry_point
    try:  # HumanEval's prompt defines helpers first and the function to write last
        tree = ast.parse(problem)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return names[-1] if names else None


def _humaneval(gold, meta, problem) -> TestSuite:
    if not isinstance(gold, str):
        raise MalformedTests("tests_malformed", "HumanEval tests must be `def check(candidate)` code")
    entry_point = _entry_point(meta, problem)
    if entry_point is None:
        raise MalformedTests("tests_malformed", "HumanEval-style tests need an `entry_point` column or a code prompt")
    prelude = ""
    try:
        compile(problem, "prompt.py", "exec", dont_inherit=True)
        prelude = problem
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass  # the problem is prose, not a code prompt: nothing to define
    return assert_suite(prelude + "\n\n" + gold.strip(), entry_point, **_limits(meta))


def _kodcode(gold, meta, problem) -> TestSuite:
    if isinstance(gold, dict):  # a verification_info-style object holding the test file
        gold = gold.get("test_code") or gold.get("test")
    if not isinstance(gold, str) or "def test" not in gold:
        raise MalformedTests("tests_malformed", "KodCode tests must be a pytest file (`def test_...`)")
    try:
        compile(gold, "test_solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MalformedTests("check_code_syntax_error", f"the test file does not compile: {exc}") from None
    return TestSuite("pytest", check_code=gold, **_limits(meta))


def _mbpp(gold, meta, problem) -> TestSuite:
    if not isinstance(gold, list) or not gold or not all(isinstance(t, str) for t in gold):
        raise MalformedTests("tests_malformed", "MBPP tests must be a list of assert strings")
    imports = load_json(meta.get("test_imports") or [], "test_imports")
    if isinstance(imports, str):
        imports = [imports]
    setup = meta.get("test_setup_code") or ""
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports) or not isinstance(setup, str):
        raise MalformedTests("tests_malformed", "test_imports must be a list of strings, test_setup_code a string")
    # MBPP's harness runs imports, setup, program and asserts as one script: both sides see the imports and setup.
    shared = "\n".join([*imports, setup]).strip()
    return assert_suite("\n".join([shared, *gold]), "", prelude=shared + "\n" if shared else "", **_limits(meta))


_READERS = {"native": _native, "apps": _apps, "taco": _apps, "livecodebench": _livecodebench,
            "codecontests": _codecontests, "codeforces": _codeforces, "synthetic1": _synthetic1,
            "humaneval": _humaneval, "mbpp": _mbpp, "kodcode": _kodcode}
