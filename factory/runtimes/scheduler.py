"""The driver's scheduling loop for generation and verification, apart from Ray (testable without a cluster).

`Scheduler.run` pulls work units only for free engine slots (`placement.Intake`), sends each to an engine, hands the
completions to a verifier (with adaptive sampling: round by round, counting what passed), and commits each verified
unit through the run's callback. It asks the cluster for everything through `ClusterCalls`, whose calls return
handles that `wait` reports ready and `result` opens:
- `result` raises `EngineLost` when the engine's process or node went away: the unit goes first in line to the
  next free engine, and the engine is asked every `rejoin_poll_s` whether it is back (`EngineRestarting` while its
  restart is under way; any other error from `ready` means it is gone for good);
- `result` raises `UnitGaveUp` when the teacher kept failing a unit after every retry: that unit is left
  uncommitted (`failed_units`) and the others go on; any other error stops the run.
When no engine is serving for `wait_timeout_s` with work left, the run stops with `EnginesNotReadyError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from factory.prompts.unit_stream import WorkUnit
from factory.runtimes.adaptive import AdaptiveSettings, AdaptiveUnit
from factory.runtimes.placement import Intake

Handle = Any


class EngineLost(Exception):
    """The engine's process or node went away during a call."""


class EngineRestarting(EngineLost):
    """The engine is being restarted: a call in flight is lost with it; a `ready` call asks again later."""


class UnitGaveUp(Exception):
    """The unit's generation failed for good (an HTTP teacher unavailable after every retry); the run goes on."""


class EnginesNotReadyError(RuntimeError):
    """No engine actor was serving for `resources.wait_timeout_s` (none started, or all were lost): exit 1."""


class ClusterCalls(Protocol):
    """The calls the scheduler makes; the Ray runtime answers them with its actors."""

    engines: int
    verifiers: int

    def generate(self, engine: int, unit: int, prompts: list, n: int, first: int) -> Handle: ...
    def count_passed(self, verifier: int, unit: int, prompts: list, completions: list) -> Handle: ...
    def verify(self, verifier: int, unit: int, prompts: list, completions: list) -> Handle: ...
    def ready(self, engine: int) -> Handle: ...
    def wait(self, handles: list[Handle], timeout: float) -> list[Handle]: ...
    def result(self, handle: Handle) -> Any: ...
    def needs(self) -> str: ...


@dataclass
class Scheduler:
    calls: ClusterCalls
    commit: Callable[[int, Any, dict[str, float]], None]
    event: Callable[..., None]
    per_engine: int
    verify_limit: int
    n: int
    adaptive: AdaptiveSettings | None = None
    wait_timeout_s: float = 1800.0
    rejoin_poll_s: float = 2.0
    note_every_s: float = 30.0
    joining: dict[Handle, int] = field(default_factory=dict)
    """ready() calls of engines not serving yet -> engine index."""
    failed_units: dict[int, str] = field(default_factory=dict)
    intake: Intake[WorkUnit] | None = None
    _units: dict[int, WorkUnit] = field(default_factory=dict)
    _tasks: dict[Handle, tuple[str, int, int]] = field(default_factory=dict)
    _rounds: dict[int, AdaptiveUnit] = field(default_factory=dict)
    _seconds: dict[int, dict[str, float]] = field(default_factory=dict)
    _retry_at: dict[int, float] = field(default_factory=dict)

    def run(self, work: Iterable[WorkUnit], serving: set[int]) -> None:
        """Generate, verify and commit every unit of `work` with the engines in `serving` (and those joining)."""
        self.intake = intake = Intake(work, self.per_engine, self.verify_limit)
        ready = sorted(serving)
        serving.clear()
        intake.serving = serving  # the caller's set stays the live one (its counters ask the serving engines)
        for engine in ready:
            intake.joined(engine)
        idle_since, next_note = None, time.monotonic() + self.note_every_s
        self._dispatch()
        while self._tasks or not intake.drained:
            now = time.monotonic()
            for engine, at in list(self._retry_at.items()):
                if now >= at:
                    del self._retry_at[engine]
                    self.joining[self.calls.ready(engine)] = engine
            if not intake.serving and not intake.drained:  # work is left but no engine can take it: wait
                idle_since = idle_since or now
                if (not self.joining and not self._retry_at) or now - idle_since > self.wait_timeout_s:
                    raise EnginesNotReadyError(
                        f"no engine actor serving for {now - idle_since:.0f} s with work left (all lost or never "
                        f"started; resources.wait_timeout_s={self.wait_timeout_s:g}); {self.calls.needs()}")
                if now > next_note:
                    self.event("waiting", message=f"no engine serving, waiting for {self.calls.engines} to come "
                               f"back; {self.calls.needs()}")
                    next_note = now + self.note_every_s
            else:
                idle_since = None
            waiting_on = [*self._tasks, *self.joining]
            if not waiting_on:  # only lost engines, asked again every rejoin_poll_s
                time.sleep(0.2)
                continue
            # A bounded wait, so the driver's signal handlers run between waits.
            ready = self.calls.wait(waiting_on, 1.0)
            if ready:
                self._handle(ready[0])
                self._dispatch()

    def _handle(self, handle: Handle) -> None:
        if handle in self.joining:
            self._rejoin(handle, self.joining.pop(handle))
            return
        kind, unit, engine = self._tasks.pop(handle)
        if kind == "generate":
            self._generated(handle, unit, engine)
        elif kind == "count":
            self._counted(handle, unit, engine)
        else:
            _, result, spent = self.calls.result(handle)
            self.intake.verification_done()
            self._seconds[unit]["verify"] += spent
            self._units.pop(unit, None)
            figures = {k: round(v, 3) for k, v in self._seconds.pop(unit).items()}
            self.commit(unit, result, {**figures, "engine": engine})

    def _dispatch(self) -> None:
        for engine, item in self.intake.assignments():
            unit = item.number
            self._units[unit], self._seconds[unit] = item, {"generate": 0.0, "verify": 0.0}
            if self.adaptive:
                self._rounds[unit] = AdaptiveUnit(item.prompts, self.adaptive)
                self._generate(engine, unit, *self._rounds[unit].first_round())
            else:
                self._generate(engine, unit, list(item.prompts), self.n, 0)

    def _generate(self, engine: int, unit: int, prompts: list, n: int, first: int) -> None:
        self._tasks[self.calls.generate(engine, unit, prompts, n, first)] = ("generate", unit, engine)

    def _verifier_of(self, unit: int) -> int:
        return unit % self.calls.verifiers

    def _verify(self, engine: int, unit: int, completions: list) -> None:
        self.intake.finished(engine)
        self.intake.verification_started()
        handle = self.calls.verify(self._verifier_of(unit), unit, list(self._units[unit].prompts), completions)
        self._tasks[handle] = ("verify", unit, engine)

    def _generated(self, handle: Handle, unit: int, engine: int) -> None:
        try:
            _, completions, spent = self.calls.result(handle)
        except EngineLost as exc:
            self._lose(engine, unit, exc)
            return
        except UnitGaveUp as exc:
            self.failed_units[unit] = str(exc)[:500]
            self.event("warning", message=f"unit {unit:05d} failed, a rerun retries it: {self.failed_units[unit]}")
            self._rounds.pop(unit, None)
            self._units.pop(unit, None)
            self.intake.finished(engine)
            return
        self._seconds[unit]["generate"] += spent
        if unit in self._rounds:
            counting = self.calls.count_passed(self._verifier_of(unit), unit, list(self._units[unit].prompts),
                                               completions)
            self._tasks[counting] = ("count", unit, engine)
        else:
            self._verify(engine, unit, completions)

    def _counted(self, handle: Handle, unit: int, engine: int) -> None:
        _, completions, passed, spent = self.calls.result(handle)
        self._seconds[unit]["verify"] += spent
        prompts, n, first = self._rounds[unit].add_round(completions, passed)
        if prompts:
            self._generate(engine, unit, prompts, n, first)
        else:
            self._verify(engine, unit, self._rounds.pop(unit).completions)

    def _lose(self, engine: int, unit: int, exc: BaseException) -> None:
        """The engine went away with this unit: the unit goes first in line, the engine rejoins when back."""
        self.intake.left(engine)
        self.intake.finished(engine)
        self._rounds.pop(unit, None)
        self.intake.redo(self._units.pop(unit))
        self.event("warning", message=f"engine {engine} lost ({exc}); unit {unit:05d} goes to the next free engine")
        if engine not in self._retry_at and engine not in self.joining.values():
            self._retry_at[engine] = 0.0

    def _rejoin(self, handle: Handle, engine: int) -> None:
        try:
            self.calls.result(handle)
        except EngineRestarting:  # being restarted (possibly waiting for a node): ask again soon
            self._retry_at[engine] = time.monotonic() + self.rejoin_poll_s
            return
        except Exception as exc:  # noqa: BLE001 - out of restarts, or it failed to start: go on without it
            self.event("warning", message=f"engine {engine} is gone for good: {str(exc)[:300]}")
            return
        self.intake.joined(engine)
        self.event("engines_ready", message=f"engine {engine} joined: {len(self.intake.serving)} of "
                   f"{self.calls.engines} engine(s) serving")
