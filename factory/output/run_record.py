"""What a run records in its folder besides the shards: its identity at opening, the card after every commit, the
engine's counters across invocations, and stats.json, manifest.json and the final card at the end.

`RunRecord.open` refuses a folder that holds another run (naming what differs), records the identity of a new one,
lists the committed units and redoes damaged ones. Counters that add up (HTTP requests, retries, tokens, cost) are
kept per invocation in `.factory/engine.json`, rewritten at every commit, so stats.json sums them over every
invocation that worked on the run, as it does the wall time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from factory.output.card import render_card
from factory.output.run_folder import RunFolder, RunFolderError
from factory.recipe import Recipe, fingerprint_diff

ENGINE_FILE = "engine.json"
GAUGES = ("requests_in_flight",)
"""Engine counters that are a level now, not a sum over time: never added across invocations."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _retried_faults(stats: dict[str, Any]) -> str:
    """Why a committed unit is redone on resume: a verifier's own fault, or a judge error (its journaled judge
    replies are reused, only the failed requests are sent again); "" when neither."""
    faults = []
    if stats.get("verifier_errors"):
        faults.append(f"{stats['verifier_errors']} sample(s) hold a verifier's own fault (verifier_error)")
    if stats.get("judge", {}).get("errors"):
        faults.append(f"{stats['judge']['errors']} sample(s) hold a judge error (judge_error)")
    return "; ".join(faults)


def add_counters(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum engine counters (numbers only; gauges left out; a cost that is None everywhere stays None)."""
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key in GAUGES:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = round(total.get(key) or 0, 6) + value
                total[key] = round(total[key], 6)
            elif value is None:
                total.setdefault(key, None)
    return total


@dataclass
class RunRecord:
    """The run's records in `folder` (its lock held): identity, committed units, rows per split, card, counters."""

    folder: RunFolder
    recipe: Recipe
    run_info: dict[str, Any]
    identity: dict[str, Any]
    splits: list[str]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows committed per split, kept as units commit."""
    invocation: str = field(default_factory=lambda: f"{time.time():.6f}")
    earlier_engine: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return self.run_info["run_fingerprint"]

    def open(self, event: Callable[..., None]) -> float:
        """Check the folder belongs to this run (or is new), record its identity, list finished units and redo
        damaged ones. Returns the wall time earlier invocations spent on the run."""
        previous = self.folder.read_run_info()
        if previous and previous["fingerprint"] != self.fingerprint:
            raise RunFolderError(self._refusal(previous))
        if previous is None:
            previous = {"fingerprint": self.fingerprint, "settings": self.recipe.fingerprinted(),
                        "input": self.identity, "created": now(), "wall_seconds": 0.0}
            self.folder.write_run_info(previous)
        self.folder.write_text("recipe.resolved.yaml", self.recipe.to_yaml())
        done = self.folder.completed_units()
        faulty = {unit: why for unit, m in done.items() if (why := _retried_faults(m.get("stats", {})))}
        for unit, what in sorted({**self.folder.damaged_units(done), **faulty}.items()):
            event("warning", message=f"unit {unit:05d} is redone: {what}")
            self.folder.drop_marker(unit)
            done.pop(unit, None)
        self.done = done
        for marker in done.values():
            for split, count in marker["rows"].items():
                self.rows[split] = self.rows.get(split, 0) + count
        engine_file = self.folder.meta / ENGINE_FILE
        if engine_file.is_file():
            self.earlier_engine = list(json.loads(engine_file.read_text()).get("invocations", {}).values())
        self.write_card(None)
        return max([float(previous.get("wall_seconds", 0.0))]
                   + [float(m.get("wall_seconds", 0.0)) for m in done.values()])

    def _refusal(self, previous: dict[str, Any]) -> str:
        lines = fingerprint_diff(previous.get("settings", {}), self.recipe.fingerprinted())
        lines += fingerprint_diff({"input": previous.get("input")}, {"input": self.identity})
        what = "\n  ".join(lines) or "(settings unknown)"
        return (f"{self.folder.root} holds a run with fingerprint {previous['fingerprint']}, this one is "
                f"{self.fingerprint}; refusing to mix them. What differs:\n  {what}\n"
                "Start a new run folder with --out NEW_DIR, or rerun with the folder's recipe and input.")

    def commit(self, unit: int, rows_by_split: dict[str, list[dict[str, Any]]], marker: dict[str, Any]) -> None:
        """Write the unit's shards and marker (the commit point), then count its rows."""
        self.folder.commit_unit(unit, rows_by_split, marker)
        self.done[unit] = marker
        for split, rows in rows_by_split.items():
            self.rows[split] = self.rows.get(split, 0) + len(rows)

    def record_engine(self, counters: dict[str, Any]) -> None:
        """Record this invocation's engine counters beside the earlier invocations' (crash-safe, per invocation)."""
        if counters:
            invocations = {str(i): part for i, part in enumerate(self.earlier_engine)}
            invocations[self.invocation] = counters
            self.folder.write_json(f".factory/{ENGINE_FILE}", {"invocations": invocations})

    def engine_totals(self, counters: dict[str, Any]) -> dict[str, Any]:
        """The engine counters summed over every invocation, this one's being `counters`."""
        return add_counters([*self.earlier_engine, counters]) if (counters or self.earlier_engine) else {}

    def write_card(self, summary: dict[str, Any] | None) -> None:
        """(Re)write the dataset card for the units committed so far; called after every commit."""
        rows = {split: self.rows.get(split, 0) for split in self.splits}
        # datasets refuses a declared split with no rows at all, so a finished card declares only splits with rows.
        loadable = [split for split, count in rows.items() if count] if summary else self.splits
        self.folder.write_text("README.md", render_card(self.recipe, self.run_info, loadable or self.splits, summary,
                                                        self.done, self.folder.root))

    def finish(self, summary: dict[str, Any], versions: dict[str, str], skipped: list[Any],
               curation: Any, wall_seconds: float) -> None:
        """Write stats.json, manifest.json, the wall time so far, and the final dataset card."""
        self.folder.write_json("stats.json", summary)
        done = self.done
        shards = [{"split": split, "unit": unit, "path": f"data/{split}/part-{unit:05d}.parquet", "rows": rows}
                  for unit in sorted(done) for split, rows in done[unit]["rows"].items()]
        unwritable = [item for unit in sorted(done) for item in done[unit].get("unwritable", [])]
        funnel = summary["funnel"]
        manifest = {
            "recipe": self.recipe.name,
            "run_fingerprint": self.fingerprint,
            "input": self.identity,
            "complete": summary["complete"],
            "versions": {"factory": self.run_info["factory_version"], **self.run_info["verifier_versions"],
                         **versions},
            "model": self.run_info["model"],
            "sampling": self.run_info["sampling"],
            "counts": {"prompts": summary["prompts"], "generated": funnel["generated"], "passed": funnel["passed"],
                       "accepted": funnel["accepted"], "rejected": funnel["rejected"],
                       "skipped_prompts": len(skipped), "dropped_prompts": curation.counts(),
                       "unwritable_samples": len(unwritable)},
            "shards": shards,
            "skipped_rows": [str(s) for s in skipped[:1000]],
            "dropped_prompts": curation.listing(limit=100_000),
            "unwritable_samples": unwritable[:1000],
            "gold_suspects": summary.get("gold_suspects", {"count": 0, "prompts": []}),
            **({"judge": summary["judge"]} if "judge" in summary else {}),
            "updated": now(),
        }
        self.folder.write_json("manifest.json", manifest)
        info = self.folder.read_run_info() or {}
        self.folder.write_run_info({**info, "wall_seconds": wall_seconds})
        self.write_card(summary)
