"""Work units cut from a prompt stream, in order: the driver never holds more than the units in flight.

`UnitStream` reads the source row by row (`factory.prompts.sources.PromptStream`), drops prompts whose gold data no verifier
can check (skipped rows, with file, row and field) and those curation drops (decontamination, duplicates: stateful
over the whole stream, so the first of a group is kept whatever the batching), and cuts the survivors into units of
`prompts_per_shard`, numbered 00000, 00001, ... Numbering depends only on the source and the recipe, so a resume,
which reads the stream again from the start, knows every unit by its number: units already committed are counted and
passed over, never sent again (and their gold checks come from the run folder's cache, `factory.prompts.gold_cache`). The
prompts of a unit handed out are kept in `in_flight` until it is committed.

What grows with the source: the ids seen (to refuse duplicates), the curation state (hashes), and the lists of
skipped rows and dropped prompts; not the prompts themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Container, Iterator, Sequence

from factory.prompts.curation_step import CurationReport, make_curator
from factory.prompts.gold_cache import GoldCache
from factory.recipe import Recipe
from factory.prompts.sources import PromptStream, SkippedRow
from verifiers.base import Verifier
from verifiers.types import Completion, Prompt

CURATION_BATCH = 256  # prompts per curator call: the curator is stateful, so this changes nothing but overhead


@dataclass
class WorkUnit:
    """One work unit as a runtime receives it: its number, its prompts, and (traces made elsewhere) the completions
    of each prompt, in input order."""

    number: int
    prompts: list[Prompt]
    completions: dict[str, list[Completion]] = field(default_factory=dict)


class UnitStream:
    """`curate`: apply the recipe's prompt filters (decontamination, prompt dedup); `factory verify` does not."""

    def __init__(self, prompts: PromptStream, recipe: Recipe, verifiers: Sequence[Verifier],
                 gold: GoldCache | None = None, *, curate: bool = True) -> None:
        self.prompts = prompts
        self.gold = gold or GoldCache()
        self.size = recipe.output.prompts_per_shard
        self.verifiers = verifiers
        self.curator = make_curator(recipe) if curate else None
        self.curation = CurationReport()
        self.units_seen = 0
        self.exhausted = False
        self.in_flight: dict[int, list[Prompt]] = {}
        """Prompts of the units handed out and not committed yet (`work` adds, `committed` takes)."""
        self._units: Iterator[WorkUnit] | None = None
        self.first: WorkUnit | None = None

    @property
    def skipped(self) -> list[SkippedRow]:
        return self.prompts.skipped

    def start(self) -> WorkUnit | None:
        """Cut the first unit now (before any folder is touched); None when the source holds nothing to run."""
        self._units = self.units()
        self.first = next(self._units, None)
        return self.first

    def work(self, done: Container[int]) -> Iterator[WorkUnit]:
        """The units not in `done`, cut lazily from the stream (after `start`); each is in flight until
        `committed`. Reading on to the end of the stream counts every unit (`units_seen`, `exhausted`)."""
        assert self._units is not None, "start() first"
        head = [self.first] if self.first is not None else []
        for unit in chain(head, self._units):
            if unit.number not in done:
                self.in_flight[unit.number] = unit.prompts
                yield unit

    def committed(self, number: int) -> list[Prompt]:
        """The prompts of a unit the runtime has finished (no longer in flight)."""
        return self.in_flight.pop(number)

    def units(self) -> Iterator[WorkUnit]:
        """Every unit in order, numbered from 0."""
        buffer: list[tuple[Prompt, list[Completion] | None]] = []
        batch: list[tuple[Prompt, list[Completion] | None]] = []
        for prompt, number, completions in self.prompts:
            reason = self.gold.screen(prompt, self.verifiers)
            if reason:
                self.prompts.skipped.append(SkippedRow(self.prompts.origin, number, "gold",
                                                       f"{reason} ({str(prompt.gold)[:80]!r})"))
                continue
            batch.append((prompt, completions))
            if len(batch) >= min(CURATION_BATCH, self.size):
                buffer += self._curate(batch)
                batch = []
                while len(buffer) >= self.size:
                    yield self._unit(buffer[:self.size])
                    buffer = buffer[self.size:]
        buffer += self._curate(batch)
        while buffer:
            yield self._unit(buffer[:self.size])
            buffer = buffer[self.size:]
        self.exhausted = True

    def _curate(self, batch: list[tuple[Prompt, Any]]) -> list[tuple[Prompt, Any]]:
        if not batch or self.curator is None:
            return batch
        kept, dropped = self.curator.filter([(p.prompt_id, p.problem) for p, _ in batch])
        self.curation.dropped.extend(dropped)
        keep = set(kept)
        return [item for item in batch if item[0].prompt_id in keep]

    def _unit(self, items: list[tuple[Prompt, list[Completion] | None]]) -> WorkUnit:
        number = self.units_seen
        self.units_seen += 1
        return WorkUnit(number, [p for p, _ in items], {p.prompt_id: c for p, c in items if c is not None})
