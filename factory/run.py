"""A run as one call: `run(recipe, source, runtime, out) -> RunResult`.

The CLI, the tests and a user's own script all make this call; `factory generate` passes a `RayRuntime`,
`factory verify` a `ReplayRuntime`, and everything else (curation, units, the folder's identity, resume, commits,
stats, the card and the manifest) is this one path.

Steps: the source is read as a stream and cut into work units as the runtime asks for them (`UnitStream`: gold data
no verifier can check and curation's drops are screened out on the way), so the driver holds only the units in
flight, never the whole source; the first unit is cut before the folder is touched, so an input with nothing to run
leaves no folder behind. The run folder is opened (refusing a folder of another recipe or input, redoing any
committed unit whose shards no longer match their marker); the runtime produces the units still to do, committing
each (shards, then marker) as it arrives; the run ends with stats.json, manifest.json and the card. Problems found
before the folder is opened raise `RunInputError` / `SourceError` (nothing started, no folder left behind).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from itertools import chain
from typing import Any, Callable, Iterator

import factory
from factory.output.card import render_card
from factory.prompts.curation_step import CurationReport
from factory.prompts.gold_cache import GoldCache
from factory.progress import Progress
from factory.recipe import Recipe, fingerprint_diff
from factory.output.run_folder import RunFolder, RunFolderError, folder_name, is_run_folder
from factory.runtimes.base import Runtime, WorkUnit
from factory.prompts.sources import PromptStream, SkippedRow, rows_estimate
from factory.stats import summarize, totals_of
from factory.prompts.unit_stream import UnitStream
from factory.verification.verify import UnitResult, create_verifiers
from verifiers.types import Prompt


class RunInputError(ValueError):
    """The run cannot start with this input (every row skipped, ...); nothing was written."""


@dataclass
class RunResult:
    out: Path
    summary: dict[str, Any]

    @property
    def complete(self) -> bool:
        return bool(self.summary.get("complete"))


@dataclass
class RunPlan:
    """What a run does: its unit stream, which units are committed, and the per-run constants."""

    recipe: Recipe
    stream: UnitStream
    run_info: dict[str, Any]
    identity: dict[str, Any]
    first: tuple[int, list[Prompt], dict[str, list[str]]] | None = None
    """The first unit, cut before the folder is opened (None: the source holds nothing to run)."""
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows committed per split, kept as units commit (the card is rewritten after every commit)."""
    _rest: Iterator[tuple[int, list[Prompt], dict[str, list[str]]]] | None = None

    @property
    def skipped(self) -> list[SkippedRow]:
        return self.stream.skipped

    @property
    def curation(self) -> CurationReport:
        return self.stream.curation

    @property
    def units_total(self) -> int | None:
        """Known once the stream is read to its end."""
        return self.stream.units_seen if self.stream.exhausted else None

    @property
    def splits(self) -> list[str]:
        """The splits of the default config, then `pairs` (its own config) when the recipe asks for pairs."""
        splits = ["accepted", "rejected"] if self.recipe.output.keep_rejected else ["accepted"]
        return splits + (["pairs"] if self.recipe.output.pairs is not None else [])

    def start_stream(self) -> None:
        """Cut the first unit now (before any folder is touched)."""
        self._rest = self.stream.units()
        self.first = next(self._rest, None)

    def work(self) -> Iterator[WorkUnit]:
        """The units not committed yet, cut lazily from the stream (the first one was cut already)."""
        assert self._rest is not None, "start_stream() first"
        for number, prompts, completions in chain([self.first] if self.first else [], self._rest):
            if number not in self.done:
                self.stream.in_flight[number] = prompts
                yield WorkUnit(number, prompts, completions)


def run_fingerprint(recipe: Recipe, identity: dict[str, Any]) -> str:
    """The run's identity: the recipe's row-deciding settings and the input's content (or Hub revision)."""
    blob = json.dumps({"recipe": recipe.fingerprinted(), "input": identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_out(recipe: Recipe, fingerprint: str) -> Path:
    return Path("runs") / folder_name(recipe.name, fingerprint[:8])


def plan_run(recipe: Recipe, source: PromptStream, runtime: Runtime, verifiers: list[Any],
             gold: GoldCache | None = None) -> RunPlan:
    """The run's constants and its unit stream, with the first unit cut; raises RunInputError if the source holds
    no prompt to run (every row skipped or dropped)."""
    stream = UnitStream(source, recipe, verifiers, gold)
    identity = source.identity
    run_info = {
        "model": runtime.model_name(recipe),
        "recipe": recipe.name,
        "recipe_fingerprint": run_fingerprint(recipe, identity),
        "sampling": runtime.sampling(recipe),
        "factory_version": factory.__version__,
        "verifier_versions": {v.name: v.version for v in verifiers},
    }
    plan = RunPlan(recipe, stream, run_info, identity)
    plan.start_stream()
    if plan.first is None:
        skipped = stream.skipped
        first = f"; first: {skipped[0]}" if skipped else ""
        raise RunInputError(f"{source.origin}: no prompt left to run ({len(skipped)} rows skipped, "
                            f"{len(stream.curation.dropped)} dropped by curation){first}")
    return plan


def open_run(folder: RunFolder, plan: RunPlan, event: Callable[..., None]) -> None:
    """Check the folder belongs to this recipe and input (or is new), record its identity, list finished units and
    redo damaged ones. The folder's lock must already be held."""
    recipe, fingerprint = plan.recipe, plan.run_info["recipe_fingerprint"]
    previous = folder.read_run_info()
    if previous and previous["fingerprint"] != fingerprint:
        raise RunFolderError(_refusal(folder, previous, plan, fingerprint))
    if previous is None:
        previous = {"fingerprint": fingerprint, "settings": recipe.fingerprinted(), "input": plan.identity,
                    "created": _now(), "wall_seconds": 0.0}
        folder.write_run_info(previous)
    folder.write_text("recipe.resolved.yaml", recipe.to_yaml())
    done = folder.completed_units()
    for unit, what in sorted(folder.damaged_units(done).items()):
        event("warning", message=f"unit {unit:05d} is redone: {what}")
        folder.drop_marker(unit)
        done.pop(unit, None)
    plan.done = done
    for marker in done.values():
        for split, count in marker["rows"].items():
            plan.rows[split] = plan.rows.get(split, 0) + count
    write_card(folder, plan, None)


def _refusal(folder: RunFolder, previous: dict[str, Any], plan: RunPlan, fingerprint: str) -> str:
    lines = fingerprint_diff(previous.get("settings", {}), plan.recipe.fingerprinted())
    lines += fingerprint_diff({"input": previous.get("input")}, {"input": plan.identity})
    what = "\n  ".join(lines) or "(settings unknown)"
    return (f"{folder.root} holds a run with fingerprint {previous['fingerprint']}, this one is {fingerprint}; "
            f"refusing to mix them. What differs:\n  {what}\n"
            "Start a new run folder with --out NEW_DIR, or rerun with the folder's recipe and input.")


def write_card(folder: RunFolder, plan: RunPlan, summary: dict[str, Any] | None) -> None:
    """(Re)write the dataset card for the units committed so far; called after every commit."""
    rows = {split: plan.rows.get(split, 0) for split in plan.splits}
    total = plan.units_total if plan.units_total is not None else "?"
    state = (f"fingerprint {plan.run_info['recipe_fingerprint']}, units {len(plan.done)}/{total}, "
             + ", ".join(f"{split} {count}" for split, count in rows.items()))
    # datasets refuses a declared split with no rows at all, so a finished card declares only splits with rows.
    loadable = [split for split, count in rows.items() if count] if summary else plan.splits
    folder.write_text("README.md", render_card(plan.recipe, plan.run_info, loadable or plan.splits, summary, state))


class UnitCommitter:
    """The commit callback the runtime calls for each finished unit: shards, then marker, then stats and card.
    Keeps running totals, so each commit costs the same however long the run."""

    def __init__(self, folder: RunFolder, plan: RunPlan, progress: Progress, runtime: Runtime,
                 earlier_wall: float) -> None:
        self.folder, self.plan, self.progress, self.runtime = folder, plan, progress, runtime
        self.started = time.monotonic()
        self.earlier_wall = earlier_wall
        self.totals = totals_of(m["stats"] for m in plan.done.values())
        self.counters: dict[str, Any] = {}
        """The runtime's latest counters (kept: the runtime is closed before the last summary is written)."""
        self._skipped_shown = self._dropped_shown = 0

    def wall(self) -> float:
        return self.earlier_wall + time.monotonic() - self.started

    def __call__(self, unit: int, result: UnitResult, seconds: dict[str, float]) -> None:
        prompts = self.plan.stream.in_flight.pop(unit)
        if self.plan.run_info["sampling"]:  # generated here: what fixed n would have cost (adaptive's baseline)
            result.stats["fixed_n_samples"] = len(prompts) * self.plan.recipe.generation.n
        marker = {"unit": unit, "prompt_ids": [p.prompt_id for p in prompts],
                  "rows": {split: len(rows) for split, rows in result.rows_by_split.items()},
                  "stats": result.stats, "unwritable": result.unwritable, "seconds": seconds,
                  "wall_seconds": round(self.wall(), 3), "committed": _now()}
        self.folder.commit_unit(unit, result.rows_by_split, marker)
        self.plan.stream.gold.flush(self.folder.meta)
        self.plan.done[unit] = marker
        for split, rows in result.rows_by_split.items():
            self.plan.rows[split] = self.plan.rows.get(split, 0) + len(rows)
        self.totals.add(result.stats)
        self.notes()
        for item in result.unwritable:
            self.progress.event("skipped", message=f"sample {item['id']}: field '{item['field']}': {item['reason']}")
        self.counters = self.runtime.counters() or self.counters
        self.progress.unit_done(unit, len(prompts), result.stats["generated"], result.stats["passed"],
                                self.counters)
        self.folder.write_json("stats.json", self.summary())
        write_card(self.folder, self.plan, None)

    def notes(self) -> None:
        """Log the rows skipped and the prompts dropped since the last call (they are met as the stream is read)."""
        skipped, dropped = self.plan.skipped, self.plan.curation.dropped
        for row in skipped[self._skipped_shown:]:
            self.progress.event("skipped", message=str(row))
        for item in dropped[self._dropped_shown:]:
            evidence = ", ".join(f"{k}: {v!r}" for k, v in item.details.items())
            self.progress.event("dropped", message=f"prompt {item.prompt_id}: {item.reason} ({evidence})",
                                prompt_id=item.prompt_id, reason=item.reason)
        self._skipped_shown, self._dropped_shown = len(skipped), len(dropped)

    def summary(self) -> dict[str, Any]:
        total = self.plan.units_total
        done = len(self.plan.done) if total is None else sum(1 for u in self.plan.done if u < total)
        summary = summarize(self.totals, wall_seconds=self.wall(), units_done=done,
                            units_total=total if total is not None else max(self.plan.done, default=-1) + 1,
                            skipped_prompts=len(self.plan.skipped), dropped_prompts=self.plan.curation.counts())
        if total is None:
            summary["complete"] = False
        if self.counters:
            summary["engine"] = self.counters
        return summary


def finish_run(folder: RunFolder, plan: RunPlan, summary: dict[str, Any], versions: dict[str, str],
               wall_seconds: float) -> None:
    """Write stats.json, manifest.json, the wall time so far, and the final dataset card."""
    folder.write_json("stats.json", summary)
    shards = [{"split": split, "unit": unit, "path": f"data/{split}/part-{unit:05d}.parquet", "rows": rows}
              for unit in sorted(plan.done) for split, rows in plan.done[unit]["rows"].items()]
    unwritable = [item for unit in sorted(plan.done) for item in plan.done[unit].get("unwritable", [])]
    funnel = summary["funnel"]
    manifest = {
        "recipe": plan.recipe.name,
        "recipe_fingerprint": plan.run_info["recipe_fingerprint"],
        "input": plan.identity,
        "complete": summary["complete"],
        "versions": {"factory": factory.__version__, **plan.run_info["verifier_versions"], **versions},
        "model": plan.run_info["model"],
        "sampling": plan.run_info["sampling"],
        "counts": {"prompts": summary["prompts"], "generated": funnel["generated"], "passed": funnel["passed"],
                   "accepted": funnel["accepted"], "rejected": funnel["rejected"],
                   "skipped_prompts": len(plan.skipped), "dropped_prompts": plan.curation.counts(),
                   "unwritable_samples": len(unwritable)},
        "shards": shards,
        "skipped_rows": [str(s) for s in plan.skipped[:1000]],
        "dropped_prompts": plan.curation.listing(limit=100_000),
        "unwritable_samples": unwritable[:1000],
        "updated": _now(),
    }
    folder.write_json("manifest.json", manifest)
    info = folder.read_run_info() or {}
    folder.write_run_info({**info, "wall_seconds": wall_seconds})
    write_card(folder, plan, summary)


def run(recipe: Recipe, source: PromptStream, runtime: Runtime, out: str | Path | None = None, *,
        log_json: bool = False) -> RunResult:
    """Run `recipe` on `source` with `runtime` into `out` (default `runs/<recipe>-<fingerprint>`); resumable.

    Raises RunInputError / RecipeError / SourceError before anything is written, RunFolderError when the folder
    cannot be used (RunFolderLocked when another process holds it); anything raised while units are being
    produced leaves every committed unit in place (rerun the same call to resume). A problem met deep in the
    source (a duplicate id at row 1,500,000) stops the run there with a SourceError; committed units are kept.
    """
    verifiers = create_verifiers(recipe.verifiers)  # constructing them is the preflight (e.g. the code sandbox)
    try:
        return _run(recipe, source, runtime, out, log_json, verifiers)
    finally:
        for verifier in verifiers:
            verifier.close()


def _run(recipe: Recipe, source: PromptStream, runtime: Runtime, out: str | Path | None, log_json: bool,
         verifiers: list[Any]) -> RunResult:
    out = Path(out) if out else default_out(recipe, run_fingerprint(recipe, source.identity))
    # Read without the lock, as a cache: the rerun of a folder of this run skips the gold checks it already made.
    gold = GoldCache.load(out / ".factory") if is_run_folder(out) else GoldCache()
    plan = plan_run(recipe, source, runtime, verifiers, gold)
    folder_done = RunFolder(out).completed_units() if is_run_folder(out) else {}
    if 0 not in folder_done:  # work certainly remains: check the runtime before the folder is touched
        _preflight(runtime, recipe)
    with RunFolder(out) as folder:
        progress = Progress(total_prompts=rows_estimate(source), done_prompts=0, json_lines=log_json)
        try:
            open_run(folder, plan, progress.event)
            progress.event("start", message=f"{recipe.name}: {source.origin} -> {out} ({len(plan.done)} units "
                           "already done)", run_dir=str(out), fingerprint=plan.run_info["recipe_fingerprint"])
            earlier = max([float((folder.read_run_info() or {}).get("wall_seconds", 0.0))]
                          + [float(m.get("wall_seconds", 0.0)) for m in plan.done.values()])
            committer = UnitCommitter(folder, plan, progress, runtime, earlier)
            work = plan.work()
            first = next(work, None)  # reads past the units already committed
            if first is not None:
                try:
                    if 0 in folder_done:
                        runtime.preflight(recipe)
                    runtime.open(recipe, plan.run_info, progress.event, folder.meta)
                    runtime.run(chain([first], work), committer)
                    committer.counters = runtime.counters() or committer.counters
                finally:
                    runtime.close()
            for _ in work:  # a runtime that stopped early (failed units) leaves the stream unread: read it
                pass
            committer.notes()
            plan.stream.gold.flush(folder.meta)
            summary = committer.summary()
            finish_run(folder, plan, summary, runtime.versions(), committer.wall())
        finally:
            progress.close()
    return RunResult(out, summary)


def _preflight(runtime: Runtime, recipe: Recipe) -> None:
    try:
        runtime.preflight(recipe)
    except Exception:
        runtime.close()
        raise


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
