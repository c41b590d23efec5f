"""A run as one call: `run(recipe, source, runtime, out) -> RunResult`.

The CLI, the tests and a user's own script all make this call; `factory generate` passes a `RayRuntime`,
`factory verify` a `ReplayRuntime`, and everything else (curation, units, the folder's identity, resume, commits,
stats, the card and the manifest) is this one path.

Steps: screen the prompts (gold data no verifier can check, curation: decontamination and dedup) before any
generation; cut the rest into work units; open the run folder (refusing a folder of another recipe or input, and
redoing any committed unit whose shards no longer match their marker); have the runtime produce the units still to
do, committing each (shards, then marker) as it arrives; finish with stats.json, manifest.json and the card.
Problems found before the folder is opened raise `RunInputError` (nothing started, no folder left behind).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import factory
from factory.card import render_card
from factory.curation_step import CurationReport, curate_prompts
from factory.progress import Progress
from factory.recipe import Recipe, fingerprint_diff
from factory.run_folder import RunFolder, RunFolderError
from factory.runtimes.base import Runtime, WorkUnit
from factory.sources import LoadedPrompts, SkippedRow
from factory.stats import summarize, totals_of
from factory.verification import UnitResult, create_verifiers
from verifiers.base import Verifier
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
    """What a run will do: its prompts cut into units, which units are already done, and per-run constants."""

    recipe: Recipe
    units: list[list[Prompt]]
    skipped: list[SkippedRow]
    curation: CurationReport
    run_info: dict[str, Any]
    identity: dict[str, Any]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)

    completions: dict[str, list[str]] = field(default_factory=dict)
    """For traces made elsewhere (verify, curate): prompt_id -> completion texts."""

    def completions_of(self, unit: int) -> dict[str, list[str]]:
        return {p.prompt_id: self.completions[p.prompt_id] for p in self.units[unit] if p.prompt_id in self.completions}

    @property
    def todo(self) -> list[int]:
        return [u for u in range(len(self.units)) if u not in self.done]

    @property
    def splits(self) -> list[str]:
        """The splits of the default config, then `pairs` (its own config) when the recipe asks for pairs."""
        splits = ["accepted", "rejected"] if self.recipe.output.keep_rejected else ["accepted"]
        return splits + (["pairs"] if self.recipe.output.pairs is not None else [])


def run_fingerprint(recipe: Recipe, identity: dict[str, Any]) -> str:
    """The run's identity: the recipe's row-deciding settings and the input's content (or Hub revision)."""
    blob = json.dumps({"recipe": recipe.fingerprinted(), "input": identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_out(recipe: Recipe, fingerprint: str) -> Path:
    return Path("runs") / f"{recipe.name}-{fingerprint[:8]}"


def screen_gold(loaded: LoadedPrompts, verifiers: Sequence[Verifier]) -> tuple[list[Prompt], list[SkippedRow]]:
    """Drop prompts whose gold data no verifier can ever check (before any generation is spent on them)."""
    kept, skipped = [], list(loaded.skipped)
    for prompt in loaded.prompts:
        reason = next((r for r in (v.check_gold(prompt) for v in verifiers) if r), None)
        if reason:
            row = loaded.row_of.get(prompt.prompt_id, 0)
            skipped.append(SkippedRow(loaded.origin, row, "gold", f"{reason} ({str(prompt.gold)[:80]!r})"))
        else:
            kept.append(prompt)
    return kept, skipped


def plan_run(recipe: Recipe, source: LoadedPrompts, runtime: Runtime) -> RunPlan:
    """Screen and curate the prompts and cut them into units; raises RunInputError if none is left."""
    verifiers = create_verifiers(recipe.verifiers)  # constructing them is the preflight (e.g. the code sandbox)
    try:
        prompts, skipped = screen_gold(source, verifiers)
        versions = {v.name: v.version for v in verifiers}
    finally:
        for verifier in verifiers:
            verifier.close()
    prompts, curation = curate_prompts(recipe, prompts)
    if not prompts:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise RunInputError(f"{source.origin}: no prompt left to run ({len(skipped)} rows skipped, "
                            f"{len(curation.dropped)} dropped by curation){first}")
    size = recipe.output.prompts_per_shard
    units = [prompts[i:i + size] for i in range(0, len(prompts), size)]
    identity = source.identity
    run_info = {
        "model": runtime.model_name(recipe),
        "recipe": recipe.name,
        "recipe_fingerprint": run_fingerprint(recipe, identity),
        "sampling": runtime.sampling(recipe),
        "factory_version": factory.__version__,
        "verifier_versions": versions,
    }
    return RunPlan(recipe, units, skipped, curation, run_info, identity, completions=source.completions)


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
    done = {u: m for u, m in folder.completed_units().items() if u < len(plan.units)}
    for unit, what in sorted(folder.damaged_units(done).items()):
        event("warning", message=f"unit {unit:05d} is redone: {what}")
        folder.drop_marker(unit)
        done.pop(unit)
    plan.done = done
    folder.remove_orphan_shards(range(len(plan.units)))
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
    rows = {split: sum(m["rows"].get(split, 0) for m in plan.done.values()) for split in plan.splits}
    state = (f"fingerprint {plan.run_info['recipe_fingerprint']}, units {len(plan.done)}/{len(plan.units)}, "
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

    def wall(self) -> float:
        return self.earlier_wall + time.monotonic() - self.started

    def __call__(self, unit: int, result: UnitResult, seconds: dict[str, float]) -> None:
        prompts = self.plan.units[unit]
        if self.plan.run_info["sampling"]:  # generated here: what fixed n would have cost (adaptive's baseline)
            result.stats["fixed_n_samples"] = len(prompts) * self.plan.recipe.generation.n
        marker = {"unit": unit, "prompt_ids": [p.prompt_id for p in prompts],
                  "rows": {split: len(rows) for split, rows in result.rows_by_split.items()},
                  "stats": result.stats, "unwritable": result.unwritable, "seconds": seconds,
                  "wall_seconds": round(self.wall(), 3), "committed": _now()}
        self.folder.commit_unit(unit, result.rows_by_split, marker)
        self.plan.done[unit] = marker
        self.totals.add(result.stats)
        for item in result.unwritable:
            self.progress.event("skipped", message=f"sample {item['id']}: field '{item['field']}': {item['reason']}")
        self.counters = self.runtime.counters() or self.counters
        self.progress.unit_done(unit, len(prompts), result.stats["generated"], result.stats["passed"],
                                self.counters)
        self.folder.write_json("stats.json", self.summary())
        write_card(self.folder, self.plan, None)

    def summary(self) -> dict[str, Any]:
        summary = summarize(self.totals, wall_seconds=self.wall(), units_done=len(self.plan.done),
                            units_total=len(self.plan.units), skipped_prompts=len(self.plan.skipped),
                            dropped_prompts=self.plan.curation.counts())
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


def run(recipe: Recipe, source: LoadedPrompts, runtime: Runtime, out: str | Path | None = None, *,
        log_json: bool = False) -> RunResult:
    """Run `recipe` on `source` with `runtime` into `out` (default `runs/<recipe>-<fingerprint>`); resumable.

    Raises RunInputError / RecipeError / SourceError before anything is written, RunFolderError when the folder
    cannot be used (RunFolderLocked when another process holds it); anything raised while units are being
    produced leaves every committed unit in place (rerun the same call to resume).
    """
    plan = plan_run(recipe, source, runtime)
    out = Path(out) if out else default_out(recipe, plan.run_info["recipe_fingerprint"])
    if not _finished_already(out, plan):
        try:
            runtime.preflight(recipe)
        except Exception:
            runtime.close()
            raise
    with RunFolder(out) as folder:
        progress = Progress(total_prompts=sum(len(u) for u in plan.units), done_prompts=0, json_lines=log_json)
        try:
            open_run(folder, plan, progress.event)
            progress.advance(sum(len(plan.units[u]) for u in plan.done))
            progress.event("start", message=f"{recipe.name}: {sum(len(u) for u in plan.units)} prompts in "
                           f"{len(plan.units)} units ({len(plan.done)} already done) -> {out}", run_dir=str(out),
                           fingerprint=plan.run_info["recipe_fingerprint"])
            for row in plan.skipped:
                progress.event("skipped", message=str(row))
            for item in plan.curation.dropped:
                evidence = ", ".join(f"{k}: {v!r}" for k, v in item.details.items())
                progress.event("dropped", message=f"prompt {item.prompt_id}: {item.reason} ({evidence})",
                               prompt_id=item.prompt_id, reason=item.reason)
            earlier = max([float((folder.read_run_info() or {}).get("wall_seconds", 0.0))]
                          + [float(m.get("wall_seconds", 0.0)) for m in plan.done.values()])
            committer = UnitCommitter(folder, plan, progress, runtime, earlier)
            if plan.todo:
                try:
                    runtime.open(recipe, plan.run_info, progress.event, folder.meta)
                    runtime.run((WorkUnit(u, plan.units[u], plan.completions_of(u)) for u in plan.todo), committer)
                    committer.counters = runtime.counters() or committer.counters
                finally:
                    runtime.close()
            summary = committer.summary()
            finish_run(folder, plan, summary, runtime.versions(), committer.wall())
        finally:
            progress.close()
    return RunResult(out, summary)


def _finished_already(out: Path, plan: RunPlan) -> bool:
    """Every unit of this plan already has a marker in `out` (read without the lock: a hint, not a decision)."""
    from factory.run_folder import is_run_folder

    if not is_run_folder(out):
        return False
    units = RunFolder(out).completed_units()
    return all(u in units for u in range(len(plan.units)))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
