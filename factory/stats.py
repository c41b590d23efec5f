"""Run statistics: the funnel, pass@k estimates, tokens, wall time.

One word per count, the same in the funnel, stats.json, manifest.json, the dataset card and the README:
- `generated`: samples the teacher wrote (or the input held, for `factory verify`);
- `passed`: samples that every verifier accepted;
- `accepted`: rows in the `accepted` split (passed, and kept by selection);
- `rejected`: every other sample (`generated - accepted`): failed a verifier, was unverifiable, or passed but was
  not kept (`selection:not_selected`, `selection:outside_pass_rate_band`, `selection:duplicate_completion`);
  the `rejected` split holds exactly these rows when the recipe keeps them.
Reason keys are `verifier:reason`, exactly as the rows' `rejection_reasons` hold them, so a filter copied from the
funnel matches the data.

Each work unit's marker holds its unit stats; `RunTotals` adds them up as units are committed (constant work per
commit), and `factory stats` rebuilds the same totals from the markers of a finished or running folder.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from math import comb
from typing import Any, Iterable

MAX_SUSPECTS_LISTED = 10_000
"""Suspect golds listed in stats.json and manifest.json (all are counted)."""
COUNT_KEYS = ("prompts", "generated", "passed", "accepted", "rejected", "unverifiable", "verifier_errors", "pairs",
              "prompt_tokens", "completion_tokens", "fixed_n_samples")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one prompt with n samples of which c passed (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass
class UnitStats:
    """One unit's figures, as verification counts them and its marker keeps them (`to_dict` / `from_dict`).
    Units add up (`a + b`); a run's totals over many units are `RunTotals`, which keeps per-prompt outcomes as a
    histogram instead of a list."""

    prompts: int = 0
    generated: int = 0
    passed: int = 0
    accepted: int = 0
    rejected: int = 0
    unverifiable: int = 0
    verifier_errors: int = 0
    pairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fixed_n_samples: int = 0
    """What fixed n would have generated (adaptive sampling's baseline); 0 for traces made elsewhere."""
    reasons: Counter = field(default_factory=Counter)
    """`verifier:reason` -> samples, exactly as the rows' `rejection_reasons` spell them."""
    per_prompt: list[list[int]] = field(default_factory=list)
    """[samples, passed] per prompt, in unit order (pass@k comes from these)."""
    judge: dict[str, float] = field(default_factory=dict)
    """The LLM judge's flat counts (`factory.verification.judge`: judged, accepted, rejected, errors, requests,
    tokens, cost_usd, calibration_<rule>_<judge>); empty without a judge."""
    gold_suspects: list[dict[str, Any]] = field(default_factory=list)
    """Prompts whose samples mostly agree on an answer the rules call wrong (`factory.verification.suspects`)."""

    def __add__(self, other: "UnitStats") -> "UnitStats":
        counts = {key: getattr(self, key) + getattr(other, key) for key in COUNT_KEYS}
        return UnitStats(**counts, reasons=self.reasons + other.reasons, per_prompt=self.per_prompt + other.per_prompt,
                         judge=dict(Counter(self.judge) + Counter(other.judge)),
                         gold_suspects=self.gold_suspects + other.gold_suspects)

    def to_dict(self) -> dict[str, Any]:
        extra = {"judge": dict(self.judge)} if self.judge else {}
        if self.gold_suspects:
            extra["gold_suspects"] = list(self.gold_suspects)
        return {**{key: getattr(self, key) for key in COUNT_KEYS}, "reasons": dict(self.reasons),
                "per_prompt": [list(p) for p in self.per_prompt], **extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UnitStats":
        """From a marker (keys a marker of an older version lacks count 0)."""
        counts = {key: int(data.get(key, 0) or 0) for key in COUNT_KEYS}
        return cls(**counts, reasons=Counter(data.get("reasons", {})),
                   per_prompt=[list(p) for p in data.get("per_prompt", [])], judge=dict(data.get("judge", {})),
                   gold_suspects=list(data.get("gold_suspects", [])))


class RunTotals:
    """Running totals over committed units: `add` costs the size of one unit, whatever the length of the run.
    Per-prompt outcomes are kept as a histogram of (samples, passed) pairs: a handful of distinct pairs however
    many prompts, and pass@k is exact for any k from it."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.outcomes: Counter[tuple[int, int]] = Counter()
        self.judge: Counter[str] = Counter()
        self.gold_suspects: list[dict[str, Any]] = []
        self.gold_suspect_count = 0

    def add(self, unit: UnitStats | dict[str, Any]) -> None:
        """Add one unit's figures (its UnitStats, or a marker's dict of them)."""
        stats = unit if isinstance(unit, UnitStats) else UnitStats.from_dict(unit)
        for key in COUNT_KEYS:
            self.counts[key] += getattr(stats, key)
        self.reasons.update(stats.reasons)
        self.outcomes.update(tuple(p) for p in stats.per_prompt)
        self.judge.update(stats.judge)
        self.gold_suspect_count += len(stats.gold_suspects)
        self.gold_suspects.extend(stats.gold_suspects[:max(0, MAX_SUSPECTS_LISTED - len(self.gold_suspects))])

    def estimates(self) -> dict[str, float]:
        """pass@1 and pass@n (n the largest sample count of any prompt), each over the prompts with >= k samples."""
        n_max = max((n for n, _ in self.outcomes), default=0)
        estimates = {}
        for k in sorted({1, n_max} - {0}):
            usable = [(pair, count) for pair, count in self.outcomes.items() if pair[0] >= k]
            prompts = sum(count for _, count in usable)
            if prompts:
                estimates[f"pass@{k}"] = round(sum(pass_at_k(n, c, k) * count for (n, c), count in usable)
                                               / prompts, 4)
        return estimates


def totals_of(units: Iterable[dict[str, Any]]) -> RunTotals:
    totals = RunTotals()
    for unit in units:
        totals.add(unit)
    return totals


def summarize(totals: RunTotals, *, wall_seconds: float | None = None, units_done: int = 0, units_total: int = 0,
              skipped_prompts: int = 0, dropped_prompts: dict[str, int] | None = None) -> dict[str, Any]:
    """The stats.json document: funnel, pass@k estimates, tokens, throughput. `wall_seconds` is the run's wall
    time summed over every invocation that worked on it (a resume adds its own time to the earlier ones)."""
    c = totals.counts
    summary = {
        "units_done": units_done,
        "units_total": units_total,
        "complete": units_total > 0 and units_done == units_total,
        "prompts": c["prompts"],
        "skipped_prompts": skipped_prompts,
        "dropped_prompts": dict(dropped_prompts or {}),
        "funnel": {
            "generated": c["generated"],
            "rejected_by_reason": dict(totals.reasons.most_common()),
            "unverifiable": c["unverifiable"],
            "verifier_errors": c["verifier_errors"],
            "passed": c["passed"],
            "accepted": c["accepted"],
            "rejected": c["rejected"],
            "pairs": c["pairs"],
        },
        "pass_rate": round(c["passed"] / c["generated"], 4) if c["generated"] else None,
        "estimates": totals.estimates(),
        "tokens": {"prompt": c["prompt_tokens"], "completion": c["completion_tokens"]},
    }
    if c["fixed_n_samples"] > c["generated"]:  # adaptive sampling: what it saved against n samples per prompt
        per_sample = c["completion_tokens"] / c["generated"] if c["generated"] else 0.0
        # Sampling stopped on success, so pass@k over these samples would be biased upwards: not reported.
        summary["estimates"] = {}
        summary["adaptive"] = {
            "note": "pass@k is not estimated: adaptive sampling stops a prompt on success",
            "fixed_n_samples": c["fixed_n_samples"],
            "saved_samples": c["fixed_n_samples"] - c["generated"],
            "estimated_saved_tokens": round((c["fixed_n_samples"] - c["generated"]) * per_sample),
            "samples_per_accepted": round(c["generated"] / c["accepted"], 3) if c["accepted"] else None,
            "completion_tokens_per_accepted": round(c["completion_tokens"] / c["accepted"], 1) if c["accepted"]
            else None,
        }
    if totals.judge:
        summary["judge"] = judge_summary(totals.judge)
    if totals.gold_suspect_count:
        summary["gold_suspects"] = {"count": totals.gold_suspect_count, "prompts": totals.gold_suspects}
    if wall_seconds is not None:
        summary["wall_seconds"] = round(wall_seconds, 2)
        summary["samples_per_second"] = round(c["generated"] / wall_seconds, 3) if wall_seconds > 0 else None
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A short human-readable funnel for the terminal; every name is the one stats.json and the data use."""
    funnel = summary["funnel"]
    lines = [
        f"units      {summary['units_done']}/{summary['units_total']}"
        + ("" if summary["complete"] else "  (incomplete)"),
        f"prompts    {summary['prompts']}  (skipped {summary['skipped_prompts']})",
    ]
    for reason, count in summary.get("dropped_prompts", {}).items():
        lines.append(f"  - dropped {reason:<20} {count}")
    lines.append(f"generated  {funnel['generated']}")
    for reason, count in funnel["rejected_by_reason"].items():
        lines.append(f"  - {reason:<34} {count}")
    if funnel.get("verifier_errors"):
        lines.append(f"verifier errors {funnel['verifier_errors']}  (a verifier's own fault; those units are redone on "
                     "resume)")
    lines.append(f"passed     {funnel['passed']}  (every verifier accepted)")
    lines.append(f"accepted   {funnel['accepted']}  (the accepted split: passed and selected)")
    lines.append(f"rejected   {funnel['rejected']}")
    if funnel.get("pairs"):
        lines.append(f"pairs      {funnel['pairs']}  (the pairs config: chosen / rejected)")
    if summary.get("pass_rate") is not None:
        lines.append(f"pass rate  {summary['pass_rate']:.1%}")
    for name, value in summary["estimates"].items():
        lines.append(f"{name:<10} {value:.3f}")
    tokens = summary["tokens"]
    lines.append(f"tokens     prompt {tokens['prompt']}, completion {tokens['completion']}")
    if summary.get("adaptive"):
        a = summary["adaptive"]
        lines.append(f"adaptive   saved {a['saved_samples']} of {a['fixed_n_samples']} samples (~"
                     f"{a['estimated_saved_tokens']} tokens) against fixed n; {a['samples_per_accepted']} samples "
                     "per accepted")
    lines += _judge_lines(summary)
    if summary.get("engine"):
        lines.append("engine     " + ", ".join(f"{k} {v}" for k, v in summary["engine"].items()))
    if "wall_seconds" in summary:
        lines.append(f"wall time  {summary['wall_seconds']:.1f} s  ({summary.get('samples_per_second')} samples/s)")
    return "\n".join(lines)


def judge_summary(counts: dict[str, float]) -> dict[str, Any]:
    """The stats.json section of the LLM judge, from the sum of its unit counts: what it decided, what it cost, and
    the calibration table, the 2x2 agreement of rule and judge on rule-decided samples it also saw (a rubric judge
    has a histogram of its scores, `scores`, instead). Reading the
    table: `rule_accepted / judge_different` are answers the rules accepted that the judge calls different (judge
    false negatives, or rule false positives), `rule_rejected / judge_equivalent` the reverse; agreement near 1 on
    both rows is what makes the judge's own decisions trustworthy."""
    table = {rule: {judge: int(counts.get(f"calibration_{rule}_{judge}", 0))
                    for judge in ("judge_equivalent", "judge_different")}
             for rule in ("rule_accepted", "rule_rejected")}
    agree = table["rule_accepted"]["judge_equivalent"] + table["rule_rejected"]["judge_different"]
    seen = sum(sum(row.values()) for row in table.values())
    count = {key: int(counts.get(key, 0)) for key in ("judged", "accepted", "rejected", "requests",
                                                       "reused_from_journal", "failed_requests", "unparseable_replies")}
    scores = {str(n): int(counts[f"score_{n}"]) for n in range(1, 11) if counts.get(f"score_{n}")}
    return {**count, "judge_errors": int(counts.get("errors", 0)), **({"scores": scores} if scores else {}),
            "tokens": {"prompt": int(counts.get("prompt_tokens", 0)), "completion": int(counts.get("completion_tokens", 0))},
            "cost_usd": round(float(counts.get("cost_usd", 0.0)), 6),
            "calibration": {"samples": seen, "table": table, "agreement": round(agree / seen, 4) if seen else None,
                            "errors": int(counts.get("calibration_errors", 0))}}


def _judge_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    judge = summary.get("judge")
    if judge:
        lines.append(f"judge      judged {judge['judged']}: accepted {judge['accepted']}, rejected {judge['rejected']}, "
                     f"judge_error {judge['judge_errors']}; {judge['requests']} requests "
                     f"({judge['reused_from_journal']} reused), cost ${judge['cost_usd']:.4f}")
        if judge.get("scores"):
            lines.append("scores     " + ", ".join(f"{n}: {c}" for n, c in judge["scores"].items()))
        calibration = judge["calibration"]
        if calibration["samples"]:
            lines.append(f"calibration {calibration['samples']} rule-decided samples also judged, agreement "
                         f"{calibration['agreement']:.1%}")
    suspects = summary.get("gold_suspects")
    if suspects:
        lines.append(f"suspect golds {suspects['count']}  (listed in manifest.json and the card)")
    return lines
