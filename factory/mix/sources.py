"""The sources of a mixture, read as streams of Arrow tables in a fixed order, each with its identity.

Kinds: a run folder (the shards of one split of its committed units, in unit order), a Parquet file (by record
batches), a JSONL file (by blocks of lines) and a Hub dataset (`datasets.load_dataset`, memory-mapped Arrow, read by
batches). Reading a source twice yields the same rows in the same order: the mix scans every source once to decide
which rows it takes, then reads them again to write them, and a resume reads them a third time.

A source's identity is what its rows are: a run folder's fingerprint and the sha256 of each shard it holds (from the
units' markers), a file's size and sha256, a Hub dataset's id, config, split and revision (its Arrow fingerprint
when no revision is pinned). The mixture's identity covers all of them, so a source that changed (a run resumed
further, an edited file) makes a new mix, never a silent blend of two versions.

A JSONL line that is not JSON (or not an object) is skipped, counted and listed with its file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from factory.mix.settings import MixSource
from factory.paths import resolve_data_path
from factory.prompts.sources import SourceError, file_identity

BATCH_ROWS = 16_384


@dataclass
class SourceReader:
    spec: MixSource
    kind: str
    """run | parquet | jsonl | hub"""
    origin: str
    """The folder, file or Hub dataset, as messages name it."""
    identity: dict[str, Any]
    fingerprint: str
    """Short form of the identity for the provenance column: the run's fingerprint, the file's sha256 (16 hex
    digits), or the Hub revision."""
    skipped: list[str] = field(default_factory=list)
    """JSONL lines that could not be read ("file: line N: why"), filled as the source is read."""
    _files: list[Path] = field(default_factory=list)
    _dataset: Any = None

    def batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
        """The source's rows in order, as tables of at most `batch_rows` rows (row numbers follow the order)."""
        self.skipped = []
        if self.kind == "hub":
            for batch in self._dataset.with_format("arrow").iter(batch_size=batch_rows):
                yield batch
            return
        for path in self._files:
            if self.kind == "jsonl":
                yield from self._jsonl(path, batch_rows)
                continue
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
                yield pa.Table.from_batches([batch])

    def _jsonl(self, path: Path, batch_rows: int) -> Iterator[pa.Table]:
        rows: list[dict[str, Any]] = []
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    self.skipped.append(f"{path}: line {number}: not valid JSON ({exc})")
                    continue
                if not isinstance(row, dict):
                    self.skipped.append(f"{path}: line {number}: a row must be a JSON object")
                    continue
                rows.append(row)
                if len(rows) >= batch_rows:
                    yield _table(rows, path)
                    rows = []
        if rows:
            yield _table(rows, path)


def _table(rows: list[dict[str, Any]], path: Path) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceError(f"{path}: rows whose columns do not share one type ({exc})") from exc


def open_source(spec: MixSource) -> SourceReader:
    """The reader of one mixture source (SourceError naming the source when it cannot be used)."""
    if spec.hub_id:
        return _hub(spec)
    path = resolve_data_path(spec.path or "")
    if path.is_dir():
        return _run_folder(spec, path)
    identity = file_identity(path)
    kind = path.suffix.lstrip(".")
    return SourceReader(spec, kind, str(path), identity, identity["sha256"][:16], _files=[path])


def _run_folder(spec: MixSource, root: Path) -> SourceReader:
    info_path = root / ".factory" / "run.json"
    if not info_path.is_file():
        raise SourceError(f"source {spec.name!r}: {root} is not a run folder (no .factory/run.json)")
    split = spec.split or "accepted"
    fingerprint = json.loads(info_path.read_text())["fingerprint"]
    files, checksums = [], {}
    for marker_path in sorted((root / ".factory" / "units").glob("*.json")):
        marker = json.loads(marker_path.read_text())
        shard = marker.get("shards", {}).get(split)
        if shard is None:
            raise SourceError(f"source {spec.name!r}: {root} has no split {split!r} in unit {marker_path.stem} "
                              f"(splits: {', '.join(marker.get('shards', {}))})")
        path = root / "data" / split / f"part-{int(marker_path.stem):05d}.parquet"
        if not path.is_file():
            raise SourceError(f"source {spec.name!r}: {path} is missing (its unit's marker lists it)")
        files.append(path)
        checksums[path.name] = shard["sha256"]
    if not files:
        raise SourceError(f"source {spec.name!r}: {root} has no committed unit yet")
    identity = {"kind": "run", "path": str(root), "fingerprint": fingerprint, "split": split, "shards": checksums}
    return SourceReader(spec, "run", f"{root} [{split}]", identity, fingerprint, _files=files)


def _hub(spec: MixSource) -> SourceReader:
    import datasets  # heavy; only when a Hub source is mixed

    split = spec.split or "train"
    origin = f"{spec.hub_id}[{spec.config or 'default'}:{split}]"
    try:
        dataset = datasets.load_dataset(spec.hub_id, spec.config, split=split, revision=spec.revision)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types; the message is what matters
        raise SourceError(f"source {spec.name!r}: could not load {origin}: {exc}") from exc
    revision = spec.revision or dataset._fingerprint
    identity = {"kind": "hub", "id": spec.hub_id, "config": spec.config, "split": split, "revision": revision,
                "rows": len(dataset)}
    return SourceReader(spec, "hub", origin, identity, str(revision), _dataset=dataset)
