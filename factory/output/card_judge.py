"""The dataset card's sections on the LLM judge and the suspect golds, from the run's summary (stats.json).

How to read the calibration table: the judge also saw a share of the samples the rules decided (verdicts
unchanged). `rule: accepted / judge: different` are answers the rules accepted that the judge calls different
(judge false negatives, or rule false positives), `rule: wrong_answer / judge: equivalent` the reverse; agreement
near 1 on both rows is what makes the judge's own decisions trustworthy.
"""

from __future__ import annotations

from typing import Any, Mapping


def card_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown sections for the dataset card."""
    lines: list[str] = []
    judge = summary.get("judge")
    if judge:
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


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("`", "'").replace("\n", " ")[:80]
