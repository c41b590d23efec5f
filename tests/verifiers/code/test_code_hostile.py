"""The hostile-program suite: every program in tests/verifiers/code/hostile/ is rejected, the batch that contains
them finishes, and the machine is unharmed (no stray processes, no files outside the sandbox, canary intact, no
network connection received, shared memory back). See hostile/README.md for the file format."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path


from tests.verifiers.code.code_helpers import TEST_SANDBOX_UID, completion, prompt, verifier_kwargs

HOSTILE = Path(__file__).with_name("hostile")
WORDS = ["abc", "hostile", "x"]
TESTS = {
    "stdio": {"type": "stdio", "cases": [{"input": w + "\n", "output": f"HELLO-{w[::-1]}\n{len(w) * 7 + 1}\n"}
                                         for w in WORDS]},
    "function": {"type": "function", "fn_name": "greet",
                 "cases": [{"args": [w], "expected": "HELLO-" + w[::-1]} for w in WORDS]},
    "assert": {"type": "assert", "entry_point": "greet",
               "code": "def check(candidate):\n" + "".join(
                   f"    assert candidate({w!r}) == {'HELLO-' + w[::-1]!r}\n" for w in WORDS)},
}
HONEST = {
    "stdio": "w = input().strip()\nprint('HELLO-' + w[::-1])\nprint(len(w) * 7 + 1)",
    "function": "def greet(w):\n    return 'HELLO-' + w[::-1]",
    "assert": "def greet(w):\n    return 'HELLO-' + w[::-1]",
}


def _programs() -> list[tuple[str, str, str, set[str]]]:
    programs = []
    for path in sorted(HOSTILE.glob("*.py")):
        text = path.read_text()
        target = re.search(r"^# target: (\w+)", text, re.M).group(1)
        expect = re.search(r"^# expect: ([\w|]+)", text, re.M)
        programs.append((path.stem, target, text, set(expect.group(1).split("|")) if expect else set()))
    return programs


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, real uid) for every process on the machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        table[int(entry)] = (ppid, uid)
    return table


def _descendants(root: int, table: dict[int, tuple[int, int]]) -> set[int]:
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def _shmem_kb() -> int:
    return int(re.search(r"^Shmem:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M).group(1))


class Listener:
    """A TCP server on the host's loopback that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_suite_has_at_least_30_programs_in_all_forms():
    programs = _programs()
    assert len(programs) >= 30
    assert {target for _, target, _, _ in programs} == {"stdio", "function", "assert"}


def test_hostile_programs_rejected_and_machine_unharmed(tmp_path):
    from verifiers.code import CodeVerifier

    canary = tmp_path / "canary-parent" / "canary"
    canary.mkdir(parents=True)
    (canary / "canary.txt").write_text("canary")
    marker = uuid.uuid4().hex[:12]
    listener = Listener()
    shmem_before = _shmem_kb()
    # Children that earlier tests in this process left (e.g. an in-process vLLM engine) are not the batch's doing.
    descendants_before = _descendants(os.getpid(), _processes())
    programs = _programs()
    problems = []
    try:
        with CodeVerifier(**verifier_kwargs(timeout_s=2.0, total_timeout_s=10.0, max_output_bytes=1 << 20)) as v:
            for target in ("stdio", "function", "assert"):
                batch = [(name, text, expect) for name, t, text, expect in programs if t == target]
                texts = [text.replace("__CANARY__", str(canary)).replace("__PORT__", str(listener.port))
                         .replace("__MARKER__", marker) for _, text, _ in batch] + [HONEST[target]]
                verdicts = v.verify_batch(prompt(TESTS[target], target),
                                          [completion(code, i, target) for i, code in enumerate(texts)])
                assert len(verdicts) == len(texts)
                for (name, _, expect), verdict in zip(batch, verdicts):
                    if verdict.status != "rejected" or (expect and verdict.reason not in expect):
                        problems.append(f"{name}: {verdict.status} {verdict.reason} (allowed: {expect}) "
                                        f"{verdict.details}")
                control = verdicts[-1]
                if not control.accepted:
                    problems.append(f"honest {target} program after the hostile ones: {control}")
    finally:
        listener.close()
    table = _processes()
    assert not problems, "\n".join(problems)
    assert not _descendants(os.getpid(), table) - descendants_before, "processes left behind under the test process"
    if os.geteuid() == 0:
        assert not [pid for pid, (_, uid) in table.items() if uid == TEST_SANDBOX_UID], "sandbox-uid processes left"
    assert listener.connections == 0, "a sandboxed program reached the host's loopback"
    assert sorted(p.name for p in canary.iterdir()) == ["canary.txt"]
    assert (canary / "canary.txt").read_text() == "canary"
    assert sorted(p.name for p in canary.parent.iterdir()) == ["canary"]
    leaked = [str(p) for folder in ("/tmp", "/dev/shm", "/var/tmp", "/") for p in Path(folder).glob(f"*{marker}*")]
    assert not leaked, f"files written outside the sandbox: {leaked}"
    # tmpfs, memfd and SysV pages count as Shmem; the kernel frees a dead sandbox's IPC namespace asynchronously.
    deadline = time.monotonic() + 15
    while _shmem_kb() - shmem_before >= 32 * 1024 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _shmem_kb() - shmem_before < 32 * 1024, "shared memory not given back"
