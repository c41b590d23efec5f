"""The code verifier's pure parts: code extraction, output and value comparison, test parsing, the wire codec."""

from __future__ import annotations

import json

import pytest

from tests.verifiers.code.code_helpers import prompt
from verifiers.code.compare import Comparison, apps_values_match, stdout_matches, values_match
from verifiers.code.extract import extract_code
from verifiers.code.harness import WireError, dumps, loads, to_wire
from verifiers.code.formats import parse_tests
from verifiers.code.testcases import MalformedTests


@pytest.mark.parametrize("answer,code", [
    ("Here:\n```python\nprint(1)\n```\n", "print(1)\n"),
    ("```python\nfirst()\n```\ntext\n```python\nsecond()\n```", "second()\n"),  # the last block wins
    ("```python\ntagged()\n```\n```\nuntagged()\n```", "tagged()\n"),  # a python tag beats an untagged block
    ("```\nplain()\n```", "plain()\n"),
    ("```Python3\nx = 1\n```", "x = 1\n"),
    ("```bash\nrm -rf /\n```", None),
    ("```python\nunclosed()\n", None),
    ("no code at all", None),
    ("```python\n   \n```", None),
    ("```python\ns = '```'\nprint(s)\n```", "s = '```'\nprint(s)\n"),  # a fence inside a line is not a fence
])
def test_extract_code(answer, code):
    assert extract_code(answer) == code


@pytest.mark.parametrize("got,expected,ok", [
    ("5\n", "5\n", True),
    ("5   \n\n\n", "5", True),  # trailing whitespace and trailing empty lines
    ("a b\r\nc\r\n", "a b\nc\n", True),
    ("5\n6\n", "5\n", False),  # expected tokens plus an extra one
    ("5\n", "5\n6\n", False),  # only the first expected token
    ("1 2 3\n", "1\n2\n3\n", True),  # judges compare tokens: several answers on one line
    ("1\n\n2\n", "1\n2\n", True),  # blank lines between answers
    ("hello  world\n", "hello world\n", True),
    ("0.3333333\n", "0.333333333\n", True),  # decimals: tolerance
    ("0.34\n", "0.333333333\n", False),
    ("Case #1: 0.500000001\n", "Case #1: 0.5\n", True),  # extra decimals inside a text line
    ("1 2.0000001 3\n", "1 2 3\n", False),  # an expected integer needs an integer
    ("5.0\n", "5\n", False),
    ("3e+17\n", "300000000000000003\n", False),  # a float token never equals an integer token
    ("300000000000000003\n", "3e+17\n", True),  # an expected float: tolerance, an integer is a number
    ("1000000000000000001\n", "1000000000000000000\n", False),  # integers compare exactly
    ("007\n", "7\n", True),  # the same integer value
    ("YES\n", "yes\n", False),  # case matters unless the problem says otherwise
    ("nan\n", "0.5\n", False),
    ("inf\n", "1e308\n", False),
    ("", "", True),
    ("nan\n", "nan\n", True),
    ("1e-7\n", "0.0\n", True),  # absolute tolerance near zero
    ("1000001.5\n", "1000000.5\n", True),  # relative tolerance on large values
    ("1000011.5\n", "1000000.5\n", False),
])
def test_stdout_matches(got, expected, ok):
    assert stdout_matches(got, expected)[0] is ok


def test_stdout_comparison_options():
    anycase = Comparison(case_insensitive=True)
    assert stdout_matches("YES\nno\n", "yes\nNO\n", anycase)[0]
    assert not stdout_matches("YES\n", "NO\n", anycase)[0]
    lines = Comparison(mode="lines")
    assert stdout_matches("1 2\n3  \n\n", "1 2\n3\n", lines)[0]
    assert not stdout_matches("1 2 3\n", "1 2\n3\n", lines)[0]  # the layout is part of the answer
    loose = Comparison(float_tol=1e-2)
    assert stdout_matches("3.14\n", "3.14159\n", loose)[0] and not stdout_matches("3.14\n", "3.14159\n")[0]
    ok, why = stdout_matches("1 2 4\n", "1 2 3\n")
    assert not ok and "token 3" in why and "'4'" in why


@pytest.mark.parametrize("got,expected,ok", [
    ((1, 2), [1, 2], True),
    ([[1, (2, 3)]], [[1, [2, 3]]], True),
    (0.1 + 0.2, 0.3, True),
    (1, 1.0, True),
    (True, 1, False),
    (1, True, False),
    ("1", 1, False),
    ({"a": [1]}, {"a": [1]}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    (None, None, True),
    (10 ** 400, 1.5, False),
    (float("nan"), float("nan"), True),
])
def test_values_match(got, expected, ok):
    assert values_match(got, expected) is ok


def test_wire_round_trip_of_plain_data():
    value = [1, -2.5, "s", None, True, (1, (2,)), {1: "a", (2, 3): [4]}, {5, 6}, frozenset({7}), b"\x00\xff", 1 + 2j]
    assert loads(dumps(["ok", to_wire(value)])) == ["ok", value]


@pytest.mark.parametrize("value", [type("I", (int,), {})(3), type("S", (str,), {})("x"), object(), iter([]), len])
def test_wire_refuses_anything_with_behaviour(value):
    with pytest.raises(WireError):
        to_wire(value)


@pytest.mark.parametrize("line", [b'{"a": 1}', b'{"$eval": "1"}', b'{"$set": [[1]]}', b"[" * 100000, b"not json"])
def test_wire_decoder_refuses_malformed_messages(line):
    with pytest.raises(WireError):
        loads(line)


def test_parse_three_forms_from_str_or_dict():
    stdio = {"type": "stdio", "cases": [{"input": "1\n", "output": "1\n"}]}
    function = {"type": "function", "fn_name": "f", "cases": [{"args": [1], "expected": 2}]}
    asserts = {"type": "assert", "entry_point": "f", "code": "def check(candidate):\n    assert candidate(1) == 2\n"}
    for tests, kind in ((stdio, "stdio"), (function, "function"), (asserts, "assert")):
        assert parse_tests(prompt(tests)).kind == kind
        assert parse_tests(prompt(json.dumps(tests))).kind == kind  # a JSON string is parsed too
    suite = parse_tests(prompt(function))
    assert suite.fn_name == "f" and suite.cases[0] == {"args": [1], "kwargs": {}, "expected": 2}
    mbpp = parse_tests(prompt(["assert f(1) == 2", "assert f(2) == 3"]))
    assert mbpp.kind == "assert" and mbpp.entry_point == "" and "assert f(2) == 3" in mbpp.check_code


@pytest.mark.parametrize("tests,reason", [
    ("{not json", "tests_not_json"),
    ("print(1)", "tests_not_json"),
    ({"type": "shell", "cases": []}, "unknown_test_type"),
    ({"type": "stdio", "cases": []}, "no_test_cases"),
    ({"type": "stdio", "cases": [{"input": 1, "output": "1"}]}, "tests_malformed"),
    ({"type": "function", "fn_name": "not an identifier", "cases": [{"args": [], "expected": 1}]}, "tests_malformed"),
    ({"type": "function", "fn_name": "f", "cases": [{"args": 1, "expected": 1}]}, "tests_malformed"),
    ({"type": "assert", "entry_point": "f", "code": "def check(candidate):\n    assert ("}, "check_code_syntax_error"),
    ({"type": "assert", "entry_point": "f"}, "tests_malformed"),
    (42, "tests_not_json"),  # gold "42": neither an object nor check code
])
def test_malformed_tests_have_reasons(tests, reason):
    with pytest.raises(MalformedTests) as error:
        parse_tests(prompt(tests))
    assert error.value.reason == reason


def test_humaneval_native_form_needs_entry_point_and_runs_prompt_helpers():
    problem = "def helper(x):\n    return x + 1\n\ndef f(x):\n    \"\"\"Return helper(x).\"\"\"\n"
    test = "def check(candidate):\n    assert candidate(1) == helper(1)\n"
    suite = parse_tests(prompt(test, problem=problem, entry_point="f"))
    assert suite.kind == "assert" and suite.entry_point == "f"
    assert suite.check_code.startswith(problem) and suite.check_code.endswith(test.strip())
    prose = parse_tests(prompt(test, problem="Write f, which adds one.", entry_point="f"))
    assert prose.check_code.strip() == test.strip()  # prose problems are not run
    inferred = parse_tests(prompt(test, problem=problem))  # no entry_point column: the prompt's last function
    assert inferred.entry_point == "f"
    with pytest.raises(MalformedTests) as info:
        parse_tests(prompt(test, problem="Write f, which adds one."))
    assert info.value.reason == "tests_malformed"


@pytest.mark.parametrize("got,expected,ok", [
    ([1, 2], [[1, 2]], True),  # APPS wraps call-based outputs in a list
    ((1, 2), [[1, 2]], True),
    ([1, 2], [1, 2], True),
    (3, [3], True),
    (1, [1, 2], False),  # only a one-element wrapper is unwrapped
    ([[1, 2]], [1, 2], False),
])
def test_apps_values_match(got, expected, ok):
    assert apps_values_match(got, expected) is ok
