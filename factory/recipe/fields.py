"""Typed recipe fields: the error type, numeric bounds declared beside each field, and the checks that build a
recipe section (a dataclass) from YAML, naming the file and the dotted key in every message."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import field
from typing import Any


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


def bounded(default: Any, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Any:
    """A numeric field with its bounds beside it (checked at load time, with the file and key in the message)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open})


def check_type(value: Any, expected: Any, where: str) -> Any:
    """Type check of YAML values against a dataclass field annotation (a string under `from __future__`)."""
    annotation = str(expected).replace(" ", "")
    optional = "None" in annotation
    base = annotation.replace("|None", "")
    if value is None:
        if optional:
            return None
        raise RecipeError(f"{where}: must not be empty")
    if base.startswith("dict"):
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: must be a mapping, got {value!r}")
        if base == "dict[str,str]" and not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise RecipeError(f"{where}: must map names to column names (strings), got {value!r}")
        return value
    if base.startswith("list"):
        if not isinstance(value, list):
            raise RecipeError(f"{where}: must be a list, got {value!r}")
        if base == "list[str]" and not all(isinstance(v, str) for v in value):
            raise RecipeError(f"{where}: must be a list of strings, got {value!r}")
        return value
    if base in ("int", "float") and isinstance(value, bool):
        raise RecipeError(f"{where}: must be a number, got {value!r}")
    if base == "int" and not isinstance(value, int):
        raise RecipeError(f"{where}: must be an integer, got {value!r}")
    if base == "float":
        if not isinstance(value, (int, float)):
            raise RecipeError(f"{where}: must be a number, got {value!r}")
        if not math.isfinite(value):
            raise RecipeError(f"{where}: must be a finite number, got {value!r}")
        value = float(value)
    if base == "bool" and not isinstance(value, bool):
        raise RecipeError(f"{where}: must be true or false, got {value!r}")
    if base == "str" and not isinstance(value, str):
        raise RecipeError(f"{where}: must be a string, got {value!r}")
    return value


def check_bounds(value: Any, meta: Any, where: str) -> None:
    if value is None or not meta or ("lo" not in meta):
        return
    lo, hi, lo_open = meta["lo"], meta["hi"], meta["lo_open"]
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise RecipeError(f"{where}: must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    if hi is not None and value > hi:
        raise RecipeError(f"{where}: must be <= {hi:g}, got {value!r}")


def build_section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: must be a mapping of keys, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise RecipeError(f"{where}: unknown key '{key}'{hint}")
    values = {}
    for key, value in data.items():
        value = check_type(value, fields[key].type, f"{where}.{key}")
        check_bounds(value, fields[key].metadata, f"{where}.{key}")
        values[key] = value
    return cls(**values)


def checked_limit(value: Any, origin: str) -> int | None:
    value = check_type(value, "int | None", f"{origin}: key 'limit'")
    check_bounds(value, {"lo": 1, "hi": None, "lo_open": False}, f"{origin}: key 'limit'")
    return value
