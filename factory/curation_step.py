"""Curation before generation, as the run applies it: the recipe's decontamination and prompt dedup.

`curate_prompts` runs `factory.curation.PromptCurator` (benchmark n-gram decontamination, then exact, then
near-duplicate prompts; the first of a duplicate group is kept) over the screened prompts in source order and
returns the survivors with a `CurationReport`: every dropped prompt with its reason and evidence, for the funnel
(`dropped_prompts`), the progress log and manifest.json. With neither setting in the recipe it is a no-op.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from factory.recipe import Recipe
from factory.sources import SourceError
from verifiers.types import Prompt

CURATION_BATCH = 4096  # prompts per call: the curator is stateful, so batching changes nothing but memory


@dataclass
class CurationReport:
    dropped: list[Any] = field(default_factory=list)
    """`factory.curation.Dropped` items, in source order."""

    def counts(self) -> dict[str, int]:
        return dict(Counter(d.reason for d in self.dropped).most_common())

    def listing(self, limit: int) -> list[dict[str, Any]]:
        return [{"prompt_id": d.prompt_id, "reason": d.reason, **d.details} for d in self.dropped[:limit]]


def curate_prompts(recipe: Recipe, prompts: list[Prompt]) -> tuple[list[Prompt], CurationReport]:
    settings = recipe.prompts
    if settings.decontaminate is None and settings.dedup is None:
        return prompts, CurationReport()
    from factory.curation import PromptCurator
    from factory.curation.settings import parse_decontaminate, parse_dedup

    try:
        curator = PromptCurator(parse_decontaminate(settings.decontaminate, "prompts.decontaminate"),
                                parse_dedup(settings.dedup, "prompts.dedup"))
    except (ValueError, OSError) as exc:  # a benchmark file that is missing, empty or lacks its column
        raise SourceError(f"prompts.decontaminate: {exc}") from exc
    kept_ids: set[str] = set()
    report = CurationReport()
    for start in range(0, len(prompts), CURATION_BATCH):
        batch = prompts[start:start + CURATION_BATCH]
        kept, dropped = curator.filter([(p.prompt_id, p.problem) for p in batch])
        kept_ids.update(kept)
        report.dropped.extend(dropped)
    return [p for p in prompts if p.prompt_id in kept_ids], report
