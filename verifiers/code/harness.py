"""The in-sandbox harness: the only code of ours that runs inside a code sandbox.

It is passed to the sandbox's interpreter as source text (`python3 -I -S -c <this file> MODE ...`), never imported
from the repository inside the sandbox, so it must stay standard-library only and self-contained. The parent
(`verifiers.code.run`) also imports this module for the value codec; nothing runs at import time.

Modes (argv after `-c`):
  probe LIMITS                                   sandbox self-check: prints one JSON report on stdout
  stdio LIMITS WORKDIR [OUT_FILE]                run WORKDIR/main.py as `__main__`; stdin/stdout are the test's
                                                 (with OUT_FILE, that file's content is what stdout carries)
  script LIMITS WORKDIR NAME ARGS...             run WORKDIR/NAME as `__main__` with ARGS (a problem's checker)
  compile LIMITS WORKDIR COMPILER FLAGS...       compile WORKDIR/main.cpp; the binary's bytes on stdout
  exec LIMITS WORKDIR NAME [OUT_FILE]            run the compiled WORKDIR/NAME (stdin/stdout as in stdio)
  serve LIMITS WORKDIR REQ_FD RESP_FD             load WORKDIR/main.py as module `solution`, answer call requests
  check LIMITS WORKDIR REQ_FD RESP_FD RESULT_FD ENTRY
                                                 run WORKDIR/check.py; names it does not define (and `candidate`)
                                                 are proxies that call into a `serve` process in another sandbox

Trust model: everything a candidate process writes is untrusted. Acceptance is decided outside it: the parent
compares stdout (stdio) or decoded return values (function) with expected values the candidate never receives, and
for assert-style tests the assertions run in the `check` process, which holds the test code and talks to the
candidate only through plain-data messages (`to_wire`/`from_wire`: no pickle, no objects with behaviour).

LIMITS is `key=value,...` with keys cpu (s), as (bytes), nproc, fsize (bytes), nofile, stack (bytes); they are set
here, inside the sandbox's user namespace, because RLIMIT_NPROC counts per user namespace there.
"""

import os
import sys

MEMORY_EXIT = 86
"""Exit status when the candidate ran out of memory (a MemoryError reached the harness)."""

_TAGS = ("$tuple", "$set", "$frozenset", "$dict", "$bytes", "$complex")
_MAX_DEPTH = 200


class WireError(ValueError):
    """A value that cannot cross the sandbox boundary (unsupported type, too deep, malformed message)."""


def to_wire(value, depth=0):
    """Plain data -> JSON-able structure. Only exact builtin types pass: an `int` subclass or an object with a
    custom `__eq__` is refused, so no behaviour ever crosses the boundary."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if depth > _MAX_DEPTH:
        raise WireError("value nested too deeply")
    if kind is list:
        return [to_wire(v, depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [to_wire(v, depth + 1) for v in value]}
    if kind is dict:
        return {"$dict": [[to_wire(k, depth + 1), to_wire(v, depth + 1)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {"$" + kind.__name__: [to_wire(v, depth + 1) for v in value]}
    if kind is bytes:
        return {"$bytes": value.hex()}
    if kind is complex:
        return {"$complex": [value.real, value.imag]}
    raise WireError("cannot send a value of type " + kind.__name__)


def _from_tagged(obj):
    if len(obj) != 1:
        raise WireError("untagged object in message")
    (tag, payload), = obj.items()
    if tag not in _TAGS:
        raise WireError("unknown tag " + repr(tag)[:40])
    try:
        if tag == "$tuple":
            return tuple(payload)
        if tag == "$set":
            return set(payload)
        if tag == "$frozenset":
            return frozenset(payload)
        if tag == "$dict":
            return {k: v for k, v in payload}
        if tag == "$bytes":
            return bytes.fromhex(payload)
        return complex(*payload)
    except (TypeError, ValueError) as exc:
        raise WireError("malformed " + tag + ": " + str(exc)[:100]) from None


def dumps(message):
    import json
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def loads(line):
    """One message line -> plain Python data; raises WireError for anything else (never runs code)."""
    import json
    try:
        return json.loads(line, object_hook=_from_tagged)
    except WireError:
        raise
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise WireError("malformed message: " + str(exc)[:100]) from None


def _set_limits(spec):
    import resource
    names = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC,
             "fsize": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE, "stack": resource.RLIMIT_STACK}
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for item in filter(None, spec.split(",")):
        key, value = item.split("=")
        soft = int(value)
        # CPU: SIGXCPU at the soft limit, SIGKILL one second later if the program catches it.
        hard = soft + 1 if key == "cpu" else soft
        resource.setrlimit(names[key], (soft, hard))


class _Quitter:
    """`exit()` / `quit()` as `site` would define them (the sandbox runs with -S, so site never ran)."""

    def __call__(self, code=None):
        raise SystemExit(code)


def _load_source(workdir, name):
    with open(os.path.join(workdir, name), "rb") as handle:
        return handle.read()


def _prelude(workdir, namespace):
    """Names a harness defines before the candidate's code (prelude.py, when the problem has one)."""
    path = os.path.join(workdir, "prelude.py")
    if os.path.exists(path):
        exec(compile(_load_source(workdir, "prelude.py"), path, "exec"), namespace)


def run_stdio(workdir, name="main.py", argv=(), out_file=""):
    """Run WORKDIR/NAME as `__main__`. With OUT_FILE (file-I/O problems), what the program wrote to that file is
    copied to the original stdout when it ends, and its own stdout goes nowhere."""
    import builtins
    import types
    builtins.exit = builtins.quit = _Quitter()
    path = os.path.join(workdir, name)
    module = types.ModuleType("__main__")
    module.__file__ = path
    sys.modules["__main__"] = module
    sys.argv = [path, *argv]
    result_fd = None
    if out_file:
        sys.stdout.flush()
        result_fd = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    try:
        _prelude(workdir, module.__dict__)
        code = compile(_load_source(workdir, name), path, "exec")
        exec(code, module.__dict__)
    except MemoryError:
        sys.stderr.write("MemoryError\n")
        sys.stderr.flush()
        os._exit(MEMORY_EXIT)
    except SystemExit as exc:
        if result_fd is None or exc.code not in (None, 0):
            raise
    # Other exceptions propagate: the interpreter prints them and sets the exit status.
    sys.stdout.flush()
    if result_fd is not None:
        try:
            with open(os.path.join(workdir, out_file), "rb") as handle:
                data = handle.read()
        except OSError:
            data = b""
        view = memoryview(data)
        while view:
            view = view[os.write(result_fd, view):]


def _resolve(module, name):
    target = getattr(module, name, None)
    if callable(target):
        return target
    cls = getattr(module, "Solution", None)  # LeetCode-style `class Solution: def f(self, ...)`
    if isinstance(cls, type) and callable(getattr(cls, name, None)):
        return getattr(cls(), name)
    return None


def _call(target, args, kwargs):
    try:
        value = target(*args, **kwargs)
    except MemoryError:
        os._exit(MEMORY_EXIT)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a call is a failure, not an exit
        return dumps(["raised", type(exc).__name__, str(exc)[:300]])
    try:
        return dumps(["ok", to_wire(value)])
    except (WireError, ValueError, RecursionError) as exc:
        return dumps(["unsendable", type(value).__name__, str(exc)[:200]])


def run_serve(workdir, req_fd, resp_fd):
    import builtins
    import types
    builtins.exit = builtins.quit = _Quitter()
    requests = os.fdopen(req_fd, "rb")
    responses = os.fdopen(resp_fd, "wb")
    module = types.ModuleType("solution")
    module.__file__ = os.path.join(workdir, "main.py")
    sys.modules["solution"] = module
    try:
        _prelude(workdir, module.__dict__)
        exec(compile(_load_source(workdir, "main.py"), module.__file__, "exec"), module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - report any failure to load, SystemExit included
        responses.write(dumps(["load_error", type(exc).__name__, str(exc)[:300]]))
        responses.flush()
        os._exit(MEMORY_EXIT if isinstance(exc, MemoryError) else 1)
    while True:
        line = requests.readline()
        if not line:
            break
        try:
            name, args, kwargs = loads(line)
            target = _resolve(module, name)
            if target is None:
                payload = dumps(["missing", name])
            else:
                payload = _call(target, args, kwargs)
        except MemoryError:
            os._exit(MEMORY_EXIT)
        except (WireError, ValueError, TypeError, RecursionError) as exc:
            payload = dumps(["unsendable", "?", str(exc)[:200]])
        responses.write(payload)
        responses.flush()


class CandidateDied(BaseException):
    """The candidate process stopped answering. A BaseException so that `except Exception` in test code cannot
    swallow it and let the check pass."""


class CandidateError(Exception):
    """The candidate raised an exception whose type is not a builtin (its name and message are kept)."""


class _Remote:
    """A callable standing for one function of the candidate's module in the other sandbox."""

    channel = None  # (requests, responses, state dict), set by run_check

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "<candidate function " + self.name + ">"

    def __call__(self, *args, **kwargs):
        requests, responses, state = _Remote.channel
        try:
            message = dumps([self.name, to_wire(list(args)), to_wire(dict(kwargs))])
        except (WireError, ValueError) as exc:
            state["harness_error"] = "test arguments cannot be sent to the candidate: " + str(exc)
            raise CandidateDied(state["harness_error"]) from None
        state["calls"] += 1
        try:
            requests.write(message)
            requests.flush()
        except OSError:
            raise CandidateDied("the candidate closed its request channel") from None
        line = responses.readline(state["max_bytes"] + 1)
        if not line:
            raise CandidateDied("the candidate process ended")
        if not line.endswith(b"\n"):
            state["oversize"] = True
            raise CandidateDied("the candidate's reply exceeded the output limit")
        try:
            reply = loads(line)
            tag = reply[0]
        except (WireError, TypeError, IndexError, KeyError):
            raise CandidateDied("the candidate sent a malformed reply") from None
        if tag == "ok" and len(reply) == 2:
            return reply[1]
        if tag == "raised" and len(reply) == 3:
            import builtins
            exc_type = getattr(builtins, str(reply[1]), None)
            message = str(reply[1]) + ": " + str(reply[2])
            try:  # re-raise builtin exception types as themselves, so `except ValueError` in a check works
                if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
                    raise TypeError
                error = exc_type(message)
            except Exception:  # noqa: BLE001 - constructors with other signatures
                error = CandidateError(message)
            state["raised"] = error
            raise error
        if tag == "missing":
            error = NameError("the candidate defines no function " + repr(self.name))
            state["raised"] = error
            raise error
        if tag == "unsendable":
            error = TypeError("the candidate returned a value that cannot leave its sandbox: " + str(reply[1:])[:200])
            raise error
        if tag == "load_error":
            state["load_error"] = str(reply[1:])[:300]
            raise CandidateDied("the candidate's code failed to load: " + state["load_error"])
        raise CandidateDied("the candidate sent an unknown reply")


class _CheckGlobals(dict):
    """Globals of the check code: names it does not define resolve to the candidate's functions (MBPP-style
    `assert f(1) == 2`). Builtins are looked up first, so a candidate cannot stand in for `len` or `abs`."""

    def __missing__(self, name):
        import builtins
        if hasattr(builtins, name) or name.startswith("__"):
            raise KeyError(name)
        return _Remote(name)


def _failure_line(exc, source_lines):
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "check.py"]
    if not frames or not 0 < frames[-1].lineno <= len(source_lines):
        return ""
    return "line %d: %s" % (frames[-1].lineno, source_lines[frames[-1].lineno - 1].strip()[:200])


def run_check(workdir, req_fd, resp_fd, result_fd, entry_point, max_bytes):
    requests = os.fdopen(req_fd, "wb")
    responses = os.fdopen(resp_fd, "rb")
    result = os.fdopen(result_fd, "wb")
    os.set_inheritable(result_fd, False)
    state = {"calls": 0, "max_bytes": max_bytes}
    _Remote.channel = (requests, responses, state)
    source = _load_source(workdir, "check.py").decode("utf-8", "replace")
    lines = source.splitlines()
    namespace = _CheckGlobals(__name__="check", __builtins__=__builtins__)
    outcome = {"status": "passed"}
    try:
        code = compile(source, "check.py", "exec")
    except (SyntaxError, ValueError) as exc:
        outcome = {"status": "error", "kind": "harness", "message": "check code: " + str(exc)[:300]}
        code = None
    try:
        if code is not None:
            exec(code, namespace)
            check = dict.get(namespace, "check")
            if entry_point:
                # A code prompt defines a stub of the entry point; tests that call it by name mean the candidate.
                namespace[entry_point] = _Remote(entry_point)
                if callable(check):
                    check(namespace[entry_point])
    except AssertionError as exc:
        outcome = {"status": "failed", "kind": "assertion", "message": _failure_line(exc, lines)}
    except CandidateDied as exc:
        kind = "harness" if "harness_error" in state else "oversize" if state.get("oversize") else "died"
        outcome = {"status": "failed", "kind": kind, "message": str(exc)[:300]}
    except BaseException as exc:  # noqa: BLE001 - whatever the test code raised is a failed check
        kind = "raised" if exc is state.get("raised") else "error"
        message = "%s: %s %s" % (type(exc).__name__, str(exc)[:200], _failure_line(exc, lines))
        outcome = {"status": "failed", "kind": kind, "message": message}
    outcome["calls"] = state["calls"]
    import json
    result.write(json.dumps(outcome).encode() + b"\n")
    result.flush()
    os._exit(0)


def run_compile(workdir, compiler, *flags):
    """Compile WORKDIR/main.cpp; on success the binary's bytes go to stdout, the compiler's messages to stderr,
    and the exit status is the compiler's."""
    import subprocess
    binary = os.path.join(workdir, "main")
    done = subprocess.run([compiler, *flags, "-o", binary, os.path.join(workdir, "main.cpp")],
                          stdin=subprocess.DEVNULL, stdout=2)
    if done.returncode != 0:
        os._exit(done.returncode if done.returncode > 0 else 128 - done.returncode)
    with open(binary, "rb") as handle:
        data = handle.read()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def run_exec(workdir, name, out_file=""):
    """Run the compiled WORKDIR/NAME in a child (so that it is not the pid namespace's init, which ignores
    SIGXCPU) and exit with its status (128+N for a signal N). With OUT_FILE, the file's content is what stdout
    carries, as in `run_stdio`."""
    result_fd = os.dup(1) if out_file else None
    pid = os.fork()
    if pid == 0:
        try:
            if result_fd is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
                os.close(result_fd)
            path = os.path.join(workdir, name)
            os.execv(path, [path])
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if result_fd is not None and code == 0:
        try:
            with open(os.path.join(workdir, out_file), "rb") as handle:
                data = handle.read()
        except OSError:
            data = b""
        view = memoryview(data)
        while view:
            view = view[os.write(result_fd, view):]
    os._exit(code if code >= 0 else 128 - code)


def run_probe(nproc):
    """Report what the sandbox looks like from inside (the parent decides what is acceptable)."""
    import errno
    import json
    import socket
    import time
    report = {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid()}
    with open("/proc/self/status") as handle:
        status = dict(line.split(":", 1) for line in handle if ":" in line)
    report["cap_eff"] = status.get("CapEff", "").strip()
    report["no_new_privs"] = status.get("NoNewPrivs", "").strip()
    try:
        with open("/proc/self/uid_map") as handle:
            report["uid_map"] = handle.read().split()
    except OSError:
        report["uid_map"] = []
    report["interfaces"] = [name for _, name in socket.if_nameindex()]
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1).close()
        report["loopback_connect"] = "connected"
    except OSError as exc:
        report["loopback_connect"] = errno.errorcode.get(exc.errno, str(exc.errno))
    writable = {}
    for path in ("/probe-root", "/usr/probe", os.path.join(os.getcwd(), "probe")):
        try:
            with open(path, "w") as handle:
                handle.write("x")
            os.unlink(path)
            writable[path] = True
        except OSError:
            writable[path] = False
    report["writable"] = writable
    children, forks = [], 0
    try:
        for _ in range(nproc + 8):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
            forks += 1
    except OSError:
        pass
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    report["forks_before_refusal"] = forks
    sys.stdout.write(json.dumps(report) + "\n")


def main(argv):
    mode, limits = argv[0], argv[1]
    if mode == "exec":  # compiled programs get a stack as large as their memory, as judges give them
        spec = dict(item.split("=") for item in limits.split(","))
        spec["stack"] = spec["as"]
        limits = ",".join(k + "=" + v for k, v in spec.items())
    _set_limits(limits)
    if mode == "probe":
        run_probe(int(dict(i.split("=") for i in limits.split(","))["nproc"]))
    elif mode == "stdio":
        run_stdio(argv[2], out_file=argv[3] if len(argv) > 3 else "")
    elif mode == "script":
        run_stdio(argv[2], argv[3], argv[4:])
    elif mode == "compile":
        run_compile(argv[2], *argv[3:])
    elif mode == "exec":
        run_exec(argv[2], argv[3], argv[4] if len(argv) > 4 else "")
    elif mode == "serve":
        run_serve(argv[2], int(argv[3]), int(argv[4]))
    elif mode == "check":
        run_check(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6], int(argv[7]))
    else:
        sys.exit("unknown harness mode " + mode)


if __name__ == "__main__":
    main(sys.argv[1:])
