"""A local sandbox for model-written programs, built from bubblewrap, user namespaces and rlimits.

Every execution is a fresh `bwrap` process tree. What each one gets, and so what is covered:

- Namespaces (user, pid, network, mount, ipc, uts, cgroup): no network at all (only a loopback interface, down),
  no view of the host's processes, no way to signal, ptrace or read the memory of the verifier or anything
  else outside; nested user namespaces are disabled. The harness is pid 1 of its pid namespace (`--as-pid-1`,
  so bwrap itself reaps it and no zombie is left to the host's init): when it exits, the kernel kills every
  other process of the sandbox. As pid 1 it ignores signals it has no handler for, SIGXCPU included; the CPU
  limit's hard SIGKILL (set equal to the soft limit) still stops it, and the wall clock stops everything.
- Filesystem: an empty tmpfs root with /usr (and the interpreter's prefix, if elsewhere) bound read-only, a
  private /proc, /dev/null|zero|full|random|urandom, and a private, size-capped tmpfs /tmp as the working folder
  and only writable place. The program's code arrives through a memfd, so nothing is written to the host's disk,
  and the verifier's files (tests, expected outputs, datasets) are not visible.
- Identity: a non-root uid with no capabilities and no_new_privs. When the verifier runs as root (CI), bwrap is
  started through `setpriv` as `sandbox_uid` (default 65534): the kernel never applies RLIMIT_NPROC to root, so
  the fork-bomb guard needs a non-root uid; inside its own user namespace that limit counts per sandbox.
- rlimits, set inside the sandbox by the harness before any candidate code runs: CPU seconds, address space
  (memory), processes/threads, file size, open files, stack, no core files.
- A memory+pids cgroup per sandbox where the verifier may create cgroups (root, v1 or v2;
  `verifiers.code.cgroup`): bounds the resident memory of the whole sandbox, memfd and SysV shared memory
  included, which address-space limits do not see. A program it kills is judged `memory_limit`.
- Wall clock: the parent kills the sandbox's pid 1 (through a pidfd, so never a recycled pid) when time is up;
  the kernel then kills every process of that pid namespace, and `finish()` returns only after pid 1 is gone,
  i.e. after every process of the sandbox is gone. bwrap's --die-with-parent takes the sandbox down too if the
  verifier itself dies. Output sizes are capped by the parent (`verifiers.code.pump`).

Not covered: kernel exploits (there is no seccomp filter; the kernel's namespace and user-namespace code is
exposed), CPU and memory-bandwidth contention between concurrent sandboxes, side channels (timing), and inside
the sandbox the program may ptrace or signal its own processes. Without a cgroup (non-root, or a read-only
cgroup tree), memory is bounded only per process: address space, plus memfd/shared memory up to the file-size
limit times the open-file limit, times the process limit, plus the /tmp size; kernel objects (tmpfs inodes, pipe
buffers) are bounded only indirectly. If the verifier process is killed with SIGKILL, bwrap's --die-with-parent
still kills the sandboxes, but their exit statuses are left for the host's init to collect.

`preflight()` proves the protections by running a probe inside a real sandbox (network absent, root read-only,
forks refused past the limit, no capabilities, no_new_privs, non-root uid on the host) and raises
`SandboxUnavailableError` with the reason and a fix if any is missing. The only way around it is
`unsafe_no_sandbox=True`: plain subprocesses with rlimits in a temporary folder, loudly logged; it protects
against nothing but runaway CPU, memory and output, and as root not even against fork bombs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from verifiers.code.cgroup import Cgroup, CgroupLimiter

logger = logging.getLogger(__name__)

HARNESS_SOURCE = (Path(__file__).with_name("harness.py")).read_text(encoding="utf-8")
HARNESS_PATH = "/.harness"
"""Where the harness's bytecode sits in the sandbox (read-only; compiled once per Sandbox by the sandbox's own
interpreter, since compiling the source at every start cost about a quarter of a trivial execution)."""
_BOOTSTRAP = "import marshal;exec(marshal.loads(open(%r,'rb').read()))"
SANDBOX_WORKDIR = "/tmp"
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class SandboxUnavailableError(RuntimeError):
    """Isolation cannot be set up on this machine; raised before any generation is spent."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one execution."""

    wall_s: float = 10.0
    """Wall-clock seconds before the whole sandbox is killed (start-up included)."""
    cpu_s: int = 10
    """CPU seconds per process (RLIMIT_CPU, soft = hard: the kernel's SIGKILL at the limit, which reaches the
    sandbox's pid 1 too)."""
    memory_mb: int = 512
    """Address space per process (RLIMIT_AS)."""
    max_processes: int = 32
    """Processes and threads inside the sandbox (RLIMIT_NPROC, counted per user namespace)."""
    max_file_bytes: int = 16 << 20
    """Largest file the program may write (RLIMIT_FSIZE)."""
    max_open_files: int = 64
    """RLIMIT_NOFILE."""

    def harness_arg(self) -> str:
        return ",".join([f"cpu={max(1, int(self.cpu_s))}", f"as={self.memory_mb << 20}",
                         f"nproc={self.max_processes}", f"fsize={self.max_file_bytes}",
                         f"nofile={self.max_open_files}", f"stack={8 << 20}"])


@dataclass
class SandboxReport:
    """What preflight established: printed once at start-up and kept for audits."""

    mode: str
    protections: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"code sandbox ({self.mode}): " + "; ".join(self.protections)
        return text + (f". NOT active: {'; '.join(self.missing)}" if self.missing else "")


def default_python() -> str:
    """The interpreter programs run under: the system's python3 (under /usr, visible in the sandbox)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.realpath(sys.executable)


class Execution:
    """One running sandbox. Read its pipes with `verifiers.code.pump.Pump`, then always call `finish()`."""

    def __init__(self, proc: subprocess.Popen, pidfd: int | None, workdir: str | None, sandbox: "Sandbox"):
        self.proc = proc
        self.pidfd = pidfd
        self.cgroup: Cgroup | None = None
        self.oom_killed = False
        """Set by `finish()`: the sandbox's memory cgroup killed a process (the memory limit, not the time)."""
        self.workdir = workdir  # host temp folder, only in unsafe mode
        self.sandbox = sandbox
        self.killed = False
        self.returncode: int | None = None
        # `finish()` may run in two threads at once (the verifying thread and `Sandbox.kill_all` at close): the
        # first does the work, the second waits and gets the same status. The pidfd has its own lock so that a
        # kill never signals through an fd number that `finish()` already closed (and the OS may have reused).
        self._finish_lock = threading.Lock()
        self._fd_lock = threading.Lock()
        self._status: int | None = None

    @property
    def stdout(self) -> int:
        return self.proc.stdout.fileno()

    @property
    def stderr(self) -> int:
        return self.proc.stderr.fileno()

    def kill(self) -> None:
        """Kill every process of the sandbox (idempotent, never raises).

        Only the sandbox's pid 1 is killed when it is known: the kernel then kills the rest of its pid namespace
        and bwrap, its parent, reaps it and exits. Killing bwrap as well would orphan pid 1 to the host's init,
        which in containers often never reaps it (a zombie per timeout)."""
        with self._fd_lock:
            self.killed = True
            if self.pidfd is not None:
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                    return
                except OSError:
                    pass
            self._kill_group()

    def _kill_group(self) -> None:
        if self.proc.returncode is not None:  # bwrap already reaped: its pid number may have been reused
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def adopt(self, pid: int, pidfd: int, new_cgroup: Callable[[], Cgroup] | None) -> None:
        """Hold the sandbox's pid 1 (`pid`, through `pidfd`, owned from now on) and put it into the cgroup that
        `new_cgroup` makes, if given; `finish()` releases both. Raises SandboxUnavailableError (closing `pidfd`)
        if the execution was killed meanwhile, e.g. by `Sandbox.kill_all` while it started. Under the fd lock, so
        a concurrent kill and finish see either nothing adopted or all of it."""
        with self._fd_lock:
            if self.killed:
                os.close(pidfd)
                raise SandboxUnavailableError("the sandbox was closed while a program was starting")
            self.pidfd = pidfd
            if new_cgroup is not None:
                self.cgroup = new_cgroup()
                self.cgroup.add(pid)

    def finish(self, grace_s: float = 5.0) -> int:
        """Reap the sandbox; returns the exit status (128+N for a signal N). Kills first if still running after
        `grace_s`. On return no process of this sandbox exists any more. Safe to call again or from another
        thread: every call returns the same status."""
        with self._finish_lock:
            if self._status is None:
                self._status = self._reap(grace_s)
            return self._status

    def _reap(self, grace_s: float) -> int:
        try:
            self.returncode = self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            try:
                self.returncode = self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:  # bwrap itself stuck: take it down too
                self._kill_group()
                self.returncode = self.proc.wait(timeout=grace_s)
        if self.pidfd is not None:
            # pid 1 of a pid namespace finishes exiting only after every other process in it is gone.
            if not select.select([self.pidfd], [], [], grace_s)[0]:
                logger.error("sandbox pid 1 still alive %.0fs after its parent exited", grace_s)
        with self._fd_lock:  # from here on kill() finds no pidfd, and bwrap's returncode stops _kill_group
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None
        if self.cgroup is not None:
            self.oom_killed = self.cgroup.oom_killed()
            self.cgroup.remove()
            self.cgroup = None
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.sandbox._forget(self)
        rc = self.returncode
        return 128 - rc if rc < 0 else rc


class Sandbox:
    """Starts executions of the harness (`verifiers.code.harness`) in fresh sandboxes."""

    EXECUTABLES = frozenset({"main"})
    """Working-folder files made executable (a compiled program)."""

    def __init__(self, *, python: str | None = None, sandbox_uid: int = 65534, tmpfs_mb: int = 64,
                 unsafe_no_sandbox: bool = False, bwrap: str = "bwrap", use_cgroup: bool = True):
        self.python = python or default_python()
        self.sandbox_uid = sandbox_uid
        self.tmpfs_mb = tmpfs_mb
        self.unsafe = unsafe_no_sandbox
        self.bwrap = shutil.which(bwrap) or bwrap
        self.as_root = os.geteuid() == 0
        self.cgroups = CgroupLimiter.detect() if use_cgroup and not unsafe_no_sandbox else None
        self._live: set[Execution] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.harness_code = _compile_harness(self.python)

    # -- launching ------------------------------------------------------------------------------------------------

    def bwrap_argv(self, files: dict[str, int], info_w: int | None = None, block_r: int | None = None,
                   binds: tuple[tuple[str, str], ...] = ()) -> list[str]:
        """The command line up to (not including) `--` and the program. `binds`: (host path, sandbox path) pairs
        bound read-only (pytest's packages for pytest-style tests)."""
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--new-session", "--as-pid-1", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += ["--ro-bind", top, top]
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(self.python)))
        if not prefix.startswith("/usr"):
            argv += ["--ro-bind", prefix, prefix]
        for source, target in binds:
            argv += ["--ro-bind", source, target]
        argv += ["--proc", "/proc"]
        for device in _DEVICES:
            argv += ["--dev-bind", device, device]
        # /dev/stdin and friends, as programs (and C++ freopen idioms) expect them; they lead to the sandbox's own fds.
        argv += ["--symlink", "/proc/self/fd", "/dev/fd"]
        for number, name in enumerate(("stdin", "stdout", "stderr")):
            argv += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{name}"]
        argv += ["--size", str(self.tmpfs_mb << 20), "--tmpfs", SANDBOX_WORKDIR]
        for name, fd in files.items():
            if name in self.EXECUTABLES:
                argv += ["--perms", "0755"]
            argv += ["--file", str(fd), f"{SANDBOX_WORKDIR}/{name}"]
        argv += ["--remount-ro", "/", "--chdir", SANDBOX_WORKDIR, "--clearenv",
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_WORKDIR,
                 "--setenv", "LANG", "C.UTF-8", "--setenv", "LC_ALL", "C.UTF-8"]
        if info_w is not None and block_r is not None:
            argv += ["--info-fd", str(info_w), "--block-fd", str(block_r)]
        if self.as_root:
            uid = str(self.sandbox_uid)
            argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + argv
        return argv

    def start(self, mode: str, args: list[str], limits: Limits, *, files: dict[str, bytes],
              stdin: bytes | None = None, keep_fds: tuple[int, ...] = (),
              binds: tuple[tuple[str, str], ...] = (), pipes: tuple[int, int] | None = None) -> Execution:
        """Start the harness in `mode` with `files` in its working folder and `stdin` as standard input.

        `pipes`: (stdin fd, stdout fd) to use instead of `stdin` and a captured stdout (an interactive problem's
        program and interactor talk through them; the caller closes its copies afterwards).
        `keep_fds` are passed through with the same numbers (the caller closes its copies afterwards). Returns
        once the program is about to run (in sandboxed mode: after its pid 1 is known and held by a pidfd).
        """
        if self._closed:  # a verification still looping over its test cases after close(): stop it here
            raise SandboxUnavailableError("the code sandbox was closed")
        stdin_fd = os.dup(pipes[0]) if pipes else _memfd("stdin", stdin or b"")
        stdout_to = pipes[1] if pipes else subprocess.PIPE
        if self.unsafe:
            return self._start_unsafe(mode, args, limits, files, stdin_fd, keep_fds, stdout_to)
        file_fds = {name: _memfd(name, data) for name, data in files.items()}
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        workdir_args = [SANDBOX_WORKDIR if a == "{workdir}" else a for a in args]
        argv = self.bwrap_argv(file_fds, info_w, block_r, binds)
        harness_fd = None
        if self.harness_code is not None:
            harness_fd = _memfd("harness", self.harness_code)
            argv[argv.index("--remount-ro"):argv.index("--remount-ro")] = ["--ro-bind-data", str(harness_fd),
                                                                         HARNESS_PATH]
            program = _BOOTSTRAP % HARNESS_PATH
        else:
            program = HARNESS_SOURCE
        argv += ["--", self.python, "-I", "-S", "-c", program, mode, limits.harness_arg(), *workdir_args]
        passed = (*file_fds.values(), info_w, block_r, *keep_fds) + ((harness_fd,) if harness_fd is not None else ())
        try:
            proc = subprocess.Popen(argv, stdin=stdin_fd, stdout=stdout_to, stderr=subprocess.PIPE,
                                    pass_fds=passed, start_new_session=True, close_fds=True)
        finally:
            for fd in (stdin_fd, *file_fds.values(), info_w, block_r):
                os.close(fd)
            if harness_fd is not None:
                os.close(harness_fd)
        execution = Execution(proc, None, None, self)
        self._remember(execution)
        try:
            pid, pidfd = _read_child(info_r, deadline=time.monotonic() + max(limits.wall_s, 5.0))
            new_cgroup = None if self.cgroups is None else functools.partial(
                self.cgroups.create, self.cgroup_bytes(limits), limits.max_processes + 4)
            execution.adopt(pid, pidfd, new_cgroup)
            os.write(block_w, b"x")  # let the program start only now that we hold its pid 1 (and it is limited)
        except Exception:
            execution.kill()
            execution.finish()
            raise
        finally:
            os.close(info_r)
            os.close(block_w)
        return execution

    def cgroup_bytes(self, limits: Limits) -> int:
        """Resident memory of a whole sandbox: one process's address space, its /tmp, and room for the rest."""
        return (limits.memory_mb + self.tmpfs_mb + 64) << 20

    def _start_unsafe(self, mode, args, limits, files, stdin_fd, keep_fds, stdout_to=subprocess.PIPE) -> Execution:
        workdir = tempfile.mkdtemp(prefix="code-unsafe-")
        for name, data in files.items():
            Path(workdir, name).write_bytes(data)
            if name in self.EXECUTABLES:
                os.chmod(Path(workdir, name), 0o755)
        argv = [self.python, "-I", "-S", "-c", HARNESS_SOURCE, mode, limits.harness_arg(),
                *[workdir if a == "{workdir}" else a for a in args]]
        try:
            proc = subprocess.Popen(argv, stdin=stdin_fd, stdout=stdout_to, stderr=subprocess.PIPE,
                                    pass_fds=keep_fds, start_new_session=True, close_fds=True, cwd=workdir,
                                    env={"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"})
        finally:
            os.close(stdin_fd)
        execution = Execution(proc, None, workdir, self)
        self._remember(execution)
        return execution

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def _remember(self, execution: Execution) -> None:
        with self._lock:
            self._live.add(execution)

    def _forget(self, execution: Execution) -> None:
        with self._lock:
            self._live.discard(execution)

    def kill_all(self) -> None:
        """Kill and reap every execution still running, and refuse new ones (used by `CodeVerifier.close`)."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        for execution in live:
            execution.kill()
        for execution in live:
            try:
                execution.finish(grace_s=2.0)
            except Exception:  # noqa: BLE001 - best effort at shutdown; the kill above already happened
                logger.exception("could not reap a sandbox")


def _compile_harness(python: str) -> bytes | None:
    """The harness compiled to marshalled bytecode by `python` itself (marshal's format is version-specific);
    None if that fails, and the source is passed instead."""
    script = "import marshal,sys;sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.read(),'harness','exec')))"
    try:
        done = subprocess.run([python, "-I", "-S", "-c", script], input=HARNESS_SOURCE.encode(),
                              capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        logger.warning("could not precompile the code harness with %s; passing its source", python)
        return None
    return done.stdout or None


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_child(info_r: int, deadline: float) -> tuple[int, int]:
    """Read bwrap's `{"child-pid": N}`; returns N (pid 1 of the sandbox) and a pidfd on it."""
    data = b""
    while True:
        try:
            pid = int(json.loads(data)["child-pid"])
            return pid, os.pidfd_open(pid)
        except (ValueError, KeyError):
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([info_r], [], [], remaining)[0]:
            raise SandboxUnavailableError("bubblewrap did not report its child within the time limit")
        chunk = os.read(info_r, 4096)
        if not chunk:
            raise SandboxUnavailableError("bubblewrap exited before starting the sandbox")
        data += chunk
