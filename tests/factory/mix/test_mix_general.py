"""The general (non-reasoning) recipe: gold-less prompts read by the prompt reader, answers with or without a think
block as the recipe's `think` setting says, and the format, language and readability verifiers on traces made
elsewhere (`factory verify`, no engine)."""

from __future__ import annotations

import pyarrow.parquet as pq

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.prompts.sources import load_prompts
from factory.recipe import load_recipe
from tests.conftest import write_jsonl
from tests.factory.mix.mix_helpers import GENERAL_TRACES


NO_JUDGE = ["--set", "judge.engine=none"]  # the rules alone: the recipe's judge is DeepSeek's API (see test_judge_e2e)


def rows(run, split):
    files = sorted((run / "data" / split).glob("*.parquet"))
    return {r["id"]: r for r in pq.read_table(files).to_pylist()} if files else {}


def test_the_shipped_general_prompts_have_no_gold_and_are_read():
    recipe = load_recipe("general")
    assert "gold" not in recipe.prompts.columns
    assert recipe.verifiers[0].name == "format" and recipe.verifiers[0].params == {"think": "allowed"}
    loaded = load_prompts(recipe.prompts, recipe.template)
    assert len(loaded.prompts) == 24 and not loaded.skipped
    assert {p.gold for p in loaded.prompts} == {""}
    categories = {p.metadata["category"] for p in loaded.prompts}
    assert categories == {"writing", "factual", "translation"}
    languages = {p.metadata["language"] for p in loaded.prompts if p.metadata["category"] == "translation"}
    assert languages == {"fr", "de", "es", "zh"}


def test_general_traces_with_and_without_think_are_verified(tmp_path):
    out = tmp_path / "run"
    assert main(["verify", "--recipe", "general", "--input", str(GENERAL_TRACES), "--out", str(out), *NO_JUDGE]) == EXIT_OK
    accepted, rejected = rows(out, "accepted"), rows(out, "rejected")
    plain = accepted["general-writing-00#0"]["completion"][0]["content"]
    assert "<think>" not in plain and not accepted["general-writing-00#0"]["reasoning"]
    assert "general-writing-05#0" in accepted and accepted["general-writing-05#0"]["reasoning"]
    assert {"general-translation-00#0", "general-translation-02#0", "general-translation-04#0",
            "general-translation-06#0"} <= set(accepted)
    assert rejected["general-factual-03#1"]["rejection_reasons"] == ["format:unclosed_think"]
    assert rejected["general-translation-07#0"]["rejection_reasons"] == ["language:language_mixing"]
    assert len(accepted) == 8 and {r["gold"] for r in accepted.values()} == {""}
    assert not (out / "data" / "pairs").exists() or not list((out / "data" / "pairs").glob("*.parquet"))


def test_think_forbidden_rejects_traces_with_a_think_block(tmp_path):
    out = tmp_path / "run"
    verifiers = "verifiers=[{name: format, params: {think: forbidden}}]"
    assert main(["verify", "--recipe", "general", "--input", str(GENERAL_TRACES), "--out", str(out),
                 "--set", verifiers, *NO_JUDGE]) == EXIT_OK
    accepted, rejected = rows(out, "accepted"), rows(out, "rejected")
    assert rejected["general-writing-05#0"]["rejection_reasons"] == ["format:think_forbidden"]
    assert "general-writing-00#0" in accepted and "general-translation-07#0" in accepted  # no language check here
    with_think = [r for r in accepted.values() if "<think>" in r["completion"][0]["content"]]
    assert with_think == []


def test_a_recipe_with_gold_still_requires_its_gold_column(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "problem": "What is 1 + 1?", "completion": "2"}])
    assert main(["verify", "--recipe", "tiny", "--input", str(traces), "--out", str(tmp_path / "run")]) == EXIT_USAGE
    assert "missing column(s) 'answer'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
