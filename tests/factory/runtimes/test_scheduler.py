"""The scheduling loop without a cluster: engines and verifiers answered in memory (the Ray runtime's own tests run
the same loop on a real Ray instance)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from factory.prompts.unit_stream import WorkUnit
from factory.runtimes.adaptive import AdaptiveSettings
from factory.runtimes.scheduler import EngineLost, EnginesNotReadyError, Scheduler, UnitGaveUp
from verifiers.types import Completion, Prompt


def prompts(unit: int, count: int = 2) -> list[Prompt]:
    return [Prompt(f"u{unit}p{i}", [{"role": "user", "content": "q"}], "q", "1") for i in range(count)]


class MemoryCalls:
    """Calls answered at once. `lose`: generate calls that report their engine lost (once each);
    `give_up`: units whose generation fails for good; `passes`: samples per round that pass."""

    def __init__(self, engines: int = 2, verifiers: int = 1, lose: set[tuple[int, int]] = frozenset(),
                 give_up: set[int] = frozenset(), passes: int = 1) -> None:
        self.engines, self.verifiers = engines, verifiers
        self.lose, self.give_up, self.passes = set(lose), set(give_up), passes
        self.ids = itertools.count()
        self.answers: dict[int, Any] = {}
        self.generated: list[tuple[int, int, int, int]] = []  # (engine, unit, n, first)

    def _handle(self, answer: Any) -> int:
        handle = next(self.ids)
        self.answers[handle] = answer
        return handle

    def generate(self, engine, unit, prompts, n, first):
        self.generated.append((engine, unit, n, first))
        if (engine, unit) in self.lose:
            self.lose.discard((engine, unit))
            return self._handle(EngineLost("RayActorError"))
        if unit in self.give_up:
            return self._handle(UnitGaveUp("HTTP 503 after 6 retries"))
        samples = [Completion(p.prompt_id, first + i, f"s{first + i}") for p in prompts for i in range(n)]
        return self._handle((unit, samples, 0.01))

    def count_passed(self, verifier, unit, prompts, completions):
        passed = {p.prompt_id: [c.sample_index for c in completions if c.prompt_id == p.prompt_id][:self.passes]
                  for p in prompts}  # the sample indices that passed (distinct texts: each counts)
        return self._handle((unit, completions, passed, 0.01))

    def verify(self, verifier, unit, prompts, completions):
        return self._handle((unit, {"samples": len(completions)}, 0.01))

    def ready(self, engine):
        return self._handle(True)

    def wait(self, handles, timeout):
        return handles[:1]

    def result(self, handle):
        answer = self.answers.pop(handle)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def needs(self):
        return "each needs 1 CPU"


def schedule(calls: MemoryCalls, units: int, **kwargs: Any) -> tuple[Scheduler, dict[int, Any], list]:
    committed: dict[int, Any] = {}
    events: list = []

    def commit(unit, result, seconds):
        assert unit not in committed, f"unit {unit} committed twice"
        committed[unit] = result

    scheduler = Scheduler(calls, commit, lambda kind, **f: events.append((kind, f.get("message", ""))),
                          per_engine=2, verify_limit=2, n=kwargs.pop("n", 4), rejoin_poll_s=0.0, **kwargs)
    scheduler.run((WorkUnit(u, prompts(u)) for u in range(units)), set(range(calls.engines)))
    return scheduler, committed, events


def test_every_unit_is_committed_once_and_a_lost_engines_unit_is_redone():
    calls = MemoryCalls(lose={(0, 0), (1, 3)})
    scheduler, committed, events = schedule(calls, 6)
    assert sorted(committed) == list(range(6)) and not scheduler.failed_units
    assert all(result["samples"] == 8 for result in committed.values())
    assert sum(1 for kind, message in events if kind == "warning" and "lost" in message) == 2
    redone = [unit for _, unit, _, _ in calls.generated]
    assert redone.count(0) == 2 and redone.count(3) == 2


def test_a_unit_the_teacher_gave_up_on_is_left_out_and_the_rest_go_on():
    scheduler, committed, _ = schedule(MemoryCalls(give_up={2}), 5)
    assert sorted(committed) == [0, 1, 3, 4] and list(scheduler.failed_units) == [2]
    assert "503" in scheduler.failed_units[2]


def test_adaptive_rounds_stop_at_the_target_or_the_cap():
    calls = MemoryCalls(engines=1, passes=1)
    _, committed, _ = schedule(calls, 2, n=6, adaptive=AdaptiveSettings(target_accepted=2, round_n=2, cap=6))
    assert sorted(committed) == [0, 1]
    # one pass per round: a prompt needs two rounds of two samples to reach 2 passes
    assert [(unit, n, first) for _, unit, n, first in calls.generated if unit == 0] == [(0, 2, 0), (0, 2, 2)]
    assert committed[0]["samples"] == 8


def test_no_engine_left_and_none_coming_back_stops_the_run():
    class NeverBack(MemoryCalls):
        def ready(self, engine):
            return self._handle(RuntimeError("out of restarts"))

    calls = NeverBack(engines=1, lose={(0, 0)})
    with pytest.raises(EnginesNotReadyError):
        schedule(calls, 2)


def test_an_engine_restarting_mid_call_counts_as_lost_and_rejoins_later():
    from factory.runtimes.scheduler import EngineRestarting

    class Restarting(MemoryCalls):
        def __init__(self):
            super().__init__(engines=1)
            self.asked = 0

        def generate(self, engine, unit, prompts, n, first):
            if unit == 1 and not any(u == 1 for _, u, _, _ in self.generated):
                self.generated.append((engine, unit, n, first))
                return self._handle(EngineRestarting("temporarily unavailable"))
            return super().generate(engine, unit, prompts, n, first)

        def ready(self, engine):
            self.asked += 1
            return self._handle(EngineRestarting("still restarting") if self.asked == 1 else True)

    calls = Restarting()
    scheduler, committed, events = schedule(calls, 3)
    assert sorted(committed) == [0, 1, 2] and calls.asked == 2
    assert any("engine 0 joined" in message for _, message in events)
