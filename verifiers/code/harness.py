"""The in-sandbox harness: the only code of ours that runs inside a code sandbox.

It is passed to the sandbox's interpreter as source text (`python3 -I -S -c <this file> MODE ...`), never imported
from the repository inside the sandbox, so it must stay standard-library only and self-contained. The parent
(`verifiers.code.run`) also imports this module for the value codec; nothing runs at import time.

Modes (argv after `-c`):
  probe LIMITS                                   sandbox self-check: prints one JSON report on stdout
  stdio LIMITS WORKDIR [OUT_FILE]                run WORKDIR/main.py as `__main__`; stdin/stdout are the test's
                                                 (with OUT_FILE, that file's content is what stdout carries)
  script LIMITS WORKDIR NAME ARGS...             run WORKDIR/NAME as `__main__` with ARGS (a problem's checker)
  pytest LIMITS WORKDIR REQ_FD RESP_FD RESULT_FD MAX_BYTES
                                                 run WORKDIR/test_solution.py under pytest (from /pylib), its
                                                 `solution` module standing for the candidate in a `serve` sandbox
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

_TAGS = ("$tuple", "$set", "$frozenset", "$dict", "$bytes", "$complex", "$handle")
_HANDLES = {}
"""serve side only: objects of the candidate the other sandbox refers to by number (a class instance, a bound
method). Empty everywhere else, so a `$handle` in a message the verifier or a checker decodes is refused."""
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
    if kind is _Handle:
        return {"$handle": object.__getattribute__(value, "_number")}
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
        if tag == "$handle":
            if type(payload) is not int or payload not in _HANDLES:
                raise WireError("unknown object handle")
            return _HANDLES[payload]
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
        # CPU too: hard = soft, so the kernel's SIGKILL comes at the limit itself. The harness is the sandbox's pid 1,
        # which ignores SIGXCPU; with a hard limit one second later, a Python program got a free extra second.
        resource.setrlimit(names[key], (soft, soft))


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


def _reply_value(value):
    """["ok", plain value], or for an object that is not plain data ["obj", handle, type name]: it stays here and
    the other side refers to it by number (its methods are called here)."""
    try:
        return dumps(["ok", to_wire(value)])
    except (WireError, ValueError, RecursionError) as exc:
        if len(_HANDLES) >= 1_000_000:
            return dumps(["unsendable", type(value).__name__, str(exc)[:200]])
        number = len(_HANDLES) + 1
        _HANDLES[number] = value
        return dumps(["obj", number, type(value).__name__])


def _call(target, args, kwargs, inplace=False):
    """Call and encode the reply. `inplace`: a function that returned None after changing its first argument (a
    list or dict: LeetCode's "modify nums in-place") also reports that argument, ["ok", None, argument]."""
    try:
        value = target(*args, **kwargs)
    except MemoryError:
        os._exit(MEMORY_EXIT)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a call is a failure, not an exit
        return dumps(["raised", type(exc).__name__, str(exc)[:300]])
    if inplace and value is None and args and type(args[0]) in (list, dict):
        try:
            return dumps(["ok", None, to_wire(args[0])])
        except (WireError, ValueError, RecursionError):
            pass
    return _reply_value(value)


def _setitem(obj, key, value):
    obj[key] = value


def _delitem(obj, key):
    del obj[key]


_OPERATIONS = {"__bool__": bool, "__len__": len, "__str__": str, "__repr__": repr, "__iter__": iter,
               "__next__": next, "__getitem__": lambda o, k: o[k], "__setitem__": _setitem,
               "__delitem__": _delitem}


def _serve_one(module, message):
    """One request: [name, args, kwargs] calls a function of the module; ["$names"] lists its public names;
    ["$get", handle|None, attr], ["$set", handle, attr, value], ["$call", handle, args, kwargs] and
    ["$method", handle, name, args, kwargs] act on an object by its handle (None: the module)."""
    head = message[0]
    if head == "$names":
        return dumps(["ok", [n for n in list(vars(module)) if not n.startswith("_")]])
    if head in ("$get", "$set", "$call", "$method"):
        target = module if message[1] is None else _HANDLES.get(message[1])
        if target is None:
            return dumps(["unsendable", "?", "unknown object handle"])
        if head == "$call":
            return _call(target, message[2], message[3])
        if head == "$method":
            operation = _OPERATIONS.get(message[2])
            if operation is not None:  # as the interpreter applies them, with their defaults (bool, ==, iter)
                return _call(lambda *a: operation(target, *a), message[3], {})
            return _call(lambda *a, **k: getattr(target, message[2])(*a, **k), message[3], message[4])
        if head == "$get":
            return _call(lambda: getattr(target, message[2]), [], {})
        return _call(lambda: setattr(target, message[2], message[3]), [], {})
    name, args, kwargs = message
    target = _resolve(module, name)
    if target is None:
        return dumps(["missing", name])
    return _call(target, args, kwargs, inplace=True)


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
            payload = _serve_one(module, loads(line))
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
        return _request([self.name, _send(list(args)), _send(dict(kwargs))], self.name)


def _send(value):
    try:
        return to_wire(value)
    except (WireError, ValueError) as exc:
        state = _Remote.channel[2]
        state["harness_error"] = "test arguments cannot be sent to the candidate: " + str(exc)
        raise CandidateDied(state["harness_error"]) from None


def _request(message, name="?", counts=True):
    """Send one request to the candidate and decode its reply: a plain value, a `_Handle` for an object that
    stays there, or the candidate's exception raised here."""
    requests, responses, state = _Remote.channel
    data = dumps(message)
    if counts:
        state["calls"] += 1
    try:
        requests.write(data)
        requests.flush()
    except OSError:
        raise CandidateDied("the candidate closed its request channel") from None
    line = responses.readline(state["max_bytes"] + 1)
    if not line:
        state["died"] = True
        raise CandidateDied("the candidate process ended")
    if not line.endswith(b"\n"):
        state["oversize"] = True
        raise CandidateDied("the candidate's reply exceeded the output limit")
    try:
        reply = loads(line)
        tag = reply[0]
    except (WireError, TypeError, IndexError, KeyError):
        raise CandidateDied("the candidate sent a malformed reply") from None
    if tag == "ok" and len(reply) in (2, 3):  # a third element: the argument an in-place function changed
        return reply[1]
    if tag == "obj" and len(reply) == 3 and type(reply[1]) is int:
        return _Handle(reply[1], str(reply[2]))
    if tag == "raised" and len(reply) == 3:
        import builtins
        exc_type = getattr(builtins, str(reply[1]), None)
        text = str(reply[1]) + ": " + str(reply[2])
        try:  # re-raise builtin exception types as themselves, so `except ValueError` in a check works
            if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
                raise TypeError
            error = exc_type(text)
        except Exception:  # noqa: BLE001 - constructors with other signatures
            error = CandidateError(text)
        state["raised"] = error
        raise error
    if tag == "missing":
        error = NameError("the candidate defines no function " + repr(name))
        state["raised"] = error
        raise error
    if tag == "unsendable":
        raise TypeError("the candidate returned a value that cannot leave its sandbox: " + str(reply[1:])[:200])
    if tag == "load_error":
        state["load_error"] = str(reply[1:])[:300]
        raise CandidateDied("the candidate's code failed to load: " + state["load_error"])
    raise CandidateDied("the candidate sent an unknown reply")


class _Handle:
    """An object of the candidate's (a class instance, a bound method) that stays in its sandbox: attribute reads
    and writes, calls, len, iteration, indexing and str are requests to it; results come back as plain data or
    handles and are compared here. Equality and ordering never ask the candidate (see below)."""

    __slots__ = ("_number", "_type")

    def __init__(self, number, type_name):
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_type", type_name)

    def _method(self, name, *args):
        return _request(["$method", self._number, name, _send(list(args)), _send({})], name)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _request(["$get", self._number, attr], attr)

    def __setattr__(self, attr, value):
        _request(["$set", self._number, attr, _send(value)], attr)

    def __call__(self, *args, **kwargs):
        return _request(["$call", self._number, _send(list(args)), _send(dict(kwargs))], self._type)

    def __repr__(self):
        return str(self._method("__repr__"))

    def __str__(self):
        return str(self._method("__str__"))

    def __len__(self):
        return self._method("__len__")

    def __bool__(self):
        return bool(self._method("__bool__"))

    def __iter__(self):
        return _HandleIterator(self._method("__iter__"))

    def __next__(self):
        return self._method("__next__")

    def __getitem__(self, key):
        return self._method("__getitem__", key)

    def __setitem__(self, key, value):
        self._method("__setitem__", key, value)

    def __delitem__(self, key):
        self._method("__delitem__", key)

    # Comparisons never run the candidate's code: an object "equal to everything" must not pass a check. A handle
    # equals only itself; `x in obj` iterates it and compares here; ordering is refused.
    def __eq__(self, other):
        return type(other) is _Handle and other._number == self._number

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        raise TypeError("a candidate object cannot be ordered by the tests")

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self):
        return hash(("candidate object", self._number))


class _HandleIterator:
    """Iterating over a candidate's object: the iterator stays there, or came back as plain data."""

    def __init__(self, source):
        self.source = source if type(source) is _Handle else iter(source)

    def __iter__(self):
        return self

    def __next__(self):
        if type(self.source) is _Handle:
            return self.source._method("__next__")
        return next(self.source)


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


PYLIB = "/pylib"
"""Where the verifier binds pytest and its dependencies, read-only, for pytest-style tests."""


class _PytestReport:
    """A pytest plugin keeping what the verdict needs: tests passed, and the first failures' reports."""

    def __init__(self):
        self.passed = 0
        self.failures = []

    def pytest_runtest_logreport(self, report):
        if report.passed and report.when == "call":
            self.passed += 1
        elif report.failed:
            self.failures.append(report.nodeid + ": " + report.longreprtext[-1500:])

    def pytest_collectreport(self, report):
        if report.failed:
            self.failures.append("collecting " + report.nodeid + ": " + report.longreprtext[-400:])


def _module_attribute(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Remote(name)


def run_pytest(workdir, req_fd, resp_fd, result_fd, max_bytes):
    """Run WORKDIR/test_solution.py under real pytest (fixtures, parametrize, raises...); its `solution` module is
    a stand-in whose names call into the candidate's `serve` process in the other sandbox."""
    import json
    import types
    requests, responses = os.fdopen(req_fd, "wb"), os.fdopen(resp_fd, "rb")
    result = os.fdopen(result_fd, "wb")
    os.set_inheritable(result_fd, False)
    state = {"calls": 0, "max_bytes": max_bytes}
    _Remote.channel = (requests, responses, state)
    report = _PytestReport()
    try:
        module = types.ModuleType("solution")
        names = _request(["$names"], counts=False)
        for name in names if isinstance(names, list) else []:
            if isinstance(name, str) and name.isidentifier():
                setattr(module, name, _Remote(name))
        module.__getattr__ = _module_attribute  # any other name the tests import
        sys.modules["solution"] = module
        sys.path.insert(0, PYLIB)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        import pytest
        pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-o", "addopts=", "-W", "ignore", "--rootdir", workdir,
                     os.path.join(workdir, "test_solution.py")], plugins=[report])
        outcome = {"status": "passed"}
        if report.failures or not report.passed:
            outcome = {"status": "failed", "kind": "assertion",
                       "message": report.failures[0] if report.failures else "no test ran"}
            if not report.failures:
                outcome["kind"] = "harness"
            elif "load_error" in state or state.get("died"):
                outcome["kind"] = "died"
            elif state.get("raised") is not None and type(state["raised"]).__name__ in outcome["message"]:
                outcome["kind"] = "raised"
    except CandidateDied as exc:
        outcome = {"status": "failed", "kind": "died", "message": str(exc)[:300]}
    except BaseException as exc:  # noqa: BLE001 - pytest itself could not run: the tests are not runnable
        outcome = {"status": "failed", "kind": "harness", "message": "%s: %s" % (type(exc).__name__, str(exc)[:200])}
    for flag, kind in (("harness_error", "harness"), ("oversize", "oversize")):
        if state.get(flag) and outcome["status"] != "passed":
            outcome["kind"] = kind
    outcome["calls"] = state["calls"]
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
    elif mode == "pytest":
        run_pytest(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]))
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
