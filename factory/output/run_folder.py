"""The run folder: where a run's shards, markers and metadata live, and the rules that make resume exact.

Layout:
    data/accepted/part-NNNNN.parquet   accepted samples of work unit NNNNN (always written, possibly empty)
    data/rejected/part-NNNNN.parquet   rejected samples (when the recipe keeps them)
    README.md                          dataset card; its YAML header declares the splits for `load_dataset(run_dir)`
    manifest.json, stats.json, recipe.resolved.yaml
    .factory/run.json                  the recipe fingerprint and the fingerprinted settings (written before any work)
    .factory/units/NNNNN.json          completion marker of a unit, with its stats: written last
    .factory/tmp/                      files being written; never matched by the card's data_files globs
    .factory/lock                      flock held by the one process writing here

Crash safety: a shard is written under .factory/tmp, fsynced, then renamed into data/ (atomic on one filesystem);
the unit's marker is written the same way only after all its shards. A unit without a marker is redone whole and
its shards replaced, so after any crash every (prompt_id, sample_index) ends up exactly once. The lock is an
flock, released by the kernel when the process dies, so a `kill -9` never leaves a stale lock.

What is read back is checked, never trusted: a marker must match its schema (`marker_problem`: rows per split,
the shard list with each shard's rows, bytes and sha256, the unit's stats); one that does not (empty, not JSON, its
shard list missing) does not count as committed, and `damaged_units` says why, so the unit is redone with a warning
that says what was wrong. A `run.json` that cannot be read is a `RunFolderError` that says how to repair (exit 2).
The default folder's name comes from the recipe's `name` through `folder_name`, which keeps it one plain path
component: no `../`, no absolute path, no hidden folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

import pyarrow.parquet as pq

from factory.output.rows import rows_to_table, schema_of

SPLITS = ("accepted", "rejected", "pairs")


class RunFolderError(RuntimeError):
    """The folder cannot be used for this run (not a run folder, or made by a different recipe or input)."""


class RunFolderLocked(RunFolderError):
    """Another process holds the folder's lock."""


META_DIR = ".factory"
RUN_INFO = "run.json"


def folder_name(recipe_name: str, fingerprint: str) -> str:
    """`<recipe name>-<fingerprint>` as one safe path component: characters other than letters, digits, `.`, `_`
    and `-` become `-`, leading dots and dashes go (so never `..` or a hidden folder), at most 64 characters of the
    name; an empty result is `run`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", recipe_name).lstrip(".-")[:64].rstrip(".-") or "run"
    return f"{safe}-{fingerprint}"


def marker_problem(marker: Any, splits: Iterable[str] = SPLITS) -> str | None:
    """What is wrong with a unit marker as read back (None: it is a whole marker)."""
    if not isinstance(marker, dict):
        return f"is not a JSON object ({type(marker).__name__})"
    rows, shards = marker.get("rows"), marker.get("shards")
    if not isinstance(marker.get("stats"), dict):
        return "lacks its stats"
    if not isinstance(rows, dict) or not rows or not all(
            split in splits and type(n) is int and n >= 0 for split, n in rows.items()):
        return "lacks its row counts"
    if not isinstance(shards, dict) or set(shards) != set(rows):
        return "lacks its shard list" if not isinstance(shards, dict) or not shards else \
            f"lists shards {sorted(shards)} for the splits {sorted(rows)}"
    for split, shard in shards.items():
        if not (isinstance(shard, dict) and type(shard.get("rows")) is int and type(shard.get("bytes")) is int
                and isinstance(shard.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", shard["sha256"])):
            return f"has a malformed entry for its {split} shard"
        if shard["rows"] != rows[split]:
            return f"says {rows[split]} {split} rows but its shard entry {shard['rows']}"
    return None


def is_run_folder(root: Path) -> bool:
    """A folder this factory made: its own metadata says so (`.factory/run.json`)."""
    return (root / META_DIR / RUN_INFO).is_file()


def _only_our_skeleton(root: Path) -> bool:
    """True for a folder holding nothing but the empty layout `RunFolder` creates before `run.json` (a run that
    died in its first instant): no file outside `.factory/`, and no data files at all."""
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if path.is_file() and rel[0] != META_DIR:
            return False
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, tmp_dir: Path) -> None:
    """Write `data` to `path` so readers see either the old file or the whole new one."""
    tmp = tmp_dir / f"{path.name}.{os.getpid()}.tmp"
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any, tmp_dir: Path) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode(), tmp_dir)


class RunFolder:
    """One output folder. Use as a context manager to hold its lock for the run's duration."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.meta = self.root / ".factory"
        self.units_dir = self.meta / "units"
        self.tmp_dir = self.meta / "tmp"
        self._lock_fd: int | None = None
        self.invalid_markers: dict[int, str] = {}
        """unit -> what is wrong with its marker, found by the last `completed_units` (they are not in it)."""

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "RunFolder":
        # Never write into a folder we did not make: a non-empty folder without our metadata is refused, so
        # nothing of the user's (a README.md, a manifest, files under data/) is overwritten or deleted.
        if self.root.exists() and not self.root.is_dir():
            raise RunFolderError(f"{self.root}: exists and is not a folder; choose another --out")
        if self.root.is_dir() and any(self.root.iterdir()) and not is_run_folder(self.root) \
                and not _only_our_skeleton(self.root):
            raise RunFolderError(f"{self.root}: not a run folder (no {META_DIR}/{RUN_INFO}) and not empty; refusing "
                                 "to write into it. Choose a new or empty --out folder")
        try:
            for folder in (self.units_dir, self.tmp_dir, *(self.root / "data" / s for s in SPLITS)):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"{self.root}: cannot create the run folder: {exc.strerror or exc}") from exc
        fd = os.open(self.meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderLocked(f"{self.root}: another factory process (pid {holder}) is writing to this folder; "
                                  "wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        for stale in self.tmp_dir.iterdir():  # leftovers of a killed run; only we write here, under the lock
            stale.unlink()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- fingerprint -----------------------------------------------------------------------------------------
    def read_run_info(self) -> dict[str, Any] | None:
        """The folder's identity, or None for a new folder; RunFolderError (with the repair) when it is damaged."""
        path = self.meta / RUN_INFO
        if not path.is_file():
            return None
        try:
            info = json.loads(path.read_bytes())
        except (ValueError, RecursionError) as exc:
            problem = "is empty" if path.stat().st_size == 0 else f"is not JSON ({str(exc)[:80]})"
        else:
            if isinstance(info, dict) and isinstance(info.get("fingerprint"), str):
                return info
            problem = "lacks the run's fingerprint"
        raise RunFolderError(f"{path}: {problem}, so which run this folder holds is unknown. Its shards cannot be "
                             f"resumed safely: run into a new --out folder (or move {self.root} away and rerun)")

    def write_run_info(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.meta / RUN_INFO, info, self.tmp_dir)

    # -- units -----------------------------------------------------------------------------------------------
    def shard_path(self, split: str, unit: int) -> Path:
        return self.root / "data" / split / f"part-{unit:05d}.parquet"

    def marker_path(self, unit: int) -> Path:
        return self.units_dir / f"{unit:05d}.json"

    def completed_units(self) -> dict[int, dict[str, Any]]:
        """unit number -> its marker (stats), listing the markers folder once. Markers that fail `marker_problem`
        are left out (their unit is not committed) and kept in `invalid_markers` with the reason."""
        done: dict[int, dict[str, Any]] = {}
        self.invalid_markers = {}
        for path in self.units_dir.glob("*.json"):
            if not re.fullmatch(r"\d{5,}", path.stem):
                continue  # not a marker name: ours are the unit number
            try:
                marker = json.loads(path.read_bytes())
            except (ValueError, RecursionError):
                problem: str | None = "is empty" if path.stat().st_size == 0 else "is not JSON"
            else:
                problem = marker_problem(marker)
            if problem:
                self.invalid_markers[int(path.stem)] = f"its marker {path.relative_to(self.root)} {problem}"
            else:
                done[int(path.stem)] = marker
        return done

    def commit_unit(self, unit: int, rows_by_split: dict[str, list[dict[str, Any]]], marker: dict[str, Any]) -> None:
        """Write the unit's shards, then its marker (the commit point). The marker records each shard's rows,
        size and sha256, so a resume can tell a damaged shard from a whole one (`damaged_units`); they are added to
        `marker` itself as `shards`, so the caller's copy matches the file (the card's sizes come from it)."""
        shards = {}
        for split, rows in rows_by_split.items():
            path = self.shard_path(split, unit)
            tmp = self.tmp_dir / f"{split}-{path.name}.tmp"
            if rows:
                pq.write_table(rows_to_table(rows, split), tmp, compression="zstd")
            else:  # no row groups at all: readers (datasets) choke on a single zero-row group
                pq.ParquetWriter(tmp, schema_of(split), compression="zstd").close()
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            shards[split] = {"rows": len(rows), "bytes": tmp.stat().st_size, "sha256": file_sha256(tmp)}
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        marker["rows"] = {split: len(split_rows) for split, split_rows in rows_by_split.items()}
        marker["shards"] = shards  # the caller's marker is the one kept in memory: it carries them too
        atomic_write_json(self.marker_path(unit), marker, self.tmp_dir)

    def damaged_units(self, markers: dict[int, dict[str, Any]]) -> dict[int, str]:
        """Units to redo: committed ones whose shards are missing or differ from their marker, and those whose
        marker was invalid (`invalid_markers`): unit -> what is wrong. Checks size first (cheap), then the sha256
        of every shard."""
        damaged = dict(self.invalid_markers)  # not in `markers`: never committed, redone like a damaged unit
        for unit, marker in markers.items():
            for split, expected in marker["shards"].items():
                path = self.shard_path(split, unit)
                if not path.is_file():
                    damaged[unit] = f"{path.relative_to(self.root)} is missing"
                elif path.stat().st_size != expected["bytes"]:
                    damaged[unit] = (f"{path.relative_to(self.root)} has {path.stat().st_size} bytes, "
                                     f"its marker says {expected['bytes']}")
                elif file_sha256(path) != expected["sha256"]:
                    damaged[unit] = f"{path.relative_to(self.root)} differs from its marker's checksum"
                if unit in damaged:
                    break
        return damaged

    def drop_marker(self, unit: int) -> None:
        """Forget a committed unit (its shards are damaged): it is redone whole and its shards replaced."""
        self.marker_path(unit).unlink(missing_ok=True)
        _fsync_dir(self.units_dir)

    # -- metadata --------------------------------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.root / name, text.encode("utf-8"), self.tmp_dir)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write_json(self.root / name, data, self.tmp_dir)
