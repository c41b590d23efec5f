"""The code verifier: run the answer's final Python code block against the prompt's tests in a sandbox.

Contract:
- The program is the last fenced Python block of the answer part (`split_think(text).answer`), see
  `verifiers.code.extract`. The tests are `Prompt.gold` (+ the row's kept columns) in the project's forms
  (`verifiers.code.testcases`) or a dataset's own (`verifiers.code.formats`, picked by `tests_format`).
- Verdicts: accepted when every test passed; otherwise rejected with `no_code`, `code_too_long`,
  `syntax_error`, `compile_error` (C++), `wrong_language` (C++ for a function or assert problem), or the first
  failing test's reason: `wrong_output`, `empty_output`, `checker_rejected`,
  `runtime_error`, `timeout`, `memory_limit`, `output_limit`. Tests that cannot be carried out, or malformed gold,
  give `unverifiable`; so does a problem whose own checker or interactor fails (`checker_error`: a C++ testlib
  judge that does not compile or exits 3, FAIL; `verifiers.code.testlib`), and a check that passes without ever
  calling the candidate (`vacuous_tests`: such a test accepts a program that defines nothing).
  `details["tests"]` keeps every test's result (status, time, a short message; the first failed stdio test's
  input, expected and actual output heads); after a failure the remaining tests are `not_run` unless
  `stop_on_first_failure=False`.
- Isolation is checked when the verifier is created (`preflight`), so a machine that cannot sandbox fails
  before any generation is spent; see `verifiers.code.sandbox` for what is and is not covered.
- The pass/fail decision is made in this process (or, for assert tests, in a checker process the candidate
  cannot reach); nothing the candidate prints or returns can claim success.
- Bounded: each execution has CPU and wall-clock limits (the problem's own time limit times `python_time_factor`
  where the dataset has one, else `timeout_s`; `verifiers.code.run.plan`) enforced by killing its whole pid
  namespace, and each program a total budget that scales with its number of tests (capped by `total_timeout_s`
  when set). `concurrency` programs run at once.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Sequence

from verifiers.types import Completion, Prompt, Verdict, split_think
from verifiers.base import Verifier
from verifiers.params import check_names, signature_names
from verifiers.code.extract import LANGUAGES, extract_program
from verifiers.code.run import RunSettings, budget_s, plan, run_suite
from verifiers.code.formats import FORMATS, parse_tests
from verifiers.code.testcases import MalformedTests, TestSuite
from verifiers.code.sandbox import Limits, Sandbox, SandboxReport, SandboxUnavailableError
from verifiers.code.sandbox_check import preflight
from verifiers.code.testlib import compile_judges, has_cpp_judge
from verifiers.code.toolchain import COMPILE_LIMITS, compile_cpp, have_compiler

logger = logging.getLogger(__name__)


class CodeVerifier(Verifier):
    name = "code"
    version = "1"
    costly = True

    def __init__(self, *, timeout_s: float = 10.0, memory_mb: int = 512, max_output_bytes: int = 1 << 20,
                 concurrency: int | None = None, total_timeout_s: float | None = None, max_processes: int = 32,
                 max_file_bytes: int = 16 << 20, tmpfs_mb: int = 64, max_code_bytes: int = 100_000,
                 stop_on_first_failure: bool = True, python: str | None = None, sandbox_uid: int = 65534,
                 unsafe_no_sandbox: bool = False, tests_format: str = "auto", python_time_factor: float = 1.0,
                 float_tol: float = 1e-6, languages: Sequence[str] = ("python",)):
        """
        timeout_s: CPU seconds per execution (one stdio case, one function call, one assert check) for problems
        without their own time limit; the wall clock allows twice that plus a second of start-up.
        memory_mb: address space per process (problems with their own memory limit use theirs).
        max_output_bytes: cap on stdout (raised to twice the expected output) and on returned values.
        concurrency: sandboxes running at once (default: the number of CPUs; set it from the recipe's resources).
        total_timeout_s: cap on one program's budget across its tests (default: none; the budget is the number of
        tests times the per-test wall clock).
        tests_format: how gold and the kept columns are read (`verifiers.code.formats.FORMATS`; "auto" by shape).
        python_time_factor: multiplies a problem's own time limit (judges set them for C++).
        float_tol: absolute-or-relative tolerance for expected decimal tokens where the problem sets none.
        languages: the languages accepted (`python`, `cpp`); the completion's last accepted fenced block picks one.
        C++ is compiled once per sample with g++ -std=c++17 -O2 (stdio problems only).
        max_processes: processes+threads per sandbox. max_file_bytes / tmpfs_mb: largest file / size of /tmp.
        python: interpreter inside the sandbox (default /usr/bin/python3, standard library only).
        sandbox_uid: the uid programs run as when the verifier runs as root.
        unsafe_no_sandbox: run programs WITHOUT isolation (rlimits only). Never on a machine you care about.
        """
        self._check_limits(timeout_s, memory_mb, max_output_bytes, tests_format, python_time_factor, float_tol,
                           languages)
        self.languages = tuple(languages)

        self.settings = RunSettings(
            limits=Limits(wall_s=timeout_s, cpu_s=max(1, round(timeout_s)), memory_mb=memory_mb,
                          max_processes=max_processes, max_file_bytes=max_file_bytes),
            timeout_s=timeout_s, max_output_bytes=max_output_bytes, stop_on_first_failure=stop_on_first_failure,
            python_time_factor=python_time_factor, total_timeout_s=total_timeout_s)
        self.tests_format = tests_format
        self.float_tol = float_tol
        self.max_code_bytes = max_code_bytes
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.sandbox = Sandbox(python=python, sandbox_uid=sandbox_uid, tmpfs_mb=tmpfs_mb,
                               unsafe_no_sandbox=unsafe_no_sandbox)
        self.sandbox_report: SandboxReport = self.preflight()
        self._pool: ThreadPoolExecutor | None = None

    @staticmethod
    def _check_limits(timeout_s: float, memory_mb: int, max_output_bytes: int, tests_format: str = "auto",
                      python_time_factor: float = 1.0, float_tol: float = 1e-6,
                      languages: Sequence[str] = ("python",)) -> None:
        if not (timeout_s > 0) or memory_mb < 64 or max_output_bytes < 1024:
            raise ValueError("code verifier: timeout_s > 0, memory_mb >= 64 and max_output_bytes >= 1024 required")
        if tests_format not in FORMATS:
            raise ValueError(f"code verifier: tests_format {tests_format!r} is not one of {', '.join(FORMATS)}")
        if not (python_time_factor > 0) or not (float_tol >= 0):
            raise ValueError("code verifier: python_time_factor > 0 and float_tol >= 0 required")
        if isinstance(languages, str) or not languages or set(languages) - set(LANGUAGES):
            raise ValueError(f"code verifier: languages must be a non-empty list of {', '.join(LANGUAGES)}")
        if "cpp" in languages and not have_compiler():
            raise ValueError("code verifier: languages include cpp but g++ is not installed (apt-get install g++)")

    @classmethod
    def check_params(cls, **params: Any) -> None:
        """The parameter checks alone: the sandbox's preflight runs when a run creates the verifier."""
        check_names(cls.name, params, signature_names(cls))
        bound = inspect.signature(cls).bind(**params)
        bound.apply_defaults()
        args = bound.arguments
        cls._check_limits(args["timeout_s"], args["memory_mb"], args["max_output_bytes"], args["tests_format"],
                          args["python_time_factor"], args["float_tol"], args["languages"])

    def preflight(self) -> SandboxReport:
        """Prove the sandbox works on this machine; raises SandboxUnavailableError with a fix otherwise."""
        return preflight(self.sandbox)

    def check_gold(self, prompt: Prompt) -> str | None:
        try:
            self._suite(prompt)
        except MalformedTests as exc:
            return exc.reason
        return None

    def _suite(self, prompt: Prompt) -> TestSuite:
        suite = parse_tests(prompt, self.tests_format)
        if suite.comparison.float_tol is None:
            suite = replace(suite, comparison=replace(suite.comparison, float_tol=self.float_tol))
        return suite

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        try:
            suite = self._suite(prompt)
        except MalformedTests as exc:
            return [Verdict.unverifiable(self.name, exc.reason, error=str(exc)[:300]) for _ in completions]
        verdicts: list[Verdict | None] = []
        jobs = {}
        for slot, completion in enumerate(completions):
            language, code, early = self._program(completion)
            if early is None and language != "python" and suite.kind != "stdio":
                early = Verdict.reject(self.name, "wrong_language", language=language, test_type=suite.kind)
            verdicts.append(early)
            if early is None:
                jobs[slot] = self._executor().submit(self._run, code, suite, language)
        # Every job is bounded by its own deadline; this guard only matters if the sandbox itself misbehaves.
        budget = budget_s(plan(self.settings, suite), suite)
        budget += COMPILE_LIMITS.wall_s if "cpp" in self.languages else 0.0
        budget += COMPILE_LIMITS.wall_s if has_cpp_judge(suite) else 0.0
        guard = time.monotonic() + budget * (1 + len(jobs) / self.concurrency) + 60
        for slot, job in jobs.items():
            try:
                verdicts[slot] = job.result(timeout=max(1.0, guard - time.monotonic()))
            except FutureTimeout:
                logger.error("code verification exceeded its time bound; the sandbox is misbehaving")
                verdicts[slot] = Verdict.unverifiable(self.name, "verifier_timeout")
        return verdicts  # type: ignore[return-value]

    def _program(self, completion: Completion) -> tuple[str, str, Verdict | None]:
        found = extract_program(split_think(completion.text).answer, self.languages)
        if found is None:
            return "", "", Verdict.reject(self.name, "no_code")
        language, code = found
        if len(code.encode("utf-8", "surrogatepass")) > self.max_code_bytes:
            return language, "", Verdict.reject(self.name, "code_too_long", bytes=len(code))
        if language != "python":
            return language, code, None  # the compiler judges it, in a sandbox
        try:
            compile(code, "main.py", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return language, "", Verdict.reject(self.name, "syntax_error", message=f"line {exc.lineno}: {exc.msg}")
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
            return language, "", Verdict.reject(self.name, "syntax_error", message=str(exc)[:200])
        return language, code, None

    def _run(self, code: str, suite: TestSuite, language: str = "python") -> Verdict:
        settings = plan(self.settings, suite, language)
        try:
            binary = None
            if language == "cpp":
                binary, messages = compile_cpp(self.sandbox, code)
                if binary is None:
                    return Verdict.reject(self.name, "compile_error", language=language, message=messages[:1000])
            fault = compile_judges(self.sandbox, suite)  # C++ checker/interactor: once per problem, cached
            if fault:
                return Verdict.unverifiable(self.name, "checker_error", language=language, message=fault[:1000])
            deadline = time.monotonic() + budget_s(settings, suite)
            results = run_suite(self.sandbox, settings, code, suite, deadline, binary=binary)
        except (SandboxUnavailableError, OSError) as exc:  # e.g. the machine ran out of processes or fds
            logger.warning("code sandbox failed to run a program: %s", exc)
            return Verdict.unverifiable(self.name, "sandbox_error", error=str(exc)[:300])
        passed = sum(r["status"] == "passed" for r in results)
        details = {"test_type": suite.kind, "language": language, "passed": passed, "total": len(results),
                   "time_limit_s": settings.timeout_s, "memory_mb": settings.limits.memory_mb, "tests": results}
        if passed == len(results):
            return Verdict.accept(self.name, **details)
        failed = next(r["status"] for r in results if r["status"] not in ("passed", "not_run"))
        if failed == "unverifiable":
            return Verdict.unverifiable(self.name, "tests_not_runnable", **details)
        if failed in ("vacuous_tests", "checker_error"):
            return Verdict.unverifiable(self.name, failed, **details)
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
