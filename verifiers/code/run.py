"""Run one program against a `TestSuite` in sandboxes and judge each test, deciding everything in the verifier.

- stdio: one fresh sandbox per case; stdin is the case's input (or the problem's input file), stdout (or its
  output file) is compared here (`verifiers.code.compare`) or by the problem's checker in its own sandbox
  (`verifiers.code.checker`).
- function (`verifiers.code.calls`): one fresh sandbox serving calls; each case's arguments are sent, the returned
  plain value comes back and is compared here. Expected values never enter the sandbox.
- assert and pytest (`verifiers.code.calls`): two sandboxes joined only by two pipes: the candidate serves calls,
  the checker runs the test code (which holds the expected values) and reports to a pipe the candidate does not
  have.
- interactive (`verifiers.code.interactive`): the program and the problem's interactor, joined by two pipes.

Limits (`verifiers.code.outcomes.plan`): the problem's own time limit times `python_time_factor` (judges set limits for C++), else the
recipe's `timeout_s`, as CPU seconds per test; the wall clock allows twice that plus start-up (a loaded machine is
not the program's fault); the problem's memory limit, else the recipe's. A program's whole budget scales with its
number of tests. stderr is drained and capped, never fatal; the stdout cap is the larger of the recipe's and twice
the expected output.

Each test yields {"test", "status", "time_ms", "message"?}; status is `passed` or a verdict reason
(`wrong_output`, `empty_output`, `checker_rejected`, `runtime_error`, `timeout`, `memory_limit`, `output_limit`),
`checker_error` (the problem's own checker or interactor failed: unverifiable), `not_run` after an earlier
failure, `vacuous_tests` (an assert check that never called the candidate) or `unverifiable` when the tests
themselves could not be carried out. A failed stdio test also carries the heads of
its `input`, `expected` and `got` output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from verifiers.code.calls import run_assert, run_function
from verifiers.code.checker import judge_output
from verifiers.code.compare import stdout_matches
from verifiers.code.interactive import run_interactive_case
from verifiers.code.outcomes import (STARTUP_S, STDERR_CAP, RunSettings, budget_s, exit_reason, files_for, head,
                                     limits_for, not_run, plan, result, stop, tail, test_wall_s)
from verifiers.code.pump import Pump
from verifiers.code.sandbox import Sandbox
from verifiers.code.testcases import TestSuite

__all__ = ["RunSettings", "STARTUP_S", "budget_s", "plan", "run_suite", "test_wall_s"]


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
        return _run_stdio(sandbox, settings, _Program("stdio", files_for(source, suite)), suite, deadline)
    if suite.kind == "function":
        return run_function(sandbox, settings, source, suite, deadline)
    return [run_assert(sandbox, settings, source, suite, deadline)]  # assert and pytest


def _run_stdio(sandbox, settings, program: _Program, suite, deadline) -> list[dict]:
    results: list[dict] = []
    for index, case in enumerate(suite.cases):
        started = time.monotonic()
        wall = min(test_wall_s(settings), deadline - started)
        if wall <= 0:
            results.append(result(index, "timeout", started, "time budget of the whole program spent"))
        else:
            results.append(_stdio_case(sandbox, settings, program, suite, case, index, wall))
        if results[-1]["status"] != "passed" and settings.stop_on_first_failure:
            break
    return not_run(results, len(suite.cases))


def _stdio_case(sandbox, settings, program: _Program, suite, case, index, wall) -> dict:
    if suite.interactor:
        return run_interactive_case(sandbox, settings, program, suite, case, index, wall, limits_for(settings, wall),
                                    result, exit_reason)
    started = time.monotonic()
    files, stdin, args = dict(program.files), case["input"].encode(), ["{workdir}", *program.args]
    if suite.files:  # the problem reads and writes files: no stdin, the output file is what counts
        files[suite.files[0]] = stdin
        stdin, args = b"", [*args, suite.files[1]]
    execution = sandbox.start(program.mode, args, limits_for(settings, wall), files=files, stdin=stdin)
    pump = Pump()
    cap = max(settings.max_output_bytes, 2 * len(case["output"].encode()) + 4096)
    out = pump.read("stdout", execution.stdout, cap)
    err = pump.read("stderr", execution.stderr, STDERR_CAP, fatal=False)
    finished = pump.run(pump.all_eof, started + wall)
    status = stop(execution, pump, finished)
    if pump.overflowed() is not None:
        return result(index, "output_limit", started, f"{pump.overflowed().name} exceeded the output limit")
    if not finished:
        return result(index, "timeout", started)
    if status != 0:
        return result(index, exit_reason(status, err, execution), started, f"exit status {status}: {tail(err)}")
    elapsed = time.monotonic() - started
    if suite.checker:
        reason, why = judge_output(sandbox, suite.checker, case["input"], case["output"], bytes(out.data))
        ok = reason == "passed"
    else:
        ok, why = stdout_matches(bytes(out.data).decode("utf-8", "replace"), case["output"], suite.comparison)
        reason = "wrong_output" if bytes(out.data).strip() or not case["output"].strip() else "empty_output"
    outcome = result(index, "passed" if ok else reason, started, why)
    outcome["time_ms"] = round(elapsed * 1000)
    if not ok:
        outcome.update(input=head(case["input"]), expected=head(case["output"]), got=head(out.data))
    return outcome


