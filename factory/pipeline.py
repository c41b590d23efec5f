"""A run from the driver's point of view: plan work units, open the folder, commit units, finish with metadata.

Shared by `factory generate` (units produced by the Ray runtime) and `factory verify` (units of traces made
elsewhere). Knows engines and verifiers only through their interfaces; the CLI chooses the concrete parts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Sequence

import factory
from factory.card import render_card
from factory.engines.base import SamplingConfig
from factory.recipe import Recipe, fingerprint_diff
from factory.run_folder import RunFolder, RunFolderError
from factory.sources import LoadedPrompts, SkippedRow
from factory.stats import merge_stats, summarize
from verifiers.types import Prompt
from verifiers.base import Verifier


@dataclass
class RunPlan:
    """What a run will do: its prompts cut into units, which units are already done, and per-run constants."""

    recipe: Recipe
    units: list[list[Prompt]]
    skipped: list[SkippedRow]
    run_info: dict[str, Any]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def todo(self) -> list[int]:
        return [u for u in range(len(self.units)) if u not in self.done]

    @property
    def splits(self) -> list[str]:
        return ["accepted", "rejected"] if self.recipe.output.keep_rejected else ["accepted"]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def sampling_of(recipe: Recipe) -> SamplingConfig:
    g = recipe.generation
    return SamplingConfig(n=g.n, temperature=g.temperature, top_p=g.top_p, max_tokens=g.max_tokens)


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


def plan_run(recipe: Recipe, prompts: list[Prompt], skipped: list[SkippedRow],
             verifiers: Sequence[Verifier], model: str) -> RunPlan:
    size = recipe.output.prompts_per_shard
    units = [prompts[i:i + size] for i in range(0, len(prompts), size)]
    run_info = {
        "model": model,
        "recipe": recipe.name,
        "recipe_fingerprint": recipe.fingerprint(),
        "sampling": sampling_of(recipe).to_dict(),
        "factory_version": factory.__version__,
        "verifier_versions": {v.name: v.version for v in verifiers},
    }
    return RunPlan(recipe, units, skipped, run_info)


def open_run(folder: RunFolder, plan: RunPlan) -> None:
    """Check the folder belongs to this recipe (or is new), record the fingerprint, and list finished units.
    The folder's lock must already be held."""
    recipe = plan.recipe
    previous = folder.read_run_info()
    if previous and previous["fingerprint"] != recipe.fingerprint():
        diff = "\n  ".join(fingerprint_diff(previous["settings"], recipe.fingerprinted())) or "(settings unknown)"
        raise RunFolderError(
            f"{folder.root} holds a run of a different recipe (fingerprint {previous['fingerprint']}, now "
            f"{recipe.fingerprint()}); refusing to mix them. What differs:\n  {diff}\n"
            "Use another --out folder, or rerun with the folder's settings.")
    if previous is None:
        folder.write_run_info({"fingerprint": recipe.fingerprint(), "settings": recipe.fingerprinted(),
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    folder.write_text("recipe.resolved.yaml", recipe.to_yaml())
    plan.done = {u: m for u, m in folder.completed_units().items() if u < len(plan.units)}
    folder.remove_orphan_shards(range(len(plan.units)))
    write_card(folder, plan, None)


def write_card(folder: RunFolder, plan: RunPlan, summary: dict[str, Any] | None) -> None:
    """(Re)write the dataset card for the units committed so far; called after every commit."""
    rows = {split: sum(m["rows"].get(split, 0) for m in plan.done.values()) for split in plan.splits}
    state = (f"fingerprint {plan.recipe.fingerprint()}, units {len(plan.done)}/{len(plan.units)}, "
             + ", ".join(f"{split} {count}" for split, count in rows.items()))
    # datasets refuses a declared split with no rows at all, so a finished card declares only splits with rows.
    loadable = [split for split, count in rows.items() if count] if summary else plan.splits
    folder.write_text("README.md", render_card(plan.recipe, loadable or plan.splits, summary, state))


def unit_marker(unit: int, prompts: Sequence[Prompt], stats: dict[str, Any], rows_by_split: dict[str, list],
                seconds: dict[str, float]) -> dict[str, Any]:
    return {
        "unit": unit,
        "prompt_ids": [p.prompt_id for p in prompts],
        "rows": {split: len(rows) for split, rows in rows_by_split.items()},
        "stats": stats,
        "seconds": seconds,
        "committed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_summary(plan: RunPlan, wall_seconds: float | None) -> dict[str, Any]:
    total = merge_stats(m["stats"] for m in plan.done.values())
    return summarize(total, wall_seconds=wall_seconds, units_done=len(plan.done), units_total=len(plan.units),
                     skipped_prompts=len(plan.skipped))


def finish_run(folder: RunFolder, plan: RunPlan, wall_seconds: float, extra_versions: dict[str, str]) -> dict:
    """Write stats.json, manifest.json and the final dataset card; returns the summary."""
    summary = run_summary(plan, wall_seconds)
    folder.write_json("stats.json", summary)
    shards = []
    for unit in sorted(plan.done):
        for split, rows in plan.done[unit]["rows"].items():
            shards.append({"split": split, "unit": unit, "path": f"data/{split}/part-{unit:05d}.parquet",
                           "rows": rows})
    manifest = {
        "recipe": plan.recipe.name,
        "recipe_fingerprint": plan.recipe.fingerprint(),
        "complete": summary["complete"],
        "versions": {"factory": factory.__version__, **plan.run_info["verifier_versions"], **extra_versions},
        "model": plan.run_info["model"],
        "sampling": plan.run_info["sampling"],
        "counts": {"prompts": summary["prompts"], "generated": summary["funnel"]["generated"],
                   "accepted": summary["funnel"]["selected"],
                   "rejected": summary["funnel"]["generated"] - summary["funnel"]["selected"],
                   "skipped_prompts": len(plan.skipped)},
        "shards": shards,
        "skipped_rows": [str(s) for s in plan.skipped[:1000]],
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    folder.write_json("manifest.json", manifest)
    write_card(folder, plan, summary)
    return summary
