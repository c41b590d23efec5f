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


def drive(pass_rule) -> AdaptiveUnit:
    """Run a unit's rounds with `pass_rule(prompt_id, sample_index) -> bool` deciding each verdict."""
    unit = AdaptiveUnit([prompt("easy"), prompt("hard"), prompt("never")], SETTINGS)
    prompts, n, first = unit.first_round()
    while prompts:
        completions = [Completion(p.prompt_id, first + i, "x") for p in prompts for i in range(n)]
        passed = {p.prompt_id: sum(pass_rule(p.prompt_id, first + i) for i in range(n)) for p in prompts}
        prompts, n, first = unit.add_round(completions, passed)
    return unit


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
