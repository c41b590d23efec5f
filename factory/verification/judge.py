"""The judge stage: an LLM judge after the rule verifiers, on what the rules could not read, or on quality.

Rubric mode (`judge.mode: rubric`, general data without a gold): every sample that passed the rules is scored 1-10
against the recipe's rubric and gets a verdict of its own, `judge`: accepted at `judge.threshold` or above, else
rejected as `below_threshold`; a failed call or an unparseable reply is unverifiable `judge_error`. Samples the
rules rejected are not scored (no score would save them).

Equivalence mode (the default), for one work unit, after the rules (`verify.verify_prompt`) and before selection:
- a sample goes to the judge when every verdict that failed it has a reason in `judge.reasons` (default
  `unparseable_answer`, `no_answer`), or is `unverifiable_gold` of a prompt no rule covers (`judge.uncovered`);
  a sample failed for anything else (an unclosed think, mixed languages) is not worth a judgment;
- the judge gets the problem, the gold and the sample's final answer (what the rule read, else the text after
  `</think>`; the whole completion with `judge.include_trace`), asked twice with the answers in both orders. Both
  replies `equivalent`: the failed verdicts become accepted; any `different`: rejected as `wrong_answer`; a failed
  call or an unparseable reply in either order: unverifiable `judge_error` (counted apart, never a rejection; the
  unit is redone on resume, its journaled replies reused);
- a `judge.calibration_share` of the rule-decided samples (accepted, or `wrong_answer`, by a verifier that read an
  answer) is also judged, verdicts unchanged, for the 2x2 agreement table of rule and judge.
With the judge on, every verdict's details say `decided_by: rule | judge`; judge-decided ones keep the rule's
status and reason (`rule_status`, `rule_reason`) and the judge's raw replies (`judge`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from factory.engines.base import Engine
from factory.recipe import Judge
from factory.verification.judge_client import JudgeClient, Reply
from factory.verification.judge_template import load_template, render, render_answer
from verifiers.types import Completion, Prompt, Verdict, split_think

JUDGE_ERROR = "judge_error"
JUDGE_VERDICT = "judge"
"""The verdict a rubric judge adds to a sample (reasons `below_threshold`, `judge_error`)."""
BELOW_THRESHOLD = "below_threshold"
JOURNAL_DIR = "judge-journal"
UNCOVERED = "unverifiable_gold"


@dataclass
class _Ask:
    """One sample to judge: where its verdicts are, the answer shown, and whether it only calibrates."""

    slot: list[Verdict]
    targets: list[int]
    answer: str
    calibration: bool
    rule_accepted: bool = False
    replies: list[Reply] = field(default_factory=list)


class JudgeStage:
    """Applies `settings` with `client` to the verdicts of one unit at a time (`apply`)."""

    def __init__(self, settings: Judge, client: JudgeClient) -> None:
        self.settings, self.client = settings, client
        self.template = settings.template_text()
        self.reasons = set(settings.reasons)

    def apply(self, prompts: Sequence[Prompt], samples: dict[str, list[Completion]],
              verdicts: dict[str, list[list[Verdict]]]) -> dict[str, Any]:
        """Judge what needs it and rewrite `verdicts` in place; returns the unit's judge counts."""
        if self.settings.mode == "rubric":
            return self._score(prompts, samples, verdicts)
        asks: list[tuple[Prompt, _Ask]] = []
        for prompt in prompts:
            for completion, slot in zip(samples[prompt.prompt_id], verdicts[prompt.prompt_id]):
                ask = self._ask_for(prompt, completion, slot)
                if ask is not None:
                    asks.append((prompt, ask))
        chats = []
        for prompt, ask in asks:
            gold = _gold_text(prompt.gold)
            chats += [render(self.template, prompt.problem, gold, ask.answer),
                      render(self.template, prompt.problem, ask.answer, gold)]
        replies = self.client.ask(chats) if chats else []
        counts: dict[str, Any] = {key: 0 for key in ("judged", "accepted", "rejected", "errors")}
        for k, (_, ask) in enumerate(asks):
            ask.replies = replies[2 * k: 2 * k + 2]
            self._settle(ask, counts)
        for prompt in prompts:  # every verdict says which stage decided it
            for slot in verdicts[prompt.prompt_id]:
                slot[:] = [v if "decided_by" in v.details else _with(v, decided_by="rule") for v in slot]
        counts.update(self._request_counts(replies))
        return {k: v for k, v in counts.items() if v}

    def _score(self, prompts: Sequence[Prompt], samples: dict[str, list[Completion]],
               verdicts: dict[str, list[list[Verdict]]]) -> dict[str, Any]:
        """Rubric mode: every sample that passed the rules gets a `judge` verdict from its 1-10 score."""
        slots, chats = [], []
        for prompt in prompts:
            for completion, slot in zip(samples[prompt.prompt_id], verdicts[prompt.prompt_id]):
                slot[:] = [_with(v, decided_by="rule") for v in slot]
                if all(v.accepted for v in slot):
                    slots.append(slot)
                    chats.append(render_answer(self.template, prompt.problem, self._answer(completion, []),
                                               self.settings.rubric))
        replies = self.client.ask(chats) if chats else []
        counts: dict[str, Any] = {key: 0 for key in ("judged", "accepted", "rejected", "errors")}
        record = {"model": self.client.engine.model, "threshold": self.settings.threshold, "decided_by": "judge"}
        for slot, reply in zip(slots, replies):
            counts["judged"] += 1
            if reply.choice is None:
                counts["errors"] += 1
                slot.append(Verdict.unverifiable(JUDGE_VERDICT, JUDGE_ERROR, **record, reply=reply.text,
                                                 error=reply.error))
                continue
            score = int(reply.choice)
            counts[f"score_{score}"] = counts.get(f"score_{score}", 0) + 1
            if score >= self.settings.threshold:
                counts["accepted"] += 1
                slot.append(Verdict.accept(JUDGE_VERDICT, **record, score=score, reply=reply.text))
            else:
                counts["rejected"] += 1
                slot.append(Verdict.reject(JUDGE_VERDICT, BELOW_THRESHOLD, **record, score=score, reply=reply.text))
        counts.update(self._request_counts(replies))
        return {k: v for k, v in counts.items() if v}

    def _request_counts(self, replies: list[Reply]) -> dict[str, Any]:
        """What this unit's judgments cost: requests sent and reused, failures, tokens, estimated cost."""
        prompt_tokens = sum(r.tokens[0] for r in replies)
        completion_tokens = sum(r.tokens[1] for r in replies)
        return {"requests": sum(r.sent for r in replies), "reused_from_journal": sum(r.reused for r in replies),
                "failed_requests": sum(r.failed for r in replies),
                "unparseable_replies": sum(r.sent and not r.failed and r.choice is None for r in replies),
                "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "cost_usd": round(self.client.cost_usd(prompt_tokens, completion_tokens), 6)}

    def _ask_for(self, prompt: Prompt, completion: Completion, slot: list[Verdict]) -> _Ask | None:
        failing = [i for i, v in enumerate(slot) if v.status in ("rejected", "unverifiable")]
        if failing and all(self._judgeable(slot[i]) for i in failing):
            answer = self._answer(completion, [slot[i] for i in failing])
            return _Ask(slot, failing, answer, calibration=False) if answer else None
        share = self.settings.calibration_share
        readers = [i for i, v in enumerate(slot) if v.details.get("extracted") and
                   (v.accepted or v.reason == "wrong_answer")]
        if not share or not readers or any(i not in readers for i in failing):
            return None
        if _fraction(prompt.prompt_id, completion.sample_index) >= share:
            return None
        answer = self._answer(completion, [slot[readers[0]]])
        return _Ask(slot, readers[:1], answer, calibration=True, rule_accepted=not failing) if answer else None

    def _judgeable(self, verdict: Verdict) -> bool:
        if verdict.reason == UNCOVERED:
            return self.settings.uncovered
        return verdict.reason in self.reasons or f"{verdict.name}:{verdict.reason}" in self.reasons

    def _answer(self, completion: Completion, read_by: list[Verdict]) -> str:
        if self.settings.include_trace:
            text = completion.text
        else:
            extracted = next((str(v.details["extracted"]) for v in read_by if v.details.get("extracted")), "")
            text = extracted or split_think(completion.text).answer
        return text.strip()[-self.settings.max_answer_chars:]

    def _settle(self, ask: _Ask, counts: dict[str, Any]) -> None:
        choices = [r.choice for r in ask.replies]
        record = {"model": self.client.engine.model, "choices": choices, "replies": [r.text for r in ask.replies],
                  **({"errors": [r.error for r in ask.replies if r.error]} if any(r.error for r in ask.replies)
                     else {})}
        if ask.calibration:
            i = ask.targets[0]
            ask.slot[i] = _with(ask.slot[i], decided_by="rule", judge_check=record)
            rule = "rule_accepted" if ask.rule_accepted else "rule_rejected"
            if None in choices or len(choices) < 2:
                counts["calibration_errors"] = counts.get("calibration_errors", 0) + 1
            else:
                judge = "judge_equivalent" if choices == ["equivalent", "equivalent"] else "judge_different"
                key = f"calibration_{rule}_{judge}"
                counts[key] = counts.get(key, 0) + 1
            return
        counts["judged"] += 1
        if None in choices or len(choices) < 2:
            status, reason = "unverifiable", JUDGE_ERROR
            counts["errors"] += 1
        elif choices == ["equivalent", "equivalent"]:
            status, reason = "accepted", ""
            counts["accepted"] += 1
        else:
            status, reason = "rejected", "wrong_answer"
            counts["rejected"] += 1
        for i in ask.targets:
            rule = ask.slot[i]
            ask.slot[i] = Verdict(rule.name, status, reason, {**rule.details, "decided_by": "judge",
                                                              "rule_status": rule.status, "rule_reason": rule.reason,
                                                              "judge": record})


def judge_stage(settings: Judge, state_dir: Path | None, engine: Engine | None = None) -> JudgeStage | None:
    """The stage for a recipe's judge section (None when it is off); replies journaled in
    `state_dir/judge-journal`; `engine`: an engine already built (a proxy to the judge's Ray actor)."""
    if not settings.enabled:
        return None
    journal = Path(state_dir) / JOURNAL_DIR if state_dir is not None else None
    return JudgeStage(settings, JudgeClient.build(settings, journal, engine))


def equivalence_judge(client: JudgeClient, template: str | None = None):
    """A callable `[(problem, gold, answer), ...] -> [True | False | None, ...]` over `client`, asking each pair in
    both orders (True only when both say equivalent, None on a judge error): what `verifiers.judge_reward` takes.
    `template`: a shipped name or a file (default: the client's recipe section's)."""
    text = load_template(template) if template else client.settings.template_text()

    def judge(items: list[tuple[str, str, str]]) -> list[bool | None]:
        chats = [chat for problem, gold, answer in items
                 for chat in (render(text, problem, gold, answer), render(text, problem, answer, gold))]
        replies = client.ask(chats)
        out: list[bool | None] = []
        for k in range(0, len(replies), 2):
            choices = [replies[k].choice, replies[k + 1].choice]
            out.append(None if None in choices else choices == ["equivalent", "equivalent"])
        return out

    return judge


def _with(verdict: Verdict, **details: Any) -> Verdict:
    return replace(verdict, details={**verdict.details, **details})


def _gold_text(gold: Any) -> str:
    return gold if isinstance(gold, str) else json.dumps(gold, ensure_ascii=False, default=str)


def _fraction(prompt_id: str, sample_index: int) -> float:
    """A stable number in [0, 1) per sample: the same samples calibrate on every rerun."""
    digest = hashlib.sha256(f"{prompt_id}\x00{sample_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64
