"""The Ray runtime: generation actors (one vLLM engine each) and verification actors, driven by the driver.

Flow per work unit: an engine actor generates n samples per prompt; the driver hands the completions to a
verification actor (CPU) and immediately gives the engine its next unit, so generation of unit k+1 overlaps
verification of unit k (each engine actor always has up to two units queued, and runs both at once in one
running batch, so the tail of one unit overlaps the start of the next). Finished units come back to the
driver, which commits them (shards, then marker) through the `commit` callback: only the driver writes files.

A crashed actor is restarted by Ray and its queued calls retried (`max_restarts`, `max_task_retries`), so the unit
it held is redone whole. Ray is local by default (`ray.init()` with this machine's CPUs) or a cluster given by
`--ray-address` / `RAY_ADDRESS`. This is the only module that imports Ray.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any, Callable, Sequence

import ray

from factory.engines.base import SamplingConfig
from factory.recipe import Recipe, Selection, VerifierSpec
from factory.sources import resolve_data_path
from verifiers.types import Completion, Prompt
from factory.verification import UnitResult, create_verifiers, verify_unit

UNITS_QUEUED_PER_ENGINE = 2
ACTOR_RESTARTS = 3
CommitFn = Callable[[int, UnitResult, dict[str, float]], None]


class GenerationActor:
    """Owns one engine for its lifetime. Created through `ray.remote(...)` in `RayRuntime`."""

    def __init__(self, model: str, tensor_parallel_size: int, engine_kwargs: dict[str, Any]) -> None:
        from factory.engines.vllm_engine import VLLMEngine

        self.engine = VLLMEngine(model, tensor_parallel_size=tensor_parallel_size, engine_kwargs=engine_kwargs)

    def ready(self) -> bool:
        return True

    def generate(self, unit: int, prompts: list[Prompt], sampling: SamplingConfig) -> tuple[int, list[Completion], float]:
        started = time.monotonic()
        completions = self.engine.generate(prompts, sampling)
        return unit, completions, time.monotonic() - started

    def close(self) -> None:
        self.engine.close()


class VerificationActor:
    """Holds instantiated verifiers (their worker processes stay warm across units)."""

    def __init__(self, specs: list[VerifierSpec], selection: Selection, keep_rejected: bool,
                 run_info: dict[str, Any]) -> None:
        self.verifiers = create_verifiers(specs)
        self.selection, self.keep_rejected, self.run_info = selection, keep_rejected, run_info

    def verify(self, unit: int, prompts: list[Prompt], completions: list[Completion]) -> tuple[int, UnitResult, float]:
        started = time.monotonic()
        result = verify_unit(self.verifiers, prompts, completions, selection=self.selection,
                             keep_rejected=self.keep_rejected, run_info=self.run_info)
        return unit, result, time.monotonic() - started

    def close(self) -> None:
        for verifier in self.verifiers:
            verifier.close()


def init_ray(address: str | None, recipe: Recipe) -> bool:
    """Connect to a cluster or start a local instance; returns True if this call started Ray."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    res = recipe.resources
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        wanted = res.engine_actors * res.cpus_per_actor + res.verify_cpus
        ray.init(num_cpus=max(os.cpu_count() or 1, int(wanted + 0.999)), include_dashboard=False,
                 log_to_driver=True)
    return True


def shutdown_ray() -> None:
    ray.shutdown()


class RayRuntime:
    """Runs the units of a plan on Ray. Use as a context manager; actors are stopped on exit."""

    def __init__(self, recipe: Recipe, run_info: dict[str, Any]) -> None:
        res = recipe.resources
        # vLLM sizes its CPU thread pool from OMP_NUM_THREADS, which Ray pins to the actor's CPU share.
        env = {"OMP_NUM_THREADS": str(os.cpu_count() or 1), "VLLM_LOGGING_LEVEL":
               os.environ.get("VLLM_LOGGING_LEVEL", "ERROR"), "TOKENIZERS_PARALLELISM": "false"}
        # A threaded actor: the queued units' generate calls run at once and share the engine's running batch.
        engine_cls = ray.remote(GenerationActor).options(
            num_cpus=res.cpus_per_actor, num_gpus=res.gpus_per_actor, max_restarts=ACTOR_RESTARTS,
            max_task_retries=ACTOR_RESTARTS, max_concurrency=UNITS_QUEUED_PER_ENGINE + 1,
            runtime_env={"env_vars": env})
        verify_cls = ray.remote(VerificationActor).options(
            num_cpus=1, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS)
        model = recipe.generation.model
        local = resolve_data_path(model)
        model = str(local.resolve()) if local.exists() else model  # shipped models: relative to the project root
        self.engines = [engine_cls.remote(model, res.tensor_parallel_size, res.engine_kwargs)
                        for _ in range(res.engine_actors)]
        self.verifiers = [verify_cls.remote(recipe.verifiers, recipe.selection, recipe.output.keep_rejected,
                                            run_info) for _ in range(res.verify_cpus)]
        self._next_verifier = 0

    def __enter__(self) -> "RayRuntime":
        return self

    def __exit__(self, *exc: object) -> None:
        closing = [a.close.remote() for a in self.engines + self.verifiers]
        try:
            ray.wait(closing, num_returns=len(closing), timeout=30)
        finally:
            for actor in self.engines + self.verifiers:
                ray.kill(actor)

    def wait_ready(self) -> None:
        ray.get([engine.ready.remote() for engine in self.engines])

    def run(self, units: list[list[Prompt]], todo: Sequence[int], sampling: SamplingConfig, commit: CommitFn) -> None:
        """Generate, verify and commit every unit in `todo`; returns when all are committed."""
        queue = deque(todo)
        generating: dict[ray.ObjectRef, int] = {}
        verifying: dict[ray.ObjectRef, float] = {}

        def feed(engine_index: int) -> None:
            if queue:
                unit = queue.popleft()
                ref = self.engines[engine_index].generate.remote(unit, units[unit], sampling)
                generating[ref] = engine_index

        for engine_index in range(len(self.engines)):
            for _ in range(UNITS_QUEUED_PER_ENGINE):
                feed(engine_index)
        while generating or verifying:
            ready, _ = ray.wait(list(generating) + list(verifying), num_returns=1)
            ref = ready[0]
            if ref in generating:
                engine_index = generating.pop(ref)
                unit, completions, gen_seconds = ray.get(ref)
                feed(engine_index)
                verifier = self.verifiers[self._next_verifier % len(self.verifiers)]
                self._next_verifier += 1
                verifying[verifier.verify.remote(unit, units[unit], completions)] = gen_seconds
            else:
                gen_seconds = verifying.pop(ref)
                unit, result, verify_seconds = ray.get(ref)
                commit(unit, result, {"generate": round(gen_seconds, 3), "verify": round(verify_seconds, 3)})
