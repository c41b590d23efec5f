"""Recipe files: where a recipe name or path leads, `extends:` chains deep-merged (the child winning), and
command-line overrides (`--set key.sub=value`, values parsed as YAML). Produces plain data; `factory.recipe` types
and checks it."""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from factory.paths import shipped
from factory.recipe.fields import RecipeError


def recipes_dir() -> Path:
    return shipped("recipes")


def recipe_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A recipe name (`math`) resolves to the shipped recipes/math.yaml; a path (anything ending in .yaml/.yml or
    containing a slash) is used as is, relative paths against `relative_to` (the folder of the recipe that names it
    in `extends:`) or else the working folder."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if relative_to is not None and not candidate.is_absolute():
            candidate = relative_to / candidate
        if candidate.is_dir():
            raise RecipeError(f"recipe {candidate}: is a folder, not a YAML file")
        if not candidate.is_file():
            raise RecipeError(f"recipe file not found: {candidate}")
        return candidate
    path = recipes_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        names = list_recipes()
        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise RecipeError(f"unknown recipe '{name_or_path}'{hint} (available: {', '.join(names)})")
    return path


def list_recipes() -> list[str]:
    """The names of the shipped recipes (inside the installed package, or the checkout's recipes/)."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of keys, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "columns":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def raw_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.resolve() in seen:
        raise RecipeError(f"{path}: 'extends' forms a cycle: {' -> '.join(str(p) for p in seen)}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise RecipeError(f"{path}: key 'extends' must be a recipe name, got {parent!r}")
    try:
        base = raw_recipe(recipe_path(parent, relative_to=path.resolve().parent), seen + (path.resolve(),))
    except RecipeError as exc:
        raise RecipeError(f"{path}: key 'extends': {exc}") from exc
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, data)


def apply_overrides(data: dict[str, Any], overrides: list[str], origin: str) -> dict[str, Any]:
    """Apply `key.sub=value` strings; values are YAML scalars or flow collections (`[a, b]`, `{k: v}`)."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise RecipeError(f"{origin}: override '{item}' must look like key.subkey=value")
        dotted, raw = item.split("=", 1)
        keys = dotted.strip().split(".")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise RecipeError(f"{origin}: override '{dotted}': '{key}' is not a section")
        if not all(keys):
            raise RecipeError(f"{origin}: override '{item}': empty key")
        try:
            node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise RecipeError(f"{origin}: override '{item}': the value is not valid YAML ({problem}); quote "
                              "strings with special characters, e.g. --set 'key=\"a: b\"'") from None
    return data
