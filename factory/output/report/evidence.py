"""A verifier's evidence, found again in the trace it judged: what the report highlights and prints beside a sample.

Each verifier keeps its evidence in its verdict's `details` (verifiers/*.py): the language verifier the foreign
sentence and its language (`sentence`, `sentence_language`, whitespace-normalised, cut at 200 characters), the math
verifier the extracted answer (`extracted`) to hold against the row's gold, the code verifier each test's result
(`tests`: index, status, message; the inputs and expected outputs are the row's gold), the repetition verifier the
repeated unit and its count (`unit`, `count`, `kind`), the format verifier `truncated` with the token count (the row's
`finish_reason` is `length`). `evidence(row)` turns them into

- marks: `(start, end, label)` character spans of the completion text (a zero-width span is a point, e.g. where a
  truncated trace stops), and
- notes: one `{verifier, reason, items: [[label, value], ...]}` per rejecting verdict, the facts side by side
  (boxed answer against gold, the failing test's input / expected / what the verifier saw).

`segments(text, marks, limit)` cuts a long trace down to its start, its end and a window around each mark, as
`[text, label or None]` pieces the page renders without parsing anything. Pure functions on plain dicts: no polars.
"""

from __future__ import annotations

import json
import re
from typing import Any

Mark = tuple[int, int, str]
_WINDOW = 600
"""Characters kept either side of a mark when a long trace is cut."""
_MAX_MARKS = 6
"""Occurrences of a repeated unit highlighted (the count says how many there were)."""


def find_flexible(text: str, needle: str, start: int = 0) -> tuple[int, int] | None:
    """The first span of `text` (from `start`) equal to `needle` up to whitespace: verifiers normalise whitespace in
    what they quote (a sentence's line breaks become spaces), so an exact search would miss it."""
    words = needle.split()
    if not words:
        return None
    found = re.compile(r"\s+".join(map(re.escape, words))).search(text, start)
    return found.span() if found else None


def _last_boxed(text: str) -> tuple[int, int] | None:
    """The span of the last `\\boxed{...}` after `</think>` (the one the math verifier grades), braces balanced."""
    begin = max(text.rfind("</think>"), 0)
    found = None
    for match in re.finditer(r"\\boxed\s*\{", text[begin:]):
        depth = 0
        for i in range(begin + match.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                found = (begin + match.start(), i + 1)
                break
    return found


def _gold_tests(gold: str) -> list[dict[str, Any]]:
    try:
        tests = json.loads(gold)
    except (TypeError, ValueError):
        return []
    cases = tests.get("cases") if isinstance(tests, dict) else None
    return cases if isinstance(cases, list) else []


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _verdict_evidence(name: str, reason: str, details: dict[str, Any], text: str, gold: str,
                      finish_reason: str) -> tuple[list[Mark], list[list[str]]]:
    marks: list[Mark] = []
    items: list[list[str]] = []
    if "sentence" in details:  # language: the first foreign sentence and its language
        lang = str(details.get("sentence_language", "?"))
        span = find_flexible(text, str(details["sentence"]))
        if span:
            marks.append((*span, f"{name}: sentence in '{lang}'"))
        items += [["foreign sentence", _short(details["sentence"])], ["its language", lang],
                  ["expected language", str(details.get("expected", "?"))]]
    if reason == "language_mismatch":
        items += [["expected language", str(details.get("expected", "?"))], ["scope", str(details.get("scope", ""))]]
        items += [[k, _short(v)] for k, v in details.items() if k.endswith("share") or k == "shares"]
    if "extracted" in details or name == "math":  # math: the graded answer against the gold
        extracted = str(details.get("extracted", ""))
        span = _last_boxed(text)
        if span:
            marks.append((*span, f"{name}: graded answer"))
        items += [["answer", extracted or "(none found)"], ["gold", _short(gold)]]
        if details.get("method"):
            items.append(["extracted by", str(details["method"])])
    if isinstance(details.get("tests"), list):  # code: the first failing test, its input and expected output
        cases = _gold_tests(gold)
        for test in details["tests"]:
            if test.get("status") in ("passed", "not_run"):
                continue
            index = test.get("test")
            case = cases[index] if isinstance(index, int) and 0 <= index < len(cases) else {}
            items.append(["failing test", f"#{index}: {test.get('status')}"])
            if "input" in case or "args" in case:
                items.append(["input", _short(case.get("input", case.get("args")))])
            if "output" in case or "expected" in case:
                items.append(["expected", _short(case.get("output", case.get("expected")))])
            items.append(["actual (verifier's message)", _short(test.get("message") or "(none recorded)")])
            break
        items.append(["tests passed", f"{details.get('passed', '?')} of {details.get('total', '?')}"])
    if "unit" in details:  # repetition: the repeated span, every occurrence up to a few
        unit = str(details["unit"]).split(" / ")[0]
        position, found = 0, 0
        while found < _MAX_MARKS and (span := find_flexible(text, unit, position)):
            marks.append((*span, f"{name}: repeated ({details.get('kind', '')})"))
            position, found = max(span[1], span[0] + 1), found + 1
        items += [["repeated unit", _short(details["unit"])], ["times", str(details.get("count", "?"))],
                  ["kind", str(details.get("kind", ""))]]
    if reason in ("truncated", "unclosed_think") or (finish_reason == "length" and name == "format"):
        what = "truncated here" if reason == "truncated" else "no </think> before the end"
        marks.append((len(text), len(text), f"{name}: {what}"))
        items.append(["stopped", f"finish_reason {finish_reason or '?'}"
                      + (f", {details['completion_tokens']} tokens" if "completion_tokens" in details else "")])
    if not items and details:  # any other verifier: its details as they are
        items = [[k, _short(v)] for k, v in sorted(details.items())]
    return marks, items


def evidence(row: dict[str, Any]) -> tuple[list[Mark], list[dict[str, Any]]]:
    """Marks in the completion text and notes for one output row (`text`, `gold`, `finish_reason`, `verdicts` with
    `details` as the JSON string the rows store). Only verdicts that rejected (or could not verify) give evidence."""
    text, gold = row.get("text") or "", row.get("gold") or ""
    marks: list[Mark] = []
    notes = []
    for verdict in row.get("verdicts") or []:
        if verdict.get("status") not in ("rejected", "unverifiable"):
            continue
        try:
            details = json.loads(verdict.get("details") or "{}")
        except ValueError:
            details = {"details": verdict.get("details")}
        found, items = _verdict_evidence(verdict["name"], verdict.get("reason") or "", details, text, gold,
                                         row.get("finish_reason") or "")
        marks += found
        notes.append({"verifier": verdict["name"], "reason": verdict.get("reason") or "", "items": items})
    return sorted(set(marks)), notes


def segments(text: str, marks: list[Mark], limit: int = 6000) -> list[list[Any]]:
    """`text` as `[piece, label]` pairs (label None for plain text), marks kept and overlapping ones merged into the
    first; a text longer than `limit` keeps its head, its tail and a window around each mark, with the elided
    lengths said in place (a `[…]` piece labelled "elided")."""
    keep: list[tuple[int, int]] = [(0, limit // 4), (max(0, len(text) - limit // 4), len(text))]
    if len(text) <= limit:
        keep = [(0, len(text))]
    else:
        keep += [(max(0, s - _WINDOW), min(len(text), e + _WINDOW)) for s, e, _ in marks]
    keep.sort()
    merged: list[list[int]] = []
    for s, e in keep:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    clean: list[Mark] = []
    for s, e, label in sorted(marks):
        if clean and s < clean[-1][1]:
            continue  # overlaps the previous mark: the first one shows
        clean.append((s, e, label))
    out: list[list[Any]] = []
    previous_end = 0
    for s, e in merged:
        if s > previous_end:
            out.append([f" […{s - previous_end} characters…] ", "elided"])
        cursor = s
        for ms, me, label in clean:
            if ms < s or ms > e or (ms == e and e != len(text)):
                continue
            me = min(me, e)
            if ms > cursor:
                out.append([text[cursor:ms], None])
            out.append([text[ms:me], label])
            cursor = me
        if e > cursor:
            out.append([text[cursor:e], None])
        previous_end = e
    return out
