"""Compare what a program produced with what was expected, the way judges do; runs in the verifier, never in a sandbox.

stdout (`Comparison`, per problem):
- `mode="tokens"` (default, as Codeforces' and testlib's default checkers, CodeContests and most judges): both
  outputs are split on any whitespace and compared token by token, so line breaks, blank lines and spacing do not
  matter; the number of tokens must match.
- `mode="lines"`: the same, line by line (trailing whitespace and trailing empty lines ignored; the number of
  non-trailing lines must match). For problems whose layout is part of the answer.
- Each token: an expected integer token (`-?\\d+`) matches only an integer token of the same value (`3e+17` never
  equals 300000000000000003, `5.0` never equals `5`); an expected decimal token (`1.5`, `2e-3`) matches any number
  within `float_tol`, absolute or relative (|got - want| <= tol * max(1, |want|)); any other token matches the same
  text, ignoring letter case only when `case_insensitive` (set from the problem's data: "print YES or NO in any
  case").

Return values: plain data as decoded from the sandbox (exact builtin types only). Tuples compare equal to lists
(JSON has no tuples), floats with a tolerance, booleans only with booleans.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-6
_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_MAX_NUMBER_CHARS = 400  # beyond int-parsing limits; such tokens are compared as text


@dataclass(frozen=True)
class Comparison:
    """How one problem's stdout is judged (see the module docstring)."""

    mode: str = "tokens"  # "tokens" | "lines"
    float_tol: float | None = None  # None: the recipe's default (CodeVerifier's float_tol, 1e-6)
    case_insensitive: bool = False


DEFAULT = Comparison()


def _token_matches(got: str, want: str, cmp: Comparison) -> bool:
    if got == want:
        return True
    if len(want) <= _MAX_NUMBER_CHARS and len(got) <= _MAX_NUMBER_CHARS:
        if _INT.fullmatch(want):
            return bool(_INT.fullmatch(got)) and int(got) == int(want)
        if _DECIMAL.fullmatch(want):
            if not _DECIMAL.fullmatch(got):
                return False
            try:
                g, w = float(got), float(want)
            except (ValueError, OverflowError):
                return False
            if not (math.isfinite(g) and math.isfinite(w)):
                return False
            tol = ABS_TOL if cmp.float_tol is None else cmp.float_tol
            return abs(g - w) <= tol * max(1.0, abs(w)) + 1e-15
    return cmp.case_insensitive and got.casefold() == want.casefold()


def _tokens_match(got: list[str], want: list[str], cmp: Comparison, where: str) -> tuple[bool, str]:
    if len(got) != len(want):
        return False, f"{len(got)} tokens{where}, expected {len(want)}"
    for number, (have, expect) in enumerate(zip(got, want), start=1):
        if not _token_matches(have, expect, cmp):
            return False, f"token {number}{where}: got {have[:40]!r}, expected {expect[:40]!r}"
    return True, ""


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def stdout_matches(got: str, expected: str, cmp: Comparison = DEFAULT) -> tuple[bool, str]:
    """(match, why not) for a program's whole stdout against the expected output."""
    if cmp.mode == "lines":
        got_lines, want_lines = _lines(got), _lines(expected)
        if len(got_lines) != len(want_lines):
            return False, f"{len(got_lines)} output lines, expected {len(want_lines)}"
        for number, (have, want) in enumerate(zip(got_lines, want_lines), start=1):
            ok, why = _tokens_match(have.split(), want.split(), cmp, f" of line {number}")
            if not ok:
                return False, why
        return True, ""
    return _tokens_match(got.split(), expected.split(), cmp, "")


def values_match(got: Any, expected: Any, float_tol: float = REL_TOL) -> bool:
    """Plain-data equality with tuples as lists and a float tolerance (no user-defined __eq__ ever runs)."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(got) is bool and type(expected) is bool and got == expected
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        if isinstance(expected, int) and isinstance(got, int):
            return got == expected
        try:
            g, e = float(got), float(expected)
        except OverflowError:
            return False
        if math.isnan(g) or math.isnan(e):
            return math.isnan(g) and math.isnan(e)
        return math.isclose(g, e, rel_tol=float_tol, abs_tol=float_tol)
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(expected) and all(values_match(g, e, float_tol) for g, e in zip(got, expected))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(values_match(got[k], expected[k], float_tol) for k in expected)
    if type(got) is not type(expected):
        return False
    return got == expected


def apps_values_match(got: Any, expected: Any, float_tol: float = REL_TOL) -> bool:
    """The APPS/TACO call-based rule: the expected outputs are often wrapped in a one-element list (`[[1, 2]]` for a
    function returning `[1, 2]`), so the value matches the expected value itself or its only element."""
    if values_match(got, expected, float_tol):
        return True
    return isinstance(expected, list) and len(expected) == 1 and values_match(got, expected[0], float_tol)
