"""Sources read as streams: JSONL line by line, Parquet by row groups, Hub datasets by rows; units cut from the
stream in order; resume in the middle of a stream; bad rows deep in a large file named by their line; memory that
does not hold the source."""

from __future__ import annotations

import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.recipe import PromptSource, Template, load_recipe
from factory.prompts.sources import PromptStream, SourceError, load_prompts
from factory.prompts.unit_stream import UnitStream
from tests.conftest import events_of, write_jsonl

TEMPLATE = Template(user_template="{problem}\nPlease reason step by step.")
GOOD = "<think>\nIt is {a}.\n</think>\n\nSo the answer is \\boxed{{{a}}}."


def big_jsonl(path, rows: int, bad_line: int | None = None):
    with path.open("wb") as handle:
        for i in range(1, rows + 1):
            if i == bad_line:
                handle.write(b'{"id": "broken", "problem": "caf\xe9", "answer": "1"}\n')
            else:
                handle.write(json.dumps({"id": f"q{i}", "problem": f"What is {i} + 1? " + "pad " * 40,
                                         "answer": str(i + 1)}).encode() + b"\n")
    return path


def test_jsonl_is_read_lazily_and_a_bad_row_deep_in_it_is_named_by_its_line(tmp_path):
    path = big_jsonl(tmp_path / "big.jsonl", 60_000, bad_line=45_000)
    stream = PromptStream(PromptSource(path=str(path)), TEMPLATE)
    items = iter(stream)
    first = [next(items) for _ in range(3)]
    assert [p.prompt_id for p, _, _ in first] == ["q1", "q2", "q3"] and not stream.skipped
    count = 3 + sum(1 for _ in items)
    assert count == 59_999
    assert [(s.row, s.field) for s in stream.skipped] == [(45_000, "*")]
    assert str(stream.skipped[0]).startswith(f"{path}: row 45000: field '*': not valid UTF-8")


def test_a_duplicate_id_deep_in_a_stream_names_both_rows(tmp_path):
    rows = [{"id": f"q{i}", "problem": f"P{i}", "answer": "1"} for i in range(1, 5001)] + \
           [{"id": "q17", "problem": "again", "answer": "1"}]
    stream = PromptStream(PromptSource(path=str(write_jsonl(tmp_path / "p.jsonl", rows))), TEMPLATE)
    with pytest.raises(SourceError, match="row 5001: field 'id': duplicate id 'q17' \\(first seen at row 17\\)"):
        for _ in stream:
            pass


def test_parquet_is_read_by_row_groups_in_order(tmp_path):
    path = tmp_path / "p.parquet"
    table = pa.table({"id": [f"r{i}" for i in range(10_000)], "problem": [f"P{i}" for i in range(10_000)],
                      "answer": [str(i) for i in range(10_000)]})
    pq.write_table(table, path, row_group_size=1000)
    assert pq.ParquetFile(path).num_row_groups == 10
    stream = PromptStream(PromptSource(path=str(path)), TEMPLATE)
    seen = [(p.prompt_id, number) for p, number, _ in stream]
    assert seen == [(f"r{i}", i + 1) for i in range(10_000)]


def test_a_hub_dataset_streams_through_datasets(tmp_path):
    folder = tmp_path / "ds"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"uuid": [f"u{i}" for i in range(300)], "problem": ["p"] * 300,
                             "answer": ["1"] * 300}), folder / "data" / "train-00000.parquet")
    source = PromptSource(hub_id=str(folder), split="train", columns={"id": "uuid", "problem": "problem",
                                                                      "gold": "answer"})
    stream = PromptStream(source, TEMPLATE, limit=250)
    assert [p.prompt_id for p, _, _ in stream] == [f"u{i}" for i in range(250)]


def traced_peak(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_units_are_cut_in_order_and_memory_does_not_hold_the_source(tmp_path):
    """Per source row, cutting units keeps a few bytes (the id seen); loading the source keeps the prompt."""
    from factory.verification.verify import create_verifiers

    small, large = big_jsonl(tmp_path / "small.jsonl", 2_000), big_jsonl(tmp_path / "large.jsonl", 12_000)
    recipe = load_recipe("tiny", ["output.prompts_per_shard=64", "prompts.dedup=null"])
    verifiers = create_verifiers(recipe.verifiers)
    try:
        def stream_all(path):
            source = PromptSource(path=str(path))
            units = UnitStream(PromptStream(source, recipe.template), recipe, verifiers).units()
            numbers = [u.number for u in units]
            assert numbers == list(range(len(numbers)))

        first = next(UnitStream(PromptStream(PromptSource(path=str(large)), recipe.template), recipe,
                                verifiers).units())
        assert first.number == 0 and [p.prompt_id for p in first.prompts][:2] == ["q1", "q2"] and len(first.prompts) == 64
        stream_all(small)  # warm: langdetect profiles, sympy-free fast paths, caches
        streamed = (traced_peak(lambda: stream_all(large)) - traced_peak(lambda: stream_all(small))) / 10_000
        loaded = (traced_peak(lambda: load_prompts(PromptSource(path=str(large)), recipe.template))
                  - traced_peak(lambda: load_prompts(PromptSource(path=str(small)), recipe.template))) / 10_000
    finally:
        for verifier in verifiers:
            verifier.close()
    print(f"bytes per source row: streamed {streamed:.0f}, loaded {loaded:.0f}")
    assert loaded > 600, loaded          # bytes per row that holding the source costs
    assert streamed < loaded / 3, (streamed, loaded)


def test_resume_in_the_middle_of_a_stream_gives_the_same_units(tmp_path, capsys):
    traces = [{"id": f"q{i}", "problem": f"What is {i} + 1?", "answer": str(i + 1), "completion": GOOD.format(a=i + 1)}
              for i in range(40)]
    inp, out = write_jsonl(tmp_path / "t.jsonl", traces), tmp_path / "run"
    args = ["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out), "--log-json",
            "--set", "output.prompts_per_shard=4"]
    assert main(args) == EXIT_OK
    markers = {p.name: json.loads(p.read_text())["prompt_ids"] for p in (out / ".factory" / "units").glob("*.json")}
    for name in ("00004.json", "00005.json", "00009.json"):  # as if the run had stopped with these to do
        (out / ".factory" / "units" / name).unlink()
    capsys.readouterr()
    assert main(args) == EXIT_OK
    events = events_of(capsys.readouterr().out)
    assert "(7 units already done)" in events[0]["message"]
    assert [e["unit"] for e in events if e["event"] == "unit"] == [4, 5, 9]
    again = {p.name: json.loads(p.read_text())["prompt_ids"] for p in (out / ".factory" / "units").glob("*.json")}
    assert again == markers
    assert events[-1]["complete"] and events[-1]["units_total"] == 10


def test_traces_of_one_prompt_must_be_adjacent(tmp_path, capsys):
    rows = [{"id": "a", "problem": "x", "answer": "1", "completion": GOOD.format(a=1)},
            {"id": "b", "problem": "y", "answer": "2", "completion": GOOD.format(a=2)},
            {"id": "a", "problem": "x", "answer": "1", "completion": GOOD.format(a=1)}]
    code = main(["verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", rows)),
                 "--out", str(tmp_path / "run"), "--log-json", "--set", "output.prompts_per_shard=1"])
    assert code == EXIT_USAGE
    assert "rows 1 and 3 share id 'a' but are not adjacent" in capsys.readouterr().out


def test_a_resume_reuses_the_gold_screening(tmp_path):
    """Gold checks made once are not made again on resume (a symbolic gold costs a sympy parse)."""
    from factory.recipe import load_recipe as load
    from factory.run import run
    from factory.runtimes.replay import ReplayRuntime
    from verifiers import Verdict, Verifier, register_verifier

    calls: list[str] = []

    @register_verifier("counting_gold")
    class CountingGold(Verifier):
        name = "counting_gold"

        def check_gold(self, prompt):
            calls.append(prompt.prompt_id)
            return "unverifiable_gold" if prompt.gold == "bad" else None

        def verify_batch(self, prompt, completions):
            return [Verdict.accept(self.name) for _ in completions]

    traces = [{"id": f"q{i}", "problem": f"P{i}", "answer": "bad" if i == 3 else str(i), "completion": "x"}
              for i in range(12)]
    inp, out = write_jsonl(tmp_path / "t.jsonl", traces), tmp_path / "run"
    recipe = load("tiny", [f"prompts.path={inp}", "verifiers=[{name: counting_gold}]", "output.prompts_per_shard=3",
                           "prompts.dedup=null"])

    def once():
        source = PromptStream(recipe.prompts, recipe.template, traces=True)
        return run(recipe, mode="verify", source=source, runtime=ReplayRuntime(), out=out)

    assert once().complete and len(calls) >= 12
    first = json.loads((out / "manifest.json").read_text())
    (out / ".factory" / "units" / "00001.json").unlink()
    calls.clear()
    result = once()
    assert result.complete and calls == []  # every prompt's gold was known
    assert json.loads((out / "manifest.json").read_text())["skipped_rows"] == first["skipped_rows"]
    assert "gold" in first["skipped_rows"][0] and "row 4" in first["skipped_rows"][0]


def test_looking_for_the_traces_model_holds_a_bounded_number_of_rows(tmp_path):
    """An input where no row has a usable completion: `first_model` stops after MODEL_LOOKAHEAD rows instead of
    reading the whole input into memory, and the stream still yields every row after it."""
    from factory.prompts.sources import MODEL_LOOKAHEAD

    rows = [{"id": f"r{i}", "problem": "p", "answer": "1", "completion": None} for i in range(MODEL_LOOKAHEAD * 3)]
    recipe = load_recipe("tiny", [f"prompts.path={write_jsonl(tmp_path / 't.jsonl', rows)}"])
    stream = PromptStream(recipe.prompts, recipe.template, traces=True)
    read = []
    inner = stream._rows
    stream._rows = (read.append(item) or item for item in inner)
    assert stream.first_model() is None and len(read) == MODEL_LOOKAHEAD
    assert list(stream) == []  # every row skipped, each named
    assert len(read) == MODEL_LOOKAHEAD * 3 and len(stream.skipped) == MODEL_LOOKAHEAD * 3
