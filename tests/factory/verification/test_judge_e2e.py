"""The judge stage end to end with the shipped tiny judge (data/models/tiny-judge) on real vLLM: in process under
`factory verify --recipe tiny-judge`, and as a real vLLM OpenAI server on 127.0.0.1 behind a proxy that injects
5xx, resets, dropped connections and malformed bodies, with a `kill -9` in the middle of the run.

Run under `nice -n 5 flock /tmp/vllm.lock pytest ...`: each test starts one vLLM (the engine, or the server)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datasets import load_dataset

from factory.engines.journal import request_key
from factory.tiny_judge.pairs import forms, has_words, near_values, values
from tests.factory.fault_proxy import FaultProxy
from tests.factory.vllm_server import vllm_server

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
TINY_JUDGE = REPO / "data" / "models" / "tiny-judge"
DEMO = REPO / "data" / "prompts" / "judge-demo.jsonl"
TRACE = "<think>\nI add the numbers step by step.\n</think>\n\nThe result is \\boxed{{{}}}."


def verify(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "factory.cli", "verify", *args], capture_output=True, text=True,
                          env=env, timeout=1200, **kwargs)


def rows(out: Path) -> list[dict]:
    data = load_dataset(str(out))
    return [row for split in data.values() for row in split]


def math_verdict(row: dict) -> dict:
    verdict = next(v for v in row["verdicts"] if v["name"] == "math")
    return {**verdict, "details": json.loads(verdict["details"])}


def check_no_rejection_from_judge_failure(found: list[dict]) -> None:
    for row in found:
        verdict = math_verdict(row)
        details = verdict["details"]
        assert details["decided_by"] in ("rule", "judge")
        if details["decided_by"] == "judge" and verdict["status"] == "rejected":
            assert None not in details["judge"]["choices"] and "different" in details["judge"]["choices"]
        if verdict["reason"] == "judge_error":
            assert verdict["status"] == "unverifiable" and not row["accepted"]


def test_tiny_judge_in_process_decides_forms_the_rules_refuse(tmp_path):
    out = tmp_path / "run"
    proc = verify(["--recipe", "tiny-judge", "--input", str(DEMO), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = rows(out)
    assert len(found) == len(DEMO.read_text().splitlines())
    check_no_rejection_from_judge_failure(found)
    words = [r for r in found if has_words(math_verdict(r)["details"]["extracted"])]
    by_judge = [r for r in words if math_verdict(r)["details"]["decided_by"] == "judge"]
    assert len(by_judge) == len(words) == 8  # every number-word answer went to the judge (the rules said wrong)
    for row in by_judge:  # the verdict follows the judge's two parsed replies, asked in both orders
        details = math_verdict(row)["details"]
        assert details["rule_reason"] == "wrong_answer" and len(details["judge"]["replies"]) == 2
        assert row["accepted"] == (details["judge"]["choices"] == ["equivalent", "equivalent"])
    stats = json.loads((out / "stats.json").read_text())
    judge = stats["judge"]
    assert judge["judged"] == 8 and judge["accepted"] + judge["rejected"] + judge["judge_errors"] == 8
    assert judge["accepted"] == sum(r["accepted"] for r in by_judge)
    card = (out / "README.md").read_text()
    assert "## Judge" in card and "| rule: accepted |" in card
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judge"] == judge


def traces(path: Path, prompts: int) -> None:
    """Prompts with a gold in one form and samples in others: number words (right or wrong), and forms the rules
    read, so the run has judged samples and rule-decided ones for calibration."""
    rng = random.Random(7)
    space = [v for v in values() if any(has_words(f) for f in forms(v, rng))]
    with path.open("w") as f:
        for k in range(prompts):
            value = rng.choice(space)
            written = forms(value, rng)
            words = next(w for w in written if has_words(w))
            other = forms(rng.choice(near_values(value, values(), rng)), rng)
            answers = [words, rng.choice([w for w in written if not has_words(w)]), rng.choice(other), words]
            for a in answers:
                f.write(json.dumps({"id": f"p{k:03d}", "problem": f"Problem {k}: compute the value.",
                                    "answer": written[0], "completion": TRACE.format(a)}) + "\n")


def test_tiny_judge_over_http_through_faults_and_kill_9(tmp_path):
    source = tmp_path / "traces.jsonl"
    traces(source, 48)
    out = tmp_path / "run"
    faults = {3: "500", 5: "reset", 8: "malformed", 11: "503", 14: "drop", 17: "502"}

    def plan(number: int, body: dict) -> str:
        return faults.get(number % 20, "pass")

    with vllm_server(str(TINY_JUDGE), max_model_len=512) as server, \
            FaultProxy(server.base_url.rsplit("/v1", 1)[0], plan=plan) as proxy:
        def args(retries: int) -> list[str]:
            return ["--recipe", "tiny-judge", "--input", str(source), "--out", str(out),
                    "--set", "output.prompts_per_shard=4",
                    "--set", "judge.engine=openai", "--set", f"judge.model={server.model}",
                    "--set", f"judge.base_url={proxy.base_url}", "--set", "judge.max_concurrency=2",
                    "--set", f"judge.http={{max_retries: {retries}, backoff_base_s: 0.05, backoff_max_s: 0.2, "
                             "request_timeout_s: 60}"]

        base = dict(os.environ, PYTHONPATH=str(REPO))
        first = subprocess.Popen([sys.executable, "-m", "factory.cli", "verify", *args(0)], env=base,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        journal = out / ".factory" / "judge-journal"
        deadline = time.monotonic() + 600
        while sum(len(p.read_text().splitlines()) for p in journal.glob("*.jsonl")) < 30 if journal.is_dir() else True:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[1][-3000:]
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
        journaled = set()
        for path in journal.glob("*.jsonl"):
            for line in path.read_text().splitlines():
                try:
                    journaled.add(json.loads(line)["key"])
                except (json.JSONDecodeError, KeyError):
                    continue  # a torn last line: not counted, asked again
        assert not (out / "stats.json").exists() or not json.loads((out / "stats.json").read_text())["complete"]
        errors_before = [r for r in proxy.log if r.action != "pass"]
        assert errors_before, "no fault reached the judge before the kill"

        proxy.reset_log()
        rerun = verify(args(6))
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        fields = {"temperature": 0.0, "max_tokens": 40, "structured": "none"}
        resent = [r for r in proxy.forwarded()
                  if request_key(server.model, [{"role": "user", "content": r.user}], fields) in journaled]
        assert not resent, f"{len(resent)} journaled judge requests were sent again"
        assert {r.action for r in proxy.log} > {"pass"}

    found = rows(out)
    assert len(found) == 48 * 4
    check_no_rejection_from_judge_failure(found)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["complete"] and stats["judge"]["judge_errors"] == 0 and stats["judge"]["reused_from_journal"] > 0
    assert sum(stats["judge"]["calibration"]["table"]["rule_accepted"].values()) > 0
    card = (out / "README.md").read_text()
    assert "Calibration:" in card and "| rule: accepted |" in card


def test_rubric_judge_on_vllm_scores_general_data(tmp_path):
    """The general recipe's rubric judge on a real vLLM engine in process (the tiny teacher stands in for a chat
    model: vLLM's structured output makes it answer a score from 1 to 10, whatever it understands of the rubric).
    Checks the plumbing: every sample that passed the rules, and only those, has a `judge` verdict with its score,
    kept exactly at the threshold or above; stats, manifest and card agree."""
    from tests.factory.mix.mix_helpers import GENERAL_TRACES

    out = tmp_path / "run"
    judge = ("judge={engine: vllm, mode: rubric, model: data/models/tiny-r1, structured: choice, threshold: 5, "
             "max_tokens: 4, engine_kwargs: {max_model_len: 1024, dtype: float32}}")
    proc = verify(["--recipe", "general", "--input", str(GENERAL_TRACES), "--out", str(out), "--set", judge])
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = rows(out)
    scored = []
    for row in found:
        verdicts = {v["name"]: v for v in row["verdicts"]}
        rules_passed = all(v["status"] == "accepted" for name, v in verdicts.items() if name != "judge")
        assert ("judge" in verdicts) == rules_passed, row["id"]
        if "judge" in verdicts:
            details = json.loads(verdicts["judge"]["details"])
            assert details["decided_by"] == "judge" and details["threshold"] == 5
            if verdicts["judge"]["reason"] == "judge_error":
                continue
            scored.append(details["score"])
            assert 1 <= details["score"] <= 10
            assert row["accepted"] == (details["score"] >= 5)
            assert (verdicts["judge"]["reason"] == "below_threshold") == (details["score"] < 5)
    stats = json.loads((out / "stats.json").read_text())
    assert scored and stats["judge"]["judged"] == sum(1 for r in found if any(v["name"] == "judge"
                                                                              for v in r["verdicts"]))
    assert sum(stats["judge"]["scores"].values()) == len(scored)
    assert json.loads((out / "manifest.json").read_text())["judge"] == stats["judge"]
    card = (out / "README.md").read_text()
    assert "## Judge" in card and "| score | 1 |" in card and "kept at 5 or above" in card


def test_tiny_judge_under_generate_runs_in_its_own_ray_actor(tmp_path):
    """`factory generate --recipe tiny-judge`: the teacher's engine and the judge's engine (its own Ray actor,
    called from the verification actor) on real vLLM. Every sample the rules call wrong went to the judge, and its
    verdict follows the judge's two parsed replies; the counts add up in stats.json and the card."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "generate", "--recipe", "tiny-judge", "--limit", "6",
                           "--set", "generation.n=4", "--set", "output.prompts_per_shard=3", "--out", str(out),
                           "--log-json"], capture_output=True, text=True, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = rows(out)
    assert len(found) == 24
    check_no_rejection_from_judge_failure(found)
    judged = [r for r in found if math_verdict(r)["details"]["decided_by"] == "judge"]
    for row in found:
        details = math_verdict(row)["details"]
        if details["decided_by"] == "rule" and math_verdict(row)["reason"] == "wrong_answer":
            # a wrong answer stays the rules' only when another verifier failed the sample too
            assert any(v["status"] != "accepted" and v["name"] != "math" for v in row["verdicts"]), row["id"]
    stats = json.loads((out / "stats.json").read_text())
    judge = stats["judge"]
    # The tiny teacher's answers fall partly outside the judge's value space (vLLM's CPU build takes no
    # per-request seed, so which ones varies): a reply it garbles is a judge error, counted as such, never a verdict.
    errors = [r for r in judged if math_verdict(r)["reason"] == "judge_error"]
    assert judge["judged"] == len(judged) and judge["judge_errors"] == len(errors)
    assert judge["accepted"] == sum(math_verdict(r)["status"] == "accepted" for r in judged)
    assert judge["rejected"] == len(judged) - judge["accepted"] - len(errors)
    calibrated = judge["calibration"]["samples"] + judge["calibration"]["errors"]
    assert judge["requests"] == 2 * (judge["judged"] + calibrated)
    assert "## Judge" in (out / "README.md").read_text()
