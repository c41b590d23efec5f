"""Suspect golds: prompts whose samples mostly agree on one answer that the rules call wrong.

A wrong reference makes every right sample look wrong. Peers replace such a gold with the majority answer
silently; here the prompt is only listed (stats.json, manifest.json, the card) with the majority answer and how
many samples gave it, and its samples keep their verdicts: the user decides.

An answer is what an answer verifier read (its verdict's `details`: `answer` for `choice`, `value` or `extracted`
for `math`), compared as written after trimming spaces, `$` and a final period (no equivalence: samples writing
`1/2` and `0.5` are two answers, so a listed majority is certain, not inferred). A prompt is suspect when at least
`share` of its samples (and at least 2) gave one answer and every one of those samples was rejected as
`wrong_answer` by the verifier that read it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from verifiers.types import Verdict

MIN_AGREEING = 2
MAX_CHARS = 200


def read_answer(verdicts: Sequence[Verdict]) -> tuple[str, str, bool] | None:
    """(verifier, answer, called wrong) of the first verdict that holds a read answer, or None."""
    for verdict in verdicts:
        details = verdict.details or {}
        raw = details.get("answer") or details.get("value") or details.get("extracted")
        if isinstance(raw, str) and raw.strip():
            answer = " ".join(raw.replace("$", " ").split()).rstrip(".")
            if answer:
                return verdict.name, answer[:MAX_CHARS], verdict.reason == "wrong_answer"
    return None


def suspect_gold(prompt_id: str, gold: Any, verdicts: Sequence[Sequence[Verdict]],
                 share: float | None) -> dict[str, Any] | None:
    """The listing entry for one prompt (`verdicts`: each sample's rule verdicts), or None when not suspect."""
    if not share or not verdicts:
        return None
    read = [read_answer(sample) for sample in verdicts]
    counts = Counter((r[0], r[1]) for r in read if r is not None)
    if not counts:
        return None
    (verifier, answer), count = counts.most_common(1)[0]
    if count < MIN_AGREEING or count / len(verdicts) < share:
        return None
    if not all(r[2] for r in read if r is not None and (r[0], r[1]) == (verifier, answer)):
        return None
    return {"prompt_id": prompt_id, "gold": str(gold)[:MAX_CHARS], "majority_answer": answer, "count": count,
            "samples": len(verdicts), "verifier": verifier}
