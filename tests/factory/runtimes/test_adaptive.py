"""Adaptive sampling: the stop rule, round counts and deterministic sample indices (the runtime's bookkeeping, with
completions made up here), and a real run on vLLM with exact resume (slow)."""

from __future__ import annotations

import pytest

from factory.runtimes.adaptive import AdaptiveSettings, AdaptiveUnit, next_round
from verifiers.types import Completion, Prompt, chat

SETTINGS = AdaptiveSettings(target_accepted=2, round_n=3, cap=8)


def prompt(pid: str) -> Prompt:
    return Prompt(pid, chat(None, pid), pid, "1")


def test_stop_rule():
    assert next_round(0, 0, SETTINGS) == 3
    assert next_round(3, 2, SETTINGS) == 0       # enough passed
    assert next_round(3, 1, SETTINGS) == 3
    assert next_round(6, 1, SETTINGS) == 2       # never past the cap
    assert next_round(8, 0, SETTINGS) == 0       # the cap


def drive(pass_rule, text=lambda pid, index: f"{pid} trace {index}", settings=SETTINGS,
          pids=("easy", "hard", "never")) -> AdaptiveUnit:
    """Run a unit's rounds with `pass_rule(prompt_id, sample_index) -> bool` deciding each verdict and
    `text(prompt_id, sample_index)` writing each completion."""
    unit = AdaptiveUnit([prompt(pid) for pid in pids], settings)
    prompts, n, first = unit.first_round()
    while prompts:
        completions = [Completion(p.prompt_id, first + i, text(p.prompt_id, first + i)) for p in prompts
                       for i in range(n)]
        passed = {p.prompt_id: [first + i for i in range(n) if pass_rule(p.prompt_id, first + i)] for p in prompts}
        prompts, n, first = unit.add_round(completions, passed)
    return unit


def indices_of(unit: AdaptiveUnit, pid: str) -> list[int]:
    return sorted(c.sample_index for c in unit.completions if c.prompt_id == pid)


def rule(pid: str, index: int) -> bool:
    return {"easy": True, "hard": index in (4, 7), "never": False}[pid]


def test_round_counts_and_indices():
    unit = drive(rule)
    indices = {pid: sorted(c.sample_index for c in unit.completions if c.prompt_id == pid)
               for pid in ("easy", "hard", "never")}
    assert indices["easy"] == [0, 1, 2]                  # 3 passed in round 1: done
    assert indices["hard"] == list(range(8))             # one pass at 4, the second at 7: the cap
    assert indices["never"] == list(range(8))            # never passes: the cap
    assert unit.rounds == 3                              # [0,3), [3,6), [6,8)
    keys = [(c.prompt_id, c.sample_index) for c in unit.completions]
    assert len(keys) == len(set(keys))


def test_identical_passing_samples_count_once():
    """The accepted split keeps one of identical traces (`selection.completion_key`: whitespace aside), so the
    stop rule counts distinct passing samples: a teacher that repeats itself samples on until K distinct pass."""
    def repeating(pid: str, index: int) -> str:
        if pid == "easy":  # samples 0-4 are one trace (spacing aside), then they differ
            return ("the  answer is 1" if index % 2 else "the answer is 1\n") if index < 5 else f"trace {index}"
        return f"{pid} {index}"

    unit = drive(lambda pid, index: True, repeating)
    assert indices_of(unit, "easy") == list(range(6))        # one distinct pass after rounds 1-2, the second at 5
    assert unit.passed["easy"] == 2
    assert indices_of(unit, "hard") == [0, 1, 2]              # distinct texts: K reached in round 1


def test_identical_passing_samples_all_count_when_dedup_is_off():
    settings = AdaptiveSettings(target_accepted=2, round_n=3, cap=8, distinct=False)
    unit = drive(lambda pid, index: True, lambda pid, index: "same", settings, pids=("easy",))
    assert indices_of(unit, "easy") == [0, 1, 2] and unit.passed["easy"] == 3


def test_a_prompt_that_stops_before_the_cap_has_k_distinct_passes():
    """Whatever the texts and verdicts, a prompt that stopped before the cap holds K distinct passing samples."""
    import random

    for seed in range(200):
        rng = random.Random(seed)
        texts = {(pid, i): rng.choice(["a", "b", "c", " a", "a\n"]) for pid in ("easy", "hard", "never")
                 for i in range(SETTINGS.cap)}
        verdicts = {key: rng.random() < 0.6 for key in texts}
        unit = drive(lambda pid, i: verdicts[(pid, i)], lambda pid, i: texts[(pid, i)])
        for pid in ("easy", "hard", "never"):
            done = indices_of(unit, pid)
            distinct = {" ".join(texts[(pid, i)].split()) for i in done if verdicts[(pid, i)]}
            if len(done) < SETTINGS.cap:
                assert len(distinct) >= SETTINGS.target_accepted, (seed, pid, done)
            before_last = {" ".join(texts[(pid, i)].split()) for i in done[:(len(done) - 1) // 3 * 3]
                           if verdicts[(pid, i)]}
            assert len(before_last) < SETTINGS.target_accepted, (seed, pid)  # it needed its last round


def test_rounds_are_deterministic():
    first, second = drive(rule), drive(rule)
    assert [(c.prompt_id, c.sample_index) for c in first.completions] == \
        [(c.prompt_id, c.sample_index) for c in second.completions]


def test_a_recipe_with_adaptive_settings_is_checked():
    from factory.recipe import RecipeError, load_recipe

    recipe = load_recipe("tiny", ["generation.adaptive={target_accepted: 4, round_n: 2}"])
    adaptive = recipe.generation.adaptive
    assert (adaptive.target_accepted, adaptive.round_n) == (4, 2)
    with pytest.raises(RecipeError, match="generation.adaptive"):
        load_recipe("tiny", ["generation.adaptive={target_accepted: 4, round_n: 9}"])
    with pytest.raises(RecipeError, match="generation.adaptive"):
        load_recipe("tiny", ["generation.adaptive={target: 4}"])
