"""Where engines and work units go: pure rules, no Ray here (`ray_runtime` applies them).

Engines. `engine_placement(resources)` says what one engine actor reserves:
- A plain engine (one GPU, a fraction of one, or the CPU build, whatever `tensor_parallel_size`) is one actor with
  `num_cpus`, `num_gpus` and the recipe's `engine_resources` (custom resources: only nodes started with them, e.g.
  `ray start --resources='{"engine": 1}'`, get engines; a head started without them gets none). On the CPU build
  tensor parallelism runs in processes on the actor's own node, so there is nothing more to reserve.
- An engine that spans several GPUs (`tensor_parallel_size` > 1 and `gpus_per_actor` > 0) gets a placement group
  of its own: one bundle per tensor-parallel rank, `{GPU: 1}`, the first also holding the actor's CPUs and custom
  resources, with strategy STRICT_PACK, so all of an engine's GPUs are on one node (vLLM's tensor parallelism needs
  the fast links inside a node) and are reserved together: an engine starts with all of them or waits, never holding
  half. The actor runs in bundle 0 holding no GPU itself and captures its child tasks, so vLLM's Ray executor starts
  one worker per GPU bundle inside the group (vLLM refuses bundles of more than one GPU, hence one per rank).

Units. `Intake` decides which engine gets the next unit and whether one may be pulled at all. Each serving engine has
`per_engine` slots; a unit is pulled from the work iterator only for a free slot, and goes to the engine whose slot
came free first (the free engine takes the next unit: work stealing, nothing is pre-assigned). A unit whose engine
was lost goes first in line for the next free slot. Verification backpressure: while `verify_limit` units are
waiting for (or in) verification, nothing new is pulled, so a slow verifier pool slows intake instead of growing
the driver's memory; units in flight never exceed engines x per_engine + verify_limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

STRICT_PACK = "STRICT_PACK"


class PlacementError(ValueError):
    """The resources section asks for an engine shape that cannot be placed (named in the message)."""


@dataclass(frozen=True)
class EnginePlacement:
    """What one engine actor reserves: its own actor options, and the bundles of its placement group (if any)."""

    num_cpus: float
    num_gpus: float
    resources: dict[str, float] = field(default_factory=dict)
    bundles: list[dict[str, float]] = field(default_factory=list)
    """Empty: a plain actor. Otherwise one bundle per tensor-parallel rank; the actor itself runs in bundle 0."""
    strategy: str = STRICT_PACK

    @property
    def uses_group(self) -> bool:
        return bool(self.bundles)

    def needs(self) -> str:
        """What one engine needs, for the waiting and timeout messages."""
        total: dict[str, float] = {"CPU": self.num_cpus, "GPU": self.num_gpus, **self.resources}
        if self.bundles:
            total = {}
            for bundle in self.bundles:
                for key, amount in bundle.items():
                    total[key] = total.get(key, 0) + amount
        text = ", ".join(f"{amount:g} {key}" for key, amount in total.items() if amount or key in ("CPU", "GPU"))
        return text + (f" on one node ({len(self.bundles)} bundles, {self.strategy})" if self.bundles else "")


def engine_placement(tensor_parallel_size: int, gpus_per_actor: float, cpus_per_actor: float,
                     engine_resources: dict[str, float] | None = None) -> EnginePlacement:
    """The reservation of one engine actor for these `resources.*` settings (see the module docstring)."""
    custom = {str(k): float(v) for k, v in (engine_resources or {}).items()}
    for name, amount in custom.items():
        if name in ("CPU", "GPU", "memory", "object_store_memory") or amount <= 0:
            raise PlacementError(f"resources.engine_resources: {name!r}: {amount:g} is not a custom resource amount "
                                 "(a positive number of a resource other than CPU/GPU; use cpus_per_actor and "
                                 "gpus_per_actor for those)")
    tp = tensor_parallel_size
    if tp <= 1 or gpus_per_actor == 0:
        return EnginePlacement(cpus_per_actor, gpus_per_actor, custom)
    if gpus_per_actor != tp:
        raise PlacementError(f"resources.tensor_parallel_size={tp} shards the model over {tp} GPUs (one per rank), "
                             f"but resources.gpus_per_actor={gpus_per_actor:g}; set gpus_per_actor={tp}")
    first = {"CPU": float(cpus_per_actor), "GPU": 1.0, **custom}
    bundles = [{k: v for k, v in first.items() if v}] + [{"GPU": 1.0} for _ in range(tp - 1)]
    return EnginePlacement(cpus_per_actor, 0, custom, bundles, STRICT_PACK)


class Intake(Generic[T]):
    """Free engine slots, units to redo, and the verification backlog; hands out (engine, unit) pairs."""

    def __init__(self, work: Iterable[T], per_engine: int, verify_limit: int) -> None:
        assert per_engine >= 1 and verify_limit >= 1
        self._work: Iterator[T] = iter(work)
        self.per_engine, self.verify_limit = per_engine, verify_limit
        self._free: deque[int] = deque()  # one entry per free slot, the engine whose slot came free first at the left
        self._redo: deque[T] = deque()
        self.busy: dict[int, int] = {}
        self.serving: set[int] = set()
        self.verifying = 0
        self.exhausted = False
        self.pulled = 0

    @property
    def drained(self) -> bool:
        """Nothing left to hand out: the work iterator ended and no unit waits to be redone."""
        return self.exhausted and not self._redo

    def joined(self, engine: int) -> None:
        """An engine is ready (first start, late start, or back after a restart): its free slots join the queue."""
        if engine not in self.serving:
            self.serving.add(engine)
            self._free.extend([engine] * (self.per_engine - self.busy.get(engine, 0)))

    def left(self, engine: int) -> None:
        """An engine was lost (its node went away, its process died): it gets nothing until it joins again."""
        self.serving.discard(engine)
        self._free = deque(e for e in self._free if e != engine)

    def finished(self, engine: int) -> None:
        """One of this engine's units is out of generation (done, failed, or lost): its slot is free again."""
        self.busy[engine] = max(0, self.busy.get(engine, 0) - 1)
        if engine in self.serving:
            self._free.append(engine)

    def redo(self, unit: T) -> None:
        """A unit lost with its engine: first in line for the next free slot of any engine."""
        self._redo.append(unit)

    def verification_started(self) -> None:
        self.verifying += 1

    def verification_done(self) -> None:
        self.verifying -= 1

    def assignments(self) -> Iterator[tuple[int, T]]:
        """(engine, unit) for every free slot, while the verification backlog has room and there is work."""
        while self._free and self.verifying < self.verify_limit:
            if self._redo:
                unit = self._redo.popleft()
            elif self.exhausted:
                return
            else:
                item: Any = next(self._work, None)
                if item is None:
                    self.exhausted = True
                    return
                unit = item
                self.pulled += 1
            engine = self._free.popleft()
            self.busy[engine] = self.busy.get(engine, 0) + 1
            yield engine, unit
