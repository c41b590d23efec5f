"""Reading the datasets' own per-problem fields: time and memory limits in their various spellings, LiveCodeBench's
compressed private tests, and whether a statement lets answers be printed in any letter case.

Contracts:
- `seconds(value)`: 2, 2.5, "2", "2 seconds", "1.5 s", "2000 ms", {"seconds": 2, "nanos": 500000000} -> float
  seconds; None for missing or unreadable values (the recipe's default limit applies then).
- `megabytes(value, bytes_value=None)`: 256, "256 megabytes", "256 MB", "1 GB", or a byte count -> int MB; None
  otherwise.
- `decode_lcb_tests(text)`: LiveCodeBench's `private_test_cases` (base64 of zlib of a pickle of a JSON string, or
  plain JSON). The pickle is read by an unpickler that refuses every global, so only plain data (str, bytes,
  numbers, lists, dicts) can come out: a crafted row cannot run code in the verifier.
- `any_case_answers(statement)`: the statement says answers such as YES/NO may be printed in any case, as
  Codeforces' and AtCoder's statements do when their checkers ignore case.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import re
import zlib
from typing import Any

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_TIME_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3,
               "millisecond": 1e-3, "milliseconds": 1e-3}
_MEMORY_UNITS = {"": 1, "m": 1, "mb": 1, "mib": 1, "megabyte": 1, "megabytes": 1, "g": 1024, "gb": 1024,
                 "gib": 1024, "gigabyte": 1024, "gigabytes": 1024, "k": 1 / 1024, "kb": 1 / 1024,
                 "kilobytes": 1 / 1024}


def seconds(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dict):  # CodeContests: {"seconds": 2, "nanos": 0}
        total = (value.get("seconds") or 0) + (value.get("nanos") or 0) / 1e9
        return float(total) if isinstance(total, (int, float)) and total > 0 else None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    if isinstance(value, str):
        match = _NUMBER.match(value)
        if match and match.group(2).lower() in _TIME_UNITS:
            total = float(match.group(1)) * _TIME_UNITS[match.group(2).lower()]
            return total if total > 0 else None
    return None


def megabytes(value: Any, bytes_value: Any = None) -> int | None:
    if isinstance(bytes_value, int) and not isinstance(bytes_value, bool) and bytes_value > 0:
        return max(1, bytes_value >> 20)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if value > 0 else None
    if isinstance(value, str):
        match = _NUMBER.match(value)
        if match and match.group(2).lower() in _MEMORY_UNITS:
            total = float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]
            return int(total) if total >= 1 else None
    return None


class _PlainDataUnpickler(pickle.Unpickler):
    """Refuses every class and function: what loads is made only of pickle's built-in plain types."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        raise pickle.UnpicklingError(f"refused global {module}.{name} in test data")


def decode_lcb_tests(text: Any) -> Any:
    """LiveCodeBench test cases (see the module docstring); raises ValueError if they cannot be read."""
    if isinstance(text, list):
        return text
    if not isinstance(text, str):
        raise ValueError(f"test cases must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        return json.loads(stripped)
    try:
        raw = zlib.decompress(base64.b64decode(stripped, validate=False))
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise ValueError(f"not base64+zlib data: {exc}") from None
    try:
        value = _PlainDataUnpickler(io.BytesIO(raw)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"not a plain-data pickle: {exc}") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return json.loads(value) if isinstance(value, str) else value


_ANY_CASE = re.compile(
    r"(in any (letter )?case|any letter case|case[- ]insensitive|(upper|lower)[- ]?case or (upper|lower)[- ]?case"
    r"|each letter (can|may) be (printed|output)|(in|with) any combination of (upper|lower)"
    r"|(yes|no)[\"'”]?,? and [\"'“]?(yes|no)[\"'”]? (will|would) (all )?be (recognized|accepted)"
    r"|will (all )?be recogni[sz]ed as (a )?positive)", re.IGNORECASE)


def any_case_answers(statement: Any) -> bool:
    return isinstance(statement, str) and bool(_ANY_CASE.search(statement))
