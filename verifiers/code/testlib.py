"""C++ checkers and interactors written against testlib.h (Codeforces/Polygon style), compiled once per problem.

Contracts:
- Language: `verifiers.code.testcases.is_cpp(source)`: a checker or interactor text that does not compile as
  Python and has a C++ marker (`#include`, `int main(`) is C++; anything that compiles as Python keeps the Python
  contracts (`verifiers.code.checker`, `verifiers.code.interactive`).
- Compilation: g++ `TESTLIB_FLAGS` (-std=c++17 -O2, as judges build checkers) in the compile sandbox, with the
  shipped, unmodified `data/testlib/testlib.h` beside the source (`#include "testlib.h"` and `<testlib.h>` both
  resolve to it). `compiled(sandbox, source)` -> (binary, "") or (None, the compiler's messages); binaries are
  cached in memory and on disk under a hash of the source, flags, compiler version and header
  (`checker_cache_dir()`: $R1_FACTORY_CHECKER_CACHE, else ~/.cache/r1-distill-factory/checkers), written to a
  temporary file and renamed into place, so parallel workers never read half a binary.
- Checker: `checker input.txt output.txt answer.txt` (testlib's order: the test's input, the candidate's output,
  the jury's answer) in its own sandbox; exit 0 accepts, 1 (WA), 2 (PE), 4 (dirt), 7 (points), 8 (unexpected EOF)
  and any other code reject with testlib's message from stderr; exit 3 (FAIL: the checker or the jury's data is
  broken), a crash or a checker that does not finish is the problem's fault, `checker_error`: never a rejection.
- Interactor: `interactor input.txt output.txt answer.txt`, stdin/stdout joined to the program; the same exit codes.
  The output file it writes (testlib's `tout`) comes back through a pipe and, when the problem also has a checker,
  is judged by it, as Polygon does.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from verifiers.code.outcomes import CHECKER_WALL_S
from verifiers.code.pump import run_to_end
from verifiers.code.sandbox import Execution, Limits, Sandbox
from verifiers.code.testcases import is_cpp
from verifiers.code.toolchain import CPP_FLAGS, compile_cpp

TESTLIB_FLAGS = (*CPP_FLAGS, "-I.")
"""g++ flags of checkers and interactors: the solutions' flags, plus the working folder (where testlib.h is put)."""
FAIL_EXIT = 3
"""testlib's FAIL: the checker found its own inputs (or itself) broken."""
TOUT_CAP = 16 << 20
_VERDICTS = {1: "wrong answer", 2: "presentation error", 4: "dirt", 7: "points", 8: "unexpected end of file"}

LAUNCHER = """import os, sys
tout_fd, args = int(sys.argv[1]), sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        if tout_fd >= 0:
            os.close(tout_fd)
        os.execv("./main", ["main", *args])
    finally:
        os._exit(127)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
if tout_fd >= 0:
    try:
        data = open("output.txt", "rb").read()
    except OSError:
        data = b""
    view = memoryview(data)
    while view:
        view = view[os.write(tout_fd, view):]
os._exit(code if code >= 0 else 128 - code)
"""
"""Runs in the judge's sandbox (under the harness's `script` mode): starts the compiled judge as a child (not as
the pid namespace's init, which would ignore SIGXCPU), then hands back an interactor's output file on `tout_fd`
and exits with the judge's status (128+N for a signal N)."""


def testlib_dir() -> Path:
    """data/testlib at the checkout's root, or inside the installed `factory.data` package."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (root / "data" / "testlib", root / "factory" / "data" / "testlib"):
        if (candidate / "testlib.h").is_file():
            return candidate
    raise FileNotFoundError(f"testlib.h not found under {root / 'data' / 'testlib'} (it ships with the project)")


@functools.lru_cache(maxsize=1)
def testlib_header() -> bytes:
    return (testlib_dir() / "testlib.h").read_bytes()


@functools.lru_cache(maxsize=1)
def _compiler_version() -> str:
    try:
        return subprocess.run(["g++", "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def checker_cache_dir() -> Path:
    configured = os.environ.get("R1_FACTORY_CHECKER_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "r1-distill-factory" / "checkers"


@functools.lru_cache(maxsize=1)
def _toolchain_digest() -> bytes:
    """What every binary depends on besides its source: flags, compiler version, testlib.h."""
    digest = hashlib.sha256()
    for part in (" ".join(TESTLIB_FLAGS).encode(), _compiler_version().encode(), testlib_header()):
        digest.update(hashlib.sha256(part).digest())
    return digest.digest()


def cache_key(source: str) -> str:
    return hashlib.sha256(_toolchain_digest() + hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
                          ).hexdigest()


class _Cache:
    """Binaries by key: memory first, then disk; one compilation per key in this process (a lock per key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, tuple[bytes | None, str]] = {}

    def get(self, sandbox: Sandbox, source: str) -> tuple[bytes | None, str]:
        key = cache_key(source)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._done:
                return self._done[key]
            binary, messages = self._load_or_build(sandbox, source, key)
            if binary is not None or "in time" not in messages:  # a compiler slowed by load may do better later
                self._done[key] = (binary, messages)
            return binary, messages

    def _load_or_build(self, sandbox: Sandbox, source: str, key: str) -> tuple[bytes | None, str]:
        path = checker_cache_dir() / f"{key}.bin"
        try:
            return path.read_bytes(), ""
        except OSError:
            pass
        binary, messages = compile_cpp(sandbox, source, files={"testlib.h": testlib_header()}, flags=TESTLIB_FLAGS)
        if binary is not None:
            _store(path, binary)
        return binary, messages

    def forget(self) -> None:
        """Drop the in-memory entries (tests: the next `get` reads the disk cache)."""
        with self._lock:
            self._done.clear()


def _store(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a temporary file in the same folder, then rename); best effort: a cache
    that cannot be written only costs a compilation per process."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


CACHE = _Cache()


def compiled(sandbox: Sandbox, source: str) -> tuple[bytes | None, str]:
    return CACHE.get(sandbox, source)


def compile_judges(sandbox: Sandbox, suite) -> str:
    """Compile the suite's C++ checker and interactor (cached); "" when all is ready, else why the problem cannot be
    judged."""
    for what, source in (("checker", suite.checker), ("interactor", suite.interactor)):
        if source and is_cpp(source):
            binary, messages = compiled(sandbox, source)
            if binary is None:
                return f"the {what} does not compile: {messages}"
    return ""


def has_cpp_judge(suite) -> bool:
    return any(source and is_cpp(source) for source in (suite.checker, suite.interactor))


def verdict_of(status: int, message: str, finished: bool = True) -> tuple[str, str]:
    """(passed | checker_rejected | checker_error, message) from a testlib judge's exit status."""
    if not finished:
        return "checker_error", "the checker did not finish in time"
    if status == 0:
        return "passed", ""
    if status == FAIL_EXIT:
        return "checker_error", f"the checker failed (FAIL): {message}"
    if status >= 128 or status == 127:
        return "checker_error", f"the checker crashed (exit status {status}): {message}"
    return "checker_rejected", message or _VERDICTS.get(status, f"exit status {status}")  # testlib names it


def run_testlib_checker(sandbox: Sandbox, limits: Limits, source: str, input_text: str, expected: str,
                        got: bytes) -> tuple[str, str]:
    """(passed | checker_rejected | checker_error, message) of a C++ testlib checker on one test."""
    binary, messages = compiled(sandbox, source)
    if binary is None:
        return "checker_error", f"the checker does not compile: {messages}"[:300]
    started = time.monotonic()
    files = {"main": binary, "launcher.py": LAUNCHER.encode(), "input.txt": input_text.encode(),
             "output.txt": bytes(got), "answer.txt": expected.encode()}
    size = len(binary) + len(got) + len(input_text) + len(expected)
    limits = replace(limits, max_file_bytes=max(limits.max_file_bytes, 2 * size + 4096))
    execution = sandbox.start("script", ["{workdir}", "launcher.py", "-1", "input.txt", "output.txt", "answer.txt"],
                              limits, files=files)
    finished, status, _, err = run_to_end(execution, started + CHECKER_WALL_S)
    return verdict_of(status, err[-300:].decode("utf-8", "replace").strip(), finished)


def start_testlib_interactor(sandbox: Sandbox, source: str, case: dict, limits: Limits,
                             pipes: tuple[int, int]) -> tuple[Execution, int]:
    """Start the compiled interactor joined to `pipes` (its stdin, its stdout); returns the execution and the read
    end of a pipe that carries its output file once it has ended (the caller reads and closes it). The interactor
    must have been compiled (`compile_judges`)."""
    binary, messages = compiled(sandbox, source)
    if binary is None:
        raise RuntimeError(f"the interactor does not compile: {messages}")
    tout_r, tout_w = os.pipe()
    files = {"main": binary, "launcher.py": LAUNCHER.encode(), "input.txt": case["input"].encode(),
             "answer.txt": case["output"].encode()}
    try:
        execution = sandbox.start("script", ["{workdir}", "launcher.py", str(tout_w), "input.txt", "output.txt",
                                             "answer.txt"], replace(limits, max_file_bytes=max(limits.max_file_bytes,
                                                                                               TOUT_CAP)),
                                  files=files, pipes=pipes, keep_fds=(tout_w,))
    except BaseException:
        os.close(tout_r)
        raise
    finally:
        os.close(tout_w)
    return execution, tout_r
