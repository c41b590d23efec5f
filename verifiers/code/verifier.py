"""The code verifier: run the answer's final Python code block against the prompt's tests in a sandbox.

Contract:
- The program is the last fenced Python block of the answer part (`split_think(text).answer`), see
  `verifiers.code.extract`. The tests are `Prompt.gold` in one of the forms of `verifiers.code.testcases`.
- Verdicts: accepted when every test passed; otherwise rejected with `no_code`, `code_too_long`,
  `syntax_error`, or the first failing test's reason: `wrong_output`, `runtime_error`, `timeout`,
  `memory_limit`, `output_limit`. Tests that cannot be carried out, or malformed gold, give `unverifiable`.
  `details["tests"]` keeps every test's result (status, time, a short message); after a failure the remaining
  tests are `not_run` unless `stop_on_first_failure=False`.
- Isolation is checked when the verifier is created (`preflight`), so a machine that cannot sandbox fails
  before any generation is spent; see `verifiers.code.sandbox` for what is and is not covered.
- The pass/fail decision is made in this process (or, for assert tests, in a checker process the candidate
  cannot reach); nothing the candidate prints or returns can claim success.
- Bounded: each execution has a wall-clock limit enforced by killing its whole pid namespace, and each program
  a total budget (`total_timeout_s`) across its tests. `concurrency` programs run at once.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Sequence

from verifiers.types import Completion, Prompt, Verdict, split_think
from verifiers.base import Verifier
from verifiers.params import check_names, signature_names
from verifiers.code.extract import extract_code
from verifiers.code.run import RunSettings, run_suite
from verifiers.code.testcases import MalformedTests, TestSuite, parse_tests
from verifiers.code.sandbox import Limits, Sandbox, SandboxReport, SandboxUnavailableError
from verifiers.code.sandbox_check import preflight

logger = logging.getLogger(__name__)


class CodeVerifier(Verifier):
    name = "code"
    version = "1"
    costly = True

    def __init__(self, *, timeout_s: float = 10.0, memory_mb: int = 512, max_output_bytes: int = 1 << 20,
                 concurrency: int | None = None, total_timeout_s: float | None = None, max_processes: int = 32,
                 max_file_bytes: int = 16 << 20, tmpfs_mb: int = 64, max_code_bytes: int = 100_000,
                 stop_on_first_failure: bool = True, python: str | None = None, sandbox_uid: int = 65534,
                 unsafe_no_sandbox: bool = False):
        """
        timeout_s: wall-clock and CPU seconds per execution (one stdio case, one function call, one assert check).
        memory_mb: address space per process. max_output_bytes: cap on stdout (and on returned values).
        concurrency: sandboxes running at once (default: the number of CPUs; set it from the recipe's resources).
        total_timeout_s: budget of one program across all its tests (default max(30, 3 * timeout_s)).
        max_processes: processes+threads per sandbox. max_file_bytes / tmpfs_mb: largest file / size of /tmp.
        python: interpreter inside the sandbox (default /usr/bin/python3, standard library only).
        sandbox_uid: the uid programs run as when the verifier runs as root.
        unsafe_no_sandbox: run programs WITHOUT isolation (rlimits only). Never on a machine you care about.
        """
        self._check_limits(timeout_s, memory_mb, max_output_bytes)

        self.settings = RunSettings(
            limits=Limits(wall_s=timeout_s, cpu_s=max(1, round(timeout_s)), memory_mb=memory_mb,
                          max_processes=max_processes, max_file_bytes=max_file_bytes),
            timeout_s=timeout_s, max_output_bytes=max_output_bytes, stop_on_first_failure=stop_on_first_failure)
        self.total_timeout_s = total_timeout_s or max(30.0, 3 * timeout_s)
        self.max_code_bytes = max_code_bytes
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.sandbox = Sandbox(python=python, sandbox_uid=sandbox_uid, tmpfs_mb=tmpfs_mb,
                               unsafe_no_sandbox=unsafe_no_sandbox)
        self.sandbox_report: SandboxReport = self.preflight()
        self._pool: ThreadPoolExecutor | None = None

    @staticmethod
    def _check_limits(timeout_s: float, memory_mb: int, max_output_bytes: int) -> None:
        if not (timeout_s > 0) or memory_mb < 64 or max_output_bytes < 1024:
            raise ValueError("code verifier: timeout_s > 0, memory_mb >= 64 and max_output_bytes >= 1024 required")

    @classmethod
    def check_params(cls, **params: Any) -> None:
        """The parameter checks alone: the sandbox's preflight runs when a run creates the verifier."""
        check_names(cls.name, params, signature_names(cls))
        bound = inspect.signature(cls).bind(**params)
        bound.apply_defaults()
        args = bound.arguments
        cls._check_limits(args["timeout_s"], args["memory_mb"], args["max_output_bytes"])

    def preflight(self) -> SandboxReport:
        """Prove the sandbox works on this machine; raises SandboxUnavailableError with a fix otherwise."""
        return preflight(self.sandbox)

    def check_gold(self, prompt: Prompt) -> str | None:
        try:
            parse_tests(prompt)
        except MalformedTests as exc:
            return exc.reason
        return None

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        try:
            suite = parse_tests(prompt)
        except MalformedTests as exc:
            return [Verdict.unverifiable(self.name, exc.reason, error=str(exc)[:300]) for _ in completions]
        verdicts: list[Verdict | None] = []
        jobs = {}
        for slot, completion in enumerate(completions):
            code, early = self._program(completion)
            verdicts.append(early)
            if early is None:
                jobs[slot] = self._executor().submit(self._run, code, suite)
        # Every job is bounded by its own deadline; this guard only matters if the sandbox itself misbehaves.
        guard = time.monotonic() + self.total_timeout_s * (1 + len(jobs) / self.concurrency) + 60
        for slot, job in jobs.items():
            try:
                verdicts[slot] = job.result(timeout=max(1.0, guard - time.monotonic()))
            except FutureTimeout:
                logger.error("code verification exceeded its time bound; the sandbox is misbehaving")
                verdicts[slot] = Verdict.unverifiable(self.name, "verifier_timeout")
        return verdicts  # type: ignore[return-value]

    def _program(self, completion: Completion) -> tuple[str, Verdict | None]:
        code = extract_code(split_think(completion.text).answer)
        if code is None:
            return "", Verdict.reject(self.name, "no_code")
        if len(code.encode("utf-8", "surrogatepass")) > self.max_code_bytes:
            return "", Verdict.reject(self.name, "code_too_long", bytes=len(code))
        try:
            compile(code, "main.py", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return "", Verdict.reject(self.name, "syntax_error", message=f"line {exc.lineno}: {exc.msg}")
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
            return "", Verdict.reject(self.name, "syntax_error", message=str(exc)[:200])
        return code, None

    def _run(self, code: str, suite: TestSuite) -> Verdict:
        deadline = time.monotonic() + self.total_timeout_s
        try:
            results = run_suite(self.sandbox, self.settings, code, suite, deadline)
        except (SandboxUnavailableError, OSError) as exc:  # e.g. the machine ran out of processes or fds
            logger.warning("code sandbox failed to run a program: %s", exc)
            return Verdict.unverifiable(self.name, "sandbox_error", error=str(exc)[:300])
        passed = sum(r["status"] == "passed" for r in results)
        details = {"test_type": suite.kind, "passed": passed, "total": len(results), "tests": results}
        if passed == len(results):
            return Verdict.accept(self.name, **details)
        failed = next(r["status"] for r in results if r["status"] not in ("passed", "not_run"))
        if failed == "unverifiable":
            return Verdict.unverifiable(self.name, "tests_not_runnable", **details)
        return Verdict.reject(self.name, failed, **details)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="code-sandbox")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.sandbox.kill_all()
