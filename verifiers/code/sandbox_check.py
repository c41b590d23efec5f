"""The sandbox's start-up self-check: prove each protection on this machine, or refuse with a fix.

Runs the harness's `probe` mode inside a real sandbox and checks what it reports against what
`verifiers.code.sandbox` promises. Results are cached per process and configuration: verifiers are created once per
worker, and the check costs one sandbox start (about 0.1 s).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time

from verifiers.code.sandbox import Limits, Sandbox, SandboxReport, SandboxUnavailableError
from verifiers.code.pump import Pump

logger = logging.getLogger(__name__)
_cache: dict[tuple, SandboxReport] = {}
_lock = threading.Lock()

_USERNS_HINT = ("bubblewrap could not create a user namespace. Allow unprivileged user namespaces "
                "(Debian/Ubuntu: `sysctl -w kernel.unprivileged_userns_clone=1`, `sysctl -w user.max_user_namespaces="
                "15000`; Ubuntu 24.04+: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor "
                "profile for bwrap; in Docker: `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`)")


def preflight(sandbox: Sandbox, limits: Limits | None = None) -> SandboxReport:
    """Prove the isolation works here, or raise SandboxUnavailableError (see `verifiers.code.sandbox`)."""
    report = check_sandbox(sandbox, limits or Limits(wall_s=20, cpu_s=5, max_processes=8))
    if sandbox.unsafe:
        logger.warning("!!! %s", report.summary())
    sys.stderr.write(report.summary() + "\n")
    return report


def check_sandbox(sandbox: Sandbox, limits: Limits) -> SandboxReport:
    key = (sandbox.unsafe, sandbox.python, sandbox.sandbox_uid, sandbox.tmpfs_mb, sandbox.bwrap,
           sandbox.cgroups is not None, limits)
    with _lock:
        if key not in _cache:
            _cache[key] = _unsafe_report(sandbox) if sandbox.unsafe else _check(sandbox, limits)
        return _cache[key]


def _unsafe_report(sandbox: Sandbox) -> SandboxReport:
    if not os.access(sandbox.python, os.X_OK):
        raise SandboxUnavailableError(f"interpreter not found or not executable: {sandbox.python}")
    missing = ["namespaces", "network isolation", "filesystem isolation", "pid-namespace kill of daemons"]
    if sandbox.as_root:
        missing.append("fork-bomb guard (RLIMIT_NPROC does not apply to root)")
    return SandboxReport("UNSAFE_NO_SANDBOX: model-written code runs UNSANDBOXED on this machine",
                         ["rlimits (cpu, address space, file size, open files)", "wall-clock kill of the process group",
                          "output caps"], missing)


def _require_tools(sandbox: Sandbox) -> None:
    if not shutil.which(sandbox.bwrap):
        raise SandboxUnavailableError(
            "the code sandbox needs bubblewrap: install the Debian/Ubuntu package `bubblewrap` "
            "(apt-get install -y bubblewrap). To run model-written code UNSANDBOXED instead (dangerous), pass "
            "unsafe_no_sandbox=True to the code verifier.")
    if sandbox.as_root and not shutil.which("setpriv"):
        raise SandboxUnavailableError("running as root, the sandbox drops to a non-root uid with `setpriv` "
                                      "(Debian/Ubuntu package util-linux), which is not installed")
    if not os.access(sandbox.python, os.X_OK):
        raise SandboxUnavailableError(f"interpreter not found or not executable: {sandbox.python}")


def _run_probe(sandbox: Sandbox, limits: Limits) -> tuple[dict, str, int]:
    try:
        execution = sandbox.start("probe", [], limits, files={})
    except (SandboxUnavailableError, OSError) as exc:
        stderr = _bwrap_error(sandbox)
        hint = _USERNS_HINT if "namespace" in stderr or "uid map" in stderr or "Permission" in stderr else ""
        raise SandboxUnavailableError(f"the code sandbox could not start: {exc}; bwrap says: {stderr!r}. "
                                      f"{hint}") from exc
    pump = Pump()
    out = pump.read("stdout", execution.stdout, 1 << 16)
    err = pump.read("stderr", execution.stderr, 1 << 16)
    pump.run(pump.all_eof, time.monotonic() + limits.wall_s)
    execution.kill()
    status = execution.finish()
    pump.close()
    try:
        report = json.loads(bytes(out.data).decode())
    except ValueError:
        report = {}
    return report, bytes(err.data).decode("utf-8", "replace")[-2000:], status


def _bwrap_error(sandbox: Sandbox) -> str:
    """Run a trivial bwrap command to capture its error message (the launch path does not keep it)."""
    argv = sandbox.bwrap_argv({})
    try:
        done = subprocess.run(argv + ["--", "/usr/bin/true"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        return done.stderr.decode("utf-8", "replace").strip()[-500:]
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)


def _check(sandbox: Sandbox, limits: Limits) -> SandboxReport:
    _require_tools(sandbox)
    report, stderr, status = _run_probe(sandbox, limits)
    if not report:
        raise SandboxUnavailableError(f"the sandbox self-check produced no report (exit status {status}); "
                                      f"stderr: {stderr!r}")
    failures = []
    outer_uid = int(report["uid_map"][1]) if len(report.get("uid_map", [])) >= 2 else -1
    checks = [
        (report.get("pid", 99) <= 3, "pid namespace (the program must not see host pids)"),
        (report.get("interfaces") == ["lo"] and report.get("loopback_connect") != "connected",
         "network namespace (only a loopback interface, down)"),
        (not report["writable"].get("/probe-root") and not report["writable"].get("/usr/probe"),
         "read-only root and /usr"),
        (report["writable"].get("/tmp/probe", False), "private writable /tmp"),
        (int(report.get("cap_eff", "1") or "1", 16) == 0, "no capabilities"),
        (report.get("no_new_privs") == "1", "no_new_privs"),
        (outer_uid not in (-1, 0), f"non-root uid on the host (uid_map {report.get('uid_map')})"),
        (report.get("forks_before_refusal", 999) < limits.max_processes,
         f"process limit (forks refused after {report.get('forks_before_refusal')}, limit {limits.max_processes})"),
    ]
    for ok, what in checks:
        if not ok:
            failures.append(what)
    if failures:
        raise SandboxUnavailableError("the code sandbox is missing protections on this machine: "
                                      + "; ".join(failures) + f" (probe report: {report})")
    who = f"root-started, runs as uid {sandbox.sandbox_uid}" if sandbox.as_root else f"uid {os.getuid()}"
    version = subprocess.run([sandbox.bwrap, "--version"], capture_output=True, text=True).stdout.strip()
    protections = [
        "user+pid+net+mount+ipc+uts+cgroup namespaces", "no network (loopback only, down)",
        "read-only /usr, empty root, private size-capped /tmp", "no capabilities, no_new_privs, no nested userns",
        f"processes/threads limited per sandbox (probe: fork refused after {report['forks_before_refusal']})",
        "rlimits: cpu, address space, file size, open files, core=0", "wall-clock kill of the whole pid namespace",
        "output caps"]
    missing = ["seccomp syscall filter"]
    if sandbox.cgroups is not None:
        protections.append(f"cgroup {sandbox.cgroups.kind} per sandbox: resident memory "
                           f"{sandbox.cgroup_bytes(limits) >> 20} MB at the default limits (shared memory included), pids")
    else:
        missing.append("cgroup memory limit (needs a writable cgroup, e.g. running as root): shared memory and "
                       "the sum over a sandbox's processes are bounded only by rlimits")
    return SandboxReport(f"{version}, {who}", protections, missing)
