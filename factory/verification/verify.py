"""Verification of one work unit: run the recipe's verifiers, select, and build the output rows and unit stats.

Pure CPU and independent of how samples were made: the Ray runtime runs it in verification actors for
`factory generate`, and `factory verify` runs the same code on traces made elsewhere.

Rules: verifiers run in recipe order. Cheap verifiers always run, so a rejected row lists every reason that
applies. A `costly` verifier (code execution) is skipped for samples already rejected and records
`skipped_already_rejected`. A verifier that raises is recorded as `unverifiable(verifier_error)` for that prompt's
samples (after one retry); the batch goes on, the unit's stats count them (`verifier_errors`), and the run redoes
such a unit on resume: a verifier's fault is never final. A stop request (SIGTERM, Ctrl-C) is a BaseException and
passes through. A sample is accepted only if every verdict is `accepted`.

Before any verifier looks at a sample (`precheck`): a sample made from a teacher answer that could not be read
(its finish_reason is one of `ANSWER_FAULTS`) is rejected as `teacher:<finish_reason>`, and a completion longer than
`selection.max_completion_chars` as `factory:completion_too_large`; every verifier then records
`skipped_already_rejected` for it, so no scan ever sees a text over the limit.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

from factory.engines.base import ANSWER_FAULTS
from factory.recipe import Pairs, Selection, VerifierSpec
from factory.verification.selection import (DUPLICATE, NOT_SELECTED, OUTSIDE_BAND, choose_pairs,
                               duplicate_indices, in_band, qualifies_for_pair, select_accepted)
from factory.stats import UnitStats
from factory.verification.judge import JudgeStage
from factory.verification.suspects import suspect_gold
from factory.output.rows import PAIRS_SPLIT, build_pair, build_row, row_id, unwritable_field
from verifiers.types import Completion, Prompt, Verdict
from verifiers.base import Verifier
from verifiers.registry import create_verifier


VERIFIER_ERROR = "verifier_error"
VERIFIER_ATTEMPTS = 2
"""A verifier that raises is asked once more before its fault is recorded (a passing glitch is not a verdict)."""


@dataclass
class UnitResult:
    rows_by_split: dict[str, list[dict[str, Any]]]
    stats: UnitStats
    unwritable: list[dict[str, str]] = field(default_factory=list)
    """Samples left out because a field cannot be stored: {id, field, reason}; listed in the marker and manifest."""


def create_verifiers(specs: Sequence[VerifierSpec]) -> list[Verifier]:
    return [create_verifier(spec.name, spec.params) for spec in specs]


def _run_verifier(verifier: Verifier, prompt: Prompt, completions: list[Completion],
                  already_rejected: set[int]) -> list[Verdict]:
    if verifier.costly:
        todo = [c for c in completions if c.sample_index not in already_rejected]
    else:
        todo = completions
    verdicts: list[Verdict] = []
    for attempt in range(VERIFIER_ATTEMPTS):
        try:
            verdicts = verifier.verify_batch(prompt, todo) if todo else []
            if len(verdicts) != len(todo):
                raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(todo)} completions")
            break
        except Exception as exc:  # noqa: BLE001 - a verifier's own fault; a stop (a BaseException) is never one
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]
            verdicts = [Verdict.unverifiable(verifier.name, VERIFIER_ERROR, error=detail, attempts=attempt + 1)
                        for _ in todo]
    by_index = {c.sample_index: v for c, v in zip(todo, verdicts)}
    return [by_index.get(c.sample_index) or Verdict.skipped(verifier.name) for c in completions]


def precheck(completion: Completion, max_completion_chars: int) -> Verdict | None:
    """The rejection of a sample no verifier may look at (see the module docstring), or None."""
    if completion.finish_reason in ANSWER_FAULTS:
        return Verdict.reject("teacher", completion.finish_reason)
    if len(completion.text) > max_completion_chars:
        return Verdict.reject("factory", "completion_too_large", chars=len(completion.text),
                              limit=max_completion_chars)
    return None


def verify_prompt(verifiers: Sequence[Verifier], prompt: Prompt, completions: list[Completion],
                  max_completion_chars: int = Selection.max_completion_chars) -> list[list[Verdict]]:
    """Verdicts per completion (outer list follows `completions`): a precheck rejection first when there is one
    (then every verifier is skipped), then one per verifier in order."""
    per_sample: list[list[Verdict]] = []
    todo: list[Completion] = []
    for completion in completions:
        refused = precheck(completion, max_completion_chars)
        per_sample.append([refused, *(Verdict.skipped(v.name) for v in verifiers)] if refused else [])
        if refused is None:
            todo.append(completion)
    slots = [slot for slot in per_sample if not slot]
    rejected: set[int] = set()
    for verifier in verifiers:
        for slot, completion, verdict in zip(slots, todo, _run_verifier(verifier, prompt, todo, rejected)):
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
    pairs: Pairs | None = None,
    known: dict[tuple[str, int], list[Verdict]] | None = None,
    judge: JudgeStage | None = None,
) -> UnitResult:
    """Verify, select and build rows for one unit. Every completion lands in exactly one split (or is dropped
    when the recipe does not keep rejected samples, and then still counted in the stats); pairs, when asked for,
    go to the `pairs` split. `known`: verdicts already computed for (prompt_id, sample_index) (adaptive rounds),
    reused instead of verifying those samples again. `judge`: the LLM judge stage, run on the rule verdicts of the
    whole unit at once (see `factory.verification.judge`); suspect golds are found on the rule verdicts."""
    by_prompt: dict[str, list[Completion]] = {}
    for completion in completions:
        by_prompt.setdefault(completion.prompt_id, []).append(completion)
    out = _UnitRows(UnitStats(), keep_rejected, run_info)
    unit_samples: dict[str, list[Completion]] = {}
    unit_verdicts: dict[str, list[list[Verdict]]] = {}
    for prompt in prompts:
        samples = sorted(by_prompt.get(prompt.prompt_id, []), key=lambda c: c.sample_index)
        unit_samples[prompt.prompt_id] = samples = out.drop_unstorable(prompt, samples)
        unit_verdicts[prompt.prompt_id] = _verdicts(verifiers, prompt, samples, known or {}, selection)
        suspect = suspect_gold(prompt.prompt_id, prompt.gold, unit_verdicts[prompt.prompt_id],
                               selection.suspect_gold_share)
        if suspect:
            out.stats.gold_suspects.append(suspect)
    if judge is not None:
        out.stats.judge = judge.apply(prompts, unit_samples, unit_verdicts)
    for prompt in prompts:
        samples, verdicts = unit_samples[prompt.prompt_id], unit_verdicts[prompt.prompt_id]
        passed = [c for c, vs in zip(samples, verdicts) if all(v.accepted for v in vs)]
        extra = _selection_verdicts(prompt, samples, passed, selection)
        kept, wrong = [], []
        for completion, sample_verdicts in zip(samples, verdicts):
            sample_verdicts = sample_verdicts + extra.get(completion.sample_index, [])
            row = out.add(prompt, completion, sample_verdicts)
            if row["accepted"]:
                kept.append(completion)
            elif pairs and qualifies_for_pair(row["rejection_reasons"], pairs.rejected_reasons):
                wrong.append((completion, row["rejection_reasons"]))
        if pairs:
            reasons_of = {c.sample_index: r for c, r in wrong}
            for chosen, rejected in choose_pairs(kept, [c for c, _ in wrong], pairs.per_prompt):
                out.pairs.append(build_pair(prompt, chosen, rejected, reasons_of[rejected.sample_index], run_info))
        out.stats.verifier_errors += sum(any(v.reason == VERIFIER_ERROR for v in vs) for vs in verdicts)
        out.stats.prompts += 1
        out.stats.passed += len(passed)
        out.stats.per_prompt.append([len(samples), len(passed)])
    return out.result(with_pairs=pairs is not None)


def _verdicts(verifiers: Sequence[Verifier], prompt: Prompt, samples: list[Completion],
              known: dict[tuple[str, int], list[Verdict]], selection: Selection) -> list[list[Verdict]]:
    """Each sample's verdicts: reused from `known` (an adaptive round verified them), else verified now."""
    todo = [c for c in samples if (prompt.prompt_id, c.sample_index) not in known]
    fresh = dict(zip((c.sample_index for c in todo),
                     verify_prompt(verifiers, prompt, todo, selection.max_completion_chars))) if todo else {}
    # Membership, not truthiness: with no verifiers a known sample's verdicts are an empty list.
    return [known[key] if (key := (prompt.prompt_id, c.sample_index)) in known else fresh[c.sample_index]
            for c in samples]


def _selection_verdicts(prompt: Prompt, samples: list[Completion], passed: list[Completion],
                        selection: Selection) -> dict[int, list[Verdict]]:
    """The `selection` verdict for each passed sample that is not kept (see `factory.verification.selection`)."""
    extra: dict[int, list[Verdict]] = {}
    duplicates = duplicate_indices(passed) if selection.dedup_completions else set()
    distinct = [c for c in passed if c.sample_index not in duplicates]
    for index in duplicates:
        extra[index] = [Verdict.reject("selection", DUPLICATE)]
    if not in_band(len(passed), len(samples), selection.pass_rate):
        for completion in distinct:
            extra[completion.sample_index] = [Verdict.reject("selection", OUTSIDE_BAND,
                                                             pass_rate=round(len(passed) / len(samples), 4))]
        return extra
    keep = select_accepted(prompt.prompt_id, distinct, selection.max_accepted_per_prompt, selection.strategy)
    for completion in distinct:
        if completion.sample_index not in keep:
            extra[completion.sample_index] = [Verdict.reject("selection", NOT_SELECTED)]
    return extra


class _UnitRows:
    """The rows, stats and left-out samples of one unit as they are built."""

    def __init__(self, stats: UnitStats, keep_rejected: bool, run_info: dict[str, Any]) -> None:
        self.stats, self.keep_rejected, self.run_info = stats, keep_rejected, run_info
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.pairs: list[dict[str, Any]] = []
        self.unwritable: list[dict[str, str]] = []

    def drop_unstorable(self, prompt: Prompt, samples: list[Completion]) -> list[Completion]:
        """Samples whose text cannot be stored are left out (listed, counted as generated and rejected)."""
        storable = []
        for completion in samples:
            if unwritable_field({"completion": completion.text}) is None:
                storable.append(completion)
                continue
            self.unwritable.append({"id": row_id(prompt.prompt_id, completion.sample_index), "field": "completion",
                                    "reason": "text is not valid Unicode (a lone surrogate): it cannot be stored"})
            self.stats.reasons["factory:unwritable_text"] += 1
            self.stats.generated += 1
            self.stats.rejected += 1
        return storable

    def add(self, prompt: Prompt, completion: Completion, verdicts: list[Verdict]) -> dict[str, Any]:
        accepted = all(v.accepted for v in verdicts)
        for verdict in verdicts:
            if verdict.status in ("rejected", "unverifiable"):
                self.stats.reasons[f"{verdict.name}:{verdict.reason}"] += 1
        row = build_row(prompt, completion, verdicts, accepted=accepted, run_info=self.run_info)
        if accepted:
            self.accepted.append(row)
        elif self.keep_rejected:
            self.rejected.append(row)
        s = self.stats
        s.generated += 1
        s.accepted += accepted
        s.rejected += not accepted
        s.unverifiable += any(v.status == "unverifiable" for v in verdicts)
        s.prompt_tokens += completion.prompt_tokens
        s.completion_tokens += completion.completion_tokens
        return row

    def result(self, with_pairs: bool) -> UnitResult:
        self.stats.pairs = len(self.pairs)
        rows_by_split = {"accepted": self.accepted}
        if self.keep_rejected:
            rows_by_split["rejected"] = self.rejected
        if with_pairs:
            rows_by_split[PAIRS_SPLIT] = self.pairs
        return UnitResult(rows_by_split, self.stats, self.unwritable)
