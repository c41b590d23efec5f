"""Judging like real judges, in the real sandbox: per-problem limits from the data, budgets that follow the number of
tests, stderr never fatal, the stdout cap following the expected output, /dev/stdin, checkers, file I/O, vacuous
checks, and the failing test's heads in the details."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.verifiers.code.code_helpers import completion, prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code.run import RunSettings, budget_s, plan
from verifiers.code.sandbox import Limits
from verifiers.code.testcases import TestSuite

TestSuite.__test__ = False  # a dataclass, not a pytest class

ECHO = {"type": "stdio", "cases": [{"input": "7\n", "output": "7\n"}]}


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(timeout_s=5.0, max_output_bytes=64 << 10)) as v:
        yield v


def _verdict(verifier, tests, code, **metadata):
    return verifier.verify(prompt(tests, **metadata), completion(code))


def test_the_problems_own_time_limit_applies(verifier):
    spin = "while True:\n    pass"
    default = _verdict(verifier, ECHO, spin)
    assert default.reason == "timeout" and default.details["time_limit_s"] == 5.0  # the recipe's
    limited = _verdict(verifier, {**ECHO, "time_limit": 1, "memory_limit": 100}, spin)
    assert (limited.status, limited.reason) == ("rejected", "timeout")
    assert limited.details["time_limit_s"] == 1.0 and limited.details["memory_mb"] == 100


def test_the_cpu_limit_stops_a_program_at_the_limit_not_a_second_later(verifier):
    # The harness is the sandbox's pid 1, which ignores SIGXCPU: the hard limit is the one that stops it, so it must
    # be the limit itself (with soft + 1, a 1.6 s loop passed a 1 s problem).
    probe = ("import resource, sys\nsys.path.insert(0, 'verifiers/code')\nimport harness\n"
             "harness._set_limits('cpu=3,nofile=64')\nprint(*resource.getrlimit(resource.RLIMIT_CPU))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.stdout.split() == ["3", "3"]
    spin = "import time\nwhile time.process_time() < 1.6:\n    pass\nprint(input())"
    assert _verdict(verifier, {**ECHO, "time_limit": 1}, spin).reason == "timeout"


def test_python_time_factor_scales_the_problems_limit():
    settings = RunSettings(limits=Limits(), timeout_s=10.0, max_output_bytes=1 << 20, python_time_factor=3.0)
    suite = TestSuite("stdio", cases=({"input": "", "output": ""},) * 151, time_limit_s=2.0, memory_mb=128)
    planned = plan(settings, suite)
    assert planned.timeout_s == 6.0 and planned.limits.memory_mb == 128
    assert budget_s(planned, suite) >= 151 * 6.0  # no fixed budget per program: it follows the number of tests
    one = TestSuite("stdio", cases=({"input": "", "output": ""},))
    assert budget_s(plan(settings, one), one) < 60
    capped = RunSettings(limits=Limits(), timeout_s=10.0, max_output_bytes=1 << 20, total_timeout_s=30.0)
    assert budget_s(plan(capped, suite), suite) == 30.0


def test_the_problems_memory_limit_applies(verifier):
    hog = "x = bytearray(100 << 20)\nprint(input())"
    assert _verdict(verifier, ECHO, hog).accepted  # the recipe's 256 MB
    verdict = _verdict(verifier, {**ECHO, "memory_limit": 64}, hog)
    assert (verdict.status, verdict.reason) == ("rejected", "memory_limit")


def test_stderr_is_drained_not_fatal_and_stdout_cap_follows_the_expected_size(verifier):
    noisy = "import sys\nsys.stderr.write('warning ' * 40000)\nprint(input())"
    assert _verdict(verifier, ECHO, noisy).accepted  # 320 KB on stderr
    big = {"type": "stdio", "cases": [{"input": "200000\n", "output": "x\n" * 200000}]}
    assert _verdict(verifier, big, "print('x\\n' * (int(input()) - 1) + 'x')").accepted  # 400 KB > the 64 KB cap
    flood = _verdict(verifier, ECHO, "while True:\n    print('y' * 1000)")
    assert flood.reason == "output_limit"
    function = {"type": "function", "fn_name": "f", "cases": [{"args": [2], "expected": 4}]}
    chatty = "import sys\ndef f(x):\n    sys.stderr.write('trace ' * 40000)\n    return x * x"
    assert _verdict(verifier, function, chatty).accepted  # stderr never fatal in any test form
    assert _verdict(verifier, ["assert f(3) == 9"], chatty).accepted


def test_dev_stdin_can_be_opened(verifier):
    assert _verdict(verifier, ECHO, "print(open('/dev/stdin').read().split()[0])").accepted
    assert _verdict(verifier, ECHO, "import sys\nprint(open(0).read().strip())").accepted


def test_failing_test_details_carry_input_expected_and_actual_heads(verifier):
    verdict = _verdict(verifier, ECHO, "print(8)")
    first = verdict.details["tests"][0]
    assert verdict.reason == "wrong_output" and first["input"] == "7\n" and first["expected"] == "7\n"
    assert first["got"] == "8\n" and "token 1" in first["message"]
    empty = _verdict(verifier, ECHO, "pass")
    assert empty.reason == "empty_output"


def test_a_check_that_never_calls_the_candidate_is_vacuous(verifier):
    vacuous = _verdict(verifier, {"type": "assert", "code": "assert True\n"}, "pass")
    assert (vacuous.status, vacuous.reason) == ("unverifiable", "vacuous_tests")
    nothing = _verdict(verifier, {"type": "assert", "code": "x = 1\nassert x == 1\n"}, "pass")
    assert (nothing.status, nothing.reason) == ("unverifiable", "vacuous_tests") and not nothing.accepted
    real = _verdict(verifier, ["assert add(1, 2) == 3"], "def add(a, b):\n    return a + b")
    assert real.accepted


CHECKER = """import sys
n = int(open(sys.argv[1]).read())
want = open(sys.argv[2]).read().split()
got = open(sys.argv[3]).read().split()
print(1 if len(got) == 2 and all(x.isdigit() and int(x) > 0 for x in got) and sum(map(int, got)) == n else 0)
"""


def test_a_problem_checker_judges_any_valid_answer(verifier):
    tests = {"type": "stdio", "checker": CHECKER, "cases": [{"input": "5\n", "output": "1 4\n"},
                                                          {"input": "9\n", "output": "4 5\n"}]}
    assert _verdict(verifier, tests, "n = int(input())\nprint(2, n - 2)").accepted  # not the expected answer
    rejected = _verdict(verifier, tests, "n = int(input())\nprint(n, 0)")
    assert rejected.reason == "checker_rejected" and "checker said" in rejected.details["tests"][0]["message"]
    broken = {**tests, "checker": "import sys\nraise SystemExit(3)\n"}
    assert _verdict(verifier, broken, "print(1, 4)").reason == "checker_rejected"


def test_file_io_problems_read_and_write_their_files(verifier):
    tests = [{"input": "3 4\n", "output": "12\n"}]
    files = dict(input_mode="file", time_limit=2.0, memory_limit=256.0)
    good = "a, b = map(int, open('input.txt').read().split())\nprint(a * b, file=open('output.txt', 'w'))"
    assert _verdict(verifier, tests, good, **files).accepted
    stdout_only = _verdict(verifier, tests, "print(12)", **files)  # the judge reads output.txt, not stdout
    assert stdout_only.reason in ("empty_output", "runtime_error")


def test_leetcode_names_are_predefined_for_function_problems(verifier):
    tests = {"inputs": [[[1, 2, 3]]], "outputs": [[6]], "fn_name": "total"}
    code = "class Solution:\n    def total(self, nums: List[int]) -> Optional[int]:\n        return sum(nums)"
    assert _verdict(verifier, tests, code).accepted
    node = "def total(nums):\n    head = ListNode(nums[0])\n    return sum(nums) if head.val == 1 else 0"
    assert _verdict(verifier, tests, node).accepted


INTERACTOR = """import sys
secret = int(open(sys.argv[1]).read())
for asked in range(1, 11):
    line = sys.stdin.readline().split()
    if not line:
        sys.exit("the program stopped asking")
    if line[0] == "!":
        sys.exit(0 if int(line[1]) == secret else "wrong guess " + line[1])
    guess = int(line[1])
    print("<" if secret < guess else ">" if secret > guess else "=", flush=True)
sys.exit("too many queries")
"""
SEARCH = """lo, hi = 1, 100
while True:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    answer = input()
    if answer == "=":
        print("!", mid, flush=True)
        break
    if answer == "<":
        hi = mid - 1
    else:
        lo = mid + 1
"""


def test_interactive_problems_run_against_their_interactor(verifier):
    tests = {"type": "stdio", "interactor": INTERACTOR, "cases": [{"input": "37\n", "output": "37\n"},
                                                                  {"input": "100\n", "output": "100\n"}]}
    assert _verdict(verifier, tests, SEARCH).accepted
    linear = ("for x in range(1, 101):\n    print('?', x, flush=True)\n    if input() == '=':\n"
              "        print('!', x)\n        break")
    too_many = _verdict(verifier, tests, linear)
    assert too_many.reason == "wrong_output" and "too many queries" in too_many.details["tests"][0]["message"]
    guess = _verdict(verifier, tests, "print('!', 37, flush=True)")  # right for the first secret only
    assert guess.reason == "wrong_output" and [t["status"] for t in guess.details["tests"]] == \
        ["passed", "wrong_output"]
    deadlock = _verdict(verifier, {**tests, "time_limit": 1}, "input()")  # both sides wait for the other
    assert deadlock.reason == "timeout"


def test_in_place_functions_are_judged_on_their_argument(verifier):
    tests = {"type": "function", "fn_name": "moveZeroes",
             "cases": [{"args": [[0, 1, 0, 3, 12]], "expected": [1, 3, 12, 0, 0]}, {"args": [[0]], "expected": [0]}]}
    in_place = ("class Solution:\n    def moveZeroes(self, nums: List[int]) -> None:\n"
                "        nums[:] = [x for x in nums if x] + [0] * nums.count(0)")
    assert _verdict(verifier, tests, "from typing import List\n" + in_place).accepted
    untouched = "def moveZeroes(nums):\n    sorted(nums)"
    assert _verdict(verifier, tests, untouched).reason == "wrong_output"
    returned = "def moveZeroes(nums):\n    return [x for x in nums if x] + [0] * nums.count(0)"
    assert _verdict(verifier, tests, returned).accepted


def test_design_problems_call_methods_on_one_instance(verifier):
    tests = {"type": "function", "fn_name": "MinStack", "cases": [
        {"methods": ["MinStack", "push", "push", "getMin", "pop", "getMin"], "args": [[], [3], [1], [], [], []],
         "expected": [None, None, None, 1, None, 3]}]}
    good = ("class MinStack:\n    def __init__(self):\n        self.s = []\n    def push(self, x):\n"
            "        self.s.append(x)\n    def pop(self):\n        self.s.pop()\n    def getMin(self):\n"
            "        return min(self.s)")
    assert _verdict(verifier, tests, good).accepted
    assert _verdict(verifier, tests, good.replace("min(self.s)", "self.s[0]")).reason == "wrong_output"
    broken = _verdict(verifier, tests, good.replace("self.s.pop()", "self.t.pop()"))
    assert broken.reason == "runtime_error" and "call 4 (pop)" in broken.details["tests"][0]["message"]
