"""Interactive problems where the dataset gives an interactor: the program and the problem's interactor run in two
sandboxes joined only by two pipes (the program's stdout is the interactor's stdin and the other way round).

Contract (the testlib convention, with a Python interactor): `interactor.py input.txt answer.txt`; it talks to the
program on its stdin/stdout (both sides must flush) and exits 0 to accept, anything else to reject, explaining on
stderr. Verdict of a test: the interactor's rejection first (`wrong_output`, its stderr as the message; a program
that broke the protocol usually dies of it afterwards), then the program's own failure (`timeout`,
`runtime_error`, `memory_limit`), else `passed`. The interactor never shares a sandbox with the program, which
never sees the test's input file or answer.

A C++ interactor (testlib: `interactor input.txt output.txt answer.txt`, `verifiers.code.testlib`) is judged by its
exit code: 0 accepts, 3 (FAIL) is the problem's fault (`checker_error`, unverifiable), anything else rejects; the
output file it writes is then judged by the problem's checker, when there is one.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from verifiers.code.checker import judge_output
from verifiers.code.pump import Pump
from verifiers.code.testcases import is_cpp
from verifiers.code.testlib import TOUT_CAP, start_testlib_interactor, verdict_of

INTERACTOR_MEMORY_MB = 512


def run_interactive_case(sandbox, settings, program, suite, case, index, wall, limits, result, exit_reason) -> dict:
    """One test of an interactive problem (see the module docstring); `program` is run.py's `_Program`."""
    started = time.monotonic()
    testlib, tout_r = is_cpp(suite.interactor), None
    to_program_r, to_program_w = os.pipe()
    to_interactor_r, to_interactor_w = os.pipe()
    executions = []
    try:
        executions.append(sandbox.start(program.mode, ["{workdir}", *program.args], limits,
                                        files=dict(program.files), pipes=(to_program_r, to_interactor_w)))
        judge_limits = replace(limits, memory_mb=max(limits.memory_mb, INTERACTOR_MEMORY_MB))
        if testlib:
            execution, tout_r = start_testlib_interactor(sandbox, suite.interactor, case, judge_limits,
                                                         (to_interactor_r, to_program_w))
            executions.append(execution)
        else:
            executions.append(sandbox.start(
                "script", ["{workdir}", "interactor.py", "input.txt", "answer.txt"], judge_limits,
                files={"interactor.py": suite.interactor.encode("utf-8", "surrogatepass"),
                       "input.txt": case["input"].encode(), "answer.txt": case["output"].encode()},
                pipes=(to_interactor_r, to_program_w)))
    except BaseException:
        for execution in executions:
            execution.kill()
            execution.finish()
        raise
    finally:
        for fd in (to_program_r, to_program_w, to_interactor_r, to_interactor_w):
            os.close(fd)
    candidate, interactor = executions
    pump = Pump()
    err = pump.read("stderr", candidate.stderr, 64 << 10, fatal=False)
    judge = pump.read("interactor stderr", interactor.stderr, 64 << 10, fatal=False)
    tout = pump.read("interactor output file", tout_r, TOUT_CAP, fatal=False) if testlib else None
    try:
        finished = pump.run(pump.all_eof, started + wall)
        if not finished:
            candidate.kill()
            interactor.kill()
        status, verdict = candidate.finish(), interactor.finish()
        pump.close()
    finally:
        if tout_r is not None:
            os.close(tout_r)
    said = bytes(judge.data[-300:]).decode("utf-8", "replace").strip()
    if finished and verdict != 0:
        reason, why = verdict_of(verdict, said) if testlib else ("wrong_output", said)
        if reason == "checker_error":
            return result(index, reason, started, why.replace("checker", "interactor"))
        return result(index, "wrong_output", started, f"the interactor rejected (status {verdict}): {said}")
    if not finished:
        return result(index, "timeout", started)
    if status != 0:
        tail = bytes(err.data[-300:]).decode("utf-8", "replace").strip()
        return result(index, exit_reason(status, err, candidate), started, f"exit status {status}: {tail}")
    if testlib and suite.checker:  # the checker judges what the interactor wrote to its output file
        reason, why = judge_output(sandbox, suite.checker, case["input"], case["output"], bytes(tout.data))
        if reason != "passed":
            return result(index, reason, started, why)
    return result(index, "passed", started)
