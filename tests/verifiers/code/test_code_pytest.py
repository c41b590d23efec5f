"""KodCode-style pytest files under real pytest in the checker's sandbox, the candidate in its own: fixtures,
parametrize, raises; objects the candidate returns used through handles (design problems); vacuous files."""

from __future__ import annotations

import pytest

from tests.verifiers.code.code_helpers import completion, prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code.harness import WireError, loads
from verifiers.code.toolchain import pytest_binds

pytestmark = pytest.mark.skipif(not pytest_binds(), reason="pytest is bound from the verifier's environment")

COUNTER_TESTS = """import pytest
from solution import Counter2, make


@pytest.fixture
def counter():
    c = Counter2(start=2)
    c.add(3)
    return c


def test_value(counter):
    assert counter.value == 5
    assert counter.total() == 5
    assert str(counter) == "Counter2(5)"


@pytest.mark.parametrize("n", [0, 4])
def test_many(n):
    c = make(n)
    assert len(c) == n and list(c) == list(range(n))
    assert (n - 1 in c) is (n > 0)


def test_errors():
    with pytest.raises(ValueError):
        Counter2(start=-1)
"""

GOOD = """class Counter2:
    def __init__(self, start=0):
        if start < 0:
            raise ValueError("negative")
        self.value = start
        self.items = list(range(start))

    def add(self, k):
        self.value += k

    def total(self):
        return self.value

    def __str__(self):
        return f"Counter2({self.value})"

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, x):
        return x in self.items


def make(n):
    return Counter2(n)
"""


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(timeout_s=10.0)) as v:
        yield v


def test_pytest_files_judge_classes_through_handles(verifier):
    programs = {
        GOOD: ("accepted", ""),
        GOOD.replace("self.value += k", "self.value += k + 1"): ("rejected", "wrong_output"),
        GOOD.replace('raise ValueError("negative")', "pass"): ("rejected", "wrong_output"),
        GOOD.replace("def make(n):", "def make_(n):"): ("rejected", "runtime_error"),
        "x = 1": ("rejected", "runtime_error"),
    }
    verdicts = verifier.verify_batch(prompt(COUNTER_TESTS), [completion(c, i) for i, c in enumerate(programs)])
    got = [(v.status, v.reason) for v in verdicts]
    assert got[0] == ("accepted", ""), verdicts[0].details
    assert all(status == "rejected" for status, _ in got[1:]), got
    assert got[1][1] == "wrong_output" and verdicts[1].details["test_type"] == "pytest"


def test_a_pytest_file_that_never_calls_the_candidate_is_vacuous(verifier):
    tests = "from solution import f\n\ndef test_nothing():\n    assert 1 + 1 == 2\n"
    verdict = verifier.verify(prompt(tests), completion("def f():\n    return 1"))
    assert (verdict.status, verdict.reason) == ("unverifiable", "vacuous_tests")


def test_handles_cannot_be_forged_outside_the_candidates_sandbox():
    with pytest.raises(WireError):
        loads(b'["ok", {"$handle": 1}]\n')  # the verifier and checkers hold no objects to point to


def test_objects_equal_to_everything_do_not_pass(verifier):
    tests = ("from solution import f\n\ndef test_f():\n    assert f(2) == 4\n    assert f(3) in [9]\n\n"
             "def test_order():\n    assert not (f(1) < 0)\n")
    anything = ("class Anything:\n    def __eq__(self, other):\n        return True\n    def __lt__(self, other):\n"
                "        return False\n    def __hash__(self):\n        return 0\n\ndef f(x):\n    return Anything()")
    honest = "def f(x):\n    return x * x"
    verdicts = verifier.verify_batch(prompt(tests), [completion(anything, 0), completion(honest, 1)])
    assert [v.status for v in verdicts] == ["rejected", "accepted"], [v.details for v in verdicts]
