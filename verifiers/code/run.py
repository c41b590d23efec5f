"""Run one program against a `TestSuite` in sandboxes and judge each test, deciding everything in the verifier.

- stdio: one fresh sandbox per case; stdin is the case's input (or the problem's input file), stdout (or its
  output file) is compared here (`verifiers.code.compare`) or by the problem's checker in its own sandbox
  (`verifiers.code.checker`).
- function: one fresh sandbox serving calls; each case's arguments are sent, the returned plain value comes back
  and is compared here. Expected values never enter the sandbox.
- assert: two sandboxes joined only by two pipes: the candidate serves calls, the checker runs the test code
  (which holds the expected values) and reports to a pipe the candidate does not have.

Limits (`plan`): the problem's own time limit times `python_time_factor` (judges set limits for C++), else the
recipe's `timeout_s`, as CPU seconds per test; the wall clock allows twice that plus start-up (a loaded machine is
not the program's fault); the problem's memory limit, else the recipe's. A program's whole budget scales with its
number of tests. stderr is drained and capped, never fatal; the stdout cap is the larger of the recipe's and twice
the expected output.

Each test yields {"test", "status", "time_ms", "message"?}; status is `passed` or a verdict reason
(`wrong_output`, `empty_output`, `checker_rejected`, `runtime_error`, `timeout`, `memory_limit`, `output_limit`),
`not_run` after an earlier failure, `vacuous_tests` (an assert check that never called the candidate) or
`unverifiable` when the tests themselves could not be carried out. A failed stdio test also carries the heads of
its `input`, `expected` and `got` output.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import dataclass, replace

from verifiers.code.checker import CHECKER_WALL_S, run_checker
from verifiers.code.interactive import run_interactive_case
from verifiers.code.toolchain import pytest_binds
from verifiers.code.compare import apps_values_match, stdout_matches, values_match
from verifiers.code.harness import MEMORY_EXIT, WireError, dumps, loads, to_wire
from verifiers.code.testcases import TestSuite
from verifiers.code.sandbox import Execution, Limits, Sandbox
from verifiers.code.pump import Pump, Stream

STARTUP_S = 1.0
"""Wall-clock allowance for starting a sandbox and the interpreter, on top of the program's time limit."""
_STDERR_CAP = 64 << 10
_HEAD = 200


@dataclass(frozen=True)
class RunSettings:
    limits: Limits
    timeout_s: float
    max_output_bytes: int
    stop_on_first_failure: bool = True
    python_time_factor: float = 1.0
    total_timeout_s: float | None = None
    """A cap on one program's whole budget; None: the budget follows the number of tests."""


def plan(settings: RunSettings, suite: TestSuite, language: str = "python") -> RunSettings:
    """`settings` with the problem's own limits applied (see the module docstring); compiled languages get the
    problem's limit as it is."""
    factor = settings.python_time_factor if language == "python" else 1.0
    timeout = suite.time_limit_s * factor if suite.time_limit_s else settings.timeout_s
    memory = max(64, suite.memory_mb) if suite.memory_mb else settings.limits.memory_mb
    return replace(settings, timeout_s=timeout, limits=replace(settings.limits, memory_mb=memory))


def test_wall_s(settings: RunSettings) -> float:
    return 2 * settings.timeout_s + STARTUP_S


def budget_s(settings: RunSettings, suite: TestSuite) -> float:
    """Wall-clock seconds one program may take across all its tests (checkers included)."""
    per_test = test_wall_s(settings) + (CHECKER_WALL_S if suite.checker else 0.0) + (2.0 if suite.interactor else 0.0)
    budget = suite.size * per_test + 10.0
    return min(budget, settings.total_timeout_s) if settings.total_timeout_s else budget


def _result(index: int, status: str, started: float, message: str = "") -> dict:
    result = {"test": index, "status": status, "time_ms": round((time.monotonic() - started) * 1000)}
    if message:
        result["message"] = message[:300]
    return result


def _head(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[:4 * _HEAD]).decode("utf-8", "replace")
    return text[:_HEAD] + ("..." if len(text) > _HEAD else "")


def _tail(stream: Stream, size: int = 300) -> str:
    return bytes(stream.data[-size:]).decode("utf-8", "replace").strip()


def _exit_reason(status: int, stderr: Stream, execution: Execution | None = None) -> str:
    """The reason a program that ended abnormally failed, from its exit status, the end of its stderr and
    whether the sandbox's memory cgroup killed it."""
    last = _tail(stderr, 200).splitlines()[-1:] or [""]
    if status == MEMORY_EXIT or last[0].startswith("MemoryError") or (execution and execution.oom_killed):
        return "memory_limit"
    if status in (128 + signal.SIGXCPU, 128 + signal.SIGKILL):
        return "timeout"  # CPU limit (SIGXCPU, or SIGKILL when it was ignored)
    return "runtime_error"


def _limits(settings: RunSettings, wall_s: float, cpu_s: float | None = None) -> Limits:
    """One execution's limits: CPU seconds are the test's time limit (or `cpu_s` for a process serving many)."""
    cpu = settings.timeout_s if cpu_s is None else cpu_s
    return replace(settings.limits, wall_s=wall_s, cpu_s=max(1, math.ceil(min(wall_s, cpu))))


def _files(source: bytes, suite: TestSuite) -> dict[str, bytes]:
    files = {"main.py": source}
    if suite.prelude:
        files["prelude.py"] = suite.prelude.encode()
    return files


@dataclass(frozen=True)
class _Program:
    """How a stdio program starts: the harness mode, its working-folder files and extra arguments."""

    mode: str
    files: dict
    args: tuple[str, ...] = ()


def run_suite(sandbox: Sandbox, settings: RunSettings, code: str, suite: TestSuite, deadline: float,
              binary: bytes | None = None) -> list[dict]:
    """Per-test results for `code` (or, for a compiled program, `binary`: stdio tests only); returns by
    `deadline` (plus process reaping) whatever the program does. `settings` are the problem's (`plan`)."""
    source = code.encode("utf-8", "surrogatepass")
    if binary is not None:
        return _run_stdio(sandbox, settings, _Program("exec", {"main": binary}, ("main",)), suite, deadline)
    if suite.kind == "stdio":
        return _run_stdio(sandbox, settings, _Program("stdio", _files(source, suite)), suite, deadline)
    if suite.kind == "function":
        return _run_function(sandbox, settings, source, suite, deadline)
    return [_run_assert(sandbox, settings, source, suite, deadline)]  # assert and pytest


def _not_run(results: list[dict], total: int) -> list[dict]:
    return results + [{"test": i, "status": "not_run"} for i in range(len(results), total)]


def _run_stdio(sandbox, settings, program: _Program, suite, deadline) -> list[dict]:
    results: list[dict] = []
    for index, case in enumerate(suite.cases):
        started = time.monotonic()
        wall = min(test_wall_s(settings), deadline - started)
        if wall <= 0:
            results.append(_result(index, "timeout", started, "time budget of the whole program spent"))
        else:
            results.append(_stdio_case(sandbox, settings, program, suite, case, index, wall))
        if results[-1]["status"] != "passed" and settings.stop_on_first_failure:
            break
    return _not_run(results, len(suite.cases))


def _stdio_case(sandbox, settings, program: _Program, suite, case, index, wall) -> dict:
    if suite.interactor:
        return run_interactive_case(sandbox, settings, program, suite, case, index, wall, _limits(settings, wall),
                                    _result, _exit_reason)
    started = time.monotonic()
    files, stdin, args = dict(program.files), case["input"].encode(), ["{workdir}", *program.args]
    if suite.files:  # the problem reads and writes files: no stdin, the output file is what counts
        files[suite.files[0]] = stdin
        stdin, args = b"", [*args, suite.files[1]]
    execution = sandbox.start(program.mode, args, _limits(settings, wall), files=files, stdin=stdin)
    pump = Pump()
    cap = max(settings.max_output_bytes, 2 * len(case["output"].encode()) + 4096)
    out = pump.read("stdout", execution.stdout, cap)
    err = pump.read("stderr", execution.stderr, _STDERR_CAP, fatal=False)
    finished = pump.run(pump.all_eof, started + wall)
    status = _stop(execution, pump, finished)
    if pump.overflowed() is not None:
        return _result(index, "output_limit", started, f"{pump.overflowed().name} exceeded the output limit")
    if not finished:
        return _result(index, "timeout", started)
    if status != 0:
        return _result(index, _exit_reason(status, err, execution), started, f"exit status {status}: {_tail(err)}")
    elapsed = time.monotonic() - started
    if suite.checker:
        ok, why = run_checker(sandbox, suite.checker, case["input"], case["output"], bytes(out.data))
        reason = "checker_rejected"
    else:
        ok, why = stdout_matches(bytes(out.data).decode("utf-8", "replace"), case["output"], suite.comparison)
        reason = "wrong_output" if bytes(out.data).strip() or not case["output"].strip() else "empty_output"
    result = _result(index, "passed" if ok else reason, started, why)
    result["time_ms"] = round(elapsed * 1000)
    if not ok:
        result.update(input=_head(case["input"]), expected=_head(case["output"]), got=_head(out.data))
    return result


def _stop(execution: Execution, pump: Pump, finished: bool) -> int:
    if not finished:
        execution.kill()
    status = execution.finish()
    pump.close()
    return status


def _run_function(sandbox, settings, source, suite, deadline) -> list[dict]:
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    began = time.monotonic()
    try:
        execution = sandbox.start("serve", ["{workdir}", str(req_r), str(resp_w)],
                                  _limits(settings, deadline - began, deadline - began), files=_files(source, suite),
                                  keep_fds=(req_r, resp_w))
    finally:
        os.close(req_r)
        os.close(resp_w)
    pump = Pump()
    replies = pump.read("replies", resp_r, settings.max_output_bytes)
    pump.read("stdout", execution.stdout, settings.max_output_bytes)
    err = pump.read("stderr", execution.stderr, _STDERR_CAP)
    results: list[dict] = []
    pending = None  # (index, started, still in time) of a case that got no reply
    try:
        for index, case in enumerate(suite.cases):
            started = time.monotonic()
            pump.write(req_w, dumps([suite.fn_name, to_wire(case["args"]), to_wire(case["kwargs"])]))
            allowance = 2 * settings.timeout_s + (STARTUP_S if index == 0 else 0.0)
            in_time = pump.run(lambda: replies.data.count(b"\n") > index or replies.eof,
                               min(started + allowance, deadline))
            lines = replies.lines()
            if len(lines) <= index:
                pending = (index, started, in_time)
                break
            results.append(_judge_reply(index, lines[index], case["expected"], started, suite.unwrap))
            if results[-1]["status"] != "passed" and settings.stop_on_first_failure:
                break
    finally:
        pump.drop_writer(req_w)
        os.close(req_w)  # the server sees EOF and exits on its own
        overflow = pump.overflowed()
        # A program that stopped answering gets a moment to finish dying, so its exit status is known.
        wait = 2.0 if pending and pending[2] and overflow is None else 0.5
        pump.run(pump.all_eof, time.monotonic() + wait)
        status = _stop(execution, pump, pump.all_eof())
        os.close(resp_r)
    if pending:
        index, started, in_time = pending
        if overflow is not None:
            results.append(_result(index, "output_limit", started, f"{overflow.name} exceeded the output limit"))
        elif not in_time:
            results.append(_result(index, "timeout", started))
        else:
            results.append(_result(index, _exit_reason(status, err, execution), started,
                                   f"the program ended (status {status}): {_tail(err)}"))
    return _not_run(results, len(suite.cases))


def _judge_reply(index: int, line: bytes, expected, started: float, unwrap: bool = False) -> dict:
    try:
        reply = loads(line)
        tag = reply[0]
    except (WireError, TypeError, IndexError, KeyError):
        return _result(index, "wrong_output", started, "malformed reply")
    if tag == "ok" and len(reply) == 2:
        ok = (apps_values_match if unwrap else values_match)(reply[1], expected)
        return _result(index, "passed" if ok else "wrong_output", started, "" if ok else "returned a different value")
    if tag == "load_error":
        reason = "memory_limit" if reply[1:2] == ["MemoryError"] else "runtime_error"
        return _result(index, reason, started, f"loading the program failed: {reply[1:]}")
    if tag in ("raised", "missing"):
        return _result(index, "runtime_error", started, f"{tag}: {reply[1:]}")
    return _result(index, "wrong_output", started, f"{tag}: {reply[1:]}")


def _run_assert(sandbox, settings, source, suite, deadline) -> dict:
    started = time.monotonic()
    to_cand_r, to_cand_w = os.pipe()
    to_check_r, to_check_w = os.pipe()
    result_r, result_w = os.pipe()
    limits = _limits(settings, min(test_wall_s(settings), deadline - started))
    executions: list[Execution] = []
    try:
        executions.append(sandbox.start("serve", ["{workdir}", str(to_cand_r), str(to_check_w)], limits,
                                        files=_files(source, suite), keep_fds=(to_cand_r, to_check_w)))
        test_code = suite.check_code.encode("utf-8", "surrogatepass")
        if suite.kind == "pytest":  # real pytest, bound read-only into the checker's sandbox
            executions.append(sandbox.start(
                "pytest", ["{workdir}", str(to_cand_w), str(to_check_r), str(result_w),
                           str(settings.max_output_bytes)], replace(limits, memory_mb=max(limits.memory_mb, 512)),
                files={"test_solution.py": test_code}, keep_fds=(to_cand_w, to_check_r, result_w),
                binds=pytest_binds()))
        else:
            executions.append(sandbox.start(
                "check", ["{workdir}", str(to_cand_w), str(to_check_r), str(result_w), suite.entry_point,
                          str(settings.max_output_bytes)], limits,
                files={"check.py": test_code}, keep_fds=(to_cand_w, to_check_r, result_w)))
    except BaseException:
        for execution in executions:
            execution.kill()
            execution.finish()
        os.close(result_r)
        raise
    finally:
        for fd in (to_cand_r, to_cand_w, to_check_r, to_check_w, result_w):
            os.close(fd)
    candidate, checker = executions
    pump = Pump()
    result = pump.read("result", result_r, 1 << 16, fatal=False)
    pump.read("stdout", candidate.stdout, settings.max_output_bytes)
    cand_err = pump.read("stderr", candidate.stderr, _STDERR_CAP)
    pump.read("checker stdout", checker.stdout, 1 << 16, fatal=False)
    check_err = pump.read("checker stderr", checker.stderr, 1 << 16, fatal=False)
    finished = pump.run(lambda: result.eof, started + limits.wall_s)
    overflow = pump.overflowed()
    pump.run(pump.all_eof, time.monotonic() + 0.5)  # the candidate exits once the checker has closed its pipe
    status = _stop(candidate, pump, pump.all_eof())
    checker.kill()
    checker.finish()
    os.close(result_r)
    if overflow is not None:
        return _result(0, "output_limit", started, f"{overflow.name} exceeded the output limit")
    return _judge_check(result, finished, status, cand_err, check_err, started, candidate)


def _judge_check(result: Stream, finished: bool, status: int, cand_err: Stream, check_err: Stream,
                 started: float, candidate: Execution) -> dict:
    try:
        outcome = json.loads(bytes(result.data))
    except ValueError:
        outcome = None
    if not isinstance(outcome, dict):
        if not finished:
            return _result(0, "timeout", started)
        return _result(0, "unverifiable", started, f"the checker failed: {_tail(check_err)}")
    kind, message = outcome.get("kind"), str(outcome.get("message", ""))
    if outcome.get("status") == "passed":
        if outcome.get("calls") == 0:  # `assert True`, or a check that never reaches the candidate
            return _result(0, "vacuous_tests", started, "the tests passed without calling the candidate")
        return _result(0, "passed", started)
    if kind == "harness":
        return _result(0, "unverifiable", started, message)
    if kind == "oversize":
        return _result(0, "output_limit", started, message)
    if kind == "died":
        if status == 0 or status == 1 and not _tail(cand_err):
            return _result(0, "runtime_error", started, message)
        reason = _exit_reason(status, cand_err, candidate)
        return _result(0, reason, started, f"{message} (status {status}): {_tail(cand_err)}")
    if kind == "raised":
        return _result(0, "runtime_error", started, message)
    return _result(0, "wrong_output", started, message)
