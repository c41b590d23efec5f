"""The mix folder: the output corpus, its markers, and the rules that make a resume exact.

Layout:
    data/train/part-NNNNN.parquet   output shard NNNNN: rows at positions [N x rows_per_shard, (N+1) x rows_per_shard)
    README.md                       dataset card (YAML header for `load_dataset(folder)`, the mixture table)
    manifest.json                   mixture, sources' identities, per-source counts, dropped rows with evidence
    mixture.resolved.yaml           the mixture as run
    .factory/mix.json               the mix's fingerprint and what it covers (written before any work)
    .factory/plan.npz, plan.json    the first pass's result: rows taken and their positions (plan.json written last)
    .factory/spill/                 the taken rows grouped by output shard (spill.json written last); removed at the end
    .factory/shards/NNNNN.json      completion marker of a shard (rows, bytes, sha256, rows and tokens per source)
    .factory/tmp/, .factory/lock    files being written; the flock of the one process writing here

Every file is written under .factory/tmp, fsynced and renamed; a phase's marker is written after its files. After
`kill -9` at any moment a rerun reuses a complete plan, redoes an incomplete spill whole, and skips every shard whose
marker matches its file: the rows equal an uninterrupted mix's. A non-empty folder without `.factory/mix.json` is
refused, and so is a folder of another mix (its fingerprint differs).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from factory.output.run_folder import RunFolderError, RunFolderLocked, atomic_write_bytes, atomic_write_json, \
    file_sha256

MIX_INFO = "mix.json"


def is_mix_folder(root: Path) -> bool:
    return (root / ".factory" / MIX_INFO).is_file()


class MixFolder:
    """One mix output folder; a context manager holding its lock."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.meta = self.root / ".factory"
        self.tmp = self.meta / "tmp"
        self.spill_dir = self.meta / "spill"
        self.markers = self.meta / "shards"
        self.data = self.root / "data" / "train"
        self._fd: int | None = None

    def __enter__(self) -> "MixFolder":
        if self.root.exists() and not self.root.is_dir():
            raise RunFolderError(f"{self.root}: exists and is not a folder; choose another --out")
        if self.root.is_dir() and any(self.root.iterdir()) and not is_mix_folder(self.root):
            raise RunFolderError(f"{self.root}: not a mix folder (no .factory/{MIX_INFO}) and not empty; refusing "
                                 "to write into it. Choose a new or empty --out folder")
        for folder in (self.tmp, self.markers, self.data):
            folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderLocked(f"{self.root}: another factory process is writing to this folder") from None
        self._fd = fd
        for stale in self.tmp.iterdir():  # leftovers of a killed mix; only we write here, under the lock
            stale.unlink()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    # -- identity ----------------------------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any] | None:
        path = self.meta / MIX_INFO
        return json.loads(path.read_text()) if path.is_file() else None

    def write_json(self, name: str, data: Any, meta: bool = False) -> None:
        atomic_write_json((self.meta if meta else self.root) / name, data, self.tmp)

    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.root / name, text.encode("utf-8"), self.tmp)

    # -- the plan (first pass) ---------------------------------------------------------------------------------
    def save_plan(self, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        tmp = self.tmp / "plan.npz"
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.meta / "plan.npz")
        self.write_json("plan.json", info, meta=True)  # the marker: written after the arrays

    def load_plan(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        if not (self.meta / "plan.json").is_file():
            return None
        with np.load(self.meta / "plan.npz") as arrays:
            return {k: arrays[k] for k in arrays.files}, json.loads((self.meta / "plan.json").read_text())

    # -- spill and shards ----------------------------------------------------------------------------------------
    def spill_done(self) -> bool:
        return (self.spill_dir / "spill.json").is_file()

    def reset_spill(self) -> None:
        shutil.rmtree(self.spill_dir, ignore_errors=True)
        self.spill_dir.mkdir(parents=True)

    def spill_path(self, shard: int) -> Path:
        return self.spill_dir / f"shard-{shard:05d}.arrow"

    def shard_path(self, shard: int) -> Path:
        return self.data / f"part-{shard:05d}.parquet"

    def done_shards(self, count: int) -> dict[int, dict[str, Any]]:
        """Shards whose marker matches their file (size and sha256); the others are (re)written."""
        done = {}
        for shard in range(count):
            marker_path, path = self.markers / f"{shard:05d}.json", self.shard_path(shard)
            if not marker_path.is_file() or not path.is_file():
                continue
            marker = json.loads(marker_path.read_text())
            if path.stat().st_size == marker["bytes"] and file_sha256(path) == marker["sha256"]:
                done[shard] = marker
        return done

    def commit_shard(self, shard: int, tmp: Path, marker: dict[str, Any]) -> dict[str, Any]:
        """Rename a written, fsynced shard into data/, then write its marker (the commit point)."""
        marker = {**marker, "bytes": tmp.stat().st_size, "sha256": file_sha256(tmp)}
        os.replace(tmp, self.shard_path(shard))
        fd = os.open(self.data, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        atomic_write_json(self.markers / f"{shard:05d}.json", marker, self.tmp)
        return marker
