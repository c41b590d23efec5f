"""`factory export`: each format checked against its consumer's documented schema and rules, restated here from
their public docs and code (LLaMA-Factory's data/README.md and data/converter.py, axolotl's chat_template dataset
options, OpenRLHF's SFT `preprocess_data`, OpenAI's chat fine-tuning format and the cookbook's format checks), and
loaded with `datasets.load_dataset("json")` as all of them do. The consumers themselves are not installed (each
pulls a training stack: deepspeed, flash-attn, ...).

What must hold for every row: the consumer, reading the export with the config written beside it, sees the same
conversation as the factory's row (system, user turns, then the assistant's completion, `<think>` block included).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.mix import load_mixture, mix
from factory.output.export import FORMATS
from tests.conftest import TINY_TEACHER
from tests.factory.mix.mix_helpers import GENERAL_TRACES, arith_rows, verify_run, write_mixture

SYSTEM = "You are a careful assistant."
MULTI_TURN = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi, can you count?"},
              {"role": "assistant", "content": "Yes, I can count."}, {"role": "user", "content": "Count to three."}]

# LLaMA-Factory's dataset_info.json keys (data/README.md) and its converter's role rules (data/converter.py).
LF_ENTRY_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "file_name", "file_sha1", "subset", "folder", "ranking",
                 "formatting", "split", "num_samples", "columns", "tags"}
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images", "videos", "audios",
              "chosen", "rejected", "kto_tag"}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}
# axolotl's default role mapping for chat_template datasets (its `roles` option overrides it).
AXOLOTL_ROLES = {"system": ["system"], "user": ["user", "human"], "assistant": ["assistant", "gpt", "model"]}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    run = verify_run(tmp, "run", arith_rows(0, 10, "a"))
    general = verify_run(tmp, "general", recipe="general", traces=GENERAL_TRACES)
    chats = tmp / "chats.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"id": f"chat-{i}", "prompt": MULTI_TURN, "completion": [{"role": "assistant", "content": f"One, two, three ({i})."}]}
        for i in range(3)]), chats)
    mixture = write_mixture(tmp / "m.yaml", {"name": "m", "sources": [
        {"name": "run", "path": str(run)}, {"name": "general", "path": str(general)},
        {"name": "chats", "path": str(chats)}]})
    mixed = mix(load_mixture(mixture), tmp / "mix").out
    return {"run": run, "mix": mixed, "tmp": tmp}


def factory_rows(folder, split):
    files = sorted((folder / "data" / split).glob("*.parquet"))
    return {r["id"]: r["prompt"] + r["completion"] for r in pq.read_table(files).to_pylist()}


def export(folders, name, fmt, tmp_path):
    out = tmp_path / f"{name}-{fmt}"
    assert main(["export", str(folders[name]), "--format", fmt, "--out", str(out)]) == EXIT_OK
    return out, [json.loads(line) for line in (out / "data.jsonl").read_text().splitlines()]


def llama_factory_read(out, row):
    """LLaMA-Factory's reading of one row with the dataset_info.json beside the data: (system, conversation)."""
    info = json.loads((out / "dataset_info.json").read_text())
    (name, entry), = info.items()
    assert set(entry) <= LF_ENTRY_KEYS and (out / entry["file_name"]).is_file()
    assert set(entry.get("columns", {})) <= LF_COLUMNS and set(entry.get("tags", {})) <= LF_TAGS
    columns = entry["columns"]
    if entry.get("formatting", "alpaca") == "alpaca":
        turns = []
        for old_prompt, old_response in row.get(columns.get("history", ""), None) or []:
            turns += [{"role": "user", "content": old_prompt}, {"role": "assistant", "content": old_response}]
        query = [row[columns[k]] for k in ("prompt", "query") if row.get(columns[k])]
        turns.append({"role": "user", "content": "\n".join(query)})
        turns.append({"role": "assistant", "content": row[columns["response"]]})
        return row.get(columns.get("system", ""), "") or "", turns
    tags = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
            **entry.get("tags", {})}
    messages = row[columns.get("messages", "conversations")]
    system = ""
    if tags.get("system_tag") and messages and messages[0][tags["role_tag"]] == tags["system_tag"]:
        system, messages = messages[0][tags["content_tag"]], messages[1:]
    roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant"}
    expected = (tags["user_tag"], tags["assistant_tag"])
    assert len(messages) % 2 == 0, "LLaMA-Factory skips a conversation with an odd number of turns"
    for i, message in enumerate(messages):
        assert message[tags["role_tag"]] == expected[i % 2], "LLaMA-Factory skips a row whose roles do not alternate"
    return system, [{"role": roles[m[tags["role_tag"]]], "content": m[tags["content_tag"]]} for m in messages]


def axolotl_read(out, row):
    """axolotl's chat_template reading of one row with the axolotl.yaml beside the data."""
    (entry,) = yaml.safe_load((out / "axolotl.yaml").read_text())["datasets"]
    assert entry["path"] == str((out / "data.jsonl").resolve()) and entry["ds_type"] == "json"
    if entry["type"] == "alpaca":  # axolotl's alpaca prompter: instruction (+ input) -> output, optional system
        return None
    assert entry["type"] == "chat_template"
    mapping = entry.get("message_property_mappings", {"role": "role", "content": "content"})
    roles = entry.get("roles", AXOLOTL_ROLES)
    to_role = {alias: role for role, aliases in roles.items() for alias in aliases}
    return [{"role": to_role[m[mapping["role"]]], "content": m[mapping["content"]]}
            for m in row[entry.get("field_messages", "messages")]]


def without_system(turns):
    system = turns[0]["content"] if turns and turns[0]["role"] == "system" else ""
    return system, [t for t in turns if t["role"] != "system"]


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "alpaca"])
@pytest.mark.parametrize("name", ["run", "mix"])
def test_llama_factory_and_axolotl_read_the_same_conversation(folders, tmp_path, name, fmt):
    out, lines = export(folders, name, fmt, tmp_path)
    truth = factory_rows(folders[name], "accepted" if name == "run" else "train")
    assert len(lines) == len(truth) and {line["id"] for line in lines} == set(truth)
    assert len(load_dataset("json", data_files=str(out / "data.jsonl"), cache_dir=str(tmp_path / "hf"))["train"]) \
        == len(truth)
    multi = 0
    for line in lines:
        conversation = truth[line["id"]]
        assert llama_factory_read(out, line) == without_system(conversation)
        seen = axolotl_read(out, line)
        if seen is not None:
            assert seen == conversation
        multi += len(conversation) > 3
    assert multi == (3 if name == "mix" else 0)


def test_alpaca_keeps_earlier_turns_as_history_and_the_system_turn(folders, tmp_path):
    _, lines = export(folders, "mix", "alpaca", tmp_path)
    chat = next(line for line in lines if line["id"].startswith("chats/"))
    assert chat["history"] == [["Hi, can you count?", "Yes, I can count."]]
    assert chat["system"] == SYSTEM and chat["instruction"] == "Count to three." and chat["input"] == ""
    assert chat["output"].startswith("One, two, three")


@pytest.mark.parametrize("fmt", ["messages", "alpaca"])
def test_openrlhf_sft_preprocessing_sees_prompt_and_response(folders, tmp_path, fmt):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(TINY_TEACHER))
    out, lines = export(folders, "run", fmt, tmp_path)
    flags = (out / "openrlhf.txt").read_text().split()
    input_key = flags[flags.index("--input_key") + 1]
    output_key = flags[flags.index("--output_key") + 1] if "--output_key" in flags else None
    assert "--apply_chat_template" in flags and flags[flags.index("--dataset") + 1] == str((out / "data.jsonl").resolve())
    truth = factory_rows(folders["run"], "accepted")
    for line in lines:
        # OpenRLHF's SFT preprocessing with apply_chat_template (openrlhf/datasets/sft_dataset.py)
        if output_key:
            prompt_messages = [{"role": "user", "content": line[input_key]}]
            messages = prompt_messages + [{"role": "assistant", "content": line[output_key]}]
        else:
            prompt_messages, messages = line[input_key][:-1], line[input_key]
        prompt = tokenizer.apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)
        response = tokenizer.apply_chat_template(messages, tokenize=False)[len(prompt):]
        conversation = truth[line["id"]]
        assert prompt == tokenizer.apply_chat_template(conversation[:-1], tokenize=False, add_generation_prompt=True)
        assert response.startswith(conversation[-1]["content"]) and "</think>" in response


def test_openai_chat_fine_tuning_format(folders, tmp_path):
    out, lines = export(folders, "mix", "openai", tmp_path)
    truth = list(factory_rows(folders["mix"], "train").values())
    assert sorted(json.dumps(line["messages"]) for line in lines) == sorted(json.dumps(t) for t in truth)
    for line in lines:  # the OpenAI cookbook's format checks for chat fine-tuning files
        assert set(line) == {"messages"} and isinstance(line["messages"], list) and line["messages"]
        for message in line["messages"]:
            assert set(message) <= {"role", "content", "name", "function_call", "weight"}
            assert {"role", "content"} <= set(message) and isinstance(message["content"], str)
            assert message["role"] in ("system", "user", "assistant", "function")
        assert any(m["role"] == "assistant" for m in line["messages"])
        assert line["messages"][-1]["role"] == "assistant"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data.jsonl"]


def test_export_refuses_what_it_cannot_read_or_would_overwrite(folders, tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "messages"]) == EXIT_USAGE
    assert "not a run folder or a mix folder" in capsys.readouterr().err
    assert main(["export", str(folders["run"]), "--format", "messages", "--split", "nope"]) == EXIT_USAGE
    assert "no shards in split 'nope'" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["export", str(folders["run"]), "--format", "messages", "--out", str(busy)]) == EXIT_USAGE
    assert (busy / "notes.txt").read_text() == "mine"
    assert set(FORMATS) == {"messages", "sharegpt", "alpaca", "openai"}
