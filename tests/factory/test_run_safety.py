"""Nothing lost, nothing misstated: the run folder's safety, the run's identity, exit codes, signals and recipe
checks, through the real CLI (`factory verify`: the same run path as `generate`, without an engine)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from factory.cli import EXIT_INCOMPLETE, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, main
from factory.output.run_folder import RunFolder
from tests.conftest import events_of, write_jsonl

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
ROWS = [
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD},
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD.replace("{7}", "{8}")},
    {"id": "b", "problem": "What is 2 + 5?", "answer": "7", "completion": GOOD},
    {"id": "c", "problem": "What is 1 + 6?", "answer": "7", "completion": GOOD},
]


def verify(inp: Path, out: Path, *extra: str) -> int:
    return main(["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out), "--log-json",
                 "--set", "output.prompts_per_shard=1", *extra])


def events(capsys) -> list[dict]:
    return events_of(capsys.readouterr().out)


def ids_of(out: Path) -> list[str]:
    return sorted(i for split in ("accepted", "rejected") for p in (out / "data" / split).glob("*.parquet")
                  for i in pq.read_table(p, columns=["id"]).column("id").to_pylist())


# -- the folder: never overwrite or delete what the factory did not write -----------------------------------------

def test_a_non_run_folder_is_refused_and_left_untouched(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "data" / "accepted").mkdir(parents=True)
    files = {out / "README.md": b"my notes", out / "manifest.json": b"{}",
             out / "data" / "accepted" / "part-00000.parquet": b"my data"}
    for path, data in files.items():
        path.write_bytes(data)
    code = verify(write_jsonl(tmp_path / "t.jsonl", ROWS), out)
    assert code == EXIT_USAGE
    assert "not a run folder" in events(capsys)[-1]["message"]
    assert {p: p.read_bytes() for p in files} == files
    assert not (out / ".factory").exists()


def test_an_empty_folder_is_fine(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert verify(write_jsonl(tmp_path / "t.jsonl", ROWS), out) == EXIT_OK


def test_out_that_cannot_be_created_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert verify(write_jsonl(tmp_path / "t.jsonl", ROWS), blocker / "run") == EXIT_USAGE
    assert "cannot create" in events(capsys)[-1]["message"] or "not a folder" in events(capsys)[-1]["message"]


def test_locked_folder_has_its_own_exit_code(tmp_path, capsys):
    out = tmp_path / "run"
    inp = write_jsonl(tmp_path / "t.jsonl", ROWS)
    assert verify(inp, out) == EXIT_OK
    with RunFolder(out):
        assert verify(inp, out) == EXIT_LOCKED
    assert "another factory process" in events(capsys)[-1]["message"]


# -- rows that cannot be written, shards that were damaged -------------------------------------------------------

def test_a_lone_surrogate_skips_its_row_not_the_unit(tmp_path, capsys):
    inp = tmp_path / "t.jsonl"
    lines = [json.dumps(r) for r in ROWS]
    lines[2] = lines[2].replace("What is 2 + 5?", "What is \\ud800 2 + 5?")   # in a problem
    lines[3] = lines[3].replace("The answer", "The \\udfff answer")          # in a completion
    inp.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    assert verify(inp, out) == EXIT_OK
    skipped = [e["message"] for e in events(capsys) if e["event"] == "skipped"]
    assert any("row 3" in m and "'problem'" in m and "Unicode" in m for m in skipped), skipped
    assert any("row 4" in m and "'completion'" in m and "Unicode" in m for m in skipped), skipped
    assert ids_of(out) == ["a#0", "a#1"]
    assert load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["accepted"].num_rows == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["skipped_rows"]) == 2


def test_unstorable_generated_text_is_left_out_with_its_id(tmp_path):
    from factory.recipe import Selection
    from factory.verification.verify import verify_unit
    from verifiers.types import Completion, Prompt, chat

    prompt = Prompt("p", chat(None, "q"), "q", "7", "src")
    result = verify_unit([], [prompt], [Completion("p", 0, "fine"), Completion("p", 1, "bad \ud800")],
                         selection=Selection(), keep_rejected=True, run_info={})
    assert [r["id"] for r in result.rows_by_split["accepted"]] == ["p#0"]
    assert result.unwritable == [{"id": "p#1", "field": "completion", "reason": result.unwritable[0]["reason"]}]
    assert result.stats.generated == 2 and result.stats.reasons == {"factory:unwritable_text": 1}
    with RunFolder(tmp_path / "run") as folder:  # the rest of the unit is written
        folder.write_run_info({"fingerprint": "x"})
        folder.commit_unit(0, result.rows_by_split, {"unit": 0, "stats": {}})


def test_a_truncated_shard_is_found_and_its_unit_redone(tmp_path, capsys):
    inp, out = write_jsonl(tmp_path / "t.jsonl", ROWS), tmp_path / "run"
    assert verify(inp, out) == EXIT_OK
    reference = ids_of(out)
    shard = out / "data" / "accepted" / "part-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:40])
    capsys.readouterr()
    assert verify(inp, out) == EXIT_OK
    warnings = [e["message"] for e in events(capsys) if e["event"] == "warning"]
    assert any("unit 00001 is redone" in w and "part-00001.parquet" in w for w in warnings), warnings
    assert ids_of(out) == reference
    assert load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["accepted"].num_rows == 3


# -- the run's identity: the input's content, normalised paths ---------------------------------------------------

def test_a_changed_input_at_the_same_path_is_refused(tmp_path, capsys):
    inp, out = write_jsonl(tmp_path / "t.jsonl", ROWS), tmp_path / "run"
    assert verify(inp, out) == EXIT_OK
    write_jsonl(inp, ROWS[:3] + [{**ROWS[3], "answer": "8"}])
    capsys.readouterr()
    assert verify(inp, out) == EXIT_USAGE
    message = events(capsys)[-1]["message"]
    assert "input.sha256" in message and "--out NEW_DIR" in message


def test_relative_and_absolute_paths_are_one_run(tmp_path, capsys, monkeypatch):
    inp, out = write_jsonl(tmp_path / "t.jsonl", ROWS), tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    assert verify(Path("t.jsonl"), out) == EXIT_OK
    capsys.readouterr()
    assert verify(inp, out) == EXIT_OK
    assert "(3 units already done)" in events(capsys)[0]["message"]


def test_hub_revision_is_part_of_the_identity(tmp_path):
    from factory.recipe import PromptSource, Template
    from factory.prompts.sources import load_prompts

    folder = tmp_path / "my-dataset"
    (folder / "data").mkdir(parents=True)
    import pyarrow as pa

    pq.write_table(pa.table({"problem": ["p1"], "answer": ["1"]}), folder / "data" / "train-00000.parquet")
    loaded = load_prompts(PromptSource(hub_id=str(folder), split="train"), Template())
    assert loaded.identity["kind"] == "hub" and loaded.identity["revision"]


# -- verify: the input's ids, its model ------------------------------------------------------------------------

def test_verify_groups_by_the_inputs_id_whatever_the_recipe_maps(tmp_path):
    out = tmp_path / "run"
    code = verify(write_jsonl(tmp_path / "t.jsonl", ROWS), out,
                  "--set", "prompts.columns={id: uuid, problem: problem, gold: answer}")
    assert code == EXIT_OK
    assert ids_of(out) == ["a#0", "a#1", "b#0", "c#0"]


def test_verify_refuses_rows_of_one_id_that_disagree(tmp_path, capsys):
    rows = ROWS[:2] + [{**ROWS[0], "answer": "8"}]
    assert verify(write_jsonl(tmp_path / "t.jsonl", rows), tmp_path / "run") == EXIT_USAGE
    message = events(capsys)[-1]["message"]
    assert "rows 1 and 3 share id 'a'" in message and "'answer'" in message
    assert not (tmp_path / "run").exists()


def test_verify_records_the_traces_model_not_the_recipes_teacher(tmp_path):
    with_model = [{**r, "model": "deepseek-reasoner"} for r in ROWS]
    for rows, expected in ((with_model, "deepseek-reasoner"), (ROWS, "external")):
        out = tmp_path / expected
        assert verify(write_jsonl(tmp_path / f"{expected}.jsonl", rows), out) == EXIT_OK
        row = load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["accepted"][0]
        assert row["model"] == expected and json.loads(row["sampling"]) == {}
        card = (out / "README.md").read_text()
        assert f"made elsewhere (model: `{expected}`)" in card and "tiny-r1" not in card


# -- stats across invocations ------------------------------------------------------------------------------------

def test_stats_cover_the_whole_run_across_invocations(tmp_path):
    inp, out = write_jsonl(tmp_path / "t.jsonl", ROWS), tmp_path / "run"
    assert verify(inp, out) == EXIT_OK
    first = json.loads((out / "stats.json").read_text())
    (out / ".factory" / "units" / "00002.json").unlink()  # as if the first invocation had stopped before unit 2
    assert verify(inp, out) == EXIT_OK
    second = json.loads((out / "stats.json").read_text())
    assert second["funnel"]["generated"] == first["funnel"]["generated"] == 4
    assert second["wall_seconds"] >= first["wall_seconds"]
    assert verify(inp, out) == EXIT_OK  # a rerun that does nothing does not make the run look faster
    third = json.loads((out / "stats.json").read_text())
    assert third["wall_seconds"] >= second["wall_seconds"]
    assert third["samples_per_second"] <= second["samples_per_second"]


# -- exit codes: bad usage or input is 2, nothing started, no folder left ------------------------------------------

@pytest.mark.parametrize("override,needle", [
    ("generation.n=[1,", "not valid YAML"),
    ("prompts.columns=[a, b]", "prompts.columns': must be a mapping"),
    ("generation.temperature=5", "generation.temperature': must be <= 2"),
    ("generation.temperature=.inf", "must be a finite number"),
    ("generation.n=100000000000000000000", "generation.n': must be <= 100000"),
    ("limit=true", "key 'limit': must be a number"),
    ("selection.pass_rate={min: 0.9, max: 0.1}", "selection.pass_rate"),
    ("output.pairs={per_prompt: 0}", "output.pairs.per_prompt"),
    ("output.pairs={rejected_reasons: [not_selected]}", "selection reasons mark right answers"),
])
def test_bad_recipe_values_exit_2_naming_the_key(tmp_path, capsys, override, needle):
    assert verify(write_jsonl(tmp_path / "t.jsonl", ROWS), tmp_path / "run", "--set", override) == EXIT_USAGE
    assert needle in events(capsys)[-1]["message"]
    assert not (tmp_path / "run").exists()


def test_input_where_every_row_is_skipped_exits_2_and_leaves_no_folder(tmp_path, capsys):
    rows = [{"id": "a", "problem": "x", "answer": "\\frac{", "completion": GOOD}]
    assert verify(write_jsonl(tmp_path / "t.jsonl", rows), tmp_path / "run") == EXIT_USAGE
    assert "no prompt left to run" in events(capsys)[-1]["message"]
    assert not (tmp_path / "run").exists()


def test_missing_input_and_folder_input_are_named(tmp_path, capsys):
    assert verify(tmp_path / "nope", tmp_path / "run") == EXIT_USAGE
    assert "not found" in events(capsys)[-1]["message"]
    assert verify(tmp_path, tmp_path / "run2") == EXIT_USAGE
    assert "is a folder" in events(capsys)[-1]["message"]


def test_relative_extends_is_resolved_against_the_recipes_folder(tmp_path, monkeypatch):
    from factory.recipe import load_recipe

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "base.yaml").write_text("name: base\nextends: tiny\ngeneration: {n: 3}\n")
    (tmp_path / "recipes" / "child.yaml").write_text("name: child\nextends: ./base.yaml\n")
    monkeypatch.chdir(Path("/"))
    assert load_recipe(str(tmp_path / "recipes" / "child.yaml")).generation.n == 3


def test_no_gpu_fails_at_once_naming_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "generate", "--recipe", "tiny", "--limit", "2",
                           "--set", "resources.gpus_per_actor=1", "--out", str(tmp_path / "run"), "--log-json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USAGE, proc.stderr[-2000:]
    message = json.loads(proc.stdout.splitlines()[-1])["message"]
    assert "GPU" in message and "gpus_per_actor" in message
    assert not (tmp_path / "run").exists()


# -- signals: SIGTERM is "stopped", exit 1 with an error event, committed units kept -------------------------------

def test_sigterm_stops_verify_cleanly_and_the_rerun_completes(tmp_path):
    # Enough units (1,500) that the run cannot finish between its first commit and the signal.
    traces = [{"id": f"q{i}", "problem": f"What is {i} + 1?", "answer": str(i + 1),
               "completion": f"<think>\nIt is {i + 1}.\n</think>\n\nSo \\boxed{{{i + 1}}}."}
              for i in range(3000)]
    inp, out = write_jsonl(tmp_path / "t.jsonl", traces), tmp_path / "run"
    cmd = [sys.executable, "-m", "factory.cli", "verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out),
           "--set", "output.prompts_per_shard=2", "--log-json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / ".factory" / "units").glob("*.json")) if (out / ".factory" / "units").is_dir() else True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INCOMPLETE, stderr[-2000:]
    last = json.loads(stdout.splitlines()[-1])
    assert last["event"] == "error" and "SIGTERM" in last["message"] and "Traceback" not in stderr
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == EXIT_OK, rerun.stderr[-2000:]
    assert len(ids_of(out)) == len(traces)


@pytest.mark.parametrize("params,needle", [
    ("{timeout_s: -1}", "timeout_s must be a number in"),
    ("{timeout_s: 0}", "timeout_s must be a number in"),
    ("{memory_mb: 1}", "memory_mb must be a number in"),
    ("{bogus: 1}", "math: unknown parameter 'bogus'"),
])
def test_verifier_parameters_are_checked_by_the_verifier_when_the_recipe_loads(tmp_path, params, needle):
    from factory.recipe import RecipeError, load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\nextends: tiny\nverifiers: [{{name: format}}, {{name: math, params: {params}}}]\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path))
    assert str(path) in str(info.value) and "verifiers[1].params'" in str(info.value) and needle in str(info.value)
