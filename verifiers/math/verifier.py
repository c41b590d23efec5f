"""MathVerifier: is the final answer of a completion the gold answer?

Flow for one prompt (`verify_batch`): the gold is read once (fast number, choice letter, or parsed in the
child; a worked solution without a box is reduced to its "final answer is ..." sentence when that fallback is
on; a reference written as a phrase, "12 apples", to its value); each completion's answer part (after `</think>`)
goes through `extract.extract_answer` (and, for a lettered gold with nothing found, `extract.extract_choice`,
unless the recipe is boxed-only): in this process when it is at most `max_inline_chars` long, else in the bounded
child, so a hostile completion (thousands of boxes, unclosed delimiters) meets the same wall-clock bound as
sympy does. A box holding a short phrase around one value ("the number is 10", "Answer: 10", "25 €") is read as
that value (`phrase.phrase_values`); a phrase with two different values is two candidates, and one whose words
qualify the value ("not 10", "at least 10") is `unparseable_answer` (cause `ambiguous_phrase`). Only words
around the whole value go: a word touching an operator is `word_in_expression`, and a name applied to an argument
(`total(18)`, `\\operatorname{foo}(3)`) that is not a known function (`phrase.FUNCTION_NAMES`, evaluated by
`calculator`) is `unknown_function`; both are `unparseable_answer`, never another value. Values joined by "or" /
"and" are first compared as one answer (a solution set: "x=2 or x=-2" for `x^2=4`), then one by one (a hedge is
`multiple_answers`). The gold is read the same way; a gold that cannot be read is `unverifiable_gold`. Identical
extractions within the batch are judged once. A candidate is judged by the sympy-free fast path when both sides
are plain numbers, else by `worker.compare` in a `BoundedRunner` child (hard wall-clock bound, memory cap,
killed and replaced on timeout). This process never imports sympy.

Verdicts: accepted, or rejected with `no_answer`, `multiple_answers` (distinct boxes or an "or" that are not all
correct), `unparseable_answer` (also: over the length/nesting caps), `wrong_answer`, `timeout` (the bound or the
memory cap was hit; `details.limit` says which), or unverifiable with `unverifiable_gold`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from verifiers.types import Completion, Prompt, Verdict, split_think
from verifiers.base import Verifier
from verifiers.bounded import BoundedRunner
from verifiers.math.extract import (FALLBACKS, Extraction, boxed_contents, extract_answer, extract_choice,
                                    final_phrase_value, hashes_value, split_top_level, OR)
from verifiers.math.normalize import (FastNumber, check_size, choice_letter, clean, decimal_comma_twin, fast_equal,
                                      fast_number, fast_surd)
from verifiers.math.phrase import phrase_values

_WORKER = "verifiers.math.worker"
_MAX_CANDIDATES = 8
_DETAIL_CHARS = 200


@dataclass(frozen=True)
class _Gold:
    status: str  # "ok" | "unverifiable_gold"
    text: str = ""
    fast: FastNumber | None = None
    choice: str | None = None
    choice_text: str = ""  # "(C) 12": the value after the letter, which an answer may give instead
    items: int = 1
    cause: str = ""


class MathVerifier(Verifier):
    """Rule-based grader for final answers of math problems.

    timeout_s: wall-clock bound of one sympy comparison (child start-up not counted).
    memory_mb: address-space cap of the child process.
    fallbacks: where to look when the answer part has no `\\boxed{}`, tried in order: "answer_tag",
        "final_answer_phrase", "last_math". Default: all three; () accepts boxed answers only.
    rel_tol: relative tolerance for a decimal against a value it can only approximate (1/3 vs 0.333333).
    ordered_lists: compare bare lists ("1, 2, 3") in order; by default they are compared as sets of solutions
        (tuples in parentheses are always ordered).
    max_answer_chars / max_nesting: caps checked before anything is parsed.
    max_inline_chars: an answer part (the text after `</think>`) longer than this is searched for its answer in
        the bounded child, under `timeout_s`, instead of in this process (0: always in the child).
    fast_path: judge plain numbers without sympy (turn off only to test the sympy path).
    """

    name = "math"
    # 2: public-grader agreement fixes (extraction order, choice letters, ratios, solution lists)
    # 3: relative tolerance at every magnitude, exact rationals; phrases, units and currency in boxes; escaped
    #    closing brace; extraction of long answer parts in the bounded child
    # 4: no word deleted from inside an expression (unknown functions unparseable), calculator notation, equations
    #    as equations and as solution sets, joined values as one set, GSM8K "####", golds read like answers
    version = "4"

    def __init__(
        self,
        timeout_s: float = 5.0,
        memory_mb: int = 1024,
        fallbacks: Sequence[str] = FALLBACKS,
        rel_tol: float = 1e-6,
        ordered_lists: bool = False,
        max_answer_chars: int = 1000,
        max_nesting: int = 30,
        fast_path: bool = True,
        max_inline_chars: int = 4000,
    ) -> None:
        unknown = [f for f in fallbacks if f not in FALLBACKS]
        if unknown:
            raise ValueError(f"unknown fallbacks {unknown}; choose from {list(FALLBACKS)}")
        _check_range("timeout_s", timeout_s, 0.01, 3600)
        _check_range("memory_mb", memory_mb, 64, 1 << 20)
        _check_range("rel_tol", rel_tol, 0, 0.1)
        _check_range("max_answer_chars", max_answer_chars, 1, 1_000_000)
        _check_range("max_nesting", max_nesting, 1, 1000)
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.fallbacks = tuple(fallbacks)
        self.rel_tol = float(rel_tol)
        self.ordered_lists = bool(ordered_lists)
        self.max_answer_chars = int(max_answer_chars)
        self.max_nesting = int(max_nesting)
        self.fast_path = bool(fast_path)
        if isinstance(max_inline_chars, bool) or not isinstance(max_inline_chars, int):
            raise TypeError(f"max_inline_chars must be an integer, got {max_inline_chars!r}")
        if not 0 <= max_inline_chars <= 100_000:
            raise ValueError(f"max_inline_chars must be between 0 and 100000, got {max_inline_chars}")
        self.max_inline_chars = max_inline_chars
        self._runner: BoundedRunner | None = None
        self._golds: dict[str, _Gold] = {}
        self._raw_golds: dict[str, _Gold] = {}
        self._verdicts: dict[tuple, Verdict] = {}

    # -- Verifier interface ---------------------------------------------------------------------------------

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        gold = self._gold(prompt.gold)
        if gold.status != "ok":
            return [Verdict.unverifiable(self.name, "unverifiable_gold", cause=gold.cause) for _ in completions]
        judged: dict[tuple[str, ...], Verdict] = {}
        verdicts = []
        for completion in completions:
            answer_text = split_think(completion.text).answer
            extraction = self._extract(answer_text, bool(gold.choice))
            if isinstance(extraction, Verdict):
                verdicts.append(extraction)
                continue
            key = extraction.candidates
            if key not in judged:
                judged[key] = self._judged(gold, extraction)
            verdicts.append(judged[key])
        return verdicts

    def _judged(self, gold: _Gold, extraction: Extraction) -> Verdict:
        """`_judge`, remembered across calls: a reward function grades one completion per call, and the samples
        of one prompt repeat the same answers. A timeout is not remembered (the next try may finish)."""
        key = (gold.text, gold.choice, extraction.method, extraction.candidates)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._judge(gold, extraction)
            if verdict.reason != "timeout":
                if len(self._verdicts) >= 4096:
                    self._verdicts.pop(next(iter(self._verdicts)))
                self._verdicts[key] = verdict
        return Verdict(verdict.name, verdict.status, verdict.reason, dict(verdict.details))

    def _extract(self, answer_text: str, choice: bool) -> Extraction | Verdict:
        """The answer's extraction: here for a short answer part (linear, and cheap at this size), in the bounded
        child for a longer one, so that no completion can hold this process past `timeout_s`."""
        if len(answer_text) <= self.max_inline_chars:
            extraction = extract_answer(answer_text, self.fallbacks)
            if choice and not extraction.candidates and self.fallbacks:
                extraction = extract_choice(answer_text)  # "The answer: D, since ..." for a lettered gold
            return extraction
        result = self._run("extract", answer_text, self.fallbacks, choice, _MAX_CANDIDATES + 1,
                           4 * self.max_answer_chars + 1)
        if result.status in ("timeout", "memory", "crashed"):
            return Verdict.reject(self.name, "timeout", limit=result.status, stage="extraction", extracted="", method="")
        if not result.ok:  # an error escaping extraction: the answer cannot be read
            return Verdict.reject(self.name, "unparseable_answer", cause="extraction_error", extracted="", method="")
        method, candidates, joined = result.value
        return Extraction(method, tuple(candidates), joined)

    def check_gold(self, prompt: Prompt) -> str | None:
        return None if self._gold(prompt.gold).status == "ok" else "unverifiable_gold"

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers: the child process stays behind
        state = dict(self.__dict__)
        state["_runner"] = None
        return state

    # -- gold -----------------------------------------------------------------------------------------------

    def _gold(self, raw: Any) -> _Gold:
        if isinstance(raw, str) and raw in self._raw_golds:  # the same reference again: skip its clean-up too
            return self._raw_golds[raw]
        text = _gold_text(raw, self.fallbacks)
        if text is None:
            return _Gold("unverifiable_gold", cause="gold is not a string or number")
        if text not in self._golds:
            if len(self._golds) > 4096:
                self._golds.clear()
                self._raw_golds.clear()
            self._golds[text] = self._read_gold(text)
        if isinstance(raw, str) and len(raw) <= 10_000:
            self._raw_golds[raw] = self._golds[text]
        return self._golds[text]

    def _read_gold(self, text: str) -> _Gold:
        if not text:
            return _Gold("unverifiable_gold", cause="empty")
        too_big = check_size(text, self.max_answer_chars, self.max_nesting)
        if too_big:
            return _Gold("unverifiable_gold", cause=too_big)
        choice = choice_letter(text, gold=True)
        parts = [p.strip() for p in split_top_level(text, OR)]
        readings = [phrase_values(p) for p in parts if p] if not choice else [([text], "")]
        cause = next((c for _, c in readings if c), "")
        if cause:  # read like an answer: a gold with an unknown function or a qualified value has no value
            return _Gold("unverifiable_gold", cause=cause)
        values = readings[0][0] if len(readings) == 1 else [text]  # "x<-3 or 1<x": the parser reads the "or"
        if len(values) == 1 and values[0] != text:
            text = clean(values[0])  # a reference written "12 apples" or "\text{Answer: } 12"
        fast = fast_number(text) if self.fast_path else None
        if choice or fast:
            rest = re.sub(r"^\(?[A-J][.)]?\s*", "", text) if choice and len(text) > 3 else ""
            return _Gold("ok", text, fast, choice, choice_text=rest)
        result = self._run("gold_info", text)
        if not result.ok:
            return _Gold("unverifiable_gold", cause=result.status)
        status, items = result.value
        return _Gold(status, text, items=items, cause="" if status == "ok" else "does not parse")

    # -- answers --------------------------------------------------------------------------------------------

    def _judge(self, gold: _Gold, ext: Extraction) -> Verdict:
        details = {"extracted": ext.text[:_DETAIL_CHARS], "method": ext.method}
        if not ext.candidates:
            return Verdict.reject(self.name, "no_answer", **details)
        if any(len(c) > 4 * self.max_answer_chars for c in ext.candidates):  # before any regex touches it
            return Verdict.reject(self.name, "unparseable_answer", cause="too_long", **details)
        candidates: list[str] = []
        for c in ext.candidates[:_MAX_CANDIDATES]:
            values, cause = phrase_values(c)  # "the number is 10", "25 €": the value is what is compared
            if cause:
                return Verdict.reject(self.name, "unparseable_answer", cause=cause, **details)
            candidates.extend(v for v in (clean(v) for v in values) if v not in candidates)
        if candidates != [clean(c) for c in ext.candidates[:_MAX_CANDIDATES]]:
            details["value"] = " ; ".join(candidates)[:_DETAIL_CHARS]
        for c in candidates:
            too_big = check_size(c, self.max_answer_chars, self.max_nesting)
            if too_big:
                return Verdict.reject(self.name, "unparseable_answer", cause=too_big, **details)
        if len(candidates) > 1 and ext.joined != "boxes":
            whole = " or ".join(ext.candidates) if ext.joined == "or" else ext.candidates[0]
            if self._compare(gold, clean(whole))[0] == "equal":  # "x>1 and x<5", "x=2 or x=-2": one solution set
                details["path"] = "sympy"
                return Verdict.accept(self.name, **details)
        if len(candidates) > 1 and gold.items > 1:
            # "\boxed{2} and \boxed{3}" answering "2, 3"; "x=2 or x=-2" answering "x^2=4"
            candidates = [(" or " if ext.joined == "or" else ", ").join(candidates)]
        outcomes = [self._compare(gold, c) for c in candidates]
        if len(ext.candidates) > _MAX_CANDIDATES:
            outcomes.append(("not_equal", "skipped"))
        statuses = [o for o, _ in outcomes]
        details["path"] = outcomes[0][1]
        if "timeout" in statuses:
            limit = next(p for o, p in outcomes if o == "timeout")
            return Verdict.reject(self.name, "timeout", limit=limit, **details)
        if "unverifiable_gold" in statuses:
            return Verdict.unverifiable(self.name, "unverifiable_gold", **details)
        if all(s == "equal" for s in statuses):
            return Verdict.accept(self.name, **details)
        if len(statuses) > 1:
            return Verdict.reject(self.name, "multiple_answers", **details)
        reason = "unparseable_answer" if statuses[0] == "unparseable_answer" else "wrong_answer"
        return Verdict.reject(self.name, reason, **details)

    def _compare(self, gold: _Gold, answer: str) -> tuple[str, str]:
        """(outcome, path): outcome is equal | not_equal | unparseable_answer | unverifiable_gold | timeout."""
        if not answer:
            return "unparseable_answer", "fast"
        if decimal_comma_twin(gold.text, answer):
            return "equal", "fast"
        if gold.choice:
            letter = choice_letter(answer, gold=False)
            value = self._gold(gold.choice_text) if letter is None and gold.choice_text else None
            if value is not None:  # the answer gave the choice's value, not its letter
                return self._compare(value, answer) if value.status == "ok" else ("not_equal", "choice")
            return ("equal" if letter == gold.choice else "not_equal"), "choice"
        if gold.fast is not None:
            pred = fast_number(answer, allow_assignment=True)
            if pred is not None:
                return ("equal" if fast_equal(gold.fast, pred, self.rel_tol) else "not_equal"), "fast"
        if self.fast_path:
            surds = fast_surd(gold.text), fast_surd(answer)
            if surds[0] is not None and surds[1] is not None:
                return ("equal" if surds[0] == surds[1] else "not_equal"), "fast"
        result = self._run("compare", gold.text, answer, self.rel_tol, self.ordered_lists)
        if result.ok:
            return result.value, "sympy"
        if result.status in ("timeout", "memory", "crashed"):
            return "timeout", result.status
        return "unparseable_answer", "sympy"  # an error escaping the worker: treat the answer as unreadable

    def _run(self, function: str, *args: Any):
        if self._runner is None:
            self._runner = BoundedRunner(self.timeout_s, self.memory_mb, preload=(_WORKER,))
        return self._runner.call(f"{_WORKER}:{function}", *args)


def _gold_text(raw: Any, fallbacks: Sequence[str] = ()) -> str | None:
    """The gold answer as a cleaned string: the last box of a worked solution, its "final answer is ..." sentence
    (when that fallback is on and the reference is prose), or the whole (plain) text."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, Fraction)):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw) if raw == raw and abs(raw) != float("inf") else None
    if not isinstance(raw, str):
        return None
    boxes = boxed_contents(raw)
    text = ", ".join(_gold_box_run(raw, boxes)) if boxes else raw
    if not boxes and hashes_value(raw):  # a GSM8K solution: "... #### 72"
        text = hashes_value(raw)
    elif not boxes and "final_answer_phrase" in fallbacks and 200 < len(raw) <= 100_000:
        text = final_phrase_value(raw) or raw  # a worked solution without a box: its "final answer is" sentence
    return text if len(text) > 100_000 else clean(text)  # oversized golds are refused by the size check


def _gold_box_run(raw: str, boxes: list[str]) -> list[str]:
    """The last box of a reference, with the boxes just before it that list further answers.

    "\\boxed{1} and \\boxed{-2}" lists two answers; a box followed by prose and another box is a worked
    solution whose last box is the answer.
    """
    ends = [m.end() for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", raw)]
    if len(ends) != len(boxes):
        return boxes[-1:]
    run = [boxes[-1]]
    for i in range(len(boxes) - 2, -1, -1):
        between = raw[ends[i] + len(boxes[i]) : ends[i + 1]]
        between = re.sub(r"\\(?:boxed|fbox)\s*\{$|^\s*\}", "", between.strip())
        if len(between) >= 10 and (len(between) >= 70 or not re.search(r"\b(?:and|or)\b|,|;", between)):
            break  # the same rule math-verify uses for a run of boxes
        run.insert(0, boxes[i])
    return list(dict.fromkeys(run))


def _check_range(name: str, value: object, low: float, high: float) -> None:
    """Recipe parameters are checked when the recipe loads: a number within [low, high], not a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
