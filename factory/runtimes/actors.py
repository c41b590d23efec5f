"""The two kinds of worker the Ray runtime starts, as plain classes (`ray.remote` wraps them in `ray_runtime`):
a generation actor owns one engine; a verification actor owns warm verifiers. Neither imports Ray."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from factory.engines import EngineSpec, create_engine
from factory.engines.base import SamplingConfig
from factory.recipe import Judge, Output, Selection, VerifierSpec
from factory.verification.judge import judge_stage
from factory.verification.verify import UnitResult, create_verifiers, verify_prompt, verify_unit
from verifiers.types import Completion, Prompt, Verdict


class GenerationActor:
    """Owns one engine for its lifetime. Created through `ray.remote(...)` in `RayRuntime`."""

    def __init__(self, spec: EngineSpec) -> None:
        self.engine = create_engine(spec)

    def ready(self) -> bool:
        return True

    def counters(self) -> dict[str, Any]:
        counters = getattr(self.engine, "counters", None)
        return counters() if callable(counters) else {}

    def generate(self, unit: int, prompts: list[Prompt], sampling: SamplingConfig,
                 first_index: int = 0) -> tuple[int, list[Completion], float]:
        started = time.monotonic()
        completions = (self.engine.generate(prompts, sampling, first_index) if first_index
                       else self.engine.generate(prompts, sampling))
        return unit, completions, time.monotonic() - started

    def close(self) -> None:
        self.engine.close()


class VerificationActor:
    """Holds instantiated verifiers (their worker processes stay warm across units)."""

    def __init__(self, specs: list[VerifierSpec], selection: Selection, output: Output,
                 run_info: dict[str, Any], judge: Judge | None = None, judge_engine: Any = None,
                 state_dir: Path | None = None) -> None:
        self.verifiers = create_verifiers(specs)
        self.selection, self.output, self.run_info = selection, output, run_info
        # The judge: an HTTP client of its own here, or `judge_engine`, a proxy to the judge's own engine actor.
        self.judge = judge_stage(judge, state_dir, judge_engine) if judge is not None else None
        # Verdicts of adaptive rounds, reused by the unit's final verification (a restarted actor recomputes).
        self._known: dict[int, dict[tuple[str, int], list[Verdict]]] = {}

    def count_passed(self, unit: int, prompts: list[Prompt],
                     completions: list[Completion]) -> tuple[int, list[Completion], dict[str, list[int]], float]:
        """Verify one adaptive round: the sample indices of each prompt's new samples that passed every verifier
        (`AdaptiveUnit` counts them by identity, as the accepted split keeps them)."""
        started = time.monotonic()
        known = self._known.setdefault(unit, {})
        passed = {}
        by_prompt: dict[str, list[Completion]] = {}
        for completion in completions:
            by_prompt.setdefault(completion.prompt_id, []).append(completion)
        for prompt in prompts:
            samples = by_prompt.get(prompt.prompt_id, [])
            verdicts = verify_prompt(self.verifiers, prompt, samples, self.selection.max_completion_chars)
            for completion, sample_verdicts in zip(samples, verdicts):
                known[(prompt.prompt_id, completion.sample_index)] = sample_verdicts
            passed[prompt.prompt_id] = [c.sample_index for c, vs in zip(samples, verdicts)
                                        if all(v.accepted for v in vs)]
        return unit, completions, passed, time.monotonic() - started

    def verify(self, unit: int, prompts: list[Prompt], completions: list[Completion]) -> tuple[int, UnitResult, float]:
        started = time.monotonic()
        result = verify_unit(self.verifiers, prompts, completions, selection=self.selection,
                             keep_rejected=self.output.keep_rejected, run_info=self.run_info,
                             pairs=self.output.pairs, known=self._known.pop(unit, None), judge=self.judge)
        return unit, result, time.monotonic() - started

    def close(self) -> None:
        for verifier in self.verifiers:
            verifier.close()
        if self.judge is not None:
            self.judge.client.close()
