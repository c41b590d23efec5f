"""A run as one call: `run(recipe, mode=..., out=...) -> RunResult`.

The CLI, the tests and a user's own script all make this call. The three modes differ only in where samples come
from and which prompt filters apply:
- `generate`: the recipe's teacher writes the samples (vLLM engines or an HTTP teacher, in Ray actors); the prompt
  filters (benchmark decontamination, prompt dedup) run before any generation.
- `verify`: the samples are traces made elsewhere (a JSONL/Parquet file, factory shards, a run folder); the
  verifiers, selection and pairs run on them as given; no prompt filter (nothing is downloaded, nothing dropped
  for being like another prompt).
- `curate`: as `verify`, plus the recipe's prompt filters.

Steps, one way only: the source is read as a stream and cut into work units (`UnitStream`: gold data no verifier
can check and, when filtering, curation's drops are screened out on the way); the first unit is cut before the
folder is touched, so an input with nothing to run leaves no folder behind. The run folder's records
(`RunRecord`) refuse a folder of another run and redo damaged units; the runtime produces the units still to do and
hands each to `UnitCommitter` (shards, then marker, then stats and card); the run ends with stats.json,
manifest.json and the card. Problems found before the folder is opened raise `RunInputError` / `SourceError`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import factory
from factory.logs import attach as attach_library_log
from factory.output.run_folder import RunFolder, folder_name, is_run_folder
from factory.output.run_record import RunRecord, now
from factory.progress import Progress
from factory.prompts.gold_cache import GoldCache
from factory.prompts.sources import PromptStream, rows_estimate
from factory.prompts.unit_stream import UnitStream
from factory.recipe import Recipe
from factory.runtimes.base import PreflightError, Runtime
from factory.stats import RunTotals, summarize, totals_of
from factory.verification.judge_client import JudgeUnavailableError, check_judge
from factory.verification.verify import UnitResult, create_verifiers

MODES = ("generate", "verify", "curate")


class RunInputError(ValueError):
    """The run cannot start with this input (every row skipped, ...); nothing was written."""


@dataclass
class RunResult:
    out: Path
    summary: dict[str, Any]

    @property
    def complete(self) -> bool:
        return bool(self.summary.get("complete"))


def run_fingerprint(recipe: Recipe, identity: dict[str, Any]) -> str:
    """The run's identity: the recipe's row-deciding settings and the input's content (or Hub revision)."""
    blob = json.dumps({"recipe": recipe.fingerprinted(), "input": identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_out(recipe: Recipe, fingerprint: str) -> Path:
    return Path("runs") / folder_name(recipe.name, fingerprint[:8])


def splits_of(recipe: Recipe) -> list[str]:
    """The splits of the default config, then `pairs` (its own config) when the recipe asks for pairs."""
    splits = ["accepted", "rejected"] if recipe.output.keep_rejected else ["accepted"]
    return splits + (["pairs"] if recipe.output.pairs is not None else [])


def default_runtime(mode: str, source: PromptStream, ray_address: str | None) -> Runtime:
    if mode == "generate":
        from factory.runtimes.ray_runtime import RayRuntime

        return RayRuntime(ray_address)
    from factory.runtimes.replay import ReplayRuntime

    return ReplayRuntime(source.first_model() or "external")


class UnitCommitter:
    """The commit callback the runtime calls for each finished unit: shards, then marker, then stats and card.
    Keeps running totals, so each commit costs the same however long the run."""

    def __init__(self, record: RunRecord, stream: UnitStream, progress: Progress, runtime: Runtime,
                 earlier_wall: float) -> None:
        self.record, self.stream, self.progress, self.runtime = record, stream, progress, runtime
        self.started = time.monotonic()
        self.earlier_wall = earlier_wall
        self.totals: RunTotals = totals_of(m["stats"] for m in record.done.values())
        self.counters: dict[str, Any] = {}
        """The runtime's latest counters for this invocation (kept: the runtime is closed before the end)."""
        self._skipped_shown = self._dropped_shown = 0

    def wall(self) -> float:
        return self.earlier_wall + time.monotonic() - self.started

    def __call__(self, unit: int, result: UnitResult, seconds: dict[str, float]) -> None:
        prompts = self.stream.committed(unit)
        recipe = self.record.recipe
        if self.record.run_info["sampling"]:  # generated here: what fixed n would have cost (adaptive's baseline)
            result.stats.fixed_n_samples = len(prompts) * recipe.generation.n
        marker = {"unit": unit, "prompt_ids": [p.prompt_id for p in prompts],
                  "rows": {split: len(rows) for split, rows in result.rows_by_split.items()},
                  "stats": result.stats.to_dict(), "unwritable": result.unwritable, "seconds": seconds,
                  "wall_seconds": round(self.wall(), 3), "committed": now()}
        # The engine's counters are recorded before the commit point: a kill right after the marker must not lose
        # the requests that produced the unit (a request sent counts, committed or not; the journal spares its cost).
        self.refresh_counters()
        self.record.commit(unit, result.rows_by_split, marker)
        self.stream.gold.flush(self.record.folder.meta)
        self.totals.add(result.stats)
        self.notes()
        for item in result.unwritable:
            self.progress.event("skipped", message=f"sample {item['id']}: field '{item['field']}': {item['reason']}")
        self.progress.unit_done(unit, len(prompts), result.stats.generated, result.stats.passed,
                                self.counters)
        self.record.folder.write_json("stats.json", self.summary())
        self.record.write_card(None)

    def refresh_counters(self) -> None:
        """Take the runtime's latest counters (kept if it has none, e.g. once closed) and record them in the folder."""
        self.counters = self.runtime.counters() or self.counters
        self.record.record_engine(self.counters)

    def notes(self) -> None:
        """Log the rows skipped and the prompts dropped since the last call (they are met as the stream is read)."""
        skipped, dropped = self.stream.skipped, self.stream.curation.dropped
        for row in skipped[self._skipped_shown:]:
            self.progress.event("skipped", message=str(row))
        for item in dropped[self._dropped_shown:]:
            evidence = ", ".join(f"{k}: {v!r}" for k, v in item.details.items())
            self.progress.event("dropped", message=f"prompt {item.prompt_id}: {item.reason} ({evidence})",
                                prompt_id=item.prompt_id, reason=item.reason)
        self._skipped_shown, self._dropped_shown = len(skipped), len(dropped)

    def units_total(self) -> int | None:
        """Known once the stream is read to its end."""
        return self.stream.units_seen if self.stream.exhausted else None

    def summary(self) -> dict[str, Any]:
        total = self.units_total()
        done = self.record.done
        units_done = len(done) if total is None else sum(1 for u in done if u < total)
        summary = summarize(self.totals, wall_seconds=self.wall(), units_done=units_done,
                            units_total=total if total is not None else max(done, default=-1) + 1,
                            skipped_prompts=len(self.stream.skipped),
                            dropped_prompts=self.stream.curation.counts())
        if total is None:
            summary["complete"] = False
        engine = self.record.engine_totals(self.counters)
        if engine:
            summary["engine"] = engine
        return summary


def run(recipe: Recipe, *, mode: str = "generate", out: str | Path | None = None, log_json: bool = False,
        ray_address: str | None = None, source: PromptStream | None = None,
        runtime: Runtime | None = None) -> RunResult:
    """Run `recipe` in `mode` (generate, verify or curate) into `out` (default `runs/<recipe>-<fingerprint>`);
    resumable: the same call again continues where the last one stopped.

    `source` defaults to the recipe's prompts (traces for verify and curate); `runtime` to Ray engines for generate
    and in-process verification otherwise. Raises RunInputError / RecipeError / SourceError before anything is
    written, RunFolderError when the folder cannot be used (RunFolderLocked when another process holds it);
    anything raised while units are being produced leaves every committed unit in place. A problem met deep in the
    source (a duplicate id at row 1,500,000) stops the run there with a SourceError; committed units are kept.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    source = source or PromptStream(recipe.prompts, recipe.template, limit=recipe.limit, traces=mode != "generate")
    runtime = runtime or default_runtime(mode, source, ray_address)
    verifiers = create_verifiers(recipe.verifiers)  # constructing them is the preflight (e.g. the code sandbox)
    try:
        return _run(recipe, mode, source, runtime, out, log_json, verifiers)
    finally:
        for verifier in verifiers:
            verifier.close()


def _run(recipe: Recipe, mode: str, source: PromptStream, runtime: Runtime, out: str | Path | None,
         log_json: bool, verifiers: list[Any]) -> RunResult:
    fingerprint = run_fingerprint(recipe, source.identity)
    out = Path(out) if out else default_out(recipe, fingerprint)
    # Read without the lock, as a cache: the rerun of a folder of this run skips the gold checks it already made.
    gold = GoldCache.load(out / ".factory") if is_run_folder(out) else GoldCache()
    stream = UnitStream(source, recipe, verifiers, gold, curate=mode != "verify")
    if stream.start() is None:
        skipped = stream.skipped
        first = f"; first: {skipped[0]}" if skipped else ""
        raise RunInputError(f"{source.origin}: no prompt left to run ({len(skipped)} rows skipped, "
                            f"{len(stream.curation.dropped)} dropped by curation){first}")
    run_info = {"model": runtime.model_name(recipe), "recipe": recipe.name, "run_fingerprint": fingerprint,
                "sampling": runtime.sampling(recipe), "factory_version": factory.__version__,
                "verifier_versions": {v.name: v.version for v in verifiers}}
    folder_done = RunFolder(out).completed_units() if is_run_folder(out) else {}
    if 0 not in folder_done:  # work certainly remains: check the runtime before the folder is touched
        _preflight(runtime, recipe)
    with RunFolder(out) as folder:
        attach_library_log(folder.meta / "logs")  # other libraries' lines, once the CLI routes them (factory/logs.py)
        record = RunRecord(folder, recipe, run_info, source.identity, splits_of(recipe))
        progress = Progress(label=mode, total_prompts=_prompts_estimate(mode, source, recipe), json_lines=log_json)
        try:
            earlier = record.open(progress.event)
            progress.advance(sum(len(m.get("prompt_ids", [])) for m in record.done.values()))
            progress.event("start", message=f"{recipe.name}: {source.origin} -> {out} ({len(record.done)} units "
                           "already done)", run_dir=str(out), fingerprint=fingerprint)
            committer = UnitCommitter(record, stream, progress, runtime, earlier)
            work = stream.work(record.done)
            first = next(work, None)  # reads past the units already committed
            if first is not None:
                try:
                    if 0 in folder_done:
                        _check_judge(recipe)
                        runtime.preflight(recipe)
                    runtime.open(recipe, run_info, progress.event, folder.meta)
                    runtime.run(_chain(first, work), committer)
                    committer.refresh_counters()
                finally:
                    runtime.close()
            for _ in work:  # a runtime that stopped early (failed units) leaves the stream unread: read it
                pass
            committer.notes()
            stream.gold.flush(folder.meta)
            summary = committer.summary()
            record.finish(summary, runtime.versions(), stream.skipped, stream.curation, committer.wall())
            if summary["complete"]:  # the HTML view of the finished run; a failure there is only a warning
                from factory.output.report import write_run_report

                write_run_report(out, progress.event)
        finally:
            progress.close()
    return RunResult(out, summary)


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest


def _prompts_estimate(mode: str, source: PromptStream, recipe: Recipe) -> int | None:
    """The bar's total: the prompt file's row count capped by the limit; unknown (None) for traces, whose rows
    are samples rather than prompts, and for sources whose length is not known up front."""
    if mode != "generate":
        return None
    estimate = rows_estimate(source)
    if estimate is None:
        return None
    return min(estimate, recipe.limit) if recipe.limit is not None else estimate


def _preflight(runtime: Runtime, recipe: Recipe) -> None:
    """The judge's and the runtime's checks: a run that can never work stops before its folder is touched."""
    try:
        _check_judge(recipe)
        runtime.preflight(recipe)
    except Exception:
        runtime.close()
        raise


def _check_judge(recipe: Recipe) -> None:
    try:
        check_judge(recipe.judge)
    except JudgeUnavailableError as exc:
        raise PreflightError(str(exc)) from None
