"""The replay runtime: traces made elsewhere (an API teacher, an old run) verified in this process.

`factory verify` and `factory curate` read rows that carry the prompt columns and a `completion`; rows sharing an
id are the samples of one prompt, numbered in input order. Each unit's completions are verified with the recipe's
verifiers exactly as `factory generate` verifies them, and committed through the same callback.

Parallel: `resources.verify_cpus` units are verified at once (`* UNITS_PER_CPU` when a verifier is costly, as
`code` is: it spends its time waiting on sandboxes, not holding the interpreter), each by a worker thread holding
its own set of verifiers (verifiers need not be thread-safe; math's run in children of their own), so many
samples' tests are in flight together. Commits happen in the
calling thread as units finish, in completion order (a unit's commit is self-contained, as with the Ray runtime).
At most twice as many units as workers are read ahead of the commits.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable

from factory.recipe import Recipe
from factory.prompts.unit_stream import WorkUnit
from factory.runtimes.base import CommitFn, EventFn, Runtime
from factory.verification.judge import JudgeStage, judge_stage
from factory.verification.verify import UnitResult, create_verifiers, verify_unit

UNITS_PER_CPU = 4
"""Units verified at once per verification CPU: a sandbox spends much of its life starting and stopping (namespaces,
cgroups, reaping), so more units than CPUs keep the cores busy (measured by factory.bench.code_verify)."""


class ReplayRuntime(Runtime):
    """`model`: the traces' model, from the input's `model` column when it has one, else "external". Each work unit
    carries its prompts' completions."""

    def __init__(self, model: str = "external") -> None:
        self.model = model
        self._sets: queue.SimpleQueue[list[Any]] = queue.SimpleQueue()
        self._all_sets: list[list[Any]] = []
        self._recipe: Recipe | None = None
        self._run_info: dict[str, Any] = {}
        self._judge: JudgeStage | None = None
        self.workers = 1

    def model_name(self, recipe: Recipe) -> str:
        return self.model

    def sampling(self, recipe: Recipe) -> dict[str, Any]:
        return {}  # made elsewhere: the recipe's sampling settings say nothing about these traces

    def open(self, recipe: Recipe, run_info: dict[str, Any], event: EventFn, state_dir: Path) -> None:
        self._recipe, self._run_info = recipe, run_info
        first = create_verifiers(recipe.verifiers)
        waits = any(getattr(v, "costly", False) for v in first)  # sandboxes: worth more units than CPUs
        self.workers = max(1, recipe.resources.verify_cpus) * (UNITS_PER_CPU if waits else 1)
        for index in range(self.workers):
            verifiers = first if index == 0 else create_verifiers(recipe.verifiers)
            self._all_sets.append(verifiers)
            self._sets.put(verifiers)
        # One judge for every worker, in this process (its vLLM engine batches their calls; an HTTP client keeps
        # its own concurrency bound).
        self._judge = judge_stage(recipe.judge, state_dir)

    def _verify(self, item: WorkUnit) -> tuple[int, UnitResult, dict[str, float]]:
        assert self._recipe is not None
        prompts = item.prompts
        completions = [c for p in prompts for c in item.completions.get(p.prompt_id, [])]
        verifiers = self._sets.get()
        try:
            started = time.monotonic()
            result = verify_unit(verifiers, prompts, completions, selection=self._recipe.selection,
                                 keep_rejected=self._recipe.output.keep_rejected, run_info=self._run_info,
                                 pairs=self._recipe.output.pairs, judge=self._judge)
            return item.number, result, {"verify": round(time.monotonic() - started, 3)}
        finally:
            self._sets.put(verifiers)

    def run(self, work: Iterable[WorkUnit], commit: CommitFn) -> None:
        """Verify up to 2 x `workers` units at once and commit them in unit order (a unit that finishes early waits
        for the ones before it): the folder, the log and a stop in between look the same however many workers."""
        assert self._recipe is not None, "open() first"
        pending: deque[Future] = deque()  # in unit order

        def commit_ready(block: bool) -> None:
            while pending and (block or pending[0].done()):
                commit(*pending.popleft().result())
                block = False

        with ThreadPoolExecutor(self.workers, thread_name_prefix="verify") as pool:
            try:
                for item in work:
                    while len(pending) >= 2 * self.workers:
                        commit_ready(block=True)
                    pending.append(pool.submit(self._verify, item))
                    commit_ready(block=False)
                while pending:
                    commit_ready(block=True)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise

    def close(self) -> None:
        for verifiers in self._all_sets:
            for verifier in verifiers:
                verifier.close()
        self._all_sets = []
        self._sets = queue.SimpleQueue()
        if self._judge is not None:
            self._judge.client.close()
            self._judge = None
