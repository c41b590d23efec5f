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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
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
        path = self.meta / RUN_INFO
        return json.loads(path.read_text()) if path.is_file() else None

    def write_run_info(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.meta / RUN_INFO, info, self.tmp_dir)

    # -- units -----------------------------------------------------------------------------------------------
    def shard_path(self, split: str, unit: int) -> Path:
        return self.root / "data" / split / f"part-{unit:05d}.parquet"

    def marker_path(self, unit: int) -> Path:
        return self.units_dir / f"{unit:05d}.json"

    def completed_units(self) -> dict[int, dict[str, Any]]:
        """unit number -> its marker (stats), listing the markers folder once."""
        done = {}
        for path in self.units_dir.glob("*.json"):
            try:
                done[int(path.stem)] = json.loads(path.read_text())
            except (ValueError, json.JSONDecodeError):
                continue  # cannot happen with atomic writes; a damaged marker just means the unit is redone
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
        marker["shards"] = shards
        atomic_write_json(self.marker_path(unit), marker, self.tmp_dir)

    def damaged_units(self, markers: dict[int, dict[str, Any]]) -> dict[int, str]:
        """Committed units whose shards are missing or differ from their marker: unit -> what is wrong.
        Checks size first (cheap), then the sha256 of every shard."""
        damaged = {}
        for unit, marker in markers.items():
            for split, expected in marker.get("shards", {}).items():
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

    def remove_orphan_shards(self, valid_units: Iterable[int]) -> None:
        """Remove shards of units that no longer exist (cannot happen within one fingerprint; defensive)."""
        valid = {f"part-{u:05d}.parquet" for u in valid_units}
        for split in SPLITS:
            for path in (self.root / "data" / split).glob("part-*.parquet"):
                if path.name not in valid:
                    path.unlink()

    # -- metadata --------------------------------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.root / name, text.encode("utf-8"), self.tmp_dir)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write_json(self.root / name, data, self.tmp_dir)
