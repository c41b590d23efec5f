"""Selection: of the accepted samples of one prompt, keep at most k, chosen by the recipe's strategy.

Deterministic for a given prompt and set of samples (the `random` strategy seeds on the prompt id), so a redone
work unit selects the same samples' indices given the same verdicts.
"""

from __future__ import annotations

import hashlib
import random
from typing import Sequence

from verifiers.types import Completion


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
