"""CodeVerifier end to end in the real sandbox: every verdict reason, per-test details, the three test forms, the
shipped sample problems, preflight, close(), and `factory verify --recipe code`."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from verifiers.types import Completion
from tests.verifiers.code.code_helpers import TEST_SANDBOX_UID, completion, prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code.sandbox import Limits, Sandbox, SandboxUnavailableError
from verifiers.code.sandbox_check import preflight

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "prompts" / "code-sample.jsonl"
STDIO = {"type": "stdio", "cases": [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]}
ADD_STDIO = "a, b = map(int, input().split())\nprint(a + b)"


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(timeout_s=2.0, memory_mb=256, max_output_bytes=64 << 10)) as v:
        yield v


def _reasons(verifier, tests, programs):
    verdicts = verifier.verify_batch(prompt(tests), [completion(code, i) for i, code in enumerate(programs)])
    return [(v.status, v.reason) for v in verdicts], verdicts


def test_every_reason_on_stdio(verifier):
    programs = {
        ADD_STDIO: ("accepted", ""),
        "print(int(input().split()[0]) * 2)": ("rejected", "wrong_output"),
        "raise ValueError('boom')": ("rejected", "runtime_error"),
        "while True:\n    pass": ("rejected", "timeout"),
        "x = bytearray(1 << 30)": ("rejected", "memory_limit"),
        "while True:\n    print('y' * 1000)": ("rejected", "output_limit"),
        "def broken(:\n    pass": ("rejected", "syntax_error"),
    }
    got, verdicts = _reasons(verifier, STDIO, list(programs))
    assert got == list(programs.values())
    no_code = verifier.verify(prompt(STDIO), Completion("p", 9, "<think>\nhmm\n</think>\nNo code."))
    assert (no_code.status, no_code.reason) == ("rejected", "no_code")
    accepted = verdicts[0].details
    assert accepted["passed"] == accepted["total"] == 2 and [t["status"] for t in accepted["tests"]] == ["passed"] * 2
    wrong = verdicts[1].details["tests"]
    assert wrong[0]["status"] == "wrong_output" and wrong[1]["status"] == "not_run"
    assert "ValueError: boom" in verdicts[2].details["tests"][0]["message"]


def test_code_in_reasoning_is_ignored_and_oversized_code_refused(verifier):
    text = f"<think>\n```python\n{ADD_STDIO}\n```\n</think>\nI could not finish."
    verdict = verifier.verify(prompt(STDIO), Completion("p", 0, text))
    assert verdict.reason == "no_code"
    huge = verifier.verify(prompt(STDIO), completion("x = 1\n" * 40000))
    assert huge.reason == "code_too_long"


def test_all_tests_run_when_asked():
    with CodeVerifier(**verifier_kwargs(stop_on_first_failure=False)) as v:
        verdict = v.verify(prompt(STDIO), completion("print(5)"))
    assert [t["status"] for t in verdict.details["tests"]] == ["passed", "wrong_output"]
    assert verdict.reason == "wrong_output" and verdict.details["passed"] == 1


def test_function_form(verifier):
    tests = {"type": "function", "fn_name": "stats", "cases": [
        {"args": [[1, 2, 3]], "expected": [2.0, 6]},
        {"args": [[0.1, 0.2]], "kwargs": {"scale": 10}, "expected": [1.5, 3.0000000001]},
    ]}
    good = "def stats(xs, scale=1):\n    return (sum(xs) / len(xs) * scale, sum(xs) * scale)"
    leetcode = "class Solution:\n    def stats(self, xs, scale=1):\n        return [sum(xs) / len(xs) * scale, sum(xs) * scale]"
    got, verdicts = _reasons(verifier, tests, [
        good, leetcode, "def stats(xs, scale=1):\n    return None", "def other(xs):\n    return 1",
        "def stats(xs, scale=1):\n    return {}[xs[0]]", "def stats(xs, scale=1):\n    while True:\n        pass",
        "import sys\nsys.exit(0)"])
    assert got == [("accepted", ""), ("accepted", ""), ("rejected", "wrong_output"), ("rejected", "runtime_error"),
                   ("rejected", "runtime_error"), ("rejected", "timeout"), ("rejected", "runtime_error")]
    assert "KeyError" in verdicts[4].details["tests"][0]["message"]


def test_assert_form(verifier):
    tests = {"type": "assert", "entry_point": "safe_div", "code": (
        "import math\n\ndef helper(x):\n    return x * 2\n\ndef check(candidate):\n"
        "    assert math.isclose(candidate(helper(3), 4), 1.5)\n"
        "    try:\n        candidate(1, 0)\n    except ZeroDivisionError:\n        pass\n"
        "    else:\n        assert False, 'expected an error'\n")}
    got, verdicts = _reasons(verifier, tests, [
        "def safe_div(a, b):\n    return a / b",
        "def safe_div(a, b):\n    return a / b if b else 0",
        "def safe_div(a, b):\n    return a // b",
        "def safe_div(a, b):\n    raise KeyError('no')",
        "def safe_div(a, b):\n    import time\n    time.sleep(100)",
        "def safe_div(a, b):\n    return 'x' * 10_000_000"])
    assert got == [("accepted", ""), ("rejected", "wrong_output"), ("rejected", "wrong_output"),
                   ("rejected", "runtime_error"), ("rejected", "timeout"), ("rejected", "output_limit")]
    assert "line" in verdicts[2].details["tests"][0]["message"]  # the failing assertion is named


def test_assert_form_mbpp_names_resolve_to_the_candidate(verifier):
    got, _ = _reasons(verifier, ["assert double(2) == 4", "assert triple(2) == 6"], [
        "def double(x):\n    return 2 * x\ndef triple(x):\n    return 3 * x",
        "def double(x):\n    return 2 * x"])
    assert got == [("accepted", ""), ("rejected", "runtime_error")]


def test_unportable_test_arguments_are_unverifiable_not_wrong(verifier):
    tests = {"type": "assert", "entry_point": "apply", "code": "def check(candidate):\n    assert candidate(len, 'ab') == 2\n"}
    verdict = verifier.verify(prompt(tests), completion("def apply(f, x):\n    return f(x)"))
    assert verdict.status == "unverifiable"


def test_malformed_gold_is_unverifiable_for_every_sample(verifier):
    broken = prompt({"type": "stdio", "cases": []})
    assert verifier.check_gold(broken) == "no_test_cases"
    verdicts = verifier.verify_batch(broken, [completion("print(1)", 0), completion("print(2)", 1)])
    assert [(v.status, v.reason) for v in verdicts] == [("unverifiable", "no_test_cases")] * 2


def test_shipped_sample_problems_accept_their_reference_solutions(verifier):
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    assert len(rows) >= 24 and {json.loads(r["tests"])["type"] for r in rows} == {"stdio", "function", "assert"}
    for row in rows:
        p = prompt(row["tests"], row["id"], problem=row["problem"])
        assert verifier.check_gold(p) is None, row["id"]
        right, wrong = verifier.verify_batch(p, [completion(row["solution"], 0), completion("print('nope')", 1)])
        assert right.accepted, (row["id"], right)
        assert wrong.status == "rejected", (row["id"], wrong)


def test_preflight_refuses_without_bubblewrap():
    with pytest.raises(SandboxUnavailableError, match="bubblewrap"):
        preflight(Sandbox(bwrap="/nonexistent/bwrap"))


def test_unsafe_mode_is_explicit_and_says_so():
    with CodeVerifier(**verifier_kwargs(unsafe_no_sandbox=True)) as v:
        assert "UNSAFE" in v.sandbox_report.summary()
        verdicts = v.verify_batch(prompt(STDIO), [completion(ADD_STDIO, 0), completion("print(0)", 1)])
    assert [v.status for v in verdicts] == ["accepted", "rejected"]


def test_sandboxed_report_names_its_protections(verifier):
    summary = verifier.sandbox_report.summary()
    for protection in ("namespaces", "no network", "read-only", "processes", "rlimits", "wall-clock"):
        assert protection in summary


def test_close_kills_running_sandboxes():
    v = CodeVerifier(**verifier_kwargs(timeout_s=60.0, total_timeout_s=120.0))
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        verdict=v.verify(prompt(STDIO), completion("import time\ntime.sleep(1000)"))))
    worker.start()
    deadline = time.monotonic() + 10
    # Wait until the program runs (its pid 1 held, then a moment for it to be let go), not merely until bwrap was
    # spawned: closing during start-up is a different case, whose verdict is unverifiable (sandbox_error).
    while not any(e.pidfd is not None for e in list(v.sandbox._live)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert v.sandbox._live, "the sandbox never started"
    time.sleep(0.5)
    v.close()
    worker.join(timeout=15)
    assert not worker.is_alive()
    assert result["verdict"].status == "rejected" and not v.sandbox._live
    if os.geteuid() == 0:
        left = [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == TEST_SANDBOX_UID]
        assert not left


def test_finish_from_two_threads_at_once_returns_one_status():
    """close() reaps from its own thread while the verifying thread reaps too (a CI failure: a cgroup removed twice)."""
    sandbox = Sandbox(sandbox_uid=TEST_SANDBOX_UID)  # the uid only applies when root
    for _ in range(5):
        execution = sandbox.start("stdio", ["{workdir}"], Limits(wall_s=30),
                                  files={"main.py": b"import time\ntime.sleep(60)"})
        execution.kill()
        statuses, errors = [], []
        barrier = threading.Barrier(3)

        def reap():
            barrier.wait()
            try:
                statuses.append(execution.finish())
            except Exception as exc:  # noqa: BLE001 - the test reports it
                errors.append(exc)

        threads = [threading.Thread(target=reap) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert not errors and len(statuses) == 3 and len(set(statuses)) == 1 and statuses[0] != 0
        assert execution.pidfd is None and execution.cgroup is None and not sandbox._live
        execution.kill()  # after reaping: a no-op, never a signal to a reused pid


def test_closed_sandbox_refuses_new_programs():
    sandbox = Sandbox(sandbox_uid=TEST_SANDBOX_UID)
    sandbox.kill_all()
    with pytest.raises(SandboxUnavailableError, match="closed"):
        sandbox.start("stdio", ["{workdir}"], Limits(wall_s=5), files={"main.py": b"print(1)"})


def _uid_of(pid: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def test_registry_and_unknown_parameters():
    from verifiers.registry import create_verifier

    v = create_verifier("code", verifier_kwargs())
    assert isinstance(v, CodeVerifier) and v.costly and v.name == "code"
    v.close()
    with pytest.raises(TypeError):
        create_verifier("code", {"timeout": 3})


def test_factory_verify_with_the_code_recipe(tmp_path):
    from datasets import load_dataset

    from factory.cli import EXIT_OK, main

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()][::5]
    reasoning = "<think>\nI read the problem carefully and write a direct solution.\n</think>\n\n"
    traces = []
    for row in rows:
        for code in (row["solution"], "print('nope')"):
            traces.append({"id": row["id"], "problem": row["problem"], "tests": row["tests"],
                           "completion": f"{reasoning}Here is the program.\n\n```python\n{code}\n```\n"})
    inp = tmp_path / "traces.jsonl"
    inp.write_text("".join(json.dumps(t) + "\n" for t in traces))
    out = tmp_path / "run"
    params = json.dumps(verifier_kwargs()).replace('"', "")
    code = main(["verify", "--recipe", "code", "--input", str(inp), "--out", str(out),
                 "--set", "output.prompts_per_shard=4", "--set", f"verifiers=[{{name: code, params: {params}}}]"])
    assert code == EXIT_OK
    ds = load_dataset(str(out))
    assert sorted(r["id"] for r in ds["accepted"]) == sorted(f"{r['id']}#0" for r in rows)
    rejected = {r["id"]: r for r in ds["rejected"]}
    for row in rows:  # stdio programs print the wrong thing; function/assert ones lack the function
        assert set(rejected[f"{row['id']}#1"]["rejection_reasons"]) & {"code:wrong_output", "code:runtime_error"}
