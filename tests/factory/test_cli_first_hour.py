"""The first hour of a new user, through the real CLI in a subprocess and in its default mode (the progress bar, no
`--log-json`): sources of unknown length, `verify` against `curate`, trace inputs in other people's formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from tests.conftest import PROJECT_ROOT, write_jsonl

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
WRONG = GOOD.replace("{7}", "{8}")
OFFLINE = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def factory(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "factory.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


def traces(rows: int = 6) -> list[dict]:
    return [{"id": f"p{i // 2}", "problem": "What is 3 + 4?" if i < 4 else "What is 2 + 2?",
             "answer": "7" if i < 4 else "4", "completion": (GOOD if i % 2 == 0 else WRONG) if i < 4
             else GOOD.replace("3 + 4 = 7", f"2 + 2 = 4 (way {i})").replace("{7}", "{4}")} for i in range(rows)]


def test_verify_reads_a_run_folder_in_bar_mode(tmp_path):
    """A run folder has no row count known up front: the bar grows without a total (it crashed before)."""
    first = factory("verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", traces())),
                    "--out", str(tmp_path / "a"), "--set", "output.prompts_per_shard=1")
    assert first.returncode == 0, first.stderr
    again = factory("verify", "--recipe", "tiny", "--input", str(tmp_path / "a"), "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    assert "TypeError" not in again.stderr and "verify:" in again.stderr  # the bar is labelled with the command
    a, b = load_dataset(str(tmp_path / "a")), load_dataset(str(tmp_path / "b"))
    assert sorted(a["accepted"]["id"]) == sorted(b["accepted"]["id"]) == ["p0#0", "p1#0", "p2#0", "p2#1"]


def test_a_hub_style_source_runs_in_bar_mode(tmp_path):
    """A dataset folder read through `datasets.load_dataset` (what a Hub id is), no network, default mode."""
    hub = tmp_path / "hub-dataset"
    hub.mkdir()
    write_jsonl(hub / "train.jsonl", [{**row, "uuid": f"u{i // 2}"} for i, row in enumerate(traces())])
    result = factory("verify", "--recipe", "tiny", "--out", str(tmp_path / "run"),
                     "--set", f"prompts.hub_id={hub}", "--set", "prompts.path=null")
    assert result.returncode == 0, result.stderr
    assert load_dataset(str(tmp_path / "run"))["accepted"].num_rows == 4


def test_verify_needs_no_network_and_takes_the_recipes_id_column(tmp_path):
    """`verify --recipe math`: no benchmark download (verify runs no prompt filter); ids from `uuid`, the math
    recipe's id column; a truncated trace is `truncated` when the input says so, with its token counts."""
    rows = [{"uuid": "q1", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD,
             "finish_reason": "stop", "completion_tokens": 21, "prompt_tokens": 9},
            {"uuid": "q1", "problem": "What is 3 + 4?", "answer": "7", "completion": "<think>\n3 + 4 = 7, so",
             "finish_reason": "length", "completion_tokens": 10, "prompt_tokens": 9}]
    result = factory("verify", "--recipe", "math", "--input", str(write_jsonl(tmp_path / "t.jsonl", rows)),
                     "--out", str(tmp_path / "run"), "--log-json")
    assert result.returncode == 0, result.stderr + result.stdout
    ds = load_dataset(str(tmp_path / "run"))
    accepted, rejected = ds["accepted"][0], ds["rejected"][0]
    assert accepted["prompt_id"] == rejected["prompt_id"] == "q1"
    assert (accepted["completion_tokens"], accepted["prompt_tokens"]) == (21, 9)
    assert rejected["finish_reason"] == "length" and "format:truncated" in rejected["rejection_reasons"]


def test_samples_without_ids_are_one_prompt_in_verify_and_curate(tmp_path):
    """Adjacent rows without ids sharing problem and gold are the samples of one prompt, not duplicate prompts."""
    rows = [{k: v for k, v in row.items() if k != "id"} for row in traces(4)]
    inp = write_jsonl(tmp_path / "t.jsonl", rows)
    for command in ("verify", "curate"):
        result = factory(command, "--recipe", "tiny", "--input", str(inp), "--out", str(tmp_path / command),
                         "--log-json", "--set", "prompts.dedup={exact: true}")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.splitlines()[-1])
        assert summary["prompts"] == 1 and summary["funnel"]["generated"] == 4, summary
        assert summary["dropped_prompts"] == {}


def test_curate_applies_the_prompt_filters_and_verify_does_not(tmp_path):
    rows = traces(4)
    rows[2:] = [{**row, "id": "again"} for row in rows[2:]]  # the same problem under another id
    inp = write_jsonl(tmp_path / "t.jsonl", rows)
    counts = {}
    for command in ("verify", "curate"):
        result = factory(command, "--recipe", "tiny", "--input", str(inp), "--out", str(tmp_path / command),
                         "--log-json", "--set", "prompts.dedup={exact: true}")
        assert result.returncode == 0, result.stderr
        counts[command] = json.loads(result.stdout.splitlines()[-1])["prompts"]
    assert counts == {"verify": 2, "curate": 1}


def test_factory_shards_are_accepted_as_verify_input(tmp_path):
    """A downloaded factory dataset: Parquet rows whose `completion` is the chat form and whose id is `prompt_id`."""
    first = factory("verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", traces())),
                    "--out", str(tmp_path / "a"), "--log-json")
    assert first.returncode == 0, first.stderr
    table = pa.concat_tables([pq.read_table(p) for p in sorted((tmp_path / "a" / "data").glob("*/part-*.parquet"))
                              if "pairs" not in str(p)])
    # the factory's columns, `answer` (the sample's own answer) among them; samples of a prompt adjacent
    pq.write_table(table.sort_by([("prompt_id", "ascending"), ("sample_index", "ascending")]),
                   tmp_path / "downloaded.parquet")
    again = factory("verify", "--recipe", "tiny", "--input", str(tmp_path / "downloaded.parquet"),
                    "--out", str(tmp_path / "b"), "--log-json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["funnel"]["generated"] == 6 and summary["funnel"]["accepted"] == 4 and not summary["skipped_prompts"]


def test_verify_of_a_run_folder_reads_only_committed_shards(tmp_path):
    first = factory("verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", traces())),
                    "--out", str(tmp_path / "a"), "--log-json")
    assert first.returncode == 0, first.stderr
    stray = tmp_path / "a" / "data" / "accepted" / "part-00099.parquet"
    pq.write_table(pq.read_table(next((tmp_path / "a" / "data" / "accepted").glob("part-*.parquet"))), stray)
    again = factory("verify", "--recipe", "tiny", "--input", str(tmp_path / "a"), "--out", str(tmp_path / "b"),
                    "--log-json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["funnel"]["generated"] == 6


@pytest.mark.parametrize("command", ["verify", "curate"])
def test_help_says_what_each_command_does(command):
    result = factory(command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    if command == "verify":
        assert "no prompt filter" in text
    else:
        assert "prompt filters" in text and "decontamination" in text


def test_sigterm_during_verify_is_a_stop_never_a_verdict(tmp_path):
    """SIGTERM lands while verifiers run: exit 1 within seconds, a plain message, and no sample recorded as
    `verifier_error` (a stop used to be caught by a verifier's broad except and stored as its verdict)."""
    import signal
    import time

    # long traces, so that most of the time (and most signals) fall inside the verifiers
    reasoning = " ".join(f"Step {k}: we check the sum again, carrying the tens where needed." for k in range(60))
    rows = [{"id": f"p{i // 4:05d}", "problem": f"What is {i // 4} + 1?", "answer": str(i // 4 + 1),
             "completion": f"<think>\n{reasoning} So {i // 4} + 1 = {i // 4 + 1} (sample {i % 4}).\n</think>\n\n"
                           f"The answer is \\boxed{{{i // 4 + 1}}}."} for i in range(8_000)]
    inp = write_jsonl(tmp_path / "t.jsonl", rows)
    out = tmp_path / "run"
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(PROJECT_ROOT)}
    args = [sys.executable, "-m", "factory.cli", "verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out),
            "--log-json", "--set", "output.prompts_per_shard=20"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    units = out / ".factory" / "units"
    deadline = time.monotonic() + 300
    while not (units.is_dir() and len(list(units.glob("*.json"))) >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # a unit takes seconds: the signal lands mid-unit, inside the verifiers, not at a commit
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert proc.returncode == 1, stderr[-2000:]
    assert waited < 20, f"verify ran on for {waited:.1f} s after SIGTERM"
    last = json.loads(stdout.splitlines()[-1])
    assert last["event"] == "error" and last["message"].startswith("stopped by SIGTERM"), last
    committed = [r for p in sorted((out / "data").glob("*/part-*.parquet")) if "pairs" not in str(p)
                 for r in pq.read_table(p, columns=["rejection_reasons"]).to_pylist()]
    assert committed and not any("verifier_error" in " ".join(r["rejection_reasons"]) for r in committed)


def test_a_stop_wrapped_by_a_c_extension_reads_as_a_stop(monkeypatch, capsys):
    """A signal landing inside Ray's Cython code comes back as `SystemError: ... returned a result with an exception
    set`, its cause the stop: the user reads "stopped by SIGTERM", exit 1, not the SystemError."""
    import factory.cli as cli

    def wrapped(args):
        try:
            raise cli.StopRequested("stopped by SIGTERM")
        except cli.StopRequested as stop:
            raise SystemError("<cyfunction CoreWorker.wait> returned a result with an exception set") from stop

    monkeypatch.setattr(cli, "_run", wrapped)
    assert cli.main(["generate", "--recipe", "tiny"]) == cli.EXIT_INCOMPLETE
    err = capsys.readouterr().err
    assert err.startswith("error: stopped by SIGTERM") and "SystemError" not in err


def test_a_closed_stdout_ends_verify_quietly(tmp_path):
    """`factory verify --log-json | head -1`: no BrokenPipeError traceback."""
    inp = write_jsonl(tmp_path / "t.jsonl", traces() * 1)
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(PROJECT_ROOT)}
    cmd = (f"{sys.executable} -m factory.cli verify --recipe tiny --input {inp} --out {tmp_path / 'run'} --log-json "
           "--set output.prompts_per_shard=1 | head -1")
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(result.stdout)["event"] == "start"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_stats_never_calls_a_stopped_run_complete(tmp_path):
    first = factory("verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", traces())),
                    "--out", str(tmp_path / "run"), "--set", "output.prompts_per_shard=1", "--log-json")
    assert first.returncode == 0
    assert "(incomplete)" not in factory("stats", str(tmp_path / "run")).stdout
    # as a run stopped mid-way leaves it: markers of the units done, stats.json from the last commit
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    (tmp_path / "run" / "stats.json").write_text(json.dumps({**stats, "complete": False, "units_total": 2}))
    for marker in sorted((tmp_path / "run" / ".factory" / "units").glob("*.json"))[2:]:
        marker.unlink()
    shown = factory("stats", str(tmp_path / "run"), "--json")
    assert json.loads(shown.stdout)["complete"] is False


def test_remote_errors_read_plainly():
    from factory.cli import plain_message

    class RemoteError(Exception):
        cause = ValueError("the teacher refused: HTTP 401")

    coloured = RemoteError("\x1b[36mray::GenerationActor.generate()\x1b[39m\nTraceback (most recent call last):\n ...")
    assert plain_message(coloured) == "ValueError: the teacher refused: HTTP 401"
    assert plain_message("\x1b[31mboom\x1b[0m") == "boom"
