import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.recipe import PromptSource, Template
from factory.prompts.sources import SourceError, load_prompts, load_traces
from tests.conftest import write_jsonl

TEMPLATE = Template(system_prompt=None, user_template="{problem}\nPlease reason.")


def source(path, keep_columns=(), **columns):
    return PromptSource(path=str(path), columns=columns or {"id": "id", "problem": "problem", "gold": "answer"},
                        keep_columns=list(keep_columns))


def test_rows_become_templated_prompts_in_order(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": f"q{i}", "problem": f"P{i}", "answer": i, "kind": "k"}
                                              for i in range(5)])
    loaded = load_prompts(source(path), TEMPLATE, limit=3)
    assert [p.prompt_id for p in loaded.prompts] == ["q0", "q1", "q2"]
    first = loaded.prompts[0]
    assert first.messages == ({"role": "user", "content": "P0\nPlease reason."},)
    assert first.gold == 0 and first.metadata == {} and first.source == "p.jsonl"  # unmapped columns stay out
    kept = load_prompts(source(path, keep_columns=["kind"]), TEMPLATE, limit=1).prompts[0]
    assert kept.metadata == {"kind": "k"}


def test_bad_rows_are_skipped_with_file_row_and_field(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": "a", "problem": "ok", "answer": "1"}\n'
                     b'{"id": "b", "problem": "caf\xe9", "answer": "1"}\n'
                     b'{"id": "c", "problem": "  ", "answer": "1"}\n'
                     b'{"id": "d", "problem": "x", "answer": ""}\n'
                     b'not json\n'
                     b'{"id": "f", "problem": "fine", "answer": "2"}\n')
    loaded = load_prompts(source(path), TEMPLATE)
    assert [p.prompt_id for p in loaded.prompts] == ["a", "f"]
    skipped = {s.row: (s.field, s.reason) for s in loaded.skipped}
    assert skipped[2][1].startswith("not valid UTF-8")
    assert skipped[3] == ("problem", "empty problem")
    assert skipped[4] == ("answer", "empty gold answer")
    assert skipped[5][1].startswith("not valid JSON")
    assert all(str(path) in str(s) for s in loaded.skipped)


def test_missing_column_is_an_error_naming_file_row_and_column(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "question": "x", "answer": "1"}])
    with pytest.raises(SourceError) as info:
        load_prompts(source(path), TEMPLATE)
    message = str(info.value)
    assert str(path) in message and "row 1" in message and "'problem'" in message and "question" in message


def test_duplicate_ids_are_an_error(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "problem": "x", "answer": "1"},
                                              {"id": "a", "problem": "y", "answer": "2"}])
    with pytest.raises(SourceError, match="row 2: field 'id': duplicate id 'a' \\(first seen at row 1\\)"):
        load_prompts(source(path), TEMPLATE)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        load_prompts(source(tmp_path / "none.jsonl"), TEMPLATE)
    (tmp_path / "p.csv").write_text("a,b\n")
    with pytest.raises(SourceError, match="unsupported"):
        load_prompts(source(tmp_path / "p.csv"), TEMPLATE)


def test_parquet_source_without_ids_uses_row_numbers(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["a", "b"], "solution": ["1", "2"]}), path)
    loaded = load_prompts(source(path, problem="question", gold="solution"), TEMPLATE)
    assert [p.prompt_id for p in loaded.prompts] == ["row-000001", "row-000002"]
    assert [p.gold for p in loaded.prompts] == ["1", "2"]


def test_verify_input_groups_completions_by_id(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [
        {"id": "a", "problem": "x", "answer": "1", "completion": "c1"},
        {"id": "a", "problem": "x", "answer": "1", "completion": "c2"},
        {"id": "b", "problem": "y", "answer": "2", "completion": "c3"},
        {"id": "c", "problem": "z", "answer": "3", "completion": None},
    ])
    loaded = load_traces(source(path), TEMPLATE)
    assert [p.prompt_id for p in loaded.prompts] == ["a", "b"]
    assert {k: [c.text for c in v] for k, v in loaded.completions.items()} == {"a": ["c1", "c2"], "b": ["c3"]}
    assert [(s.row, s.field) for s in loaded.skipped] == [(4, "completion")]


def test_hub_source_goes_through_datasets_load_dataset(tmp_path):
    """The Hub code path (`datasets.load_dataset(hub_id, config, split=...)`) on a local dataset folder: the same
    call a Hub id takes, without a network."""
    folder = tmp_path / "my-dataset"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"uuid": ["u1", "u2"], "problem": ["p1", "p2"], "answer": ["1", "2"]}),
                   folder / "data" / "train-00000.parquet")
    hub = PromptSource(hub_id=str(folder), split="train", columns={"id": "uuid", "problem": "problem", "gold": "answer"})
    loaded = load_prompts(hub, TEMPLATE)
    assert [p.prompt_id for p in loaded.prompts] == ["u1", "u2"]
    assert loaded.prompts[0].source == str(folder)
    with pytest.raises(SourceError, match="could not load the Hub dataset"):
        load_prompts(PromptSource(hub_id=str(folder), split="nosuchsplit"), TEMPLATE)


def test_a_language_column_reaches_the_language_verifier(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "problem": "Combien font 2 et 3 ?", "answer": "5",
                                               "lang": "fr"}])
    loaded = load_prompts(source(path, id="id", problem="problem", gold="answer", language="lang"), TEMPLATE)
    assert loaded.prompts[0].metadata == {"language": "fr"}
