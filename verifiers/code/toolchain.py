"""C++17: compile a program once per sample, in its own sandbox, with the system's g++ (`factory/setup_venv.py`
installs it with apt-get, as it does bubblewrap).

Contract: `compile_cpp(sandbox, source)` -> (binary bytes, "") or (None, the compiler's first messages). Problems'
C++ checkers and interactors are compiled the same way, with testlib.h beside them (`verifiers.code.testlib`). The
compiler runs under the same isolation as programs (no network, read-only system, private /tmp), with limits of its
own (`COMPILE_LIMITS`); the binary comes back on the sandbox's stdout and then runs, in fresh sandboxes, under the
problem's limits (the harness's `exec` mode). Flags: `-std=c++17 -O2`, as judges compile.
"""

from __future__ import annotations

import shutil
import time

from verifiers.code.pump import Pump
from verifiers.code.sandbox import Limits, Sandbox

CPP_FLAGS = ("-std=c++17", "-O2", "-pipe")
COMPILE_LIMITS = Limits(wall_s=60.0, cpu_s=30, memory_mb=2048, max_processes=16, max_file_bytes=64 << 20)
MAX_BINARY_BYTES = 64 << 20


def have_compiler() -> bool:
    return shutil.which("g++") is not None


def compile_cpp(sandbox: Sandbox, source: str, files: dict[str, bytes] | None = None,
                flags: tuple[str, ...] = CPP_FLAGS) -> tuple[bytes | None, str]:
    """`files`: more files beside main.cpp (headers, e.g. testlib.h for checkers)."""
    started = time.monotonic()
    execution = sandbox.start("compile", ["{workdir}", "g++", *flags], COMPILE_LIMITS,
                              files={**(files or {}), "main.cpp": source.encode("utf-8", "surrogatepass")})
    pump = Pump()
    out = pump.read("binary", execution.stdout, MAX_BINARY_BYTES)
    err = pump.read("compiler messages", execution.stderr, 1 << 16, fatal=False)
    finished = pump.run(pump.all_eof, started + COMPILE_LIMITS.wall_s)
    if not finished:
        execution.kill()
    status = execution.finish()
    pump.close()
    messages = bytes(err.data[:1500]).decode("utf-8", "replace").replace("/tmp/main.cpp:", "line ")
    if not finished:
        return None, "the compiler did not finish in time" if pump.overflowed() is None else "binary too large"
    if status != 0 or not out.data:
        return None, messages or f"the compiler failed (exit status {status})"
    return bytes(out.data), ""


_PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py")


def pytest_binds() -> tuple[tuple[str, str], ...]:
    """(host path, sandbox path) of pytest and its dependencies, as installed beside the verifier, for the
    checker sandbox of pytest-style tests (bound read-only under the harness's PYLIB). Empty without pytest."""
    import importlib.util
    import os

    binds = []
    for name in _PYTEST_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue
        path = os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin
        binds.append((path, f"/pylib/{os.path.basename(path)}"))
    return tuple(binds) if any(target.endswith("/pytest") for _, target in binds) else ()
