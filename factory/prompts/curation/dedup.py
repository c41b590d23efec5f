"""Exact and near-duplicate prompts: the first prompt of each group (in source order) is kept.

Exact: equal normalised texts (`factory.prompts.curation.normalize`). The streaming state keeps a 128-bit BLAKE2b digest
per distinct text (about 100 bytes a prompt), not the text.

Near: MinHash LSH (datasketch, its default `affine32` permutations and SHA-1 shingle hash, so sketches are the same
on every machine and run). A prompt's shingles are its word k-grams (k = `Dedup.shingle`, over normalised
tokens; a text shorter than k is one shingle). A prompt is a near-duplicate of an earlier kept prompt when the LSH
index returns it as a candidate and the estimated Jaccard of their shingle sets is at least the threshold; the
reported one is the candidate with the highest estimate (the earliest on a tie). Only kept prompts enter the
index, so `duplicate_of` always names a kept prompt. Estimates have a standard error of about
sqrt(J(1-J)/num_perm), so pairs near the threshold can fall either side; far from it the decision is sharp.
Each kept prompt's signature is held in memory (4 bytes x num_perm: 512 bytes at 128).
"""

from __future__ import annotations

import hashlib
from typing import Any

from factory.prompts.curation.normalize import tokens_of
from factory.recipe.sections import Dedup


def text_digest(normalized: str) -> bytes:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).digest()


class ExactDedup:
    """Remembers the first prompt id of every normalised text seen."""

    def __init__(self) -> None:
        self._first: dict[bytes, str] = {}

    def check(self, prompt_id: str, normalized: str) -> str | None:
        """The id of an earlier prompt with this normalised text, or None (and this one is remembered)."""
        key = text_digest(normalized)
        first = self._first.get(key)
        if first is None:
            self._first[key] = prompt_id
        return first

    def __len__(self) -> int:
        return len(self._first)


def shingles(normalized: str, k: int) -> list[bytes]:
    """The distinct word k-gram shingles of a normalised text, as UTF-8 bytes, in first-seen order."""
    tokens = tokens_of(normalized)
    if len(tokens) <= k:
        return [" ".join(tokens).encode("utf-8")]
    return list(dict.fromkeys(" ".join(tokens[i:i + k]).encode("utf-8") for i in range(len(tokens) - k + 1)))


class NearDedup:
    """A MinHash LSH index of the kept prompts, checked and extended one prompt at a time, in order."""

    def __init__(self, settings: Dedup):
        from datasketch import MinHashLSH

        self.settings = settings
        self._lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
        self._ids: list[str] = []
        self._signatures: list[Any] = []

    def check_batch(self, items: list[tuple[str, str]]) -> list[tuple[str, float] | None]:
        """For (prompt_id, normalised text) in order: (the kept prompt it nearly duplicates, estimated Jaccard), or
        None when it is kept (and then indexed, so later items of the same batch are checked against it)."""
        import numpy as np
        from datasketch import MinHash

        sketches = MinHash.generator((shingles(norm, self.settings.shingle) for _, norm in items),
                                     num_perm=self.settings.num_perm)
        results: list[tuple[str, float] | None] = []
        for (prompt_id, _), sketch in zip(items, sketches):
            candidates = sorted(self._lsh.query(sketch))
            best: tuple[str, float] | None = None
            if candidates:
                estimates = [float(np.mean(self._signatures[c] == sketch.hashvalues)) for c in candidates]
                top = max(range(len(candidates)), key=lambda j: (estimates[j], -candidates[j]))
                if estimates[top] >= self.settings.threshold:
                    best = (self._ids[candidates[top]], round(estimates[top], 4))
            if best is None:
                key = len(self._ids)
                self._lsh.insert(key, sketch, check_duplication=False)
                self._ids.append(prompt_id)
                self._signatures.append(sketch.hashvalues)
            results.append(best)
        return results

    def __len__(self) -> int:
        return len(self._ids)
