"""The replay runtime: traces made elsewhere (an API teacher, an old run) verified in this process.

`factory verify` reads rows that carry the prompt columns and a `completion`; rows sharing an id are the samples of
one prompt, numbered in input order. Each unit's completions are verified with the recipe's verifiers exactly as
`factory generate` verifies them, and committed through the same callback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

from factory.recipe import Recipe
from factory.prompts.unit_stream import WorkUnit
from factory.runtimes.base import CommitFn, EventFn, Runtime
from factory.verification.verify import create_verifiers, verify_unit


class ReplayRuntime(Runtime):
    """`model`: the traces' model, from the input's `model` column when it has one, else "external". Each work unit
    carries its prompts' completions."""

    def __init__(self, model: str = "external") -> None:
        self.model = model
        self._verifiers: list[Any] = []
        self._recipe: Recipe | None = None
        self._run_info: dict[str, Any] = {}

    def model_name(self, recipe: Recipe) -> str:
        return self.model

    def sampling(self, recipe: Recipe) -> dict[str, Any]:
        return {}  # made elsewhere: the recipe's sampling settings say nothing about these traces

    def open(self, recipe: Recipe, run_info: dict[str, Any], event: EventFn, state_dir: Path) -> None:
        self._recipe, self._run_info = recipe, run_info
        self._verifiers = create_verifiers(recipe.verifiers)

    def run(self, work: Iterable[WorkUnit], commit: CommitFn) -> None:
        assert self._recipe is not None, "open() first"
        for item in work:
            unit, prompts = item.number, item.prompts
            completions = [c for p in prompts for c in item.completions.get(p.prompt_id, [])]
            started = time.monotonic()
            result = verify_unit(self._verifiers, prompts, completions, selection=self._recipe.selection,
                                 keep_rejected=self._recipe.output.keep_rejected, run_info=self._run_info,
                                 pairs=self._recipe.output.pairs)
            commit(unit, result, {"verify": round(time.monotonic() - started, 3)})

    def close(self) -> None:
        for verifier in self._verifiers:
            verifier.close()
        self._verifiers = []
