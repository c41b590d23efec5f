"""The run folder's dataset card (README.md): Hub metadata in a YAML header, then a short description.

The header follows the Hub's dataset card spec (hub-docs `datasetcard.md`, rendered by huggingface_hub's
`DatasetCardData`, so a pushed folder shows its license, languages, task, size and sources on the Hub):

- `license`: the recipe's `output.license` (a Hub license id; the shipped recipes set their prompt source's).
- `language`: ISO 639 codes. The language verifier's `expected_language` (and `also_allowed`) when the recipe fixes
  it; otherwise, on the final card, the languages that verifier identified in the accepted rows; omitted when
  neither is known (no language verifier, or a card written mid-run).
- `task_categories: [text-generation]`, `annotations_creators`/`language_creators: [machine-generated]` (a teacher
  wrote the traces, rules judged them), `pretty_name`, `tags`.
- `size_categories`: the Hub's bucket (`n<1K`, `1K<n<10K`, ... `n>1T`) of all committed rows (every split).
- `source_datasets`: the prompts' Hub dataset id (absent for a local file).
- `configs`: what `datasets.load_dataset(run_dir)` reads: `default` with `accepted` (and `rejected`, when kept), and
  `pairs` as its own config; the globs match only committed shards, never files being written under `.factory/`.
- `dataset_info`: per config, its `download_size` (the Parquet bytes of its committed shards, from the units'
  markers). Besides telling the Hub the size, this keeps `datasets`' cache honest: it keys its cache of a local
  folder on the card's metadata and the folder's name, not on the files, so without a figure that changes with the
  content, two run folders of one name, or one folder before and after a resume, would load stale rows. Per-split
  `splits` are not declared: `datasets` wants their in-memory `num_bytes`, which only a load can tell, and
  ignores (with a warning) a `splits` list without it; the row counts are in the body's funnel.

The teacher model is named (and linked, for a Hub id) in the body: the Hub's dataset metadata has no key for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from huggingface_hub import DatasetCardData

from factory.output.card_judge import card_lines
from factory.recipe import Recipe

SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T")
"""The Hub's size buckets, each ten times the previous from 1,000 up; past the last, `n>1T`."""
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
"""ISO 639-1/2/3, what the Hub's `language` takes (a detector's `zh-cn` is reported as `zh`)."""
TAGS = ["reasoning", "distillation", "rejection-sampling", "synthetic"]


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket of a row count: below 1,000 is `n<1K`, then one bucket per power of ten."""
    bound = 1_000
    for name in SIZE_CATEGORIES:
        if rows < bound:
            return name
        bound *= 10
    return "n>1T"


def card_languages(recipe: Recipe, root: Path | None) -> list[str]:
    """The `language` codes: the language verifier's fixed expectation, else (with `root`) the languages it
    identified in the accepted shards, else none."""
    spec = next((v for v in recipe.verifiers if v.name == "language"), None)
    if spec is None:
        return []
    fixed = [spec.params.get("expected_language"), *spec.params.get("also_allowed", [])]
    if fixed[0]:
        return _codes(fixed)
    return _codes(_accepted_languages(root)) if root is not None else []


def _accepted_languages(root: Path) -> Iterable[Any]:
    """The `expected` language of every accepted row's `language` verdict (reads only the `verdicts` column)."""
    import pyarrow.parquet as pq

    for shard in sorted((root / "data" / "accepted").glob("part-*.parquet")):
        for verdicts in pq.read_table(shard, columns=["verdicts"]).column("verdicts").to_pylist():
            for verdict in verdicts or []:
                if verdict["name"] == "language" and verdict["details"]:
                    yield json.loads(verdict["details"]).get("expected")


def _codes(values: Iterable[Any]) -> list[str]:
    codes = {str(v).lower().split("-")[0] for v in values if v}
    return sorted(code for code in codes if LANGUAGE_CODE.fullmatch(code))


def card_metadata(recipe: Recipe, splits: list[str], markers: dict[int, dict[str, Any]],
                  languages: list[str]) -> DatasetCardData:
    """The YAML header as huggingface_hub's `DatasetCardData`. `splits`: the splits to declare (`pairs` becomes its
    own config); `markers`: the committed units' markers, whose shard rows and bytes give the sizes."""
    sample_splits = [split for split in splits if split != "pairs"]
    groups = [("default", [(split, split) for split in sample_splits])]
    if "pairs" in splits:  # its own config: the splits of one config must share one schema
        groups.append(("pairs", [("train", "pairs")]))
    configs, infos, total = [], [], 0
    for name, members in groups:
        configs.append({"config_name": name, "data_files": [{"split": split, "path": f"data/{folder}/*.parquet"}
                                                            for split, folder in members]})
        total += sum(_sum(markers, folder, "rows") for _, folder in members)
        infos.append({"config_name": name,
                      "download_size": sum(_sum(markers, folder, "bytes") for _, folder in members)})
    return DatasetCardData(
        pretty_name=title(recipe),
        license=recipe.output.license,
        language=languages or None,
        task_categories=["text-generation"],
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        size_categories=[size_category(total)],
        source_datasets=[recipe.prompts.hub_id] if recipe.prompts.hub_id else None,
        tags=TAGS,
        configs=configs,
        dataset_info=infos,
    )


def _sum(markers: dict[int, dict[str, Any]], split: str, key: str) -> int:
    return sum(int(marker.get("shards", {}).get(split, {}).get(key, 0)) for marker in markers.values())


def title(recipe: Recipe) -> str:
    return f"{recipe.name}: rejection-sampled reasoning traces"


def render_card(recipe: Recipe, run_info: dict[str, Any], splits: list[str], summary: dict[str, Any] | None,
                markers: dict[int, dict[str, Any]], root: Path | None = None) -> str:
    """The card's text for the units committed so far (`markers`). `summary` is given for the final card, which
    also reads the accepted shards under `root` for their languages (see `card_languages`)."""
    data = card_metadata(recipe, splits, markers, card_languages(recipe, root if summary else None))
    sample_splits = [split for split in splits if split != "pairs"]
    model = run_info.get("model", "external")
    sampling = run_info.get("sampling") or {}
    made_by = (f"Traces written by the teacher {_model_link(model)} ({sampling.get('n')} samples per prompt, "
               f"temperature {sampling.get('temperature')}, top_p {sampling.get('top_p')}, max_tokens "
               f"{sampling.get('max_tokens')})" if sampling else
               f"Traces made elsewhere (model: `{model}`), verified here")
    source = recipe.prompts.hub_id
    lines = [
        "---",
        data.to_yaml().rstrip(),
        "---",
        "",
        f"# {title(recipe)}",
        "",
        f"{made_by} and checked by the verifiers "
        f"{', '.join(f'`{v.name}`' for v in recipe.verifiers) or '(none)'}"
        f"{f', then the LLM judge `{recipe.judge.model}`' if recipe.judge.enabled else ''}. "
        f"Made with r1-distill-factory, run fingerprint `{run_info.get('run_fingerprint', '')}`.",
        "",
        *([f"Prompts: [`{source}`](https://huggingface.co/datasets/{source}) (split `{recipe.prompts.split}`)."
           if source else f"Prompts: a local file (`{Path(recipe.prompts.path or '').name}`).", ""]),
        f"License: `{recipe.output.license}` (the recipe's `output.license`). The rows hold the prompts' text and "
        "the teacher's output: their terms apply too.",
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset(\"path/to/this/folder\")  # splits: " + ", ".join(sample_splits),
        *(["pairs = load_dataset(\"path/to/this/folder\", \"pairs\")[\"train\"]  # prompt, chosen, rejected"]
          if "pairs" in splits else []),
        "```",
        "",
        "Rows are in TRL's conversational prompt-completion form: `prompt` is the templated user turn, `completion` "
        "the assistant turn with `<think>…</think>` and the answer; `SFTTrainer` trains on them as is (loss on the "
        "completion). `problem` is the bare problem, `gold` the reference, `verdicts` every verifier's decision.",
        "",
    ]
    if summary:
        funnel = summary["funnel"]
        lines += [
            "## Funnel",
            "",
            f"- prompts: {summary['prompts']} (skipped: {summary['skipped_prompts']})",
            *(f"- dropped before generation, `{reason}`: {count}"
              for reason, count in summary.get("dropped_prompts", {}).items()),
            f"- generated: {funnel['generated']}",
            *(f"- `{reason}`: {count}" for reason, count in funnel["rejected_by_reason"].items()),
            f"- passed (every verifier accepted): {funnel['passed']}",
            f"- accepted (the `accepted` split): {funnel['accepted']}",
            f"- rejected: {funnel['rejected']}",
            *(f"- {name}: {value}" for name, value in summary["estimates"].items()),
            f"- complete: {summary['complete']}",
            "",
        ]
        lines += card_lines(summary, recipe.judge if recipe.judge.mode == "rubric" else None)
    return "\n".join(lines)


def _model_link(model: str) -> str:
    """A Hub model id (`org/name`, not a local path) as a link to its page; anything else as code."""
    local = model.startswith((".", "/", "~")) or Path(model).exists() or model.count("/") != 1
    return f"`{model}`" if local else f"[`{model}`](https://huggingface.co/{model})"
