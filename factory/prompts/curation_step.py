"""Curation before generation, as the run applies it: the recipe's decontamination and prompt dedup.

`make_curator` builds the recipe's `factory.prompts.curation.PromptCurator` (benchmark n-gram decontamination, then
exact, then near-duplicate prompts; the first of a duplicate group is kept), which `factory.prompts.unit_stream` runs over
the prompt stream in source order; `CurationReport` collects every dropped prompt with its reason and evidence, for
the funnel (`dropped_prompts`), the progress log and manifest.json.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from factory.recipe import Recipe
from factory.prompts.sources import SourceError

@dataclass
class CurationReport:
    dropped: list[Any] = field(default_factory=list)
    """`factory.prompts.curation.Dropped` items, in source order."""

    def counts(self) -> dict[str, int]:
        return dict(Counter(d.reason for d in self.dropped).most_common())

    def listing(self, limit: int) -> list[dict[str, Any]]:
        return [{"prompt_id": d.prompt_id, "reason": d.reason, **d.details} for d in self.dropped[:limit]]


def make_curator(recipe: Recipe) -> Any:
    """The recipe's `factory.prompts.curation.PromptCurator` (benchmarks loaded once), or None when it curates nothing.
    Raises SourceError naming the file and column of a benchmark that cannot be used."""
    settings = recipe.prompts
    if settings.decontaminate is None and settings.dedup is None:
        return None
    from factory.prompts.curation import PromptCurator

    try:
        return PromptCurator(settings.decontaminate, settings.dedup)
    except (ValueError, OSError) as exc:  # a benchmark file that is missing, empty or lacks its column
        raise SourceError(f"prompts.decontaminate: {exc}") from exc
