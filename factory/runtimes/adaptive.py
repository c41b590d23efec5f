"""Adaptive sampling: sample each prompt in rounds until it has enough verified samples, or reaches the cap.

With `generation.adaptive: {target_accepted: K, round_n: R}` and `generation.n` as the cap, every prompt of a work
unit gets R samples (indices 0..R-1); after the round is verified, the prompts with fewer than K samples that passed
every verifier and fewer than n samples in all get R more (indices R..2R-1, or fewer so as not to pass n), and so
on. An easy prompt stops after one round; a hard one keeps going to the cap. Every round of a unit goes to the
engine as one batch, beside the rounds of the other units in flight, so the engine stays full.

"Passed" counts what the accepted split can hold: with `selection.dedup_completions` on (the default), identical
passing completions (the same `selection.completion_key`) count once, so a prompt whose teacher repeats one trace
keeps sampling until it has K distinct ones or reaches the cap. With dedup off every passing sample counts.

Sample indices are deterministic (round r holds [r*R, min((r+1)*R, n))) and a unit is still the unit of resume:
a unit redone after a crash is redone from its first round, so every (prompt_id, sample_index) lands once.
`AdaptiveUnit` is the per-unit bookkeeping the runtime drives; `next_round` is the stop rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from factory.verification.selection import completion_key
from verifiers.types import Completion, Prompt


@dataclass(frozen=True)
class AdaptiveSettings:
    target_accepted: int
    """K: stop sampling a prompt once this many distinct samples of it passed every verifier."""
    round_n: int
    """R: samples per prompt per round."""
    cap: int
    """n: never more samples than this for one prompt (the recipe's generation.n)."""
    distinct: bool = True
    """Count passing samples by `completion_key` (the recipe's `selection.dedup_completions`)."""


def next_round(generated: int, passed: int, settings: AdaptiveSettings) -> int:
    """How many more samples a prompt gets in its next round (0: it is done)."""
    if passed >= settings.target_accepted or generated >= settings.cap:
        return 0
    return min(settings.round_n, settings.cap - generated)


@dataclass
class AdaptiveUnit:
    """One unit's rounds: which prompts still sample, and every completion so far."""

    prompts: Sequence[Prompt]
    settings: AdaptiveSettings
    completions: list[Completion] = field(default_factory=list)
    generated: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)  # distinct passing samples so far (see the settings)
    _passing: dict[str, set[str]] = field(default_factory=dict)  # their identities
    rounds: int = 0

    def first_round(self) -> tuple[list[Prompt], int, int]:
        """(prompts, samples each, first sample index) of round 0."""
        return list(self.prompts), min(self.settings.round_n, self.settings.cap), 0

    def add_round(self, completions: Sequence[Completion],
                  passed: dict[str, Sequence[int]]) -> tuple[list[Prompt], int, int]:
        """Record a verified round (`passed`: each prompt's sample indices that passed every verifier); return the
        next round (empty prompt list: the unit is complete). All prompts still sampling have the same number of
        samples so far, so one round is one (n, first index) for all."""
        self.rounds += 1
        self.completions.extend(completions)
        by_key = {(c.prompt_id, c.sample_index): c for c in completions}
        for completion in completions:
            self.generated[completion.prompt_id] = self.generated.get(completion.prompt_id, 0) + 1
        for prompt_id, indices in passed.items():
            found = self._passing.setdefault(prompt_id, set())
            for index in indices:
                found.add(completion_key(by_key[(prompt_id, index)]) if self.settings.distinct else str(index))
            self.passed[prompt_id] = len(found)
        wanted = [(p, next_round(self.generated.get(p.prompt_id, 0), self.passed.get(p.prompt_id, 0), self.settings))
                  for p in self.prompts]
        wanted = [(p, more) for p, more in wanted if more]
        if not wanted:
            return [], 0, 0
        first = {self.generated.get(p.prompt_id, 0) for p, _ in wanted}
        more = {m for _, m in wanted}
        assert len(first) == 1 and len(more) == 1, "prompts of one unit sample in lockstep"
        return [p for p, _ in wanted], more.pop(), first.pop()
