"""`factory mix` on real run folders (made by `factory verify`), Parquet and JSONL corpora and a local dataset folder
read through `datasets.load_dataset` (the Hub path): dedup across sources, decontamination of the union, weights and
row counts, provenance, the card's table, exact resume after `kill -9`, and the refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.mix import load_mixture, mix
from factory.recipe import RecipeError
from factory.prompts.sources import SourceError
from tests.conftest import PROJECT_ROOT, write_jsonl
from tests.factory.mix.mix_helpers import GENERAL_TRACES, arith_rows, run_fingerprint, verify_run, write_mixture


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sources")
    run_a = verify_run(tmp, "run-a", arith_rows(0, 30, "a"))
    # run B repeats 10 of run A's problems (ids differ: the prompts are what dedup compares)
    run_b = verify_run(tmp, "run-b", arith_rows(20, 30, "b"))
    general = verify_run(tmp, "general", recipe="general", traces=GENERAL_TRACES)
    corpus = tmp / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"id": f"c{i}", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Name a color number {i}."}],
         "completion": [{"role": "assistant", "content": f"Color {i} is blue."}], "prompt_tokens": 9, "completion_tokens": 5}
        for i in range(40)]), corpus)
    chats = write_jsonl(tmp / "chats.jsonl", [
        {"messages": [{"role": "user", "content": f"Say hello to person {i}."}, {"role": "assistant", "content": f"Hello, person {i}!"}]}
        for i in range(12)] + [{"messages": [{"role": "user", "content": "A turn with no answer"}]}])
    return {"tmp": tmp, "run_a": run_a, "run_b": run_b, "general": general, "corpus": corpus, "chats": chats}


def base_mixture(sources, **extra):
    return {"name": "t", "seed": 7, "rows_per_shard": 16, "sources": [
        {"name": "math-a", "path": str(sources["run_a"])},
        {"name": "math-b", "path": str(sources["run_b"])},
        {"name": "general", "path": str(sources["general"])},
        {"name": "colors", "path": str(sources["corpus"]), "rows": 25},
        {"name": "chats", "path": str(sources["chats"]), "weight": 0.5},
    ], **extra}


def rows_of(folder):
    return load_dataset(str(folder), cache_dir=str(folder.parent / f"hf-{folder.name}"))["train"]


def test_mix_of_runs_and_corpora(sources, tmp_path):
    mixture = load_mixture(write_mixture(tmp_path / "m.yaml", base_mixture(sources)))
    result = mix(mixture, tmp_path / "out")
    ds = rows_of(tmp_path / "out")
    accepted = {name: pq.read_table(sorted((sources[key] / "data" / "accepted").glob("*.parquet")))
                for name, key in (("math-a", "run_a"), ("math-b", "run_b"), ("general", "general"))}
    by_source = Counter(p["source"] for p in ds["provenance"])
    # run A whole; run B without the 10 problems A has (cross-source dedup); a run's own rows all kept
    assert by_source["math-a"] == accepted["math-a"].num_rows == 30
    b_problems = Counter(accepted["math-b"]["problem"].to_pylist())
    a_problems = set(accepted["math-a"]["problem"].to_pylist())
    assert by_source["math-b"] == sum(n for p, n in b_problems.items() if p not in a_problems) == 20
    assert by_source["general"] == accepted["general"].num_rows == 8
    assert by_source["colors"] == 25 and by_source["chats"] == 6  # rows: 25 of 40; weight 0.5 of 12 usable
    assert len(ds) == result.rows == 89 and len(set(ds["id"])) == 89
    # provenance: the run's own fingerprint; the file's sha256
    fingerprints = {p["source"]: p["fingerprint"] for p in ds["provenance"]}
    assert fingerprints["math-a"] == run_fingerprint(sources["run_a"])
    assert fingerprints["math-b"] == run_fingerprint(sources["run_b"]) != fingerprints["math-a"]
    # rows are TRL's conversational prompt-completion form, whatever the source's shape
    row = next(r for r in ds if r["provenance"]["source"] == "chats")
    assert row["prompt"] == [{"role": "user", "content": row["problem"]}]
    assert row["completion"][0]["role"] == "assistant" and row["completion"][0]["content"].startswith("Hello")
    colors = next(r for r in ds if r["provenance"]["source"] == "colors")
    assert colors["prompt"][0] == {"role": "system", "content": "Be brief."} and colors["completion_tokens"] == 5
    # shuffled: the sources are interleaved, not in blocks
    order = [p["source"] for p in ds["provenance"]]
    assert order[:30] != ["math-a"] * 30 and len(set(order[:20])) >= 3
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    scans = {s["name"]: s for s in manifest["sources"]}
    assert scans["math-b"]["dropped"] == {"duplicate_prompt": 10}  # the accepted split: one row per problem
    assert scans["chats"]["skipped"] == {"the last turn of 'messages' is not the assistant's": 1}
    dup = next(d for d in manifest["dropped_rows"] if d["source"] == "math-b")
    assert dup["reason"] == "duplicate_prompt" and dup["duplicate_of_source"] == "math-a"
    card = (tmp_path / "out" / "README.md").read_text()
    table = [line for line in card.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| source | from | fingerprint | asked | available | rows |")
    colors_line = next(line for line in table if line.startswith("| colors |"))
    assert "| 25 rows | 40 | 25 | 28.1 | 350 | " in colors_line  # 25 x (9 + 5) tokens
    assert "duplicate_prompt 10" in next(line for line in table if line.startswith("| math-b |"))
    assert table[-1].startswith("| **total** |") and "| 89 |" in table[-1]


def test_same_seed_same_rows_other_seed_other_order(sources, tmp_path):
    body = base_mixture(sources)
    first = mix(load_mixture(write_mixture(tmp_path / "a.yaml", body)), tmp_path / "a")
    again = mix(load_mixture(write_mixture(tmp_path / "b.yaml", body)), tmp_path / "b")
    other = mix(load_mixture(write_mixture(tmp_path / "c.yaml", {**body, "seed": 8})), tmp_path / "c")
    assert first.fingerprint == again.fingerprint != other.fingerprint
    ids = [rows_of(tmp_path / name)["id"] for name in ("a", "b", "c")]
    assert ids[0] == ids[1] and ids[0] != ids[2]
    assert sorted(i for i in ids[0] if not i.startswith(("colors/", "chats/"))) == \
        sorted(i for i in ids[2] if not i.startswith(("colors/", "chats/")))


def test_hub_source_and_decontamination_of_the_union(sources, tmp_path):
    # a local dataset folder goes through datasets.load_dataset, as a Hub id would
    hub = tmp_path / "hub"
    (hub / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"question": f"What is {100 + i} + {7 * i + 3}?", "response": f"It is {107 + 8 * i}."}
                                         for i in range(50, 60)]), hub / "data" / "train-00000.parquet")
    bench = write_jsonl(tmp_path / "bench.jsonl", [{"problem": "What is 105 + 38?"}, {"problem": "What is 152 + 367?"}])
    body = {"name": "h", "sources": [
        {"name": "math-a", "path": str(sources["run_a"])},
        {"name": "hub", "hub_id": str(hub), "columns": {"prompt": "question", "completion": "response"}}],
        "decontaminate": {"against": [{"path": str(bench), "column": "problem"}], "ngram": 8}}
    mix(load_mixture(write_mixture(tmp_path / "m.yaml", body)), tmp_path / "out")
    ds = rows_of(tmp_path / "out")
    problems = set(ds["problem"])
    assert "What is 105 + 38?" not in problems and "What is 152 + 367?" not in problems  # one per source
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    dropped = {s["name"]: s["dropped"] for s in manifest["sources"]}
    assert dropped["math-a"] == {"contaminated": 1} and dropped["hub"] == {"contaminated": 1}
    assert Counter(p["source"] for p in ds["provenance"])["hub"] == 9


def test_near_duplicates_across_sources(sources, tmp_path):
    near = write_jsonl(tmp_path / "near.jsonl", [
        {"problem": "Write a short poem of four lines about the first snow of this winter.", "completion": "Snow."},
        {"problem": "Describe a volcano in one sentence for a child.", "completion": "A mountain that breathes fire."}])
    body = {"name": "n", "dedup": {"exact": True, "near": True, "threshold": 0.5}, "sources": [
        {"name": "general", "path": str(sources["general"])}, {"name": "near", "path": str(near)}]}
    mix(load_mixture(write_mixture(tmp_path / "m.yaml", body)), tmp_path / "out")
    ds = rows_of(tmp_path / "out")
    assert [r["completion"][0]["content"] for r in ds if r["provenance"]["source"] == "near"] == \
        ["A mountain that breathes fire."]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    near_drop = next(d for d in manifest["dropped_rows"] if d["source"] == "near")
    assert near_drop["reason"] == "near_duplicate_prompt" and near_drop["duplicate_of_source"] == "general"


def big_sources(tmp_path, rows=60_000):
    paths = []
    for k in range(2):
        table = pa.Table.from_pylist([
            {"id": f"s{k}-{i}", "prompt": f"Question {i} of source {k}: what is {i} times {k + 2}?",
             "completion": f"<think>\n{i} x {k + 2}\n</think>\n\n{i * (k + 2)}", "completion_tokens": 7}
            for i in range(rows)])
        paths.append(tmp_path / f"big-{k}.parquet")
        pq.write_table(table, paths[-1], row_group_size=8192)
    return write_mixture(tmp_path / "big.yaml", {"name": "big", "seed": 3, "rows_per_shard": 1500, "sources": [
        {"name": f"s{k}", "path": str(p), "weight": 0.9} for k, p in enumerate(paths)]})


@pytest.mark.parametrize("kill_when", ["spilling", "writing shards"])
def test_kill_9_mid_mix_and_rerun_gives_the_same_rows(tmp_path, kill_when):
    mixture_file = big_sources(tmp_path)
    reference = mix(load_mixture(mixture_file), tmp_path / "reference")
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "factory.cli", "mix", str(mixture_file), "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spill, markers = out / ".factory" / "spill", out / ".factory" / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if kill_when == "spilling" and spill.is_dir() and any(spill.glob("*.arrow")):
            break
        if kill_when == "writing shards" and markers.is_dir() and any(markers.glob("*.json")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the mix finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(markers.glob("*.json"))) < reference.shards  # killed mid-way
    assert main(["mix", str(mixture_file), "--out", str(out)]) == EXIT_OK
    for name in ("part-00000.parquet", f"part-{reference.shards - 1:05d}.parquet"):
        assert pq.read_table(out / "data" / "train" / name).equals(
            pq.read_table(tmp_path / "reference" / "data" / "train" / name))
    killed, whole = rows_of(out), rows_of(tmp_path / "reference")
    assert killed["id"] == whole["id"] and len(killed) == reference.rows == 108_000
    assert not (out / ".factory" / "spill").exists()


def test_a_changed_source_makes_a_new_mix_and_the_old_folder_refuses_it(sources, tmp_path, capsys):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"problem": "p1", "completion": "c1"}])
    mixture_file = write_mixture(tmp_path / "m.yaml", {"name": "x", "sources": [{"name": "c", "path": str(corpus)}]})
    assert main(["mix", str(mixture_file), "--out", str(tmp_path / "out")]) == EXIT_OK
    write_jsonl(corpus, [{"problem": "p1", "completion": "c1"}, {"problem": "p2", "completion": "c2"}])
    capsys.readouterr()
    assert main(["mix", str(mixture_file), "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "refusing to mix them" in err and "sources" in err and "sha256" in err


@pytest.mark.parametrize("body,message", [
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}", "weight": 0.5, "rows": 3}]}, "set 'weight' or 'rows', not both"),
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}", "wieght": 0.5}]}, "did you mean 'weight'?"),
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}", "weight": 1.5}]}, "key 'sources[0].weight': must be <= 1"),
    ({"name": "x", "sources": [{"name": "a", "path": "nowhere.jsonl"}]}, "sources[0].path': not found: nowhere.jsonl"),
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}"}, {"name": "a", "path": "{corpus}"}]}, "'a' is used twice"),
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}", "split": "train"}]}, "a jsonl file has no splits"),
    ({"name": "x", "sources": [{"name": "a", "path": "{corpus}"}], "dedup": {"nearr": True}}, "did you mean 'near'?"),
    ({"name": "x", "sources": []}, "a list of at least one source is required"),
    ({"name": "x", "shards": 3, "sources": [{"name": "a", "path": "{corpus}"}]}, "unknown key 'shards'"),
])
def test_bad_mixture_files_name_the_file_and_key(tmp_path, body, message):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"problem": "p", "completion": "c"}])
    text = json.dumps(body).replace("{corpus}", str(corpus))
    path = write_mixture(tmp_path / "bad.yaml", json.loads(text))
    with pytest.raises(RecipeError) as info:  # MixtureError, or the typed-field checks (the same base)
        load_mixture(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_source_with_no_usable_columns_is_refused_by_name(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"question": "p", "answer": "c"}])
    path = write_mixture(tmp_path / "m.yaml", {"name": "x", "sources": [{"name": "qa", "path": str(corpus)}]})
    with pytest.raises(SourceError) as info:
        mix(load_mixture(path), tmp_path / "out")
    assert str(corpus) in str(info.value) and "'messages'" in str(info.value) and "answer, question" in str(info.value)


def test_the_readme_mixture_uses_only_declared_keys(tmp_path):
    import re

    import yaml

    from factory.mix.settings import MixSource, Mixture
    from factory.recipe.fields import build_section

    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(# r1-sft\.yaml.*?)```", readme, re.S).group(1)
    data = yaml.safe_load(block)
    sources = data.pop("sources")
    build_section(Mixture, data, "README")
    specs = [build_section(MixSource, item, "README") for item in sources]
    assert sum(s.rows for s in specs) == 800_000 and [s.rows for s in specs if s.name == "general"] == [200_000]
    # the commented examples are sources too
    for line in re.findall(r"^  # - (\{.*\})$", block, re.M):
        build_section(MixSource, yaml.safe_load(line), "README")


def test_a_mixture_that_takes_no_row_says_why_and_leaves_no_folder(tmp_path, capsys):
    bench = write_jsonl(tmp_path / "bench.jsonl", [{"problem": "Tell me a story about a red fox in the snow."}])
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"problem": "Tell me a story about a red fox in the snow.",
                                                 "completion": "Once upon a time."}])
    path = write_mixture(tmp_path / "m.yaml", {"name": "x", "sources": [{"name": "c", "path": str(corpus)}],
                                               "decontaminate": {"against": [{"path": str(bench)}]}})
    assert main(["mix", str(path), "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "takes no row" in err and "dropped {'contaminated': 1}" in err
    assert not (tmp_path / "out").exists()
