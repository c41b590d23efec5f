from factory.recipe import Selection
from factory.verification.selection import select_accepted
from factory.stats import pass_at_k, summarize, totals_of
from verifiers.types import Completion, Prompt, Verdict, chat
from factory.verification.verify import verify_unit
from verifiers.base import Verifier


class EvenIndex(Verifier):
    name = "even"

    def verify_batch(self, prompt, completions):
        return [Verdict.accept(self.name) if c.sample_index % 2 == 0 else Verdict.reject(self.name, "odd")
                for c in completions]


class CostlyRecorder(Verifier):
    name = "costly"
    costly = True

    def __init__(self):
        self.seen = []

    def verify_batch(self, prompt, completions):
        self.seen.extend(c.sample_index for c in completions)
        return [Verdict.accept(self.name) for _ in completions]


class Broken(Verifier):
    name = "broken"

    def verify_batch(self, prompt, completions):
        raise ZeroDivisionError("bug")


def unit(n_prompts=2, n=4):
    prompts = [Prompt(f"p{i}", chat(None, "q"), "q", "1") for i in range(n_prompts)]
    completions = [Completion(p.prompt_id, j, "x" * (10 - j), "stop", 5, 10 - j) for p in prompts for j in range(n)]
    return prompts, completions


def test_costly_verifier_skips_rejected_and_every_sample_lands_once():
    prompts, completions = unit()
    costly = CostlyRecorder()
    result = verify_unit([EvenIndex(), costly], prompts, completions, selection=Selection(4, "first"),
                         keep_rejected=True, run_info={})
    assert costly.seen == [0, 2, 0, 2]
    ids = [r["id"] for split in result.rows_by_split.values() for r in split]
    assert sorted(ids) == sorted(f"{c.prompt_id}#{c.sample_index}" for c in completions)
    odd = next(r for r in result.rows_by_split["rejected"] if r["sample_index"] == 1)
    assert [(v["name"], v["status"], v["reason"]) for v in odd["verdicts"]] == [
        ("even", "rejected", "odd"), ("costly", "skipped", "skipped_already_rejected")]
    assert result.stats.per_prompt == [[4, 2], [4, 2]]
    assert result.stats.reasons == {"even:odd": 4}


def test_selection_keeps_k_and_marks_the_rest():
    prompts, completions = unit(1, 6)
    result = verify_unit([EvenIndex()], prompts, completions, selection=Selection(1, "shortest"),
                         keep_rejected=True, run_info={})
    assert [r["sample_index"] for r in result.rows_by_split["accepted"]] == [4]  # 0,2,4 pass; 4 is shortest
    not_selected = [r for r in result.rows_by_split["rejected"]
                    if "selection:not_selected" in r["rejection_reasons"]]
    assert sorted(r["sample_index"] for r in not_selected) == [0, 2]
    assert (result.stats.passed, result.stats.accepted, result.stats.rejected) == (3, 1, 5)
    # one word per count: the funnel's reason keys are the rows' reasons
    assert set(result.stats.reasons) == {r for row in result.rows_by_split["rejected"]
                                            for r in row["rejection_reasons"]}


def test_dropping_rejected_still_counts_them():
    prompts, completions = unit()
    result = verify_unit([EvenIndex()], prompts, completions, selection=Selection(4, "first"),
                         keep_rejected=False, run_info={})
    assert set(result.rows_by_split) == {"accepted"} and result.stats.rejected == 4


def test_a_verifier_bug_is_recorded_not_raised():
    prompts, completions = unit(1, 2)
    result = verify_unit([Broken()], prompts, completions, selection=Selection(4, "first"), keep_rejected=True,
                         run_info={})
    row = result.rows_by_split["rejected"][0]
    assert row["verdicts"][0]["status"] == "unverifiable" and "ZeroDivisionError" in row["verdicts"][0]["details"]
    assert result.stats.unverifiable == 2


def test_selection_strategies_are_deterministic():
    completions = [Completion("p", i, "x" * (5 - i), completion_tokens=5 - i) for i in range(5)]
    assert select_accepted("p", completions, 2, "first") == {0, 1}
    assert select_accepted("p", completions, 2, "shortest") == {4, 3}
    assert select_accepted("p", completions, 2, "random") == select_accepted("p", completions, 2, "random")


def test_pass_at_k_and_summary():
    assert pass_at_k(8, 0, 1) == 0.0 and pass_at_k(8, 8, 8) == 1.0
    assert abs(pass_at_k(8, 2, 1) - 0.25) < 1e-12
    assert abs(pass_at_k(4, 1, 2) - 0.5) < 1e-12
    total = totals_of([{"prompts": 1, "generated": 8, "passed": 2, "per_prompt": [[8, 2]], "reasons": {"a": 6}},
                       {"prompts": 1, "generated": 8, "passed": 0, "per_prompt": [[8, 0]], "reasons": {"a": 8}}])
    summary = summarize(total, units_done=2, units_total=2)
    assert summary["estimates"] == {"pass@1": 0.125, "pass@8": 0.5}
    assert summary["funnel"]["rejected_by_reason"] == {"a": 14} and summary["complete"]


def test_known_verdicts_are_reused_even_when_empty():
    """Adaptive rounds hand their verdicts to the unit's final verification; a recipe with no verifiers has empty
    verdict lists, which must still count as known."""
    prompts, completions = unit(1, 2)
    known = {(c.prompt_id, c.sample_index): [] for c in completions}
    result = verify_unit([], prompts, completions, selection=Selection(4, "first"), keep_rejected=True,
                         run_info={}, known=known)
    assert result.stats.passed == 2
    recorder = CostlyRecorder()
    verify_unit([recorder], prompts, completions, selection=Selection(4, "first"), keep_rejected=True,
                run_info={}, known={(completions[0].prompt_id, 0): [Verdict.accept("costly")]})
    assert recorder.seen == [1]  # only the sample not already verified


def test_a_verifier_fault_is_retried_then_counted_and_its_unit_redone_on_resume(tmp_path):
    """A verifier that raises once is asked again (the glitch is not a verdict); one that keeps raising gives
    `verifier_error`, counted apart in the funnel, and a rerun redoes that unit instead of keeping the fault."""
    import json

    from factory.recipe import load_recipe
    from factory.run import run
    from verifiers.base import Verifier
    from verifiers.registry import register_verifier
    from verifiers.types import Verdict
    from tests.conftest import write_jsonl

    state = {"calls": 0, "fail_always": True}

    @register_verifier("flaky_for_test")
    class Flaky(Verifier):
        name = "flaky_for_test"

        def verify_batch(self, prompt, completions):
            state["calls"] += 1
            if state["fail_always"] or state["calls"] == 1:
                raise RuntimeError("verifier bug")
            return [Verdict.accept(self.name) for _ in completions]

    rows = [{"id": "a", "problem": "p", "answer": "1", "completion": "<think>\nx\n</think>\n\\boxed{1}"}]
    inp = write_jsonl(tmp_path / "t.jsonl", rows)
    recipe = load_recipe("tiny", [f"prompts.path={inp}", "verifiers=[{name: flaky_for_test}]"])
    first = run(recipe, mode="verify", out=tmp_path / "run", log_json=True)
    assert state["calls"] == 2  # retried once
    assert first.summary["funnel"]["verifier_errors"] == 1 and first.summary["funnel"]["accepted"] == 0
    state.update(calls=0, fail_always=False)
    again = run(recipe, mode="verify", out=tmp_path / "run", log_json=True)
    assert state["calls"] == 2  # the unit was redone (first call fails, the retry accepts)
    assert again.summary["funnel"]["verifier_errors"] == 0 and again.summary["funnel"]["accepted"] == 1
    assert json.loads((tmp_path / "run" / "stats.json").read_text())["funnel"]["accepted"] == 1


def test_a_prompt_too_long_for_the_engine_is_named_and_never_verified():
    from factory.engines.base import prompt_too_long
    from factory.recipe import Selection
    from factory.verification.verify import verify_unit
    from verifiers.types import Prompt

    prompt = Prompt("long", [{"role": "user", "content": "x " * 5000}], "x " * 5000, "1")
    result = verify_unit([], [prompt], prompt_too_long(prompt, 5002, 2, 0), selection=Selection(),
                         keep_rejected=True, run_info={})
    assert [r["rejection_reasons"] for r in result.rows_by_split["rejected"]] == [["teacher:prompt_too_long"]] * 2
    assert result.stats.reasons == {"teacher:prompt_too_long": 2}
