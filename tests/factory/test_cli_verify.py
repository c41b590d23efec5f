"""`factory verify`, `stats` and `recipes` through the real CLI entry point, with the real math and format verifiers."""

import json

import pytest
from datasets import load_dataset

from factory.cli import EXIT_LOCKED, EXIT_OK, EXIT_USAGE, build_parser, main
from factory.output.run_folder import RunFolder
from tests.conftest import events_of, write_jsonl

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
TRACES = [
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD},
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD.replace("{7}", "{8}")},
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": "<think>\n3 + 4 = 7 and so on"},
    {"id": "b", "problem": "Half of 3/2?", "answer": "\\frac{3}{4}", "completion": GOOD.replace("{7}", "{0.75}")},
    {"id": "c", "problem": "Broken gold", "answer": "\\frac{", "completion": GOOD},
]


def run_verify(tmp_path, *extra):
    inp = write_jsonl(tmp_path / "traces.jsonl", TRACES)
    out = tmp_path / "run"
    code = main(["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out), "--log-json",
                 "--set", "output.prompts_per_shard=1", *extra])
    return code, out


def test_verify_writes_a_loadable_run_folder(tmp_path, capsys):
    code, out = run_verify(tmp_path)
    assert code == EXIT_OK
    events = events_of(capsys.readouterr().out)
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    assert any(e["event"] == "skipped" and "row 5" in e["message"] and "gold" in e["message"] for e in events)
    ds = load_dataset(str(out))
    accepted = {r["id"]: r for r in ds["accepted"]}
    rejected = {r["id"]: r for r in ds["rejected"]}
    assert set(accepted) == {"a#0", "b#0"} and set(rejected) == {"a#1", "a#2"}
    assert [v["name"] for v in accepted["a#0"]["verdicts"]] == [v.name for v in __import__(
        "factory.recipe", fromlist=["x"]).load_recipe("tiny").verifiers]
    assert "math:wrong_answer" in json.dumps(events[-1]["funnel"]["rejected_by_reason"])
    assert "format:unclosed_think" in rejected["a#2"]["rejection_reasons"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["counts"]["skipped_prompts"] == 1
    assert {s["split"] for s in manifest["shards"]} == {"accepted", "rejected", "pairs"}  # the tiny recipe keeps pairs
    assert (out / "recipe.resolved.yaml").is_file()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["estimates"]["pass@1"] == pytest.approx((1 / 3 + 1) / 2, abs=1e-3)


def test_rerun_resumes_and_a_changed_recipe_is_refused(tmp_path, capsys):
    code, out = run_verify(tmp_path)
    assert code == EXIT_OK
    before = sorted(p.name for p in (out / "data" / "accepted").iterdir())
    code, _ = run_verify(tmp_path)
    assert code == EXIT_OK
    assert sorted(p.name for p in (out / "data" / "accepted").iterdir()) == before
    capsys.readouterr()
    code, _ = run_verify(tmp_path, "--set", "selection.max_accepted_per_prompt=1")
    assert code == EXIT_USAGE
    err = capsys.readouterr().out
    assert "refusing to mix them" in err and "selection.max_accepted_per_prompt: 4" in err


def test_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with RunFolder(out):
        code, _ = run_verify(tmp_path)
    assert code == EXIT_LOCKED
    assert "another factory process" in capsys.readouterr().out


def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys):
    inp = write_jsonl(tmp_path / "traces.jsonl", [{"id": "a", "question": "x", "answer": "1", "completion": "y"}])
    code = main(["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(tmp_path / "run")])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(inp) in err and "row 1" in err and "'problem'" in err


def test_stats_and_recipes_commands(tmp_path, capsys):
    code, out = run_verify(tmp_path)
    capsys.readouterr()
    assert main(["stats", str(out), "--json"]) == EXIT_OK
    stats = json.loads(capsys.readouterr().out)
    assert stats["funnel"]["generated"] == 4 and stats["complete"]
    assert main(["stats", str(out), "--json", "--rows"]) == EXIT_OK
    recount = json.loads(capsys.readouterr().out)
    assert recount["rows"]["rows"]["accepted"] == recount["funnel"]["accepted"] == 2
    assert recount["rows"]["rows"]["rejected"] == recount["funnel"]["rejected"] == 2
    assert recount["rows"]["rejection_reasons"] == recount["funnel"]["rejected_by_reason"]
    assert main(["recipes"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "math" in listing and "tiny" in listing and "verifiers:" in listing
    assert main(["recipes", "show", "tiny"]) == EXIT_OK
    assert "data/models/tiny-r1" in capsys.readouterr().out
    assert main(["stats", str(tmp_path)]) == EXIT_USAGE


def test_every_flag_has_help():
    parser = build_parser()
    for action in parser._subparsers._group_actions[0].choices.values():
        for flag in action._actions:
            assert flag.help, (action.prog, flag.dest)
