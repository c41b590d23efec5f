"""The corpus filters through the real CLI: decontamination and prompt dedup before any work, completion dedup,
the difficulty band and preference pairs; `factory curate` on a corpus and on a finished run folder."""

from __future__ import annotations

import json

from datasets import load_dataset

from factory.cli import EXIT_OK, EXIT_USAGE, main
from tests.conftest import events_of, write_jsonl

BENCH_PROBLEM = "Find the number of ordered pairs of positive integers whose product is exactly one hundred and twenty"


def trace(answer: str, text: str = "") -> str:
    return f"<think>\nWorking it out carefully: {text or answer}.\n</think>\n\nThe answer is \\boxed{{{answer}}}."


CORPUS = [
    # contaminated: the benchmark problem with another case, spacing and punctuation, inside a longer prompt
    {"id": "bench-copy", "problem": "Warm-up.  find the NUMBER of ordered pairs of positive integers, whose product "
                                    "is exactly one hundred and twenty?", "answer": "16",
     "completion": trace("16")},
    {"id": "p1", "problem": "What is 12 + 30?", "answer": "42", "completion": trace("42")},
    {"id": "p1", "problem": "What is 12 + 30?", "answer": "42", "completion": trace("42")},  # same text: a dup
    {"id": "p1", "problem": "What is 12 + 30?", "answer": "42", "completion": trace("41")},
    {"id": "p1-again", "problem": "what is 12 + 30 ?", "answer": "42", "completion": trace("42")},  # dup prompt
    {"id": "easy", "problem": "What is 1 + 1?", "answer": "2", "completion": trace("2", "one and one")},
    {"id": "easy", "problem": "What is 1 + 1?", "answer": "2", "completion": trace("2", "one plus one")},
    {"id": "hard", "problem": "What is 97 * 89?", "answer": "8633", "completion": trace("8623")},
]


def curate(tmp_path, inp, out, *extra):
    bench = write_jsonl(tmp_path / "bench.jsonl", [{"problem": BENCH_PROBLEM}, {"problem": "Unrelated problem."}])
    return main(["curate", "--recipe", "tiny", "--input", str(inp), "--out", str(out), "--log-json",
                 "--set", f"prompts.decontaminate={{against: [{bench}], ngram: 8}}",
                 "--set", "prompts.dedup={exact: true}", "--set", "selection.pass_rate={min: 0.01, max: 0.99}",
                 "--set", "output.pairs=true", *extra])


def test_curate_a_corpus(tmp_path, capsys):
    out = tmp_path / "run"
    assert curate(tmp_path, write_jsonl(tmp_path / "corpus.jsonl", CORPUS), out) == EXIT_OK
    events = events_of(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    dropped = {d["prompt_id"]: d for d in manifest["dropped_prompts"]}
    assert set(dropped) == {"bench-copy", "p1-again"}
    assert dropped["bench-copy"]["reason"] == "contaminated" and dropped["bench-copy"]["benchmark"]
    assert len(dropped["bench-copy"]["ngram"].split()) == 8
    assert dropped["p1-again"]["reason"] == "duplicate_prompt" and dropped["p1-again"]["duplicate_of"] == "p1"
    assert manifest["counts"]["dropped_prompts"] == {"contaminated": 1, "duplicate_prompt": 1}
    assert any(e["event"] == "dropped" and "bench-copy" in e["message"] for e in events)

    ds = load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    accepted = {r["id"] for r in ds["accepted"]}
    rejected = {r["id"]: r["rejection_reasons"] for r in ds["rejected"]}
    assert accepted == {"p1#0"}  # p1#1 repeats p1#0; "easy" always passes: outside the band
    assert "selection:duplicate_completion" in rejected["p1#1"]
    assert rejected["easy#0"] == rejected["easy#1"] == ["selection:outside_pass_rate_band"]
    assert "math:wrong_answer" in rejected["hard#0"]
    pairs = load_dataset(str(out), "pairs", cache_dir=str(tmp_path / "hf"))["train"]
    assert [(p["chosen_id"], p["rejected_id"]) for p in pairs] == [("p1#0", "p1#2")]
    assert pairs[0]["prompt"] == ds["accepted"][0]["prompt"] and pairs[0]["gold"] == "42"
    summary = events[-1]
    assert summary["funnel"]["pairs"] == 1 and summary["dropped_prompts"] == manifest["counts"]["dropped_prompts"]


def test_curate_a_finished_run_folder_gives_a_run_folder(tmp_path):
    first = tmp_path / "first"
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    assert main(["verify", "--recipe", "tiny", "--input", str(corpus), "--out", str(first), "--log-json",
                 "--set", "prompts.dedup=null"]) == EXIT_OK
    second = tmp_path / "second"
    assert curate(tmp_path, first, second) == EXIT_OK
    manifest = json.loads((second / "manifest.json").read_text())
    assert {d["prompt_id"] for d in manifest["dropped_prompts"]} == {"bench-copy", "p1-again"}
    assert manifest["input"]["kind"] == "run_folder"
    ds = load_dataset(str(second), cache_dir=str(tmp_path / "hf"))
    assert {r["id"] for r in ds["accepted"]} == {"p1#0"}


def test_a_missing_benchmark_file_is_bad_input(tmp_path, capsys):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    code = main(["curate", "--recipe", "tiny", "--input", str(corpus), "--out", str(tmp_path / "run"), "--log-json",
                 "--set", f"prompts.decontaminate={{against: [{tmp_path / 'nope.jsonl'}]}}"])
    assert code == EXIT_USAGE
    assert "nope.jsonl" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()
