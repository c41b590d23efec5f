"""The request journal: every answer paid for over HTTP, on disk before it counts, reused by a rerun.

A journal is a folder (`<run folder>/.factory/journal/`) of append-only JSON Lines files. Each engine object writes
its own file (`<utc time>-<pid>-<random>.jsonl`), so several engines, processes or Ray actors can share the folder
without locks; inside one engine a lock serialises the writer threads. A record is one finished sample:

    {"v": 1, "key": "<request hash>", "prompt_id": "...", "sample_index": 3, "text": "...",
     "finish_reason": "stop", "prompt_tokens": 35, "completion_tokens": 160}

`append` writes all the samples of one HTTP response in one `write`, then flushes and `fsync`s the file before it
returns; the engine only hands a sample on after that. Opening a journal reads every file in the folder. A line that
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
from typing import Any, Iterable, Mapping, Sequence

from verifiers.types import Completion

FORMAT_VERSION = 1


def request_key(model: str, messages: Sequence[Mapping[str, str]], sampling: Mapping[str, Any],
                extra: Mapping[str, Any] | None = None) -> str:
    """The hash that a journaled sample must match to be reused. `sampling` must not include `n`."""
    content = {"model": model, "messages": [dict(m) for m in messages], "sampling": dict(sampling),
               "extra": dict(extra or {})}
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class RequestJournal:
    """Append-only, fsynced sample records in `folder`; `lookup` finds those journaled by this or earlier runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
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
                record = _parse(raw)
                if record is None:
                    self.skipped_lines += raw.strip() != b""
                    continue
                key, completion = record
                self._samples.setdefault((completion.prompt_id, key), {})[completion.sample_index] = completion

    def __len__(self) -> int:
        with self._lock:
            return sum(len(samples) for samples in self._samples.values())

    def lookup(self, prompt_id: str, key: str) -> dict[int, Completion]:
        """sample_index -> journaled completion, for this prompt and request content."""
        with self._lock:
            return dict(self._samples.get((prompt_id, key), {}))

    def append(self, key: str, completions: Iterable[Completion]) -> None:
        """Write the samples of one response durably (write, fsync) before returning. Thread-safe."""
        completions = list(completions)
        if not completions:
            return
        blob = b"".join(_line(key, c) for c in completions)
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                _fsync_folder(self.folder)  # the new file's name must survive a crash too
            view = memoryview(blob)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
            for c in completions:
                self._samples.setdefault((c.prompt_id, key), {})[c.sample_index] = c

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _line(key: str, c: Completion) -> bytes:
    record = {"v": FORMAT_VERSION, "key": key, "prompt_id": c.prompt_id, "sample_index": c.sample_index,
              "text": c.text, "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
              "completion_tokens": c.completion_tokens}
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _parse(raw: bytes) -> tuple[str, Completion] | None:
    if not raw.endswith(b"\n"):
        return None  # the torn tail of an interrupted write
    try:
        r = json.loads(raw)
        if r.get("v") != FORMAT_VERSION:
            return None
        completion = Completion(prompt_id=str(r["prompt_id"]), sample_index=int(r["sample_index"]),
                                text=str(r["text"]), finish_reason=str(r["finish_reason"]),
                                prompt_tokens=int(r["prompt_tokens"]), completion_tokens=int(r["completion_tokens"]))
        return str(r["key"]), completion
    except (ValueError, KeyError, TypeError, AttributeError):
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
