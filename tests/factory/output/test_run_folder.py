import json

import pytest
from datasets import load_dataset

from factory.output.card import render_card
from factory.recipe import load_recipe
from factory.output.run_folder import RunFolder, RunFolderError
from factory.output.rows import build_row
from verifiers.types import Completion, Prompt, Verdict, chat


def rows(n, prompt_id="p", accepted=True, with_gold=True):
    prompt = Prompt(prompt_id, chat(None, "q"), "q", "1" if with_gold else "", "src")
    return [build_row(prompt, Completion(prompt_id, i, f"<think>w</think>\\boxed{{{i}}}"),
                      [Verdict.accept("format")], accepted=accepted, run_info={"model": "m"}) for i in range(n)]


def test_second_process_is_locked_out(tmp_path):
    with RunFolder(tmp_path / "run"):
        with pytest.raises(RunFolderError, match="another factory process"):
            with RunFolder(tmp_path / "run"):
                pass
    with RunFolder(tmp_path / "run"):  # released on exit
        pass


def test_commit_writes_shards_then_marker_and_datasets_loads_mixed_shards(tmp_path):
    recipe = load_recipe("tiny")
    with RunFolder(tmp_path / "run") as folder:
        # unit 0 has rows in both splits; unit 1 has no accepted rows at all (an empty shard) and a row whose
        # string columns are all empty: the explicit schema keeps every shard castable.
        folder.commit_unit(0, {"accepted": rows(3, "a"), "rejected": rows(2, "b", accepted=False)}, {"unit": 0, "stats": {}})
        folder.commit_unit(1, {"accepted": [], "rejected": rows(1, "c", False, with_gold=False)}, {"unit": 1, "stats": {}})
        folder.write_text("README.md", render_card(recipe, {"model": "m"}, ["accepted", "rejected"], None,
                                                   folder.completed_units()))
        assert sorted(folder.completed_units()) == [0, 1]
        assert not list(folder.tmp_dir.iterdir())
    dataset = load_dataset(str(tmp_path / "run"), cache_dir=str(tmp_path / "hf-cache"))
    assert dataset["accepted"].num_rows == 3 and dataset["rejected"].num_rows == 3
    assert dataset["accepted"][0]["completion"][-1]["role"] == "assistant"
    assert sorted(dataset["rejected"]["id"]) == ["b#0", "b#1", "c#0"]


def test_stale_temp_files_are_cleared(tmp_path):
    with RunFolder(tmp_path / "run") as folder:
        folder.write_run_info({"fingerprint": "abc", "settings": {}})
        (folder.tmp_dir / "accepted-part-00000.parquet.tmp").write_bytes(b"half written")
        folder.commit_unit(5, {"accepted": rows(1)}, {"unit": 5, "stats": {}})
    with RunFolder(tmp_path / "run") as folder:
        assert not list(folder.tmp_dir.iterdir())


def test_run_info_round_trip(tmp_path):
    with RunFolder(tmp_path / "run") as folder:
        assert folder.read_run_info() is None
        folder.write_run_info({"fingerprint": "abc", "settings": {}})
        assert folder.read_run_info()["fingerprint"] == "abc"
        assert json.loads((folder.meta / "run.json").read_text())["fingerprint"] == "abc"
