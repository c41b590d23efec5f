"""What running programs shares: the per-problem run settings and limits (`plan`, the per-test wall clock, a
program's budget) and the per-test result helpers (status, message, heads; the reason of an abnormal exit).
See `verifiers.code.run` for the rules."""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, replace

from verifiers.code.harness import MEMORY_EXIT
from verifiers.code.pump import Pump, Stream
from verifiers.code.sandbox import Execution, Limits
from verifiers.code.testcases import TestSuite

CHECKER_WALL_S = 30.0
"""A problem checker's wall clock (`verifiers.code.checker`), counted in a program's budget."""
STARTUP_S = 1.0
"""Wall-clock allowance for starting a sandbox and the interpreter, on top of the program's time limit."""
STDERR_CAP = 64 << 10
HEAD_CHARS = 200


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


def result(index: int, status: str, started: float, message: str = "") -> dict:
    entry = {"test": index, "status": status, "time_ms": round((time.monotonic() - started) * 1000)}
    if message:
        entry["message"] = message[:300]
    return entry


def head(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[:4 * HEAD_CHARS]).decode("utf-8", "replace")
    return text[:HEAD_CHARS] + ("..." if len(text) > HEAD_CHARS else "")


def tail(stream: Stream, size: int = 300) -> str:
    return bytes(stream.data[-size:]).decode("utf-8", "replace").strip()


def exit_reason(status: int, stderr: Stream, execution: Execution | None = None) -> str:
    """The reason a program that ended abnormally failed, from its exit status, the end of its stderr and
    whether the sandbox's memory cgroup killed it."""
    last = tail(stderr, 200).splitlines()[-1:] or [""]
    if status == MEMORY_EXIT or last[0].startswith("MemoryError") or (execution and execution.oom_killed):
        return "memory_limit"
    if status in (128 + signal.SIGXCPU, 128 + signal.SIGKILL):
        return "timeout"  # CPU limit (SIGXCPU, or SIGKILL when it was ignored)
    return "runtime_error"


def limits_for(settings: RunSettings, wall_s: float, cpu_s: float | None = None) -> Limits:
    """One execution's limits: CPU seconds are the test's time limit (or `cpu_s` for a process serving many)."""
    cpu = settings.timeout_s if cpu_s is None else cpu_s
    return replace(settings.limits, wall_s=wall_s, cpu_s=max(1, math.ceil(min(wall_s, cpu))))


def files_for(source: bytes, suite: TestSuite) -> dict[str, bytes]:
    files = {"main.py": source}
    if suite.prelude:
        files["prelude.py"] = suite.prelude.encode()
    return files


def not_run(results: list[dict], total: int) -> list[dict]:
    return results + [{"test": i, "status": "not_run"} for i in range(len(results), total)]


def stop(execution: Execution, pump: Pump, finished: bool) -> int:
    if not finished:
        execution.kill()
    status = execution.finish()
    pump.close()
    return status


