"""The mixture file: which sources make one SFT corpus, how much of each, and the filters over their union.

Declared like a recipe's sections (typed dataclasses, bounds beside each field, one "did you mean"), and loaded by
`load_mixture(path)`; every error names the file and the dotted key. A mixture file:

```yaml
name: r1-sft                      # the output folder's default name: mixes/<name>-<fingerprint>
seed: 0                           # decides which rows a weight or a row count takes, and the shuffle
sources:                          # in order of trust: a prompt met in an earlier source wins the cross-source dedup
  - name: math                    # the provenance name of its rows (unique)
    path: runs/math-1a2b3c4d      # a run folder, a .parquet or .jsonl corpus ...
    split: accepted               # a run folder's split (default accepted); a Hub dataset's split (default train)
    rows: 600000                  # a target row count (fewer when the source has fewer: the card says so) ...
  - name: general
    hub_id: my-org/general-sft    # ... or a Hub dataset (datasets.load_dataset; a local dataset folder works too)
    weight: 0.5                   # ... or the fraction of its rows to take (after dedup); neither: all of them
    columns: {prompt: question, completion: response}   # our field <- the source's column
dedup: {exact: true, near: false, threshold: 0.8}     # factory/prompts/curation, across sources
decontaminate: {against: [HuggingFaceH4/MATH-500], ngram: 8}   # over the union (null: off)
rows_per_shard: 20000
tokenizer: null                   # a tokenizer (local folder or Hub id) to count tokens where a source has none
```
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factory.paths import resolve_data_path
from factory.recipe.fields import GIVEN, RecipeError, bounded, build_section, child, did_you_mean, plain
from factory.recipe.sections import Decontaminate, Dedup

SHAPE_FIELDS = ("id", "prompt", "completion", "messages", "problem", "prompt_tokens", "completion_tokens")


def _exact_dedup() -> Dedup:
    dedup = Dedup(exact=True)
    object.__setattr__(dedup, GIVEN, {"exact": True})
    return dedup


class MixtureError(RecipeError):
    """A mixture file that cannot be used; the message names the file and the key."""


@dataclass
class MixSource:
    name: str = ""
    """The source's name in the provenance column and the card's table (unique within the mixture)."""
    path: str | None = None
    """A run folder (its committed shards of `split`), a .parquet file or a .jsonl file."""
    hub_id: str | None = None
    """A Hugging Face dataset, read with `datasets.load_dataset(hub_id, config, split=split, revision=revision)`."""
    config: str | None = None
    """The Hub dataset's configuration name."""
    split: str | None = None
    """A run folder's split (default `accepted`) or a Hub dataset's (default `train`); not for plain files."""
    revision: str | None = None
    """The Hub dataset's revision; part of the mixture's identity (default: what the Hub serves)."""
    weight: float | None = bounded(None, 0, 1, lo_open=True)
    """The fraction of the source's rows (after dedup and decontamination) to take, seeded; as open-r1's
    `dataset_mixture` weights. Exclusive with `rows`; neither takes every row."""
    rows: int | None = bounded(None, 1, None)
    """A target row count: that many rows drawn (seeded) from the source's rows left after dedup and
    decontamination, or all of them when it has fewer (the card and manifest show the shortfall)."""
    columns: dict[str, str] = field(default_factory=dict)
    """Our field <- the source's column, for sources whose columns have other names: `prompt`, `completion`,
    `messages`, `problem`, `id`, `prompt_tokens`, `completion_tokens`."""

    def kind(self) -> str:
        if self.hub_id:
            return "hub"
        path = resolve_data_path(self.path or "")
        return "run" if path.is_dir() else path.suffix.lstrip(".")


@dataclass
class Mixture:
    name: str = "mix"
    description: str = ""
    seed: int = bounded(0, 0, 2**63 - 1)
    """Seeds the draw of `weight` / `rows` (per source) and the global shuffle."""
    sources: list[MixSource] = field(default_factory=list)
    dedup: Dedup | None = field(default_factory=_exact_dedup)
    """Cross-source prompt dedup, curation's settings (`{exact, near, threshold, num_perm, shingle}`, see
    `factory.recipe.sections.Dedup`); null turns it off. A source's own repeats are kept."""
    decontaminate: Decontaminate | None = None
    """Curation's benchmark decontamination over the union: `{against: [...], ngram: 8}`; null: off."""
    rows_per_shard: int = bounded(20_000, 1, 10_000_000)
    """Rows per output shard: the unit of resume, and what the shard phase holds in memory at once."""
    tokenizer: str | None = None
    """A tokenizer (local folder or Hub id) counting the tokens of rows whose source has no token columns; without
    it such rows count no tokens in the card."""
    source_file: str = ""
    """The YAML file this mixture came from (not part of its identity)."""

    def fingerprinted(self) -> dict[str, Any]:
        """The settings that decide the rows (source paths resolved; `name` and `description` are labels)."""
        data = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["sources"] = [dataclasses.asdict(s) for s in self.sources]
        for source in data["sources"]:
            if source["path"]:
                source["path"] = str(resolve_data_path(source["path"]))
        return {k: data[k] for k in ("seed", "sources", "dedup", "decontaminate", "rows_per_shard", "tokenizer")}

    def to_yaml(self) -> str:
        data = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["sources"] = [dataclasses.asdict(s) for s in self.sources]
        data.pop("source_file")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def mixture_fingerprint(mixture: Mixture, identities: list[dict[str, Any]]) -> str:
    """The mix's identity: its row-deciding settings and every source's identity (run fingerprints, shard and
    file checksums, Hub revisions)."""
    blob = json.dumps({"mixture": mixture.fingerprinted(), "sources": identities}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


_TOP = {f.name for f in dataclasses.fields(Mixture)} - {"source_file"}


def load_mixture(path: str | Path, overrides: list[str] | None = None) -> Mixture:
    """Read, type and check a mixture file (RecipeError naming the file and the key)."""
    from factory.recipe.files import apply_overrides

    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise MixtureError(f"mixture file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MixtureError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MixtureError(f"{path}: a mixture must be a mapping of keys")
    data = apply_overrides(data, overrides or [], origin)
    for key in data:
        if key not in _TOP:
            raise MixtureError(f"{origin}: unknown key '{key}'{did_you_mean(key, _TOP)}")
    raw_sources = data.pop("sources", None)
    mixture = build_section(Mixture, data, f"{origin}: key 'mixture'") if data else Mixture()
    mixture.name = str(data.get("name") or path.stem)
    mixture.source_file = origin
    if not isinstance(raw_sources, list) or not raw_sources:
        raise MixtureError(f"{origin}: key 'sources': a list of at least one source is required")
    mixture.sources = [_source(item, f"{origin}: key 'sources[{i}]'") for i, item in enumerate(raw_sources)]
    _validate(mixture, origin)
    return mixture


def _source(item: Any, where: str) -> MixSource:
    source = build_section(MixSource, item, where)
    checks = [
        (bool(source.name), "name: required (the provenance name of its rows)"),
        (bool(source.path) != bool(source.hub_id), "set exactly one of 'path' and 'hub_id'"),
        (source.weight is None or source.rows is None, "set 'weight' or 'rows', not both"),
        (not set(source.columns) - set(SHAPE_FIELDS),
         f"columns: unknown field(s) {sorted(set(source.columns) - set(SHAPE_FIELDS))} "
         f"(map {', '.join(SHAPE_FIELDS)})"),
    ]
    for ok, message in checks:
        if not ok:
            raise MixtureError(f"{where}: {message}")
    if source.path:
        resolved = resolve_data_path(source.path)
        if not resolved.exists():
            raise MixtureError(f"{child(where, 'path')}: not found: {source.path} (looked at {resolved})")
        kind = source.kind()
        if kind not in ("run", "parquet", "jsonl"):
            raise MixtureError(f"{child(where, 'path')}: {source.path} is not a run folder, a .parquet or a .jsonl file")
        if kind != "run" and source.split is not None:
            raise MixtureError(f"{child(where, 'split')}: a {kind} file has no splits (split is for run folders and Hub "
                               "datasets)")
    return source


def _validate(mixture: Mixture, origin: str) -> None:
    names = [s.name for s in mixture.sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MixtureError(f"{origin}: key 'sources': the name {repeated[0]!r} is used twice")
