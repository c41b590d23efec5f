"""The request journal: every answer paid for over HTTP, on disk before it counts, reused by a rerun.

A journal is a folder (`<run folder>/.factory/journal/`) of append-only JSON Lines files. Each engine object writes
its own file (`<utc time>-<pid>-<random>.jsonl`), so several engines, processes or Ray actors can share the folder
without locks; inside one engine a lock serialises the writer threads. A record is one answer, as received, before
anything reads it:

    {"v": 2, "key": "<request hash>", "prompt_id": "...", "start": 3, "want": 2, "body": "<the raw 200 body>",
     "error": null}

`body` is the response's bytes (the API key scrubbed) as text: UTF-8, with any byte that is not UTF-8 kept by
`surrogateescape`, and the line written in ASCII (`\\uXXXX` escapes), so whatever the server sent can be written
and read back byte for byte. `error` is set instead of a body when the body was over the size bound
(`response_too_large`). The samples of a record are made by the journal's `interpret` function (the engine's
reading of the wire format, `factory.engines.openai_wire.answer_samples`), when the record is appended and when a
rerun opens the journal: an answer that cannot be read becomes samples with a reason, never an error, so a paid
answer is never asked for again. Records of format 1 (one sample each, written by earlier versions) are still read.

`append_answer` writes one record in one `write`, then flushes and `fsync`s the file before it returns; the engine
only hands samples on after that. Opening a journal reads every file in the folder. A line that
does not parse (the torn tail of a write cut by `kill -9` or a power loss, zero-filled blocks) is skipped: its
request was not counted, so the rerun sends it again. Files are never rewritten, so a torn line is always the last
line of a file that no one writes to any more.

What it protects: answers already received are not paid for twice after a crash, SIGTERM or `kill -9` of the
process. What it does not: a request in flight at the moment of the crash (answered by the server, not yet
written) is lost and sent again; the files are not checksummed against deliberate edits.

The key is a hash of everything that decides a sample's distribution (model, messages, temperature, top_p,
max_tokens, extra request fields), not `n` or the server's address: a sample is reused only for the same request
content, and (prompt_id, key, sample_index) identifies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from factory.engines.openai_wire import answer_samples, empty_samples
from verifiers.types import Completion

FORMAT_VERSION = 2
Interpret = Callable[[str, int, int, "bytes | None", "str | None"], list[Completion]]
"""(prompt_id, start, want, body, error) -> the samples of one journaled answer; must never raise."""


def read_answer(prompt_id: str, start: int, want: int, body: bytes | None, error: str | None,
                opens_think: bool = False) -> list[Completion]:
    """The default reading of a journaled answer (the wire format's, see `factory.engines.openai_wire`)."""
    if body is None:
        return empty_samples(prompt_id, start, want, error or "invalid_answer")
    return answer_samples(prompt_id, start, want, body, opens_think)


def request_key(model: str, messages: Sequence[Mapping[str, str]], sampling: Mapping[str, Any],
                extra: Mapping[str, Any] | None = None) -> str:
    """The hash that a journaled sample must match to be reused. `sampling` must not include `n`."""
    content = {"model": model, "messages": [dict(m) for m in messages], "sampling": dict(sampling),
               "extra": dict(extra or {})}
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class RequestJournal:
    """Append-only, fsynced sample records in `folder`; `lookup` finds those journaled by this or earlier runs."""

    def __init__(self, folder: Path, interpret: Interpret = read_answer) -> None:
        self.folder = Path(folder)
        self._interpret = interpret
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._samples: dict[tuple[str, str], dict[int, Completion]] = {}
        self.skipped_lines = 0
        for path in sorted(self.folder.glob("*.jsonl")):
            self._load(path)
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        self.path = self.folder / name
        self._fd: int | None = None

    def _load(self, path: Path) -> None:
        with path.open("rb") as handle:
            for raw in handle:
                record = _parse(raw, self._interpret)
                if record is None:
                    self.skipped_lines += raw.strip() != b""
                    continue
                key, completions = record
                self._index(key, completions)

    def _index(self, key: str, completions: list[Completion]) -> None:
        for c in completions:
            self._samples.setdefault((c.prompt_id, key), {})[c.sample_index] = c

    def __len__(self) -> int:
        with self._lock:
            return sum(len(samples) for samples in self._samples.values())

    def lookup(self, prompt_id: str, key: str) -> dict[int, Completion]:
        """sample_index -> journaled completion, for this prompt and request content."""
        with self._lock:
            return dict(self._samples.get((prompt_id, key), {}))

    def samples(self) -> dict[tuple[str, int], Completion]:
        """(prompt_id, sample_index) -> sample, of every request content (for audits and tests)."""
        with self._lock:
            return {(pid, i): c for (pid, _), found in self._samples.items() for i, c in found.items()}

    def append_answer(self, key: str, prompt_id: str, start: int, want: int, body: bytes | None,
                      error: str | None = None) -> list[Completion]:
        """Write one answer as received durably (write, fsync), then return its samples. Thread-safe."""
        record = {"v": FORMAT_VERSION, "key": key, "prompt_id": prompt_id, "start": start, "want": want,
                  "body": None if body is None else body.decode("utf-8", "surrogateescape"), "error": error}
        blob = (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                _fsync_folder(self.folder)  # the new file's name must survive a crash too
            view = memoryview(blob)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        completions = self._interpret(prompt_id, start, want, body, error)
        with self._lock:
            self._index(key, completions)
        return completions

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _parse(raw: bytes, interpret: Interpret) -> tuple[str, list[Completion]] | None:
    if not raw.endswith(b"\n"):
        return None  # the torn tail of an interrupted write
    try:
        r = json.loads(raw)
        if r.get("v") == 1:  # one sample per record (earlier versions)
            completion = Completion(prompt_id=str(r["prompt_id"]), sample_index=int(r["sample_index"]),
                                    text=str(r["text"]), finish_reason=str(r["finish_reason"]),
                                    prompt_tokens=int(r["prompt_tokens"]),
                                    completion_tokens=int(r["completion_tokens"]))
            return str(r["key"]), [completion]
        if r.get("v") != FORMAT_VERSION:
            return None
        prompt_id, key, start, want, body, error = (r["prompt_id"], r["key"], r["start"], r["want"], r["body"],
                                                    r["error"])
        if not (isinstance(prompt_id, str) and isinstance(key, str) and type(start) is int and type(want) is int
                and isinstance(body, (str, type(None))) and isinstance(error, (str, type(None)))):
            return None
        raw_body = None if body is None else body.encode("utf-8", "surrogateescape")
        return key, interpret(prompt_id, start, want, raw_body, error)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
