"""Recipe files: where a recipe name or path leads, `extends:` chains deep-merged (the child winning), and
command-line overrides (`--set key.sub=value`, values parsed as YAML). Produces plain data; `factory.recipe` types
and checks it.

Reading is bounded, and a file that cannot be a recipe is refused with its name (a `RecipeError`, exit 2): more than
`MAX_RECIPE_BYTES` bytes, not UTF-8, empty (a 0-byte or comment-only file would be a recipe with no verifiers that
accepts everything), nested deeper than the YAML parser can follow, a key given twice in one mapping (named, with
its line: YAML would let the last one win silently), anchors and aliases that expand to more than
`MAX_RECIPE_NODES` values (a few hundred bytes of aliases can stand for gigabytes once fingerprinted or written out),
or an `extends:` chain deeper than `MAX_EXTENDS`. A section set to null (`--set generation=null`, `generation: ~`)
is refused too: it would reset the section to its defaults silently; remove the key to get the defaults.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from factory.paths import shipped
from factory.recipe.fields import RecipeError

MAX_RECIPE_BYTES = 1 << 20
"""A recipe file is settings, not data: 1 MiB is far above any real one."""
MAX_RECIPE_NODES = 100_000
"""Values (mappings, lists, scalars) a recipe may hold once its aliases are expanded."""
MAX_EXTENDS = 32
"""Recipes in one `extends:` chain."""
SECTIONS = ("prompts", "template", "generation", "selection", "output", "resources", "verifiers")


class _ChainTooLong(RecipeError):
    """Raised as is through every level of the chain (its message names the first recipe)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping, naming it and its line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: construct_mapping says so
            if first is not None:
                raise RecipeError(f"key '{key}' is given twice (lines {first} and {line}); YAML would keep the "
                                  "last silently: remove one")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(value: Any, memo: dict[int, int], limit: int) -> int:
    """How many values `value` holds with every alias expanded (shared objects counted each time they are used);
    stops counting past `limit`. Linear in the distinct objects (memoised by identity)."""
    known = memo.get(id(value))
    if known is not None:
        return known
    size = 1
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        children = value
    else:
        children = []
    for child in children:
        size += _expanded_size(child, memo, limit)
        if size > limit:
            break
    memo[id(value)] = size
    return size


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
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise RecipeError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{path}: larger than {MAX_RECIPE_BYTES} bytes: a recipe holds settings, not data")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise RecipeError(f"{path}: nested too deeply to be a recipe") from None
    if data is None:
        raise RecipeError(f"{path}: is empty; a recipe needs at least `extends:` or its own settings")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of keys, got {type(data).__name__}")
    if _expanded_size(data, {}, MAX_RECIPE_NODES) > MAX_RECIPE_NODES:
        raise RecipeError(f"{path}: its anchors and aliases expand to more than {MAX_RECIPE_NODES} values; "
                          "write the settings out")
    _refuse_null_sections(data, str(path))
    return data


def _refuse_null_sections(data: dict[str, Any], origin: str, how: str = "") -> None:
    for key in SECTIONS:
        if key in data and data[key] is None:
            raise RecipeError(f"{origin}: key '{key}'{how} is null: a section cannot be null (it would reset "
                              f"every {key} setting to its default silently); remove the key to use the defaults")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "columns":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def raw_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if len(seen) >= MAX_EXTENDS:
        raise _ChainTooLong(f"{seen[0]}: key 'extends': a chain of more than {MAX_EXTENDS} recipes "
                            f"({seen[0].name} -> ... -> {path.name})")
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
    except _ChainTooLong:
        raise
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
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else None  # noqa: S506 - a SafeLoader subclass
        except (yaml.YAMLError, RecipeError) as exc:
            problem = str(exc).splitlines()[0]
            raise RecipeError(f"{origin}: override '{item}': the value is not valid YAML ({problem}); quote "
                              "strings with special characters, e.g. --set 'key=\"a: b\"'") from None
        except RecursionError:
            raise RecipeError(f"{origin}: override '{dotted}': the value is nested too deeply") from None
        if _expanded_size(value, {}, MAX_RECIPE_NODES) > MAX_RECIPE_NODES:
            raise RecipeError(f"{origin}: override '{dotted}': its aliases expand to more than {MAX_RECIPE_NODES} "
                              "values")
        node[keys[-1]] = value
        if len(keys) == 1:
            _refuse_null_sections(data, origin, f" (--set {item})")
    return data
