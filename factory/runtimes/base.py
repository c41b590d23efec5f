"""The runtime interface: produce verified work units and hand each to the run's commit callback.

A runtime is opened once per run (`open`: start engines and verification workers, fail early when they cannot
start), then asked to produce the units still to do (`run`), then closed. Only the driver writes files: a runtime
never touches the run folder except through `commit`, which writes the unit's shards and then its marker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Iterable

from factory.prompts.unit_stream import WorkUnit
from factory.recipe import Recipe
from factory.verification.verify import UnitResult
from verifiers.types import Prompt

class PreflightError(RuntimeError):
    """The run can never start as configured (raised by `Runtime.preflight`, before any folder is touched)."""


CommitFn = Callable[[int, UnitResult, dict[str, float]], None]
"""commit(unit number, its verified rows and stats, seconds spent per stage)."""
EventFn = Callable[..., None]
"""event(kind, message=..., **fields): progress events (`engines_ready`, `waiting`, `warning`)."""


class Runtime(ABC):
    """Produces verified units. Use `open` / `close` (or `with runtime.opened(...)`)."""

    @abstractmethod
    def model_name(self, recipe: Recipe) -> str:
        """What the rows record as the model that wrote the traces."""

    def sampling(self, recipe: Recipe) -> dict[str, Any]:
        """The sampling settings the rows record (empty when the traces were made elsewhere)."""
        g = recipe.generation
        return {"n": g.n, "temperature": g.temperature, "top_p": g.top_p, "max_tokens": g.max_tokens}

    def preflight(self, recipe: Recipe) -> None:
        """Cheap checks before the run folder is touched (resources that can never be had, an unreachable or
        misconfigured teacher); raise with a message naming what is missing. Called only when work remains."""

    @abstractmethod
    def open(self, recipe: Recipe, run_info: dict[str, Any], event: EventFn, state_dir: Path) -> None:
        """Start engines and workers; raise when they can never start (named in the message). `state_dir` is the
        run folder's private folder (`.factory/`), e.g. for an HTTP engine's request journal."""

    @abstractmethod
    def run(self, work: Iterable[WorkUnit], commit: CommitFn) -> None:
        """Produce, verify and commit every unit of `work`; return when all are committed (or failed). `work` is
        pulled lazily, a unit when there is room for it, so a runtime holds only the units in flight."""

    def counters(self) -> dict[str, Any]:
        """Live figures for the progress line and stats.json (requests in flight, retries, cost...)."""
        return {}

    def versions(self) -> dict[str, str]:
        """Versions of the parts that ran (vLLM, Ray), for the manifest."""
        return {}

    def close(self) -> None:
        """Stop everything `open` started. Safe to call twice."""
