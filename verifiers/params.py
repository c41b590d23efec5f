"""The one parameter checker of every verifier family: typed parameters with bounds, and one "did you mean".

A verifier declares its recipe parameters as `PARAMS = {"name": integer(1, 1000), ...}` beside its constructor;
`Verifier.check_params` (called when a recipe loads, so a bad value stops the run before anything starts, with the
recipe file and key named) checks the names against the declaration (or, for a verifier that declares none, against
its constructor's signature) and the values against their types and bounds. Errors: `TypeError` for an unknown
name, `ValueError` for a bad value, each saying what is allowed.

Types are those YAML gives: booleans are never numbers, an integer is accepted where a number is, numbers must be
finite. Standard library only.
"""

from __future__ import annotations

import difflib
import inspect
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Param:
    """One parameter: its kind ("int", "number", "bool", "str", "str_list"), bounds, allowed values, and whether
    None is allowed."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False

    def describe(self) -> str:
        what = {"int": "an integer", "number": "a number", "bool": "true or false", "str": "a string",
                "str_list": "a list of strings"}[self.kind]
        if self.lo is not None or self.hi is not None:
            low = "(" if self.lo_open else "["
            what += f" in {low}{_fmt(self.lo, '-inf')}, {_fmt(self.hi, 'inf')}]"
        if self.choices:
            what += f" from {list(self.choices)}"
        return what + (" or null" if self.optional else "")


def integer(lo: float | None = None, hi: float | None = None, optional: bool = False) -> Param:
    return Param("int", lo, hi, optional=optional)


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False, optional: bool = False) -> Param:
    return Param("number", lo, hi, lo_open, optional=optional)


def flag() -> Param:
    return Param("bool")


def text(choices: Iterable[str] = (), optional: bool = False) -> Param:
    return Param("str", choices=tuple(choices), optional=optional)


def texts(choices: Iterable[str] = ()) -> Param:
    return Param("str_list", choices=tuple(choices))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the closest of `choices`, or ""."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def signature_names(cls: type) -> list[str] | None:
    """The keyword parameters of `cls`'s constructor; None when it takes **kwargs (any name may be right)."""
    parameters = inspect.signature(cls).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check_names(owner: str, params: Mapping[str, Any], known: Iterable[str] | None) -> None:
    """TypeError naming the first unknown parameter of verifier `owner`, with a did-you-mean."""
    if known is None:
        return
    known = list(known)
    for name in params:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise TypeError(f"{owner}: unknown parameter '{name}'{did_you_mean(str(name), known)} "
                            f"(it takes: {listed})")


def check_params(owner: str, params: Mapping[str, Any], declared: Mapping[str, Param]) -> None:
    """Check `params` of verifier `owner` against `declared`: names, then each value's type and bounds."""
    check_names(owner, params, declared)
    for name, value in params.items():
        param = declared[name]
        if not _fits(value, param):
            raise ValueError(f"{owner}: parameter '{name}' must be {param.describe()}, got {value!r}")


def _fits(value: Any, param: Param) -> bool:
    if value is None:
        return param.optional
    if param.kind == "bool":
        return isinstance(value, bool)
    if param.kind == "str":
        return isinstance(value, str) and (not param.choices or value in param.choices)
    if param.kind == "str_list":
        return isinstance(value, (list, tuple)) and all(
            isinstance(v, str) and (not param.choices or v in param.choices) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if param.kind == "int" and not isinstance(value, int):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if param.lo is not None and (value <= param.lo if param.lo_open else value < param.lo):
        return False
    return param.hi is None or value <= param.hi


def _fmt(bound: float | None, default: str) -> str:
    return default if bound is None else f"{bound:g}"
