"""`factory export`: a run folder's (or a mix's) rows in the formats other trainers read, with their config beside.

| format | one JSONL line | read by |
|---|---|---|
| `messages` | `{"messages": [{role, content}, ...], "id": ...}` | LLaMA-Factory (sharegpt formatting with OpenAI-style tags), axolotl (`type: chat_template`), OpenRLHF (`--input_key messages --apply_chat_template`), TRL |
| `sharegpt` | `{"conversations": [{"from": "system"/"human"/"gpt", "value"}, ...], "id": ...}` | LLaMA-Factory (`formatting: sharegpt`), axolotl (`chat_template` with `from`/`value` mappings) |
| `alpaca` | `{"instruction", "input", "output", "system", "history", "id"}` | LLaMA-Factory (alpaca, its default), axolotl (`type: alpaca`), OpenRLHF (`--input_key instruction --output_key output`) |
| `openai` | `{"messages": [{role, content}, ...]}` and nothing else | OpenAI-style fine-tuning APIs (chat format: roles system, user, assistant) |

The conversation is the row's `prompt` turns followed by its `completion` turn: the assistant's text is kept whole,
`<think>…</think>` included (a student learns to reason by seeing it). In `alpaca`, `instruction` is the last user
turn, `system` the system turn (empty when none), and earlier user/assistant turns become `history` pairs.

Written into OUT (default `exports/<folder name>-<format>`): `data.jsonl`, plus `dataset_info.json` (LLaMA-Factory's
dataset registration: point `dataset_dir` at OUT and use `dataset: <name>`), `axolotl.yaml` (the `datasets:` entry),
`openrlhf.txt` (the flags) and `README.md` (what to run with each), for every consumer the format serves. Rows are
streamed shard by shard (polars, batch by batch); files are written under a temporary name and renamed when whole.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FORMATS = ("messages", "sharegpt", "alpaca", "openai")
DATA_FILE = "data.jsonl"


class ExportError(ValueError):
    """The folder or the format cannot be exported; the message says which and why."""


@dataclass
class ExportResult:
    out: Path
    rows: int
    files: list[str]


def source_shards(folder: Path, split: str | None) -> tuple[str, list[Path]]:
    """(split, shard files) of a run folder (default split `accepted`) or a mix folder (`train`)."""
    if (folder / ".factory" / "mix.json").is_file():
        split = split or "train"
    elif (folder / ".factory" / "run.json").is_file():
        split = split or "accepted"
    else:
        raise ExportError(f"{folder}: not a run folder or a mix folder (no .factory/run.json or .factory/mix.json)")
    files = sorted((folder / "data" / split).glob("part-*.parquet"))
    if not files:
        present = sorted(p.name for p in (folder / "data").iterdir()) if (folder / "data").is_dir() else []
        raise ExportError(f"{folder}: no shards in split {split!r} (splits: {', '.join(present) or 'none'})")
    return split, files


def _conversation() -> Any:
    import polars as pl

    return pl.concat_list(pl.col("prompt"), pl.col("completion"))


def convert(frame: Any, fmt: str) -> Any:
    """A polars frame of output rows (`id`, `prompt`, `completion`) in `fmt`'s columns."""
    import polars as pl

    conversation = _conversation()
    if fmt == "openai":
        return frame.select(messages=conversation)
    if fmt == "messages":
        return frame.select(messages=conversation, id=pl.col("id"))
    if fmt == "sharegpt":
        tag = pl.element().struct.field("role").replace_strict(
            {"system": "system", "user": "human", "assistant": "gpt"}, default=pl.element().struct.field("role"))
        turns = conversation.list.eval(pl.struct(**{"from": tag, "value": pl.element().struct.field("content")}))
        return frame.select(conversations=turns, id=pl.col("id"))
    if fmt == "alpaca":
        prompt = pl.col("prompt")
        role = pl.element().struct.field("role")
        system = prompt.list.eval(pl.element().filter(role == "system").struct.field("content")).list.first()
        dialogue = prompt.list.eval(pl.element().filter(role != "system"))
        earlier = dialogue.list.head(dialogue.list.len() - 1).list.eval(pl.element().struct.field("content"))
        return frame.select(
            instruction=dialogue.list.last().struct.field("content"), input=pl.lit(""),
            output=pl.col("completion").list.last().struct.field("content"), system=system.fill_null(""),
            history=earlier.list.eval(pl.concat_list(pl.element(), pl.element().shift(-1)))
            .list.gather_every(2), id=pl.col("id"))
    raise ExportError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")


def configs(fmt: str, name: str) -> dict[str, str]:
    """The config files written beside the data, by file name."""
    files: dict[str, str] = {}
    info: dict[str, Any] = {"file_name": DATA_FILE}
    if fmt in ("messages", "openai"):
        info |= {"formatting": "sharegpt", "columns": {"messages": "messages"},
                 "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                          "assistant_tag": "assistant", "system_tag": "system"}}
        axolotl = {"path": "{out}/data.jsonl", "ds_type": "json", "type": "chat_template", "field_messages": "messages",
                   "message_property_mappings": {"role": "role", "content": "content"}}
        openrlhf = "--dataset {out}/data.jsonl --input_key messages --apply_chat_template"
    elif fmt == "sharegpt":
        info |= {"formatting": "sharegpt", "columns": {"messages": "conversations"},
                 "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                          "system_tag": "system"}}
        axolotl = {"path": "{out}/data.jsonl", "ds_type": "json", "type": "chat_template",
                   "field_messages": "conversations",
                   "message_property_mappings": {"role": "from", "content": "value"},
                   "roles": {"system": ["system"], "user": ["human"], "assistant": ["gpt"]}}
        openrlhf = ""
    else:
        info |= {"columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system",
                             "history": "history"}}
        axolotl = {"path": "{out}/data.jsonl", "ds_type": "json", "type": "alpaca"}
        openrlhf = "--dataset {out}/data.jsonl --input_key instruction --output_key output --apply_chat_template"
    if fmt != "openai":
        files["dataset_info.json"] = json.dumps({name: info}, indent=2) + "\n"
        files["axolotl.yaml"] = yaml.safe_dump({"datasets": [axolotl]}, sort_keys=False)
    if openrlhf and fmt != "openai":
        files["openrlhf.txt"] = openrlhf + "\n"
    return files


def export(folder: str | Path, fmt: str, out: str | Path | None = None, split: str | None = None) -> ExportResult:
    """Write `folder`'s rows of `split` in `fmt` into `out` (see the module docstring)."""
    import polars as pl
    import pyarrow.parquet as pq

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    folder = Path(folder)
    split, files = source_shards(folder, split)
    name = f"{folder.resolve().name}-{split}"
    out = Path(out) if out else Path("exports") / f"{folder.resolve().name}-{fmt}"
    if out.exists() and (not out.is_dir() or any(p.name not in _ours(fmt) for p in out.iterdir())):
        raise ExportError(f"{out}: exists and holds files that are not an export of this format; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{DATA_FILE}.tmp"
    rows = 0
    with tmp.open("wb") as handle:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=8192, columns=["id", "prompt", "completion"]):
                frame = convert(pl.from_arrow(batch), fmt)
                frame.write_ndjson(handle)
                rows += frame.height
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, out / DATA_FILE)
    written = [DATA_FILE]
    for file_name, text in configs(fmt, name).items():
        (out / file_name).write_text(text.replace("{out}", str(out.resolve())), encoding="utf-8")
        written.append(file_name)
    (out / "README.md").write_text(_readme(fmt, name, folder, split, rows, out), encoding="utf-8")
    return ExportResult(out, rows, written + ["README.md"])


def _ours(fmt: str) -> set[str]:
    return {DATA_FILE, f".{DATA_FILE}.tmp", "README.md", *configs(fmt, "x")}


def _readme(fmt: str, name: str, folder: Path, split: str, rows: int, out: Path) -> str:
    lines = [f"# {name} ({fmt})", "", f"{rows:,} rows of `{folder}` split `{split}`, exported by `factory export "
             f"--format {fmt}`.", ""]
    if fmt == "openai":
        lines += ["OpenAI chat fine-tuning format: one `{\"messages\": [...]}` per line, roles system, user, "
                  "assistant. Upload `data.jsonl` as a fine-tuning file (purpose `fine-tune`)."]
    else:
        lines += [f"- LLaMA-Factory: `dataset_dir: {out}` and `dataset: {name}` (registered in dataset_info.json).",
                  "- axolotl: the `datasets:` entry of axolotl.yaml.",
                  *([f"- OpenRLHF SFT: `{(out / 'openrlhf.txt').read_text().strip()}`"]
                    if (out / "openrlhf.txt").is_file() else [])]
    return "\n".join(lines) + "\n"
