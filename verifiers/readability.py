"""Readability filters from R1's SFT recipe: repetition loops, walls of text, stray code, empty reasoning, no summary.

Each filter is its own verifier with its own reason, so a recipe can switch one off or tune it, and the rejected
split says which rule fired. All are pure CPU, deterministic, and linear in the (capped) text: each looks at most
at `max_chars` characters (the tail, for repetition: loops run on until max_tokens).

| verifier            | reason                | rejects                                                           |
| ------------------- | --------------------- | ----------------------------------------------------------------- |
| `repetition`        | `repetition_loop`     | a line, sentence or run of words repeated past a threshold        |
| `paragraph_length`  | `long_paragraph`      | a paragraph wider than `max_paragraph_chars` display columns      |
| `code_in_answer`    | `code_block_in_answer`| a fenced code block (or unfenced code lines) in a non-code trace  |
| `trivial_reasoning` | `trivial_reasoning`   | empty reasoning, reasoning under `min_reasoning_chars`, or one that only restates the answer |
| `final_summary`     | `missing_summary`     | nothing after `</think>`, or only the bare final answer           |

Defaults are set so that a short but real trace ("We add 345 and 278. 5 + 8 = 13, write 3 carry 1. ..." then
"The answer is \\boxed{623}.") passes every filter.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Sequence

from verifiers.base import Verifier
from verifiers.params import check_params, flag, integer, texts
from verifiers.prose import FENCE
from verifiers.types import Completion, Prompt, Verdict, split_think

_WORD_WINDOW = 20_000  # word loops are looked for in the tail only: a loop until max_tokens ends the text
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Lines that read as code. Each alternative is linear in the line (no two unbounded parts can match the same text):
# `def f(...)` stops at the first `)`, so one long line cannot make the match backtrack over every `)` it holds.
_CODE_LINE = re.compile(
    r"^\s*(?:def \w+\([^)\n]*\)\s*(?:->[^:\n]*)?:|class \w+.*:|import \w+|from [\w.]+ import |#include\s*<|"
    r"int main\s*\(|public (?:static )?(?:class|void|int)\b|for \w+ in .+:|while .+:|print\(.*\)\s*$|"
    r"return\b.*;|console\.log\(|function \w+\s*\(|(?:let|const|var) \w+\s*=.*;)"
)


def display_width(text: str) -> int:
    """Columns `text` takes: East Asian wide characters count 2 (a CJK character carries about a word)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_MAX_CHARS = integer(1000, 100_000_000)  # how much of a text a filter looks at: at least 1,000 characters


class _TextVerifier(Verifier):
    """Shared plumbing: a verifier that judges the completion text alone, its parameters checked on construction."""

    def _set(self, **params: object) -> None:
        check_params(self.name, params, self.PARAMS or {})
        for key, value in params.items():
            setattr(self, key, value)

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        return [self.judge(c.text) for c in completions]

    def judge(self, text: str) -> Verdict:
        raise NotImplementedError


class RepetitionVerifier(_TextVerifier):
    """`repetition_loop`: the degenerate loops a sampler falls into (R1-Zero's "poor readability").

    Looks at the last `max_chars` characters (think tags removed) and rejects when
    - one line (whitespace collapsed, at least `min_line_chars` characters) occurs more than `max_line_repeats`
      times (default 10), anywhere: a loop of a few lines repeats each of them;
    - a block of 1 to 4 lines or sentences repeats back to back more than `max_consecutive_repeats` times
      (default 3: four copies in a row), the usual shape of a loop until max_tokens;
    - a run of 1 to `max_period_words` words repeats back to back `min_word_repeats` times (default 20) in the
      last 20,000 characters: loops without line or sentence breaks ("so so so so ...", "1, 1, 1, ...");
    - one character repeats more than `max_char_run` times in a row (default 200).
    Numbers are part of a line, so "3 + 4 = 7" and "3 + 5 = 8" are different lines and long carry-by-carry
    arithmetic is not a loop.
    """

    name = "repetition"
    version = "1"
    PARAMS = {"max_line_repeats": integer(1, 1_000_000), "max_consecutive_repeats": integer(1, 1_000_000),
              "min_line_chars": integer(1, 1_000_000), "min_word_repeats": integer(2, 1_000_000),
              "max_period_words": integer(1, 64), "max_char_run": integer(1, 100_000_000), "max_chars": _MAX_CHARS}

    def __init__(
        self,
        max_line_repeats: int = 10,
        max_consecutive_repeats: int = 3,
        min_line_chars: int = 8,
        min_word_repeats: int = 20,
        max_period_words: int = 16,
        max_char_run: int = 200,
        max_chars: int = 100_000,
    ) -> None:
        self._set(max_line_repeats=max_line_repeats, max_consecutive_repeats=max_consecutive_repeats,
                  min_line_chars=min_line_chars, min_word_repeats=min_word_repeats, max_period_words=max_period_words,
                  max_char_run=max_char_run, max_chars=max_chars)

    def judge(self, text: str) -> Verdict:
        text = re.sub(r"</?think>", "\n", text[-self.max_chars :])
        lines = [" ".join(line.split()) for line in text.split("\n")]
        lines = [line for line in lines if line]
        long_lines = [line for line in lines if len(line) >= self.min_line_chars]
        if long_lines:
            line, count = Counter(long_lines).most_common(1)[0]
            if count > self.max_line_repeats:
                return self._loop("line", line, count)
        sentences = [s for line in lines for s in _SENTENCE.split(line) if s.strip()]
        for unit, items in (("lines", lines), ("sentences", sentences)):
            found = _longest_block_repeat(items, 4)
            if found and found[1] > self.max_consecutive_repeats:
                block, copies = found
                if sum(map(len, block)) >= self.min_line_chars:
                    return self._loop(f"consecutive_{unit}", " / ".join(block), copies)
        found = _longest_block_repeat(text[-_WORD_WINDOW:].split(), self.max_period_words)
        if found and found[1] >= self.min_word_repeats:
            return self._loop("consecutive_words", " ".join(found[0]), found[1])
        run = re.search(r"(\S)\1{%d,}" % self.max_char_run, text)
        if run:
            return self._loop("character_run", run.group(1), len(run.group(0)))
        return Verdict.accept(self.name)

    def _loop(self, kind: str, unit: str, count: int) -> Verdict:
        return Verdict.reject(self.name, "repetition_loop", kind=kind, unit=unit[:200], count=count)


def _longest_block_repeat(items: list[str], max_period: int) -> tuple[list[str], int] | None:
    """The block of 1..max_period items repeated back to back the most times, as (block, copies); O(n·period)."""
    best: tuple[list[str], int] | None = None
    for period in range(1, max_period + 1):
        run = 0
        for i in range(period, len(items)):
            run = run + 1 if items[i] == items[i - period] else 0
            copies = run // period + 1
            if copies >= 2 and (best is None or copies > best[1]):
                best = (items[i - period + 1 : i + 1], copies)
    return best


class ParagraphLengthVerifier(_TextVerifier):
    """`long_paragraph`: a wall of text that a reader (and a student) cannot follow.

    A paragraph is a line of the completion (models do not hard-wrap: their paragraphs are lines, and a
    derivation laid out one step per line reads fine). Fenced code is not prose and is skipped. Width is in
    display columns (CJK characters count 2). Default `max_paragraph_chars` 3000, about 500 English words:
    R1-style reasoning paragraphs stay well under 1500.
    """

    name = "paragraph_length"
    version = "1"
    PARAMS = {"max_paragraph_chars": integer(1, 100_000_000), "max_chars": _MAX_CHARS}

    def __init__(self, max_paragraph_chars: int = 3000, max_chars: int = 400_000) -> None:
        self._set(max_paragraph_chars=max_paragraph_chars, max_chars=max_chars)

    def judge(self, text: str) -> Verdict:
        lines = FENCE.sub("\n", text[: self.max_chars]).split("\n")
        # A line's width is at most twice its length: only lines that could be too wide are measured.
        suspects = [line.strip() for line in lines if 2 * len(line) > self.max_paragraph_chars]
        widest = max(map(display_width, suspects), default=0)
        if widest > self.max_paragraph_chars:
            return Verdict.reject(self.name, "long_paragraph", width=widest, limit=self.max_paragraph_chars)
        return Verdict.accept(self.name)


class CodeInAnswerVerifier(_TextVerifier):
    """`code_block_in_answer`: code where none belongs (a math trace that writes a program instead of reasoning).

    Rejects a fenced block (``` or ~~~) in the reasoning or the answer, unless `allow_code` is set or its info
    string is in `allowed_languages` (e.g. `[text, latex]`); also at least `max_code_lines` + 1 unfenced lines
    that read as code (`def f(x):`, `import x`, `for i in range(n):`, `#include <...>`, ...; default 1, so two
    such lines reject). `check_reasoning=False` looks at the answer only.
    """

    name = "code_in_answer"
    version = "1"
    PARAMS = {"allow_code": flag(), "allowed_languages": texts(), "check_reasoning": flag(),
              "max_code_lines": integer(0, 1_000_000), "max_chars": _MAX_CHARS}

    def __init__(
        self,
        allow_code: bool = False,
        allowed_languages: Sequence[str] = (),
        check_reasoning: bool = True,
        max_code_lines: int = 1,
        max_chars: int = 400_000,
    ) -> None:
        self._set(allow_code=allow_code, allowed_languages=allowed_languages, check_reasoning=check_reasoning,
                  max_code_lines=max_code_lines, max_chars=max_chars)
        self.allowed_languages = {lang.lower() for lang in allowed_languages}

    def judge(self, text: str) -> Verdict:
        if self.allow_code:
            return Verdict.accept(self.name)
        split = split_think(text[: self.max_chars])
        parts = [("reasoning", split.reasoning)] if self.check_reasoning else []
        for part, body in [*parts, ("answer", split.answer)]:
            for fence in FENCE.finditer(body):
                info = fence.group(0).split("\n", 1)[0].strip().lstrip("`~").strip().lower()
                if info.split(" ")[0] not in self.allowed_languages or not info:
                    return Verdict.reject(self.name, "code_block_in_answer", part=part, kind="fence", info=info)
            code_lines = [line for line in FENCE.sub("", body).split("\n") if _CODE_LINE.match(line)]
            if len(code_lines) > self.max_code_lines:
                return Verdict.reject(
                    self.name, "code_block_in_answer", part=part, kind="code_lines", lines=code_lines[:3]
                )
        return Verdict.accept(self.name)


class TrivialReasoningVerifier(_TextVerifier):
    """`trivial_reasoning`: a think block with nothing to learn from.

    Rejects when the reasoning is empty (no think block, or an empty one), narrower than `min_reasoning_chars`
    display columns without whitespace (default 16: "5 + 8 = 13." is not reasoning, "We add 345 and 278. 5 + 8 =
    13, ..." is), or the same as the answer once whitespace and case are ignored.
    """

    name = "trivial_reasoning"
    version = "1"
    PARAMS = {"min_reasoning_chars": integer(0, 1_000_000)}

    def __init__(self, min_reasoning_chars: int = 16) -> None:
        self._set(min_reasoning_chars=min_reasoning_chars)

    def judge(self, text: str) -> Verdict:
        split = split_think(text)
        visible = "".join(split.reasoning.split())
        if not visible:
            return Verdict.reject(self.name, "trivial_reasoning", kind="empty", think_state=split.state)
        width = display_width(visible) if len(visible) < self.min_reasoning_chars else len(visible)
        if width < self.min_reasoning_chars:
            return Verdict.reject(self.name, "trivial_reasoning", kind="too_short", width=width)
        answer = "".join(split.answer.split())
        if len(answer) == len(visible) and visible.lower() == answer.lower():
            return Verdict.reject(self.name, "trivial_reasoning", kind="restates_answer")
        return Verdict.accept(self.name)


class FinalSummaryVerifier(_TextVerifier):
    """`missing_summary`: R1's format ends the think block with a summary for the reader.

    Decision: after `</think>` there must be prose besides the final answer. The boxed answer(s), LaTeX math
    delimiters and markdown markers are removed; what is left must hold at least `min_summary_tokens` tokens
    (default 3), a token being a word, a number, or one CJK/kana character. So "The answer is \\boxed{623}.",
    "So $345 + 278 = 623$." and "答案是 \\boxed{623}。" pass; "", "\\boxed{623}", "**Answer:** \\boxed{623}" and
    "**Final Answer**\\n\\boxed{623}" are missing a summary. An unclosed think block has none (its answer is empty);
    a completion with no think tags at all is judged `no_think_block`.
    """

    name = "final_summary"
    version = "1"
    PARAMS = {"min_summary_tokens": integer(0, 1_000_000)}

    def __init__(self, min_summary_tokens: int = 3) -> None:
        self._set(min_summary_tokens=min_summary_tokens)

    def judge(self, text: str) -> Verdict:
        split = split_think(text)
        if split.state == "missing_think" or not split.answer.strip():
            kind = "no_think_block" if split.state == "missing_think" else "empty"
            return Verdict.reject(self.name, "missing_summary", kind=kind, think_state=split.state)
        tokens = _summary_tokens(_strip_boxed(split.answer))
        if len(tokens) < self.min_summary_tokens:
            return Verdict.reject(self.name, "missing_summary", kind="bare_answer", tokens=len(tokens))
        return Verdict.accept(self.name, tokens=len(tokens))


def _strip_boxed(text: str) -> str:
    """`text` without `\\boxed{...}` / `\\fbox{...}` groups (braces balanced, linear scan)."""
    out, pos = [], 0
    for match in _BOXED.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        pos = i
    out.append(text[pos:])
    return "".join(out)


_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")


def _summary_tokens(text: str) -> list[str]:
    text = re.sub(r"\\[A-Za-z]+|[$*#_`>\[\]{}()\\]", " ", text)  # LaTeX commands, delimiters, markdown
    return _TOKEN.findall(text)
