"""The judge stage's rules, on real verifiers and a real journal, with a scripted engine standing in for the LLM
(the end-to-end tests in test_judge_e2e.py run the shipped tiny judge on vLLM): which samples are judged, both
orders, failures that are never rejections, journal reuse, calibration counts, suspect golds, the recipe section."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from factory.engines.base import Engine
from factory.recipe import RecipeError, load_recipe
from factory.verification.judge import JudgeStage
from factory.verification.judge_client import JudgeClient
from factory.output.card_judge import card_lines
from factory.recipe import Judge, Pairs, Selection, VerifierSpec
from factory.stats import judge_summary
from factory.verification.judge_template import parse_choice
from factory.verification.suspects import suspect_gold
from factory.verification.verify import create_verifiers, verify_unit
from verifiers.types import Completion, Prompt, Verdict

WORDS = {"one half": Fraction(1, 2), "three quarters": Fraction(3, 4), "seven": Fraction(7)}


def value(text: str) -> Fraction | None:
    text = text.strip().strip("$")
    if text in WORDS:
        return WORDS[text]
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", text)
    try:
        return Fraction(int(m.group(1)), int(m.group(2))) if m else Fraction(text)
    except ValueError:
        return None


class ScriptedEngine(Engine):
    """Replies like a judge that reads values: `equivalent` when both answers have the same value. `biased`:
    says equivalent whenever answer A is a number word (a judge that trusts the first answer). `fail`: raises."""

    model = "scripted-judge"

    def __init__(self, biased: bool = False, fail: bool = False, garbage: bool = False) -> None:
        self.biased, self.fail, self.garbage, self.calls = biased, fail, garbage, 0

    def generate(self, prompts, sampling, first_index=0):
        self.calls += len(prompts)
        if self.fail:
            raise ConnectionError("judge server unreachable")
        out = []
        for p in prompts:
            text = p.messages[0]["content"]
            first = re.search(r"Answer A: (.*)", text).group(1)
            second = re.search(r"Answer B: (.*)", text).group(1)
            same = value(first) is not None and value(first) == value(second)
            reply = "maybe" if self.garbage else "equivalent" if same or (self.biased and first in WORDS) \
                else "different"
            out.append(Completion(p.prompt_id, 0, reply, prompt_tokens=100, completion_tokens=2))
        return out


def stage(engine, tmp_path=None, **settings) -> JudgeStage:
    judge = Judge(engine="vllm", model="scripted", **settings)
    return JudgeStage(judge, JudgeClient(engine, judge, tmp_path / "journal" if tmp_path else None, batched=True))


def unit(answers: list[str], gold: str = "\\frac{3}{4}"):
    prompt = Prompt("p1", ({"role": "user", "content": "q"},), "What is 1/2 + 1/4?", gold)
    completions = [Completion("p1", i, f"<think>\nwork\n</think>\n\nSo {a}") for i, a in enumerate(answers)]
    return [prompt], completions


def run_unit(judge: JudgeStage | None, answers: list[str], gold: str = "\\frac{3}{4}", share=0.5, pairs=None):
    prompts, completions = unit(answers, gold)
    verifiers = create_verifiers([VerifierSpec("format"), VerifierSpec("math")])
    try:
        return verify_unit(verifiers, prompts, completions, selection=Selection(max_accepted_per_prompt=100,
                                                                                 suspect_gold_share=share),
                           keep_rejected=True, run_info={}, pairs=pairs, judge=judge)
    finally:
        for v in verifiers:
            v.close()


def rows_by_index(result):
    return {r["sample_index"]: r for split in ("accepted", "rejected") for r in result.rows_by_split[split]}


def math_verdict(row) -> Verdict:
    return next(Verdict.from_row(v) for v in row["verdicts"] if v["name"] == "math")


def test_judge_decides_what_rules_cannot_read_and_nothing_else(tmp_path):
    engine = ScriptedEngine()
    answers = ["\\boxed{three quarters}", "\\boxed{one half}", "\\boxed{0.75}", "\\boxed{0.5}", "the end",
               "\\boxed{3 or 4}"]
    # index 4: no box: `no_answer`, its answer part "So the end" is judged (different);
    result = run_unit(stage(engine, tmp_path, calibration_share=0.0), answers)
    rows = rows_by_index(result)
    for i, row in rows.items():
        for v in row["verdicts"]:
            assert '"decided_by"' in v["details"], (i, v)
    # number words: the rules call them wrong_answer (not in the judge's reasons), so the judge never sees them
    assert math_verdict(rows[0]).reason == "wrong_answer" and math_verdict(rows[0]).details["decided_by"] == "rule"
    assert rows[2]["accepted"] and math_verdict(rows[2]).details["decided_by"] == "rule"
    judged = math_verdict(rows[4])
    assert judged.details["decided_by"] == "judge" and judged.details["rule_reason"] == "no_answer"
    assert judged.reason == "wrong_answer" and len(judged.details["judge"]["replies"]) == 2
    assert result.stats.judge["judged"] == 1 and engine.calls == 2

    # the recipe can send wrong answers too: then the number words are read by the judge and accepted
    result = run_unit(stage(ScriptedEngine(), tmp_path, reasons=["wrong_answer"], calibration_share=0.0), answers)
    rows = rows_by_index(result)
    assert rows[0]["accepted"] and math_verdict(rows[0]).details["rule_reason"] == "wrong_answer"
    assert not rows[1]["accepted"] and math_verdict(rows[1]).reason == "wrong_answer"
    assert math_verdict(rows[5]).details["decided_by"] == "rule"  # a hedge (multiple_answers) is not judged


def test_both_orders_must_say_equivalent(tmp_path):
    result = run_unit(stage(ScriptedEngine(biased=True), None, reasons=["wrong_answer"], calibration_share=0.0),
                      ["\\boxed{one half}"])
    verdict = math_verdict(rows_by_index(result)[0])
    assert verdict.details["judge"]["choices"] == ["different", "equivalent"]
    assert verdict.status == "rejected" and result.stats.judge["rejected"] == 1


@pytest.mark.parametrize("engine", [ScriptedEngine(fail=True), ScriptedEngine(garbage=True)])
def test_judge_failures_are_unverifiable_never_rejections(engine, tmp_path):
    result = run_unit(stage(engine, tmp_path, reasons=["wrong_answer"], calibration_share=0.0),
                      ["\\boxed{three quarters}", "\\boxed{0.75}"], pairs=Pairs())
    rows = rows_by_index(result)
    verdict = math_verdict(rows[0])
    assert (verdict.status, verdict.reason) == ("unverifiable", "judge_error")
    assert "wrong_answer" not in str(rows[0]["rejection_reasons"])
    assert rows[1]["accepted"]  # the rule-decided sample is untouched
    assert result.stats.judge["errors"] == 1 and result.stats.unverifiable == 1
    assert result.stats.reasons == {"math:judge_error": 1}
    assert not result.rows_by_split["pairs"]  # a judge error never makes the rejected side of a pair


def test_every_reply_is_journaled_and_reused(tmp_path):
    answers = ["\\boxed{three quarters}", "\\boxed{seven}"]
    first = ScriptedEngine()
    a = run_unit(stage(first, tmp_path, reasons=["wrong_answer"], calibration_share=0.0), answers)
    again = ScriptedEngine()
    b = run_unit(stage(again, tmp_path, reasons=["wrong_answer"], calibration_share=0.0), answers)
    assert first.calls == 4 and again.calls == 0
    assert b.stats.judge["reused_from_journal"] == 4 and "requests" not in b.stats.judge
    assert [r["accepted"] for r in rows_by_index(a).values()] == [r["accepted"] for r in rows_by_index(b).values()]
    # an unparseable reply is not journaled: the rerun asks again
    bad = ScriptedEngine(garbage=True)
    run_unit(stage(bad, tmp_path / "other", reasons=["wrong_answer"], calibration_share=0.0), answers)
    retry = ScriptedEngine()
    run_unit(stage(retry, tmp_path / "other", reasons=["wrong_answer"], calibration_share=0.0), answers)
    assert bad.calls == 4 and retry.calls == 4


def test_calibration_table_counts_rule_decided_samples(tmp_path):
    answers = ["\\boxed{0.75}", "\\boxed{3/4}", "\\boxed{0.5}", "\\boxed{one half}"]
    result = run_unit(stage(ScriptedEngine(), None, calibration_share=1.0), answers)
    summary = judge_summary(result.stats.judge)
    table = summary["calibration"]["table"]
    assert table["rule_accepted"] == {"judge_equivalent": 2, "judge_different": 0}
    assert table["rule_rejected"] == {"judge_equivalent": 0, "judge_different": 2}
    assert summary["calibration"]["agreement"] == 1.0 and summary["judged"] == 0
    rows = rows_by_index(result)
    assert rows[0]["accepted"] and "judge_check" in math_verdict(rows[0]).details  # verdicts unchanged
    text = "\n".join(card_lines({"judge": summary}))
    assert "| rule: accepted | 2 | 0 |" in text and "| rule: wrong_answer | 0 | 2 |" in text


def test_suspect_gold_listed_with_majority_and_verdicts_unchanged():
    result = run_unit(None, ["\\boxed{5}", "\\boxed{5}", "\\boxed{5.}", "\\boxed{4}"], gold="6", share=0.5)
    assert result.stats.gold_suspects == [{"prompt_id": "p1", "gold": "6", "majority_answer": "5", "count": 3,
                                              "samples": 4, "verifier": "math"}]
    assert not result.rows_by_split["accepted"]
    # a majority the rules accept, a majority below the share, or the listing switched off: nothing listed
    assert not run_unit(None, ["\\boxed{6}"] * 3, gold="6").stats.gold_suspects
    assert not run_unit(None, ["\\boxed{5}", "\\boxed{4}", "\\boxed{3}"], gold="6").stats.gold_suspects
    assert not run_unit(None, ["\\boxed{5}"] * 3, gold="6", share=None).stats.gold_suspects
    choice = [[Verdict.reject("choice", "wrong_answer", answer="C")] for _ in range(3)]
    assert suspect_gold("q", "B", choice, 0.6)["majority_answer"] == "C"


def test_parse_choice_is_strict():
    assert parse_choice("Equivalent.") == "equivalent" and parse_choice(" **different** ") == "different"
    assert parse_choice('{"verdict": "equivalent"}') == "equivalent"
    assert parse_choice("<think>hmm, different?</think>\nequivalent") == "equivalent"
    for reply in ("", "equivalent or different", "they are equivalent", "yes", "{not json", '{"v": 1}'):
        assert parse_choice(reply) is None, reply


def test_recipe_judge_section(tmp_path):
    base = load_recipe("tiny")
    assert not base.judge.enabled and "judge" not in base.fingerprinted()
    on = load_recipe("tiny", ["judge={engine: openai, model: deepseek-chat, base_url: 'https://a.example/v1'}"])
    moved = load_recipe("tiny", ["judge={engine: openai, model: deepseek-chat, base_url: 'https://b.example/v1', "
                                 "max_concurrency: 3, http: {max_retries: 2, price_input_per_mtok: 0.27}}"])
    assert on.fingerprint() != base.fingerprint() and moved.fingerprint() == on.fingerprint()
    other = load_recipe("tiny", ["judge={engine: openai, model: deepseek-chat, base_url: 'https://a.example/v1', "
                                 "reasons: [no_answer]}"])
    assert other.fingerprint() != on.fingerprint()
    template = tmp_path / "t.txt"
    template.write_text("{problem} {first} {second} equivalent?")
    custom = load_recipe("tiny", [f"judge={{engine: vllm, model: m, template: '{template}'}}"])
    assert custom.fingerprinted()["judge"]["template"] != on.fingerprinted()["judge"]["template"]
    for override, message in [("judge={engine: vlm}", "key 'judge.engine': must be one of none, vllm, openai"),
                              ("judge={engine: openai, model: m}", "key 'judge.base_url': required with engine openai"),
                              ("judge={engine: vllm}", "key 'judge.model': required"),
                              ("judge={max_tokens: 0}", "key 'judge.max_tokens': must be >= 1"),
                              ("judge={calibraton_share: 0.1}", "did you mean 'calibration_share'"),
                              ("selection.suspect_gold_share=1.5", "key 'selection.suspect_gold_share': must be <= 1")]:
        with pytest.raises(RecipeError, match=re.escape(message)):
            load_recipe("tiny", [override])
    bad = tmp_path / "bad.txt"
    bad.write_text("{problem} only")
    with pytest.raises(RecipeError, match="lacks the field"):
        load_recipe("tiny", [f"judge={{engine: vllm, model: m, template: '{bad}'}}"])


def test_judge_as_grpo_reward(tmp_path):
    from factory.verification.judge import equivalence_judge
    from verifiers.judge_reward import JudgeReward

    judge = Judge(engine="vllm", model="scripted")
    reward = JudgeReward(equivalence_judge(JudgeClient(ScriptedEngine(), judge, None, batched=True)),
                         reasons=["wrong_answer"])
    failing = JudgeReward(equivalence_judge(JudgeClient(ScriptedEngine(fail=True), judge, None, batched=True)),
                          reasons=["wrong_answer"])
    completions = ["<think>x</think>\\boxed{0.75}", "<think>x</think>\\boxed{three quarters}",
                   "<think>x</think>\\boxed{one half}", "<think>x</think>no box here"]
    prompts = ["What is 1/2 + 1/4?"] * 4
    gold = ["\\frac{3}{4}"] * 4
    assert reward(prompts, completions, gold=gold) == [1.0, 1.0, 0.0, 0.0]
    assert failing(prompts, completions, gold=gold) == [1.0, None, None, 0.0]  # an outage never says "wrong"
    reward.close(), failing.close()


class ScoringEngine(Engine):
    """Replies like a rubric judge: the score is the answer's word count, capped at 10 (a short answer scores low);
    `garbage`: replies that are not a score."""

    model = "scripted-rubric-judge"

    def __init__(self, garbage: bool = False) -> None:
        self.garbage, self.prompts = garbage, []

    def generate(self, prompts, sampling, first_index=0):
        self.prompts += [p.messages[0]["content"] for p in prompts]
        out = []
        for p in prompts:
            answer = re.search(r"\[Answer\]\n(.*?)\n\nGive one", p.messages[0]["content"], re.S).group(1)
            reply = "great" if self.garbage else f"[[{min(10, len(answer.split()))}]]"
            out.append(Completion(p.prompt_id, 0, reply, prompt_tokens=50, completion_tokens=3))
        return out


def run_rubric(engine, answers: list[str], tmp_path=None, **settings):
    judge = Judge(engine="vllm", model="scripted", mode="rubric", threshold=5, **settings)
    stage = JudgeStage(judge, JudgeClient(engine, judge, tmp_path / "journal" if tmp_path else None, batched=True))
    prompt = Prompt("g1", ({"role": "user", "content": "Write a haiku."},), "Write a haiku about rain.", "")
    completions = [Completion("g1", i, a) for i, a in enumerate(answers)]
    verifiers = create_verifiers([VerifierSpec("format", {"think": "allowed"})])
    try:
        return verify_unit(verifiers, [prompt], completions, selection=Selection(max_accepted_per_prompt=100),
                           keep_rejected=True, run_info={}, judge=stage)
    finally:
        for v in verifiers:
            v.close()


def judge_verdict(row) -> Verdict | None:
    return next((Verdict.from_row(v) for v in row["verdicts"] if v["name"] == "judge"), None)


def test_rubric_judge_scores_what_passed_the_rules_and_keeps_at_the_threshold(tmp_path):
    engine = ScoringEngine()
    answers = ["Rain on the tin roof, one more drop, and the night listens.",  # 12 words: 10
               "<think>\nshort\n</think>\n\nRain falls.",                       # 2 words: 2
               "<think>\nunclosed think block, the rules reject it",           # format rejects: not scored
               "Soft rain on the pond"]                                         # 5 words: the threshold
    result = run_rubric(engine, answers, tmp_path)
    rows = rows_by_index(result)
    assert len(engine.prompts) == 3 and all("Write a haiku about rain." in p for p in engine.prompts)
    assert "Rain falls." in engine.prompts[1] and "short" not in engine.prompts[1]  # the answer, not the reasoning
    assert rows[0]["accepted"] and judge_verdict(rows[0]).details["score"] == 10
    assert rows[3]["accepted"] and judge_verdict(rows[3]).details["score"] == 5
    assert rows[1]["rejection_reasons"] == ["judge:below_threshold"]
    assert judge_verdict(rows[2]) is None and rows[2]["rejection_reasons"] == ["format:unclosed_think"]
    assert all(json_details(v)["decided_by"] == "rule" for v in rows[0]["verdicts"] if v["name"] != "judge")
    assert result.stats.judge == {"judged": 3, "accepted": 2, "rejected": 1, "score_10": 1, "score_2": 1,
                                  "score_5": 1, "requests": 3, "prompt_tokens": 150, "completion_tokens": 9}
    summary = judge_summary(result.stats.judge)
    assert summary["scores"] == {"2": 1, "5": 1, "10": 1} and summary["calibration"]["samples"] == 0
    text = "\n".join(card_lines({"judge": summary}, Judge(mode="rubric", threshold=5)))
    assert "| samples | 0 | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 1 |" in text and "kept at 5 or above" in text
    again = ScoringEngine()  # every score was journaled: a rerun sends nothing
    assert run_rubric(again, answers, tmp_path).stats.judge["reused_from_journal"] == 3 and not again.prompts


def test_rubric_judge_failures_are_unverifiable(tmp_path):
    result = run_rubric(ScoringEngine(garbage=True), ["Soft rain on the pond tonight"])
    row = rows_by_index(result)[0]
    assert (judge_verdict(row).status, judge_verdict(row).reason) == ("unverifiable", "judge_error")
    assert not row["accepted"] and result.stats.judge["errors"] == 1 and result.stats.unverifiable == 1


def test_parse_score_is_strict():
    from factory.verification.judge_template import parse_score

    for reply, score in [("7", "7"), ("[[7]]", "7"), ("Rating: [[8]]", "8"), ("<think>hm [[2]]</think>\n[[10]]", "10"),
                         ('{"score": 6}', "6"), ("7/10", "7"), ("**9**", "9")]:
        assert parse_score(reply) == score, reply
    for reply in ("", "11", "[[0]]", "seven", "7 because it is good", "{bad json", '{"score": 12}', "6 or 7"):
        assert parse_score(reply) is None, reply


def test_rubric_template_fields_are_checked(tmp_path):
    on = "judge={engine: vllm, model: m, mode: rubric"
    assert load_recipe("general", [on + "}"]).judge.template_text().count("{answer}") == 1
    with pytest.raises(RecipeError, match=re.escape("lacks the field {answer} (judge.mode rubric)")):
        load_recipe("general", [on + ", template: equivalence}"])
    bad = tmp_path / "t.txt"
    bad.write_text("{answer} {first}")
    with pytest.raises(RecipeError, match="may use only"):
        load_recipe("general", [on + f", template: '{bad}'}}"])
    with pytest.raises(RecipeError, match=re.escape("key 'judge.threshold': must be <= 10")):
        load_recipe("general", [on + ", threshold: 11}"])


def json_details(verdict_row) -> dict:
    import json

    return json.loads(verdict_row["details"])


def test_a_unit_with_judge_errors_is_redone_by_the_next_run(tmp_path):
    """Over HTTP (a fake OpenAI-compatible server stands in for the judge; the real-server path is in
    test_judge_e2e): replies that do not parse are judge errors, not journaled; the next run redoes that unit and
    asks again; a run after that finds the unit complete and asks nothing."""
    from factory.run import run
    from tests.conftest import write_jsonl
    from tests.factory.fault_proxy import FakeTeacher

    state = {"reply": "maybe"}

    def mangle(answer, request, headers):
        answer["choices"][0]["message"]["content"] = state["reply"]
        return answer

    trace = "<think>\nI add the numbers step by step.\n</think>\n\nThe result is \\boxed{{{}}}."
    inp = write_jsonl(tmp_path / "t.jsonl", [
        {"id": "a", "problem": "1/2 + 1/4?", "answer": "\\frac{3}{4}", "completion": trace.format("three quarters")},
        {"id": "a", "problem": "1/2 + 1/4?", "answer": "\\frac{3}{4}", "completion": trace.format("0.75")}])
    with FakeTeacher(model="judge-m", mangle=mangle) as judge:
        recipe = load_recipe("tiny", [f"prompts.path={inp}", "judge={engine: openai, model: judge-m, base_url: "
                                      f"'{judge.base_url}', reasons: [wrong_answer], structured: none, "
                                      "calibration_share: 0, http: {max_retries: 0}}"])
        first = run(recipe, mode="verify", out=tmp_path / "run", log_json=True)
        assert first.summary["judge"]["judge_errors"] == 1 and first.summary["judge"]["unparseable_replies"] == 2
        assert first.summary["funnel"]["accepted"] == 1 and first.summary["funnel"]["unverifiable"] == 1
        state["reply"] = "equivalent"
        sent = judge.requests
        again = run(recipe, mode="verify", out=tmp_path / "run", log_json=True)
        assert judge.requests - sent == 2 and again.summary["judge"]["judge_errors"] == 0
        assert again.summary["funnel"]["accepted"] == 2 and again.summary["judge"]["accepted"] == 1
        sent = judge.requests
        third = run(recipe, mode="verify", out=tmp_path / "run", log_json=True)
        assert judge.requests == sent and third.summary == {**again.summary, **{k: third.summary[k] for k in
                                                                                ("wall_seconds", "samples_per_second")
                                                                                if k in third.summary}}
