"""Recipes: declarative YAML (recipes/<name>.yaml) loaded into typed, validated settings, plus their fingerprint.

A recipe may `extends:` another by name (a shipped recipe) or by path (relative to the recipe's own folder); keys
are deep-merged, the child winning. Command-line overrides (`--set generation.temperature=0.7`) are applied last,
parsed as YAML. Every value is checked where it is declared: each field's type and bounds sit beside it
(`bounded(...)`), and each verifier's parameters are checked by the verifier's own constructor when the recipe loads.
Every error names the recipe file and the dotted key. The fingerprint hashes exactly the settings that change which
rows a run writes (prompts, template, generation, verifiers, selection, output, limit, and the judge when it is
on), not the resources, so a run can be resumed on more GPUs; a local prompt path enters it resolved, so `a.jsonl`
and `/abs/a.jsonl` are one run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from factory.paths import resolve_data_path
from factory.recipe.fields import RecipeError, bounded, build_section, checked_limit, child, did_you_mean, plain
from factory.recipe.files import apply_overrides, list_recipes, raw_recipe, recipe_path, recipes_dir
from factory.recipe.sections import (HTTP_TRANSPORT_KEYS, JUDGE_TRANSPORT_KEYS, Adaptive, BenchmarkRef, Decontaminate,
                                     Dedup, Generation, HTTPClient, Judge, Output, Pairs, PassRateBand, PromptSource,
                                     Resources, Selection, Template, VerifierSpec)

__all__ = ["Adaptive", "BenchmarkRef", "Decontaminate", "Dedup", "Generation", "HTTPClient", "Judge", "Output", "Pairs",
           "PassRateBand", "PromptSource", "Recipe", "RecipeError", "Resources", "Selection", "Template",
           "VerifierSpec", "apply_overrides", "fingerprint_diff", "list_recipes", "load_recipe", "recipe_path",
           "recipes_dir"]

R1_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

TRANSPORT_KEYS = ("base_url", "api_key_env", "max_concurrency")
"""How a teacher is reached, not what it writes: left out of the run's fingerprint (with HTTP_TRANSPORT_KEYS)."""


@dataclass
class Recipe:
    name: str
    description: str = ""
    prompts: PromptSource = field(default_factory=PromptSource)
    template: Template = field(default_factory=Template)
    generation: Generation = field(default_factory=Generation)
    verifiers: list[VerifierSpec] = field(default_factory=list)
    selection: Selection = field(default_factory=Selection)
    output: Output = field(default_factory=Output)
    resources: Resources = field(default_factory=Resources)
    judge: Judge = field(default_factory=Judge)
    """The LLM judge after the rules (off by default; see `Judge`)."""
    limit: int | None = bounded(None, 1, None)
    """Use only the first `limit` prompts of the source."""
    source_file: str = ""
    """The YAML file this recipe came from (not part of the fingerprint)."""

    def as_data(self) -> dict[str, Any]:
        """The recipe as plain data: every top-level section with all its fields, each nested section (and each
        verifier's params) as the recipe gave it."""
        data = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        for key in ("prompts", "template", "generation", "selection", "output", "resources", "judge"):
            section = getattr(self, key)
            data[key] = {f.name: plain(getattr(section, f.name)) for f in dataclasses.fields(section)}
        data["verifiers"] = [{"name": v.name, "params": v.params} for v in self.verifiers]
        return data

    def fingerprinted(self) -> dict[str, Any]:
        """The settings that decide which rows a run writes, as plain data (a local prompt path resolved). How a
        teacher is reached (its address, key, concurrency, timeouts, retries, prices) is not among them."""
        data = self.as_data()
        if data["prompts"]["path"]:
            data["prompts"]["path"] = str(resolve_data_path(data["prompts"]["path"]))
        for key in TRANSPORT_KEYS:
            data["generation"].pop(key, None)
        data["output"].pop("license")  # the card's metadata, not the rows
        for key in ("prompts", "selection", "output"):
            section = getattr(self, key)
            for f in dataclasses.fields(section):  # added after run folders existed: only when set, so they resume
                if f.metadata.get("added_later") and data[key].get(f.name) == f.default:
                    del data[key][f.name]
        data["generation"]["http"] = {k: v for k, v in data["generation"]["http"].items()
                                      if k not in HTTP_TRANSPORT_KEYS}
        data["selection"].pop("suspect_gold_share")  # lists prompts, decides no row
        out = {k: data[k] for k in ("prompts", "template", "generation", "verifiers", "selection", "output", "limit")}
        if self.judge.enabled:  # a recipe without a judge keeps the fingerprint it always had
            judge = {k: v for k, v in data["judge"].items() if k not in JUDGE_TRANSPORT_KEYS}
            judge["http"] = {k: v for k, v in judge["http"].items() if k not in HTTP_TRANSPORT_KEYS}
            judge["template"] = hashlib.sha256(self.judge.template_text().encode()).hexdigest()[:16]
            out["judge"] = judge
        return out

    def fingerprint(self) -> str:
        """A hash of the recipe's row-deciding settings alone (a run's fingerprint also covers its input)."""
        blob = json.dumps(self.fingerprinted(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        data = self.as_data()
        data.pop("source_file")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_SECTIONS = {"prompts": PromptSource, "template": Template, "generation": Generation, "selection": Selection,
             "output": Output, "resources": Resources, "judge": Judge}
_TOP_KEYS = {"name", "description", "extends", "verifiers", "limit", *_SECTIONS}


def _build_verifiers(data: Any, origin: str) -> list[VerifierSpec]:
    """The verifier list; each verifier's params are checked by its family (`check_params`) at load time."""
    from verifiers.registry import UnknownVerifierError, verifier_class

    if not isinstance(data, list):
        raise RecipeError(f"{origin}: key 'verifiers' must be a list of {{name, params}}")
    specs = []
    for i, item in enumerate(data):
        where = f"{origin}: key 'verifiers[{i}]'"
        spec = build_section(VerifierSpec, item, where)
        try:
            cls = verifier_class(spec.name)
        except UnknownVerifierError as exc:
            raise RecipeError(f"{child(where, 'name')}: {exc}") from exc
        try:
            cls.check_params(**spec.params)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{child(where, 'params')}: {exc} (see `{cls.__module__}.{cls.__name__}`)") from exc
        specs.append(spec)
    if len({v.name for v in specs}) != len(specs):
        raise RecipeError(f"{origin}: verifiers: a verifier is listed twice")
    return specs


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Load, merge `extends`, apply overrides, and validate a recipe. Raises RecipeError naming file and key."""
    path = recipe_path(name_or_path)
    origin = str(path)
    data = apply_overrides(raw_recipe(path), overrides or [], origin)
    for key in data:
        if key not in _TOP_KEYS:
            raise RecipeError(f"{origin}: unknown key '{key}'{did_you_mean(key, _TOP_KEYS)}")
    sections = {k: build_section(cls, data.get(k, {}) or {}, f"{origin}: key '{k}'") for k, cls in _SECTIONS.items()}
    return Recipe(
        name=str(data.get("name") or path.stem),
        description=str(data.get("description") or ""),
        verifiers=_build_verifiers(data.get("verifiers", []), origin),
        limit=checked_limit(data.get("limit"), origin),
        source_file=origin,
        **sections,
    )


def fingerprint_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two `Recipe.fingerprinted()` dicts ("generation.n: 4 -> 8")."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            lines += fingerprint_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix}{key}: {json.dumps(a, default=str)} (in the folder) -> {json.dumps(b, default=str)} (now)")
    return lines
