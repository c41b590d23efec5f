"""A problem's own checker, run in its own sandbox: it gets the test's input, the expected output and the
candidate's output as files and says whether the output is acceptable ("print any valid answer", any order...).

Contract (open-r1/codeforces' `generated_checker`, which is read as is): `checker.py input.txt
correct_output.txt solution_output.txt`; the output is accepted when the checker exits 0 and the last token it
prints is `1`. Anything else (a 0, a crash, a timeout) rejects the test, with the checker's own words as the
message. The checker never shares a sandbox with the candidate, and the candidate never sees the expected output.

`judge_output` is the entry point: it runs a C++ checker the testlib way instead (`verifiers.code.testlib`:
`checker input output answer`, exit codes; a FAIL or a checker that does not compile is `checker_error`, the
problem's fault, never a rejection).
"""

from __future__ import annotations

import time
from dataclasses import replace

from verifiers.code.outcomes import CHECKER_WALL_S
from verifiers.code.pump import run_to_end
from verifiers.code.sandbox import Limits, Sandbox
from verifiers.code.testcases import is_cpp
from verifiers.code.testlib import run_testlib_checker

CHECKER_LIMITS = Limits(wall_s=CHECKER_WALL_S, cpu_s=15, memory_mb=1024, max_processes=16)


def judge_output(sandbox: Sandbox, checker: str, input_text: str, expected: str, got: bytes) -> tuple[str, str]:
    """(passed | checker_rejected | checker_error, message) of the problem's checker, Python or C++, on one test."""
    if is_cpp(checker):
        return run_testlib_checker(sandbox, CHECKER_LIMITS, checker, input_text, expected, got)
    ok, message = run_checker(sandbox, checker, input_text, expected, got)
    return ("passed" if ok else "checker_rejected"), message


def run_checker(sandbox: Sandbox, checker: str, input_text: str, expected: str, got: bytes) -> tuple[bool, str]:
    """(accepted, message) of the problem's checker on one test."""
    started = time.monotonic()
    files = {"checker.py": checker.encode("utf-8", "surrogatepass"), "input.txt": input_text.encode(),
             "correct_output.txt": expected.encode(), "solution_output.txt": bytes(got)}
    limits = replace(CHECKER_LIMITS, max_file_bytes=max(CHECKER_LIMITS.max_file_bytes, 2 * len(got) + 4096))
    execution = sandbox.start("script", ["{workdir}", "checker.py", "input.txt", "correct_output.txt",
                                         "solution_output.txt"], limits, files=files)
    finished, status, out, err = run_to_end(execution, started + CHECKER_WALL_S)
    said = out.decode("utf-8", "replace").strip()
    if not finished:
        return False, "the checker did not finish in time"
    if status != 0:
        tail = err[-300:].decode("utf-8", "replace").strip()
        return False, f"the checker failed (exit status {status}): {tail}"
    tokens = said.split()
    if tokens and tokens[-1] == "1":
        return True, ""
    return False, f"the checker said: {said[:200]!r}"
