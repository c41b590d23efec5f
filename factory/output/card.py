"""The run folder's dataset card (README.md): a YAML header that declares the splits, then a short description.

`datasets.load_dataset(run_dir)` reads the header's `configs` and loads `accepted` (and `rejected`, when kept) with
no arguments; the globs match only committed shards, never files being written under `.factory/`.
"""

from __future__ import annotations

from typing import Any

import yaml

from factory.recipe import Recipe


def render_card(recipe: Recipe, run_info: dict[str, Any], splits: list[str], summary: dict[str, Any] | None,
                state: str) -> str:
    """The card's text. `state` (fingerprint, units and rows committed) goes into `dataset_info.description`:
    `datasets` keys its cache of a local folder on the card's metadata and the folder's name, not on the files,
    so without it two run folders of the same name, or one folder before and after a resume, would load stale rows.
    """
    sample_splits = [split for split in splits if split != "pairs"]
    configs = [{"config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}/*.parquet"} for split in sample_splits]}]
    if "pairs" in splits:  # its own config: the splits of one config must share one schema
        configs.append({"config_name": "pairs", "data_files": [{"split": "train", "path": "data/pairs/*.parquet"}]})
    header = {
        "configs": configs,
        "dataset_info": {"description": f"r1-distill-factory run: {state}"},
        "tags": ["reasoning", "distillation", "rejection-sampling", "synthetic"],
    }
    sampling = run_info.get("sampling") or {}
    made_by = (f"Traces written by `{run_info.get('model', '')}` ({sampling.get('n')} samples per prompt, "
               f"temperature {sampling.get('temperature')}, top_p {sampling.get('top_p')}, max_tokens "
               f"{sampling.get('max_tokens')})" if sampling else
               f"Traces made elsewhere (model: `{run_info.get('model', 'external')}`), verified here")
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {recipe.name}: rejection-sampled reasoning traces",
        "",
        f"{made_by} and checked by the verifiers "
        f"{', '.join(f'`{v.name}`' for v in recipe.verifiers) or '(none)'}. "
        f"Made with r1-distill-factory, run fingerprint `{run_info.get('run_fingerprint', '')}`.",
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
    return "\n".join(lines)
