"""The dataset card's sections on the LLM judge and the suspect golds, from the run's summary (stats.json).

A rubric judge's section shows its criteria, threshold and the histogram of its scores.

How to read the calibration table: the judge also saw a share of the samples the rules decided (verdicts
unchanged). `rule: accepted / judge: different` are answers the rules accepted that the judge calls different
(judge false negatives, or rule false positives), `rule: wrong_answer / judge: equivalent` the reverse; agreement
near 1 on both rows is what makes the judge's own decisions trustworthy.
"""

from __future__ import annotations

from typing import Any, Mapping


def card_lines(summary: Mapping[str, Any], rubric: Any = None) -> list[str]:
    """Markdown sections for the dataset card. `rubric`: the recipe's judge section when it scores against a rubric
    (its criteria and threshold are shown with the score histogram)."""
    lines: list[str] = []
    judge = summary.get("judge")
    if judge and rubric is not None:
        scores = judge.get("scores", {})
        lines += [
            "## Judge",
            "",
            f"Every sample that passed the rules was scored from 1 to 10 by an LLM judge against this rubric, and kept "
            f"at {rubric.threshold} or above: {judge['judged']} judged, {judge['accepted']} kept, {judge['rejected']} "
            f"`judge:below_threshold`, {judge['judge_errors']} `judge_error` (unverifiable, never a rejection). "
            f"Requests {judge['requests']} ({judge['reused_from_journal']} reused from the journal), tokens "
            f"{judge['tokens']['prompt']} prompt / {judge['tokens']['completion']} completion, estimated cost "
            f"${judge['cost_usd']:.4f}.",
            "",
            f"> {_cell(rubric.rubric, 1000)}",
            "",
            "| score | " + " | ".join(str(n) for n in range(1, 11)) + " |",
            "|---|" + "---|" * 10,
            "| samples | " + " | ".join(str(scores.get(str(n), 0)) for n in range(1, 11)) + " |",
            "",
        ]
    elif judge:
        table, cal = judge["calibration"]["table"], judge["calibration"]
        agreement = "n/a" if cal["agreement"] is None else format(cal["agreement"], ".1%")
        errors = f", {cal['errors']} judge errors" if cal["errors"] else ""
        lines += [
            "## Judge",
            "",
            f"Samples the rules could not decide went to an LLM judge (asked in both orders): {judge['judged']} judged, "
            f"{judge['accepted']} accepted, {judge['rejected']} rejected, {judge['judge_errors']} `judge_error` "
            f"(unverifiable, never a rejection). Requests {judge['requests']} ({judge['reused_from_journal']} reused "
            f"from the journal, {judge['failed_requests']} failed), tokens {judge['tokens']['prompt']} prompt / "
            f"{judge['tokens']['completion']} completion, estimated cost ${judge['cost_usd']:.4f}.",
            "",
            f"Calibration: the judge also saw {cal['samples']} rule-decided samples (verdicts unchanged); "
            f"agreement {agreement}{errors}.",
            "",
            "| | judge: equivalent | judge: different |",
            "|---|---|---|",
            f"| rule: accepted | {table['rule_accepted']['judge_equivalent']} | "
            f"{table['rule_accepted']['judge_different']} |",
            f"| rule: wrong_answer | {table['rule_rejected']['judge_equivalent']} | "
            f"{table['rule_rejected']['judge_different']} |",
            "",
        ]
    suspects = summary.get("gold_suspects")
    if suspects:
        lines += ["## Suspect golds", "",
                  f"{suspects['count']} prompts where most samples agree on one answer the rules call wrong (their "
                  "verdicts are unchanged; check the reference):", "",
                  "| prompt | gold | majority answer | samples |", "|---|---|---|---|"]
        for item in suspects["prompts"][:50]:
            lines.append(f"| `{item['prompt_id']}` | `{_cell(item['gold'])}` | `{_cell(item['majority_answer'])}` | "
                         f"{item['count']}/{item['samples']} |")
        lines.append("")
    return lines


def _cell(text: str, limit: int = 80) -> str:
    return str(text).replace("|", "\\|").replace("`", "'").replace("\n", " ")[:limit]
