"""The dataset card a run writes: Hub metadata by the Hub's own spec, read back offline with huggingface_hub's
`DatasetCard`/`DatasetCardData` and checked against the vocabularies `datasets` ships (size buckets, language
codes), while `datasets.load_dataset(run_dir)` keeps loading the folder and never serves stale rows.

The Hub's own validation (`DatasetCard.validate`) posts the card to the Hub, so it is not run here (no network).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard, DatasetCardData

from factory.cli import EXIT_OK
from factory.output.card import render_card, size_category
from factory.recipe import RecipeError, load_recipe
from tests.conftest import write_jsonl
from tests.factory.test_run_safety import GOOD, ROWS, verify  # the same small verify input and call

RESOURCES = Path(datasets.__file__).parent / "utils" / "resources"


@pytest.mark.parametrize("rows, bucket", [
    (0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (9_999, "1K<n<10K"), (10_000, "10K<n<100K"),
    (776, "n<1K"), (220_000, "100K<n<1M"), (10**9, "1B<n<10B"), (10**12 - 1, "100B<n<1T"), (10**12, "n>1T")])
def test_size_category_uses_the_hubs_buckets(rows, bucket):
    assert size_category(rows) == bucket
    assert bucket in json.loads((RESOURCES / "size_categories.json").read_text())


def test_a_run_folders_card_is_hub_metadata_and_still_loads(tmp_path, caplog):
    out = tmp_path / "run"
    assert verify(write_jsonl(tmp_path / "t.jsonl", ROWS), out) == EXIT_OK
    card = DatasetCard.load(out / "README.md")
    data = card.data
    assert isinstance(data, DatasetCardData)
    assert data.license == "apache-2.0"  # the tiny recipe's output.license
    # The tiny recipe's language verifier expects no fixed language: the final card reads the accepted rows'.
    assert data.language == ["en"]
    assert set(data.language) <= set(json.loads((RESOURCES / "languages.json").read_text()))
    assert data.task_categories == ["text-generation"]
    assert data.annotations_creators == ["machine-generated"]
    assert data.size_categories == ["n<1K"]
    assert data.pretty_name == "tiny: rejection-sampled reasoning traces"
    assert data.source_datasets is None  # a local prompt file is no Hub source
    # The spec's dataset_info: per config, its download size, and no free-text description.
    info = {entry["config_name"]: entry for entry in data.to_dict()["dataset_info"]}
    assert all(set(entry) == {"config_name", "download_size"} for entry in info.values())
    assert info["default"]["download_size"] == sum(p.stat().st_size for p in (out / "data").rglob("*.parquet")
                                                   if p.parent.name != "pairs")
    assert [c["config_name"] for c in data.to_dict()["configs"]] == ["default", "pairs"]
    assert info["pairs"]["download_size"] == sum(p.stat().st_size for p in (out / "data" / "pairs").iterdir())
    assert "(model: `external`)" in card.text  # traces made elsewhere: the model is named in the body
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert not [r for r in caplog.records if "dataset_info" in r.getMessage()]  # datasets reads it all
    assert ds["accepted"].num_rows == 3 and ds["rejected"].num_rows == 1
    assert load_dataset(str(out), "pairs", cache_dir=str(tmp_path / "hf"))["train"].num_rows == 1


def test_hub_source_teacher_and_fixed_language_reach_the_card(tmp_path):
    recipe = load_recipe("math", ["verifiers=[{name: language, params: {expected_language: fr, "
                                  "also_allowed: [en]}}]"])
    text = render_card(recipe, {"model": recipe.generation.model, "sampling": {"n": 8}}, ["accepted", "pairs"],
                       None, {0: {"shards": {"accepted": {"rows": 1500, "bytes": 10}, "pairs": {"rows": 1}}}})
    data = DatasetCard(text).data
    assert data.source_datasets == ["open-r1/OpenR1-Math-220k"]
    assert data.license == "apache-2.0"
    assert data.language == ["en", "fr"]
    assert data.size_categories == ["1K<n<10K"]
    assert "https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in text


def test_license_is_a_recipe_key_outside_the_fingerprint():
    plain, other = load_recipe("tiny"), load_recipe("tiny", ["output.license=cc-by-4.0"])
    assert other.output.license == "cc-by-4.0"
    assert plain.fingerprint() == other.fingerprint()  # a card's license does not change a run's rows
    with pytest.raises(RecipeError, match="output.license"):
        load_recipe("tiny", ["output.license='Apache 2'"])


def test_two_folders_of_one_name_never_share_a_cache_entry(tmp_path):
    """`datasets` caches a local folder by its name and card; the card's sizes keep runs apart."""
    cache = str(tmp_path / "hf")
    first, second = tmp_path / "a" / "run", tmp_path / "b" / "run"
    assert verify(write_jsonl(tmp_path / "t1.jsonl", ROWS), first) == EXIT_OK
    wrong_b = [dict(row, answer="9") if row["id"] == "b" else row for row in ROWS]
    assert verify(write_jsonl(tmp_path / "t2.jsonl", wrong_b), second) == EXIT_OK
    assert sorted(load_dataset(str(first), cache_dir=cache)["rejected"]["id"]) == ["a#1"]
    assert sorted(load_dataset(str(second), cache_dir=cache)["rejected"]["id"]) == ["a#1", "b#0"]
