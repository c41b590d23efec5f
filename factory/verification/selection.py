"""Selection: which samples of one prompt that passed every verifier go to the `accepted` split, and which pairs.

In order, for one prompt's samples:
1. exact-duplicate completions collapse to their first sample (`selection:duplicate_completion`), when the recipe's
   `selection.dedup_completions` is on: identical traces add nothing to training;
2. the difficulty band: if the prompt's verified pass rate (passed / samples) is outside `selection.pass_rate`
   `{min, max}` (inclusive), none of its samples is kept (`selection:outside_pass_rate_band`);
3. at most `max_accepted_per_prompt` of the rest are kept, chosen by the strategy; the others are
   `selection:not_selected` (right answers, never used as the "rejected" side of a pair).
Preference pairs (`output.pairs`) join kept samples (chosen) with samples rejected for one of the pair reasons
(wrong answers and failed tests by default) of the same prompt.

Deterministic for a given prompt and set of samples (the `random` strategy seeds on the prompt id), so a redone
work unit selects the same samples given the same verdicts.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Sequence

from factory.recipe import PassRateBand
from verifiers.types import Completion

DUPLICATE = "duplicate_completion"
OUTSIDE_BAND = "outside_pass_rate_band"
NOT_SELECTED = "not_selected"
"""Rejection reasons that make a sample the "rejected" side of a pair: a wrong math answer, failed code tests."""


def select_accepted(prompt_id: str, accepted: Sequence[Completion], max_keep: int, strategy: str) -> set[int]:
    """Sample indices to keep among `accepted` completions of one prompt."""
    if len(accepted) <= max_keep:
        return {c.sample_index for c in accepted}
    if strategy == "first":
        ordered = sorted(accepted, key=lambda c: c.sample_index)
    elif strategy == "shortest":
        ordered = sorted(accepted, key=lambda c: (c.completion_tokens or len(c.text), c.sample_index))
    elif strategy == "random":
        seed = int.from_bytes(hashlib.sha256(prompt_id.encode()).digest()[:8], "big")
        ordered = sorted(accepted, key=lambda c: c.sample_index)
        random.Random(seed).shuffle(ordered)
    else:
        raise ValueError(f"unknown selection strategy '{strategy}' (first, shortest, random)")
    return {c.sample_index for c in ordered[:max_keep]}


def completion_key(completion: Completion) -> str:
    """A completion's identity for dedup: its text with whitespace normalised (adaptive sampling counts by it too)."""
    return " ".join(completion.text.split())


def duplicate_indices(passed: Sequence[Completion]) -> set[int]:
    """Sample indices of passed completions whose `completion_key` an earlier one already has."""
    seen: set[str] = set()
    duplicates = set()
    for completion in sorted(passed, key=lambda c: c.sample_index):
        key = completion_key(completion)
        if key in seen:
            duplicates.add(completion.sample_index)
        seen.add(key)
    return duplicates


def in_band(passed: int, samples: int, band: PassRateBand | None) -> bool:
    if not band or samples == 0:
        return True
    rate = passed / samples
    return band.min <= rate <= band.max


def choose_pairs(kept: Sequence[Completion], wrong: Sequence[Completion],
                 per_prompt: int) -> list[tuple[Completion, Completion]]:
    """(chosen, rejected) pairs: wrong samples in index order, each once; kept samples reused in turn."""
    kept = sorted(kept, key=lambda c: c.sample_index)
    wrong = sorted(wrong, key=lambda c: c.sample_index)
    if not kept:
        return []
    return [(kept[i % len(kept)], wrong[i]) for i in range(min(per_prompt, len(wrong)))]


def qualifies_for_pair(reasons: Sequence[str], wanted: Sequence[str]) -> bool:
    """True when one of a rejected sample's `verifier:reason` strings is a pair reason (bare or qualified)."""
    return any(r in wanted or r.split(":", 1)[-1] in wanted for r in reasons)
