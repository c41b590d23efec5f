"""The wall-clock bound: BoundedRunner on its own, from threads, and MathVerifier on pathological inputs.

No timing is asserted beyond "the call returned": bounds are generous, the figures are the benchmark's job."""

from __future__ import annotations

import threading

import pytest

from verifiers.types import Completion, Prompt
from verifiers.bounded import BoundedRunner
from verifiers.math import MathVerifier


def _explode(n: int) -> int:
    return len(str(10**n))  # huge integer arithmetic that holds the GIL in C


def _crash() -> None:
    import os

    os.abort()


@pytest.fixture(scope="module")
def runner():
    r = BoundedRunner(timeout_s=2.0, memory_mb=512)
    yield r
    r.close()


def test_ok_call(runner):
    result = runner.call("math:factorial", 10)
    assert result.status == "ok" and result.value == 3628800


def test_error_is_a_status(runner):
    result = runner.call("math:sqrt", -1)
    assert result.status == "error" and "ValueError" in result.error


def test_timeout_kills_and_replaces_the_child(runner):
    before_pid, before_restarts = runner.pid, runner.restarts
    result = runner.call("time:sleep", 60, timeout_s=0.5)
    assert result.status == "timeout"
    assert runner.restarts == before_restarts + 1 and runner.pid != before_pid
    assert runner.call("math:factorial", 5).value == 120  # the replacement works


def test_c_level_hang_is_killed(runner):
    assert runner.call(_explode, 10**10, timeout_s=1.0).status in ("timeout", "memory")
    assert runner.call("math:factorial", 4).value == 24


def test_memory_cap(runner):
    assert runner.call("builtins:bytearray", 4 * 1024**3).status == "memory"
    assert runner.call("math:factorial", 3).value == 6


def test_crash_is_a_status(runner):
    assert runner.call(_crash).status == "crashed"
    assert runner.call("math:factorial", 3).value == 6


def test_calls_from_threads(runner):
    results = {}

    def work(i: int) -> None:
        results[i] = runner.call("math:factorial", i).value

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: __import__("math").factorial(i) for i in range(8)}


def test_timeout_from_a_thread(runner):
    out = []
    t = threading.Thread(target=lambda: out.append(runner.call("time:sleep", 60, timeout_s=0.5).status))
    t.start()
    t.join(timeout=120)
    assert out == ["timeout"]


def test_close_is_idempotent():
    r = BoundedRunner(timeout_s=1.0)
    assert r.call("math:factorial", 3).value == 6
    r.close()
    r.close()
    with pytest.raises(RuntimeError):
        r.call("math:factorial", 3)


PATHOLOGICAL = [
    r"10^{10^{10}}", r"9^{9^{9^{9}}}", r"2^{2^{2^{2^{2^{2}}}}}", r"(10^{100000})!", r"100000000!", r"9^{9^{9^{9}}}!",
    r"\frac{10^{10^{10}}}{10^{10^{10}}+1}", r"\sqrt{\sqrt{\sqrt{\sqrt{\sqrt{2}}}}}^{10^{100}}", r"e^{e^{e^{e^{e}}}}",
    r"10^{10^{10}} - 10^{10^{10}}", "1" + "0" * 900, r"\sum_{k=1}^{10^{12}} k", r"\int_0^{10^{10}} \sin(x^{x}) dx",
]


@pytest.mark.parametrize("answer", PATHOLOGICAL)
def test_pathological_answers_come_back(answer):
    with MathVerifier(timeout_s=3.0, memory_mb=768) as v:
        prompt = Prompt("p", (), "q", "7")
        verdict = v.verify(prompt, Completion("p", 0, f"</think>\\boxed{{{answer}}}"))
    assert verdict.status == "rejected"
    assert verdict.reason in ("timeout", "wrong_answer", "unparseable_answer")


@pytest.mark.parametrize("gold", [r"10^{10^{10}}", r"(10^{100000})!", r"2^{2^{2^{2^{2^{2}}}}}"])
def test_pathological_gold_comes_back(gold):
    with MathVerifier(timeout_s=3.0, memory_mb=768) as v:
        verdict = v.verify(Prompt("p", (), "q", gold), Completion("p", 0, r"</think>\boxed{7}"))
    assert (verdict.status, verdict.reason) in (("rejected", "wrong_answer"), ("rejected", "timeout"),
                                                ("unverifiable", "unverifiable_gold"))


def test_timeout_verdict_then_recovery():
    with MathVerifier(timeout_s=1.0, memory_mb=768) as v:
        prompt = Prompt("p", (), "q", r"\sqrt{2}")
        stuck = v.verify(prompt, Completion("p", 0, r"</think>\boxed{(10^{100000})!}"))
        assert (stuck.status, stuck.reason) == ("rejected", "timeout")
        assert stuck.details["limit"] in ("timeout", "memory", "crashed")
        assert v.verify(prompt, Completion("p", 1, r"</think>\boxed{\frac{2}{\sqrt{2}}}")).accepted


def test_verifier_from_threads():
    with MathVerifier(timeout_s=20.0) as v:
        prompt = Prompt("p", (), "q", r"\frac{\sqrt{3}}{2}")
        out: dict[int, bool] = {}

        def work(i: int) -> None:
            answer = r"\sin(\pi/3)" if i % 2 == 0 else r"\cos(\pi/3)"
            out[i] = v.verify(prompt, Completion("p", i, f"</think>\\boxed{{{answer}}}")).accepted

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert out == {i: i % 2 == 0 for i in range(6)}


def test_verifier_pickles_without_its_child():
    import pickle

    v = MathVerifier()
    assert v.verify(Prompt("p", (), "q", r"\sqrt{2}"), Completion("p", 0, r"</think>\boxed{\sqrt{2}}")).accepted
    clone = pickle.loads(pickle.dumps(v))
    assert clone._runner is None and clone.timeout_s == v.timeout_s
    assert clone.verify(Prompt("p", (), "q", r"\sqrt{2}"), Completion("p", 0, r"</think>\boxed{\sqrt{2}}")).accepted
    v.close()
    clone.close()


@pytest.mark.slow
def test_inside_a_ray_worker():
    ray = pytest.importorskip("ray")

    @ray.remote
    def grade(gold: str, texts: list[str]) -> list[tuple[str, str]]:
        with MathVerifier(timeout_s=2.0) as v:
            p = Prompt("p", (), "q", gold)
            return [(x.status, x.reason) for x in v.verify_batch(p, [Completion("p", i, t) for i, t in enumerate(texts)])]

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        texts = [r"</think>\boxed{\frac{2}{\sqrt{2}}}", r"</think>\boxed{(10^{100000})!}", r"</think>\boxed{3}"]
        assert ray.get(grade.remote(r"\sqrt{2}", texts)) == [
            ("accepted", ""), ("rejected", "timeout"), ("rejected", "wrong_answer")]
    finally:
        ray.shutdown()
