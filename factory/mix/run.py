"""A mix as one call: `mix(mixture, out) -> MixResult`, used by `factory mix`, the tests and your own scripts.

Steps: open every source (its identity), compute the mix's fingerprint, open the folder (refusing another mix's),
then three resumable passes (see `factory.mix.folder`): the plan (`factory.mix.scan`: curation of the union and the
draw), the spill and the shards (`factory.mix.write`); then the card and the manifest.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

import factory
from factory.mix.card import render_card, source_totals
from factory.mix.folder import MixFolder
from factory.mix.scan import Plan, SourceScan, scan
from factory.mix.settings import Mixture, mixture_fingerprint
from factory.mix.sources import open_source
from factory.mix.write import TokenCounter, spill, write_shard
from factory.output.run_folder import RunFolderError
from factory.recipe import fingerprint_diff


class NothingToMix(RunFolderError):
    """Every source is empty, skipped or dropped: the mixture takes no row."""


@dataclass
class MixResult:
    out: Path
    fingerprint: str
    rows: int
    shards: int
    sources: list[dict[str, Any]]


def default_out(mixture: Mixture, fingerprint: str) -> Path:
    return Path("mixes") / f"{mixture.name}-{fingerprint[:8]}"


def mix(mixture: Mixture, out: str | Path | None = None,
        log: Callable[[str], None] = lambda message: None) -> MixResult:
    """Mix `mixture` into `out` (default `mixes/<name>-<fingerprint>`); rerun the same call to resume."""
    readers = [open_source(spec) for spec in mixture.sources]
    identities = [r.identity for r in readers]
    fingerprint = mixture_fingerprint(mixture, identities)
    out = Path(out) if out else default_out(mixture, fingerprint)
    fresh = not out.exists()
    with MixFolder(out) as folder:
        _claim(folder, mixture, identities, fingerprint)
        folder.write_text("mixture.resolved.yaml", mixture.to_yaml())
        try:
            plan = _plan(folder, mixture, readers, log)
        except NothingToMix:
            if fresh:  # a mix that takes no row leaves no folder behind
                shutil.rmtree(out, ignore_errors=True)
            raise
        count = max(1, -(-plan.total // mixture.rows_per_shard))
        done = folder.done_shards(count)
        todo = [s for s in range(count) if s not in done]
        log(f"{plan.total:,} rows in {count} shards ({len(done)} already written)")
        if todo:
            if not folder.spill_done():
                log("spilling the taken rows by shard")
                spill(folder, readers, plan.rows, plan.positions, mixture.rows_per_shard,
                      TokenCounter(mixture.tokenizer))
            for shard in todo:
                expected = min(mixture.rows_per_shard, plan.total - shard * mixture.rows_per_shard)
                done[shard] = write_shard(folder, shard, max(0, expected))
                log(f"shard {shard:05d} written ({done[shard]['rows']:,} rows)")
        scans = [s.to_dict() for s in plan.scans]
        fingerprints = [r.fingerprint for r in readers]
        folder.write_json("manifest.json", _manifest(mixture, fingerprint, identities, scans, plan, done))
        folder.write_text("README.md", render_card(mixture, fingerprint, scans, fingerprints, done, count))
        shutil.rmtree(folder.spill_dir, ignore_errors=True)  # the spill is not needed once every shard is written
    return MixResult(out, fingerprint, plan.total, count, scans)


def _claim(folder: MixFolder, mixture: Mixture, identities: list[dict[str, Any]], fingerprint: str) -> None:
    previous = folder.read_info()
    if previous is None:
        folder.write_json("mix.json", {"fingerprint": fingerprint, "settings": mixture.fingerprinted(),
                                       "sources": identities}, meta=True)
    elif previous["fingerprint"] != fingerprint:
        lines = fingerprint_diff({"settings": previous.get("settings"), "sources": previous.get("sources")},
                                 {"settings": mixture.fingerprinted(), "sources": identities})
        what = "\n  ".join(lines) or "(settings unknown)"
        raise RunFolderError(f"{folder.root} holds a mix with fingerprint {previous['fingerprint']}, this one is "
                             f"{fingerprint}; refusing to mix them. What differs:\n  {what}\n"
                             "Choose a new --out, or rerun with the folder's mixture and sources.")


def _plan(folder: MixFolder, mixture: Mixture, readers: list[Any], log: Callable[[str], None]) -> Plan:
    saved = folder.load_plan()
    if saved is not None:
        arrays, info = saved
        k = len(readers)
        scans = []
        for data in info["scans"]:
            scans.append(SourceScan(data["name"], data["rows_read"], data["skipped"], data["dropped"],
                                    data["available"], data["target"], data["taken"]))
        return Plan([arrays[f"rows_{i}"] for i in range(k)], [arrays[f"positions_{i}"] for i in range(k)],
                    scans, info["drops"])
    log("scanning the sources (dedup, decontamination, the draw)")
    plan = scan(mixture, readers)
    if plan.total == 0:
        raise NothingToMix(f"{mixture.source_file}: the mixture takes no row (every source empty, skipped or "
                             "dropped); see the scan: " + "; ".join(
                                 f"{s.name}: read {s.rows_read}, skipped {dict(s.skipped)}, dropped {dict(s.dropped)}"
                                 for s in plan.scans))
    arrays = {**{f"rows_{i}": r for i, r in enumerate(plan.rows)},
              **{f"positions_{i}": p for i, p in enumerate(plan.positions)}}
    folder.save_plan(arrays, {"scans": [s.to_dict() for s in plan.scans], "drops": plan.drops})
    return plan


def _manifest(mixture: Mixture, fingerprint: str, identities: list[dict[str, Any]], scans: list[dict[str, Any]],
              plan: Plan, done: dict[int, dict[str, Any]]) -> dict[str, Any]:
    totals = source_totals(done)
    return {
        "mixture": mixture.name, "fingerprint": fingerprint, "factory_version": factory.__version__,
        "seed": mixture.seed, "rows": plan.total,
        "sources": [{**scan, "identity": identity, **totals.get(scan["name"], {})}
                    for scan, identity in zip(scans, identities)],
        "shards": [{"path": f"data/train/part-{s:05d}.parquet", "rows": m["rows"], "sha256": m["sha256"]}
                   for s, m in sorted(done.items())],
        "dropped_rows": plan.drops,
    }
