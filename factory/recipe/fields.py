"""The one way a setting is declared and checked: typed dataclass fields with their bounds beside them, built from
YAML by one validator that names the file and the dotted key in every message, with one "did you mean".

- `bounded(default, lo, hi)`: a number and its bounds; `choice(default, options)`: one of a few strings.
- A field whose type is another dataclass (or `list[...]` / `... | None` of one) is a nested section, built the
  same way. A section class may define `coerce(data, where)` (a shorthand form of the YAML: `pairs: true`,
  `against: MATH-500`) and `check(where)` (rules across fields: "exactly one of path and hub_id").
- Every nested section keeps the mapping it was built from (`given`): the recipe's fingerprint and its YAML are
  made from what the user wrote, so adding a field with a default changes no existing run's identity.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import field
from typing import Any, Iterable

GIVEN = "_given"
REQUIRED = object()
"""`bounded(REQUIRED, ...)`: a field the recipe must give (no default)."""


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


def did_you_mean(name: Any, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest known name, or ""."""
    close = difflib.get_close_matches(str(name), sorted(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def bounded(default: Any, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
            added_later: bool = False) -> Any:
    """A numeric field with its bounds beside it (checked at load time, with the file and key in the message).
    `added_later`: a field added after run folders existed; it enters a run's fingerprint only when set to another
    value than its default, so those folders still resume."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "added_later": added_later}
    return field(metadata=meta) if default is REQUIRED else field(default=default, metadata=meta)


def choice(default: str, options: tuple[str, ...]) -> Any:
    """A string field that must be one of `options`."""
    return field(default=default, metadata={"options": options})


def given(section: Any) -> Any:
    """The mapping a nested section was built from (what the recipe wrote), for fingerprints and YAML."""
    return getattr(section, GIVEN, None)


def plain(value: Any) -> Any:
    """Recipe settings as plain data: a nested section as the mapping it was given, everything else as is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raw = given(value)
        if raw is not None:
            return raw
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def check_type(value: Any, expected: Any, where: str) -> Any:
    """Type check of a YAML value against a field annotation (a string under `from __future__`)."""
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
    if value is None or not meta:
        return
    options = meta.get("options")
    if options is not None and value not in options:
        raise RecipeError(f"{where}: must be one of {', '.join(options)}, got {value!r}{did_you_mean(value, options)}")
    if "lo" not in meta:
        return
    lo, hi, lo_open = meta["lo"], meta["hi"], meta["lo_open"]
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise RecipeError(f"{where}: must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    if hi is not None and value > hi:
        raise RecipeError(f"{where}: must be <= {hi:g}, got {value!r}")


def child(where: str, key: str) -> str:
    """The location of `key` inside `where`: "r.yaml: key 'generation'" -> "r.yaml: key 'generation.n'"."""
    return f"{where[:-1]}.{key}'" if where.endswith("'") else f"{where}.{key}"


def _nested(hint: Any) -> tuple[type | None, bool]:
    """(the section class a field holds, whether it is a list of them), or (None, False) for a plain field."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list and args and dataclasses.is_dataclass(args[0]):
        return args[0], True
    if dataclasses.is_dataclass(hint):
        return hint, False
    if len(args) == 1 and dataclasses.is_dataclass(args[0]):  # `Section | None`
        return args[0], False
    return None, False


def build_section(cls: type, data: Any, where: str) -> Any:
    """An instance of the section dataclass `cls` from its YAML mapping, every value checked against its field."""
    coerce = getattr(cls, "coerce", None)
    if coerce is not None:
        data = coerce(data, where)
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: must be a mapping of keys, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise RecipeError(f"{where}: unknown key '{key}'{did_you_mean(key, fields)} "
                              f"(known: {', '.join(fields)})")
    values = {}
    for key, value in data.items():
        at = child(where, key)
        section, many = _nested(hints[key])
        if section is not None and value is not None:
            if many:
                value = check_type(value, "list", at)
                value = [build_section(section, item, child(at, f"{i}").replace(f".{i}'", f"[{i}]'"))
                         for i, item in enumerate(value)]
            else:
                value = build_section(section, value, at)
        else:
            value = check_type(value, fields[key].type, at)
            check_bounds(value, fields[key].metadata, at)
        values[key] = value
    missing = [name for name, f in fields.items() if name not in values and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RecipeError(f"{where}: missing key(s) {', '.join(repr(m) for m in missing)}")
    instance = cls(**values)
    object.__setattr__(instance, GIVEN, data)
    check = getattr(instance, "check", None)
    if check is not None:
        check(where)
    return instance


def validate_section(instance: Any, where: str) -> Any:
    """Check a section made in code (not from YAML) exactly as a recipe's would be; returns it unchanged."""
    build_section(type(instance), {f.name: plain(getattr(instance, f.name)) for f in dataclasses.fields(instance)},
                  where)
    return instance


def checked_limit(value: Any, origin: str) -> int | None:
    value = check_type(value, "int | None", f"{origin}: key 'limit'")
    check_bounds(value, {"lo": 1, "hi": None, "lo_open": False}, f"{origin}: key 'limit'")
    return value
