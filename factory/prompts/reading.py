"""Reading prompt files: a local JSONL or Parquet file as numbered rows, with bounded resources.

A JSONL file is read line by line, exactly the bytes that were hashed for the run's identity (`file_identity`) and
hashed again as they are read (a change in place raises `SourceError`); a line longer than the recipe's
`prompts.max_row_bytes` is read in pieces and skipped, never held whole; a UTF-8 byte-order mark is read; a line that
is not UTF-8, not JSON (or nested past what the parser can follow), or not an object is a `SkippedRow`. A Parquet
file is streamed by row groups. `local_file` names what is wrong with a path (missing, a folder, not a regular file,
an unsupported type).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from factory.paths import resolve_data_path

FILE_TYPES = (".jsonl", ".json", ".parquet")


class SourceError(ValueError):
    """The prompt source cannot be used at all; the message names file, row and field."""


@dataclass(frozen=True)
class SkippedRow:
    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: field '{self.field}': {self.reason}"


def file_identity(path: Path) -> dict[str, Any]:
    """Path, size and sha256 of the bytes hashed (the size is what was hashed, not a later stat)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            size += len(block)
    return {"kind": "file", "path": str(path), "bytes": size, "sha256": digest.hexdigest()}


def local_file(name: str, what: str) -> Path:
    """The local file `name` (see `resolve_data_path`), or a SourceError that says what is wrong with it."""
    path = resolve_data_path(name)
    if path.is_dir():
        raise SourceError(f"{what} {name}: is a folder, not a file (give a .jsonl or .parquet file)")
    if path.exists() and not path.is_file():
        raise SourceError(f"{what} {path}: not a regular file (a FIFO, socket or device); it must be read twice "
                          "(hashed, then read), so give a file")
    if not path.is_file():
        raise SourceError(f"{what} not found: {name} (looked at {path})")
    if path.suffix not in FILE_TYPES:
        raise SourceError(f"{path}: unsupported file type '{path.suffix}' (use .jsonl or .parquet)")
    return path


def jsonl_rows(path: Path, identity: dict[str, Any], max_row_bytes: int
                ) -> Iterator[tuple[int, dict[str, Any] | SkippedRow]]:
    """Rows of a JSONL file: exactly the `identity["bytes"]` bytes that were hashed, hashed again as they are read."""
    digest, left = hashlib.sha256(), identity["bytes"]
    with path.open("rb") as handle:
        number = 0
        while left > 0:
            raw = handle.readline(min(max_row_bytes + 1, left))
            if not raw:
                break
            digest.update(raw)
            left -= len(raw)
            number += 1
            if len(raw) > max_row_bytes:  # too long: the rest of the line is read in pieces, never held whole
                last = raw
                while not last.endswith(b"\n") and left > 0:
                    last = handle.readline(min(1 << 20, left))
                    if not last:
                        break
                    digest.update(last)
                    left -= len(last)
                yield number, SkippedRow(str(path), number, "*", f"longer than {max_row_bytes} bytes "
                                         "(prompts.max_row_bytes)")
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte-order mark
            if not raw.strip():
                continue
            yield number, parse_line(path, number, raw)
    if digest.hexdigest() != identity["sha256"]:
        raise SourceError(f"{path}: changed while it was read (its first {identity['bytes']} bytes are not those "
                          "hashed when the run started); rerun with a file that stays as it is")


def parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any] | SkippedRow:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SkippedRow(str(path), number, "*", f"not valid UTF-8 (byte {exc.start})")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return SkippedRow(str(path), number, "*", f"not valid JSON ({exc.msg})")
    except RecursionError:
        return SkippedRow(str(path), number, "*", "nested too deeply to be read")
    if not isinstance(row, dict):
        return SkippedRow(str(path), number, "*", "a row must be a JSON object")
    return row


def parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise SourceError(f"{path}: not a readable Parquet file: {exc}") from exc
    number = 0
    for batch in reader.iter_batches(batch_size=4096):  # row groups streamed, not one read_table
        for row in batch.to_pylist():
            number += 1
            yield number, row
