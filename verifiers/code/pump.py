"""Move bytes between the verifier and running sandboxes without threads, with size caps and a deadline.

One `Pump` serves any number of pipes of one or more executions: it reads each into a capped buffer, writes
queued input to others, and returns when the caller's condition holds, a cap is exceeded, or the deadline passes.
Reads never block and a stuck or flooding sandbox cannot make the verifier wait past the deadline or hold more
than `cap` bytes per stream.
"""

from __future__ import annotations

import os
import selectors
import time
from typing import Callable


class Stream:
    """Bytes read from one pipe: at most `cap` are kept; `overflow` says the sandbox tried to send more.
    A `fatal` stream's overflow stops the pump (output_limit); a non-fatal one just drops the excess."""

    def __init__(self, name: str, fd: int, cap: int, fatal: bool = True):
        self.name, self.fd, self.cap, self.fatal = name, fd, cap, fatal
        self.data = bytearray()
        self.eof = False
        self.overflow = False

    def lines(self) -> list[bytes]:
        """Complete lines received so far (without their newline)."""
        return bytes(self.data).split(b"\n")[:-1]


class Pump:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._pending: dict[int, bytearray] = {}
        self._close_after: set[int] = set()
        self.streams: list[Stream] = []

    def read(self, name: str, fd: int, cap: int, *, fatal: bool = True) -> Stream:
        os.set_blocking(fd, False)
        stream = Stream(name, fd, cap, fatal)
        self.streams.append(stream)
        self._selector.register(fd, selectors.EVENT_READ, stream)
        return stream

    def write(self, fd: int, data: bytes, *, close: bool = False) -> None:
        """Queue `data` for `fd` (written as the reader accepts it); `close` closes `fd` once all is written."""
        if fd not in self._pending:
            os.set_blocking(fd, False)
            self._pending[fd] = bytearray()
            self._selector.register(fd, selectors.EVENT_WRITE, None)
        self._pending[fd] += data
        if close:
            self._close_after.add(fd)

    def drop_writer(self, fd: int) -> None:
        """Forget queued input for `fd` (the caller then closes it itself)."""
        if self._pending.pop(fd, None) is not None:
            self._selector.unregister(fd)
        self._close_after.discard(fd)

    def overflowed(self) -> Stream | None:
        return next((s for s in self.streams if s.overflow and s.fatal), None)

    def all_eof(self) -> bool:
        return all(s.eof for s in self.streams)

    def run(self, until: Callable[[], bool], deadline: float) -> bool:
        """Pump until `until()` is true (returns True) or a stream overflows or the deadline passes (False)."""
        while not until():
            if self.overflowed() is not None:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not self._selector.get_map():
                time.sleep(min(remaining, 0.01))  # nothing to watch: only the condition can change
                continue
            for key, _ in self._selector.select(min(remaining, 1.0)):
                if key.data is None:
                    self._write_some(key.fd)
                else:
                    self._read_some(key.data)
        return True

    def _read_some(self, stream: Stream) -> None:
        try:
            chunk = os.read(stream.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            stream.eof = True
            self._selector.unregister(stream.fd)
            return
        room = stream.cap - len(stream.data)
        stream.data += chunk[:max(room, 0)]
        if len(chunk) > room:
            stream.overflow = True

    def _write_some(self, fd: int) -> None:
        buffer = self._pending[fd]
        try:
            written = os.write(fd, buffer[:65536]) if buffer else 0
        except BlockingIOError:
            return
        except OSError:  # the reader is gone; what it did not read does not matter any more
            buffer.clear()
            written = 0
        del buffer[:written]
        if not buffer:
            self._selector.unregister(fd)
            del self._pending[fd]
            if fd in self._close_after:
                self._close_after.discard(fd)
                os.close(fd)

    def close(self) -> None:
        for fd in list(self._pending):
            self._selector.unregister(fd)
            if fd in self._close_after:
                os.close(fd)
        self._pending.clear()
        self._selector.close()


def run_to_end(execution, deadline: float, cap: int = 1 << 16) -> tuple[bool, int, bytes, bytes]:
    """(finished before `deadline`, exit status, stdout, stderr) of a judging program (a checker) that gets no
    input: both outputs drained up to `cap` bytes each, never fatal; killed at the deadline."""
    pump = Pump()
    out = pump.read("checker stdout", execution.stdout, cap, fatal=False)
    err = pump.read("checker stderr", execution.stderr, cap, fatal=False)
    finished = pump.run(pump.all_eof, deadline)
    if not finished:
        execution.kill()
    status = execution.finish()
    pump.close()
    return finished, status, bytes(out.data), bytes(err.data)
