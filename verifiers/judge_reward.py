"""An LLM judge as a GRPO reward, beside the rule rewards: the rule decides what it can read, the judge the rest.

`JudgeReward(judge)` has TRL's reward signature. Each completion is first judged by a rule verifier (`math` by
default); a verdict whose reason is in `reasons` (default `unparseable_answer`, `no_answer`) goes to `judge`, a
callable the user builds that takes `[(problem, gold, answer), ...]` and returns, per item, True (equivalent),
False (different) or None (the judge failed). The factory builds one from any of its engines:

    from factory.verification.judge import equivalence_judge
    from factory.verification.judge_client import JudgeClient
    from factory.recipe import Judge
    settings = Judge(engine="openai", model="deepseek-chat", base_url="https://api.deepseek.com/v1",
                     api_key_env="DEEPSEEK_API_KEY", structured="json")
    reward = JudgeReward(equivalence_judge(JudgeClient.build(settings, journal_dir=None)))

Rewards: 1.0 accepted (by the rule or the judge), 0.0 rejected, None when the judge failed or the gold cannot be
read, so a judge outage never teaches "wrong". This module needs nothing from the pipeline: `judge` is any callable.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from verifiers.rewards import VerifierReward, to_samples
from verifiers.types import Verdict, split_think

JudgeFn = Callable[[list[tuple[str, str, str]]], list[Any]]


class JudgeReward(VerifierReward):
    """`judge`: the equivalence callable; `name` / `params`: the rule verifier tried first; `reasons`: its
    rejection reasons that the judge may overturn. Other options as `VerifierReward`."""

    def __init__(self, judge: JudgeFn, name: str = "math", params: Mapping[str, Any] | None = None, *,
                 reasons: Sequence[str] = ("unparseable_answer", "no_answer"), reward_name: str = "judge_reward",
                 **options: Any) -> None:
        if not callable(judge):
            raise TypeError("judge must be a callable taking [(problem, gold, answer), ...]")
        super().__init__(name, params, reward_name=reward_name, **options)
        self.judge, self.reasons = judge, frozenset(reasons)

    def verdicts(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[Verdict]:
        rule = super().verdicts(prompts, completions, **columns)
        samples = to_samples(prompts, completions, columns, self.gold_columns, self.think_opened,
                             self.eos_token_ids, self.__name__)
        todo = [i for i, v in enumerate(rule) if v.status == "rejected" and v.reason in self.reasons
                and _answer(rule[i], samples[i][1].text)]
        if not todo:
            return [_with(v, decided_by="rule") for v in rule]
        items = [(samples[i][0].problem, str(samples[i][0].gold), _answer(rule[i], samples[i][1].text))
                 for i in todo]
        try:
            found = list(self.judge(items))
        except Exception as exc:  # noqa: BLE001 - a judge outage is "cannot judge", never "wrong"
            found = [exc] * len(todo)
        if len(found) != len(todo):
            raise ValueError(f"{self.__name__}: the judge returned {len(found)} answers for {len(todo)} items")
        out = [_with(v, decided_by="rule") for v in rule]
        for i, result in zip(todo, found):
            details = {**rule[i].details, "decided_by": "judge", "rule_reason": rule[i].reason}
            if result is True:
                out[i] = Verdict.accept(self.name, **details)
            elif result is False:
                out[i] = Verdict.reject(self.name, "wrong_answer", **details)
            else:
                out[i] = Verdict.unverifiable(self.name, "judge_error", **details)
        return out


def _answer(verdict: Verdict, text: str) -> str:
    return str(verdict.details.get("extracted") or split_think(text).answer).strip()


def _with(verdict: Verdict, **details: Any) -> Verdict:
    return Verdict(verdict.name, verdict.status, verdict.reason, {**verdict.details, **details})
