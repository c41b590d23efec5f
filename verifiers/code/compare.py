"""Compare what a program produced with what was expected; runs in the verifier, never in a sandbox.

stdout: whole outputs, line by line. Trailing whitespace on each line and trailing empty lines are ignored; the
number of lines must match (the expected lines plus extra ones, or only the first of them, fail). A line whose
expected form is all numbers is compared token by token: integers exactly, decimals with a tolerance.

Return values: plain data as decoded from the sandbox (exact builtin types only). Tuples compare equal to lists
(JSON has no tuples), floats with a tolerance, booleans only with booleans.
"""

from __future__ import annotations

import math
import re
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-6
_INT = re.compile(r"[+-]?\d+")


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _number(token: str) -> float | int | None:
    if len(token) > 400:  # beyond int-parsing limits; such lines are compared as text
        return None
    if _INT.fullmatch(token):
        return int(token)
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numbers_match(got: str, expected: str) -> bool:
    want, have = expected.split(), got.split()
    if len(want) != len(have) or not want:
        return False
    for w, h in zip(want, have):
        expected_number, got_number = _number(w), _number(h)
        if expected_number is None or got_number is None:
            return False
        if isinstance(expected_number, int) and isinstance(got_number, int):
            if expected_number != got_number:
                return False
        elif not math.isclose(float(got_number), float(expected_number), rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return False
    return True


def _is_numeric_line(line: str) -> bool:
    tokens = line.split()
    return bool(tokens) and all(_number(t) is not None for t in tokens)


def stdout_matches(got: str, expected: str) -> tuple[bool, str]:
    """(match, why not) for a program's whole stdout against the expected output."""
    got_lines, want_lines = _lines(got), _lines(expected)
    if len(got_lines) != len(want_lines):
        return False, f"{len(got_lines)} output lines, expected {len(want_lines)}"
    for number, (have, want) in enumerate(zip(got_lines, want_lines), start=1):
        if have == want:
            continue
        if _is_numeric_line(want) and _numbers_match(have, want):
            continue
        return False, f"line {number} differs"
    return True, ""


def values_match(got: Any, expected: Any) -> bool:
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
        return math.isclose(g, e, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(expected) and all(values_match(g, e) for g, e in zip(got, expected))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(values_match(got[k], expected[k]) for k in expected)
    if type(got) is not type(expected):
        return False
    return got == expected
