"""The mix's dataset card (README.md) and manifest.json: the mixture table, rows and tokens per source.

The card's YAML header declares one config, `default`, with one split, `train` (`data/train/*.parquet`), so
`datasets.load_dataset(folder)["train"]` loads the corpus; its `dataset_info.description` carries the mix's
fingerprint and shards committed, because `datasets` keys its cache of a local folder on the card, not the files.
"""

from __future__ import annotations

from factory.recipe.fields import plain

from typing import Any

import yaml

from factory.mix.settings import Mixture


def source_totals(markers: dict[int, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows, known tokens and rows without token counts per source, summed over the committed shards."""
    totals: dict[str, dict[str, int]] = {}
    for marker in markers.values():
        for name, counts in marker["by_source"].items():
            into = totals.setdefault(name, {"rows": 0, "tokens": 0, "unknown": 0})
            for key in into:
                into[key] += counts[key]
    return totals


def mixture_table(mixture: Mixture, scans: list[dict[str, Any]], fingerprints: list[str],
                  totals: dict[str, dict[str, int]]) -> list[str]:
    """The Markdown table: one line per source, then the total."""
    rows_all = sum(t["rows"] for t in totals.values()) or 1
    tokens_all = sum(t["tokens"] for t in totals.values()) or 1
    lines = ["| source | from | fingerprint | asked | available | rows | rows % | tokens | tokens % | dropped |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for spec, scan, fingerprint in zip(mixture.sources, scans, fingerprints):
        got = totals.get(spec.name, {"rows": 0, "tokens": 0, "unknown": 0})
        asked = (f"{spec.rows:,} rows" if spec.rows is not None else
                 f"weight {spec.weight:g}" if spec.weight is not None else "all")
        where = spec.hub_id or spec.path
        where += f" [{spec.split}]" if spec.split else ""
        tokens = ("not counted" if got["rows"] and got["unknown"] == got["rows"] else
                  f"{got['tokens']:,}" + (f" (+{got['unknown']:,} rows not counted)" if got["unknown"] else ""))
        dropped = ", ".join(f"{reason} {count:,}" for reason, count in {**scan["dropped"], **scan["skipped"]}.items())
        short = f" (short by {scan['short']:,})" if scan["short"] else ""
        lines.append(f"| {spec.name} | `{where}` | `{fingerprint}` | {asked} | {scan['available']:,} | "
                     f"{got['rows']:,}{short} | {100 * got['rows'] / rows_all:.1f} | {tokens} | "
                     f"{100 * got['tokens'] / tokens_all:.1f} | {dropped or '-'} |")
    lines.append(f"| **total** | | | | {sum(s['available'] for s in scans):,} | "
                 f"{sum(t['rows'] for t in totals.values()):,} | 100.0 | "
                 f"{sum(t['tokens'] for t in totals.values()):,} | 100.0 | |")
    return lines


def render_card(mixture: Mixture, fingerprint: str, scans: list[dict[str, Any]], fingerprints: list[str],
                markers: dict[int, dict[str, Any]], shards_total: int) -> str:
    state = f"mix fingerprint {fingerprint}, shards {len(markers)}/{shards_total}"
    header = {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train/*.parquet"}]}],
        "dataset_info": {"description": f"r1-distill-factory mix: {state}"},
        "tags": ["reasoning", "distillation", "sft", "synthetic"],
    }
    dedup = mixture.dedup
    given = (plain(mixture.decontaminate) or {}) if mixture.decontaminate else {}
    against = ", ".join(map(str, given.get("against", [])))
    kinds = [k for k in ("exact", "near") if dedup is not None and getattr(dedup, k)]
    curation = (f"prompt dedup across sources ({', '.join(kinds) or 'off'})"
                f", decontamination {'against ' + against if mixture.decontaminate else 'off'}")
    lines = [
        "---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", "",
        f"# {mixture.name}: an SFT mixture", "",
        (mixture.description + "\n") if mixture.description else "",
        f"Mixed by r1-distill-factory (`factory mix`), fingerprint `{fingerprint}`, seed {mixture.seed}: "
        f"{curation}; rows drawn per source as asked, then shuffled.", "",
        "## Mixture", "",
        *mixture_table(mixture, scans, fingerprints, source_totals(markers)), "",
        "`available`: the source's rows left after skipping unusable rows and dropping duplicates of earlier sources "
        "and contaminated prompts. Tokens are the sources' own counts (prompt + completion), or the mixture "
        "tokenizer's.", "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset(\"path/to/this/folder\")[\"train\"]  # prompt, completion (TRL conversational), provenance",
        "```", "",
    ]
    return "\n".join(lines)
