"""Verification of one work unit: run the recipe's verifiers, select, and build the output rows and unit stats.

Pure CPU and independent of how samples were made: the Ray runtime runs it in verification actors for
`factory generate`, and `factory verify` runs the same code on traces made elsewhere.

Rules: verifiers run in recipe order. Cheap verifiers always run, so a rejected row lists every reason that
applies. A `costly` verifier (code execution) is skipped for samples already rejected and records
`skipped_already_rejected`. A verifier that raises is recorded as `unverifiable(verifier_error)` for that prompt's
samples; the batch goes on. A sample is accepted only if every verdict is `accepted`.
"""

from __future__ import annotations

import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from factory.recipe import Selection, VerifierSpec
from factory.selection import select_accepted
from factory.stats import new_unit_stats
from factory.rows import build_row, row_id, unwritable_field
from verifiers.types import Completion, Prompt, Verdict
from verifiers.base import Verifier
from verifiers.registry import create_verifier


@dataclass
class UnitResult:
    rows_by_split: dict[str, list[dict[str, Any]]]
    stats: dict[str, Any]
    unwritable: list[dict[str, str]] = field(default_factory=list)
    """Samples left out because a field cannot be stored: {id, field, reason}; listed in the marker and manifest."""


def create_verifiers(specs: Sequence[VerifierSpec]) -> list[Verifier]:
    return [create_verifier(spec.name, spec.params) for spec in specs]


def verifier_versions(verifiers: Sequence[Verifier]) -> dict[str, str]:
    return {v.name: v.version for v in verifiers}


def _run_verifier(verifier: Verifier, prompt: Prompt, completions: list[Completion],
                  already_rejected: set[int]) -> list[Verdict]:
    if verifier.costly:
        todo = [c for c in completions if c.sample_index not in already_rejected]
    else:
        todo = completions
    try:
        verdicts = verifier.verify_batch(prompt, todo) if todo else []
        if len(verdicts) != len(todo):
            raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(todo)} completions")
    except Exception as exc:  # noqa: BLE001 - a verifier bug must not stop a batch job; it is recorded per row
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]
        verdicts = [Verdict.unverifiable(verifier.name, "verifier_error", error=detail) for _ in todo]
    by_index = {c.sample_index: v for c, v in zip(todo, verdicts)}
    return [by_index.get(c.sample_index) or Verdict.skipped(verifier.name) for c in completions]


def verify_prompt(verifiers: Sequence[Verifier], prompt: Prompt, completions: list[Completion]) -> list[list[Verdict]]:
    """Verdicts per completion (outer list follows `completions`), one per verifier in order."""
    per_sample: list[list[Verdict]] = [[] for _ in completions]
    rejected: set[int] = set()
    for verifier in verifiers:
        for slot, completion, verdict in zip(per_sample, completions,
                                             _run_verifier(verifier, prompt, completions, rejected)):
            slot.append(verdict)
            if verdict.status in ("rejected", "unverifiable"):
                rejected.add(completion.sample_index)
    return per_sample


def verify_unit(
    verifiers: Sequence[Verifier],
    prompts: Sequence[Prompt],
    completions: Sequence[Completion],
    *,
    selection: Selection,
    keep_rejected: bool,
    run_info: dict[str, Any],
) -> UnitResult:
    """Verify, select and build rows for one unit. Every completion lands in exactly one split (or is dropped
    when the recipe does not keep rejected samples, and then still counted in the stats)."""
    by_prompt: dict[str, list[Completion]] = {}
    for completion in completions:
        by_prompt.setdefault(completion.prompt_id, []).append(completion)
    stats = new_unit_stats()
    reasons: Counter[str] = Counter()
    accepted_rows: list[dict[str, Any]] = []
    rejected_rows: list[dict[str, Any]] = []
    unwritable: list[dict[str, str]] = []
    for prompt in prompts:
        samples = sorted(by_prompt.get(prompt.prompt_id, []), key=lambda c: c.sample_index)
        storable = [c for c in samples if unwritable_field({"completion": c.text}) is None]
        for completion in samples:
            if completion not in storable:
                unwritable.append({"id": row_id(prompt.prompt_id, completion.sample_index), "field": "completion",
                                   "reason": "text is not valid Unicode (a lone surrogate): it cannot be stored"})
                reasons["factory:unwritable_text"] += 1
        dropped = len(samples) - len(storable)
        samples = storable
        verdicts = verify_prompt(verifiers, prompt, samples)
        passed = [c for c, vs in zip(samples, verdicts) if all(v.accepted for v in vs)]
        keep = select_accepted(prompt.prompt_id, passed, selection.max_accepted_per_prompt, selection.strategy)
        for completion, sample_verdicts in zip(samples, verdicts):
            is_pass = all(v.accepted for v in sample_verdicts)
            selected = is_pass and completion.sample_index in keep
            if is_pass and not selected:
                sample_verdicts = sample_verdicts + [Verdict.reject("selection", "not_selected")]
            for verdict in sample_verdicts:
                if verdict.status in ("rejected", "unverifiable"):
                    reasons[f"{verdict.name}:{verdict.reason}"] += 1
            stats["unverifiable"] += any(v.status == "unverifiable" for v in sample_verdicts)
            row = build_row(prompt, completion, sample_verdicts, accepted=selected, run_info=run_info)
            if selected:
                accepted_rows.append(row)
            elif keep_rejected:
                rejected_rows.append(row)
            stats["prompt_tokens"] += completion.prompt_tokens
            stats["completion_tokens"] += completion.completion_tokens
        stats["prompts"] += 1
        stats["generated"] += len(samples) + dropped
        stats["passed"] += len(passed)
        stats["accepted"] += len(keep)
        stats["rejected"] += len(samples) + dropped - len(keep)
        stats["per_prompt"].append([len(samples), len(passed)])
    stats["reasons"] = dict(reasons)
    rows_by_split = {"accepted": accepted_rows}
    if keep_rejected:
        rows_by_split["rejected"] = rejected_rows
    return UnitResult(rows_by_split, stats, unwritable)
