"""End to end: `factory generate` with real vLLM (CPU build) and the shipped tiny teacher, under a real local Ray.

Each run is the real CLI in a subprocess (its own Ray instance), so a SIGKILL hits exactly what a batch scheduler
would kill. The uninterrupted run is the reference for the resume and actor-crash tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from factory.tiny_teacher.evaluate import parse_number
from tests.conftest import boxed_number
from tests.factory.e2e_helpers import N, PROMPTS, UNITS, finish, start_run

pytestmark = pytest.mark.slow


def markers(out: Path) -> list[Path]:
    return sorted((out / ".factory" / "units").glob("*.json")) if (out / ".factory" / "units").is_dir() else []


def wait_for_markers(out: Path, proc: subprocess.Popen, count: int, timeout: float = 600) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(markers(out))
        if done >= count:
            return done
        time.sleep(0.05)
    raise AssertionError(f"run ended or timed out before {count} units were committed: {proc.poll()}")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run and everything in its session (the driver and the Ray instance it started)."""
    session = os.getsid(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    for other in psutil.process_iter():
        try:
            if os.getsid(other.pid) == session:
                other.kill()
        except (psutil.Error, ProcessLookupError):
            pass


def row_ids(run_dir: Path) -> list[str]:
    ids = []
    for path in sorted((run_dir / "data").glob("[ar]*/part-*.parquet")):  # the sample splits, not pairs
        ids += pq.read_table(path, columns=["id"]).column("id").to_pylist()
    return ids


def test_generate_writes_verified_loadable_shards(full_run):
    out, events = full_run
    summary = events[-1]
    assert summary["event"] == "summary" and summary["complete"]
    assert summary["funnel"]["generated"] == PROMPTS * N
    assert any(e["event"] == "unit" for e in events)
    ds = load_dataset(str(out), cache_dir=str(out.parent / "hf-cache"))
    accepted, rejected = ds["accepted"], ds["rejected"]
    assert accepted.num_rows > 0 and rejected.num_rows > 0, "the tiny teacher should be sometimes right, sometimes wrong"
    assert accepted.num_rows + rejected.num_rows == PROMPTS * N
    ids = list(accepted["id"]) + list(rejected["id"])
    assert len(set(ids)) == len(ids) == PROMPTS * N
    for row in accepted:
        assert [m["role"] for m in row["prompt"]] == ["user"] and row["problem"] in row["prompt"][0]["content"]
        assert [m["role"] for m in row["completion"]] == ["assistant"]
        text = row["completion"][0]["content"]
        assert text.startswith("<think>") and "</think>" in text
        assert boxed_number(row["answer"]) == parse_number(row["gold"]), (row["answer"], row["gold"])
        assert [v["name"] for v in row["verdicts"]] == [v["name"] for v in accepted[0]["verdicts"]]
        assert all(v["accepted"] for v in row["verdicts"])
    assert all(not all(v["accepted"] for v in row["verdicts"]) or "selection:not_selected" in row["rejection_reasons"]
               for row in rejected)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["estimates"]["pass@1"] == pytest.approx(summary["estimates"]["pass@1"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["shards"]) == 3 * UNITS
    pairs = load_dataset(str(out), "pairs", cache_dir=str(out.parent / "hf-cache"))["train"]
    assert pairs.num_rows == summary["funnel"]["pairs"] > 0
    accepted_ids, rejected_by_id = set(accepted["id"]), {r["id"]: r for r in rejected}
    for pair in pairs:
        assert pair["chosen_id"] in accepted_ids and pair["rejected_id"] in rejected_by_id
        assert "math:wrong_answer" in rejected_by_id[pair["rejected_id"]]["rejection_reasons"]
        assert pair["prompt"] == accepted.filter(lambda r: r["id"] == pair["chosen_id"])[0]["prompt"]
    assert manifest["versions"]["vllm"] != "not installed"


def test_rerun_of_a_finished_run_does_no_work(full_run):
    out, _ = full_run
    before = {p: p.stat().st_mtime_ns for p in (out / "data").glob("*/*.parquet")}
    started = time.monotonic()
    code, events, err = finish(start_run(out))
    assert code == 0, err[-2000:]
    assert {p: p.stat().st_mtime_ns for p in (out / "data").glob("*/*.parquet")} == before
    assert events[-1]["units_done"] == UNITS
    assert time.monotonic() - started < 120  # no engine was started: generous bound, fails only if it regenerated


def test_sigkill_mid_run_then_rerun_gives_exactly_the_same_rows(full_run, tmp_path):
    reference = sorted(row_ids(full_run[0]))
    out = tmp_path / "run"
    proc = start_run(out)
    done_at_kill = wait_for_markers(out, proc, 1)
    kill_group(proc)
    assert done_at_kill < UNITS, "the run finished before it could be killed; the test proved nothing"
    # Whatever the kill interrupted, every visible shard is whole.
    for path in (out / "data").glob("*/*.parquet"):
        pq.read_table(path)
    code, events, err = finish(start_run(out))
    assert code == 0, err[-3000:]
    start = events[0]
    assert start["event"] == "start" and "already done" in start["message"]
    ids = row_ids(out)
    assert len(ids) == len(set(ids)), "duplicated samples after resume"
    assert sorted(ids) == reference


def test_crashed_engine_actor_is_restarted_and_its_unit_redone(full_run, tmp_path):
    reference = sorted(row_ids(full_run[0]))
    out = tmp_path / "run"
    proc = start_run(out)
    wait_for_markers(out, proc, 1)
    actors = [p for p in psutil.process_iter(["cmdline"])
              if "GenerationActor" in " ".join(p.info["cmdline"] or []) and os.getsid(p.pid) == os.getsid(proc.pid)]
    assert actors, "no GenerationActor process found"
    for actor in actors:
        actor.kill()
    code, events, err = finish(proc)
    assert code == 0, err[-3000:]
    assert sorted(row_ids(out)) == reference


def test_adaptive_sampling_stops_by_the_rule_and_resumes_exactly(tmp_path):
    """Rounds of R=2 until K=2 distinct samples pass or the cap n=6; SIGKILL after the first unit, then a rerun:
    every prompt's samples are a prefix 0..m-1 that the stop rule explains from its own verdicts, each exactly once,
    and a prompt that stopped before the cap has K distinct passing samples (identical traces count once, as the
    accepted split keeps one of them)."""
    out, k, r, cap = tmp_path / "run", 2, 2, 6
    flags = ["generate", "--recipe", "tiny", "--limit", "12", "--n", str(cap), "--log-json", "--out", str(out),
             "--set", "output.prompts_per_shard=3", "--set", f"generation.adaptive={{target_accepted: {k}, "
             f"round_n: {r}}}"]
    proc = subprocess.Popen([sys.executable, "-m", "factory.cli", *flags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_markers(out, proc, 1)
    kill_group(proc)
    rerun = subprocess.run([sys.executable, "-m", "factory.cli", *flags], capture_output=True, text=True,
                           timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    by_prompt: dict[str, dict[int, str | None]] = {}  # sample index -> identity if it passed every verifier
    for split in ("accepted", "rejected"):
        for path in (out / "data" / split).glob("part-*.parquet"):
            for row in pq.read_table(path, columns=["prompt_id", "sample_index", "verdicts", "completion"]).to_pylist():
                samples = by_prompt.setdefault(row["prompt_id"], {})
                assert row["sample_index"] not in samples, "a sample written twice"
                passed = all(v["accepted"] for v in row["verdicts"] if v["name"] != "selection")
                samples[row["sample_index"]] = " ".join(row["completion"][0]["content"].split()) if passed else None
    assert len(by_prompt) == 12
    stopped_early = 0
    for pid, samples in by_prompt.items():
        m = len(samples)
        assert sorted(samples) == list(range(m)), (pid, sorted(samples))
        distinct_before_last_round = {samples[i] for i in range(max(0, (m - 1) // r * r))} - {None}
        assert len(distinct_before_last_round) < k, (pid, samples)  # it needed its last round
        distinct = set(samples.values()) - {None}
        assert m == cap or len(distinct) >= k, (pid, samples)  # it stopped by the rule, on distinct passes
        stopped_early += m < cap
    summary = json.loads(rerun.stdout.splitlines()[-1])
    generated = sum(len(samples) for samples in by_prompt.values())
    assert summary["funnel"]["generated"] == generated
    # The funnel reports what stopping early saved against n samples per prompt (nothing when no prompt stopped:
    # the tiny teacher often repeats one trace, which now counts once).
    saved = summary.get("adaptive", {"fixed_n_samples": 12 * cap, "saved_samples": 0})
    assert saved["fixed_n_samples"] == 12 * cap and saved["saved_samples"] == 12 * cap - generated
    assert (saved["saved_samples"] > 0) == (stopped_early > 0)


def test_sigterm_stops_generate_cleanly_and_the_rerun_is_exact(full_run, tmp_path):
    """What a batch scheduler sends first: the driver stops (exit 1, an `error` event naming SIGTERM, no Ray stack
    dump), committed units stay, and the rerun ends with exactly the reference rows."""
    reference = sorted(row_ids(full_run[0]))
    out = tmp_path / "run"
    proc = start_run(out)
    done_at_signal = wait_for_markers(out, proc, 1)
    proc.send_signal(signal.SIGTERM)  # the driver only, as a scheduler's first signal
    code, events, err = finish(proc, timeout=300)
    assert done_at_signal < UNITS, "the run finished before the signal; the test proved nothing"
    assert code == 1, err[-3000:]
    assert events[-1]["event"] == "error" and "SIGTERM" in events[-1]["message"], events[-1:]
    assert "Traceback" not in err and "core dumped" not in err
    code, events, err = finish(start_run(out))
    assert code == 0, err[-3000:]
    assert sorted(row_ids(out)) == reference


def test_generate_from_a_hub_style_source_in_bar_mode(tmp_path):
    """The headline path: a source whose length is not known up front (what every Hub dataset is: here a local
    dataset folder read through `datasets.load_dataset`, no network) in the default mode, with the progress bar.
    It crashed right after Ray started (`bool()` of a tqdm bar without a total)."""
    from tests.conftest import ARITH_TEST, TINY_TEACHER

    hub = tmp_path / "arith-hub"
    hub.mkdir()
    (hub / "train.jsonl").write_text("".join(ARITH_TEST.read_text().splitlines(keepends=True)[:6]))
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "generate", "--recipe", "tiny", "--model",
                           str(TINY_TEACHER), "--set", f"prompts.hub_id={hub}", "--set", "prompts.path=null",
                           "--n", "2", "--limit", "4", "--set", "output.prompts_per_shard=2", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "generate:" in proc.stderr and "TypeError" not in proc.stderr  # the bar, labelled, without a total
    assert "4prompt" in proc.stderr.replace(" ", "") or "4 prompt" in proc.stderr
    accepted_and_rejected = load_dataset(str(out))
    ids = {r["prompt_id"] for split in accepted_and_rejected.values() for r in split}
    assert len(ids) == 4 and sum(split.num_rows for split in accepted_and_rejected.values()) == 8
