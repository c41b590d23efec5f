"""Pick the final answer out of the answer part of a completion (the text after `</think>`).

Pure string work, no sympy, linear in the text (a hostile completion may hold tens of thousands of boxes or
unclosed delimiters: repeats are found with a dict, math spans are bounded in length); MathVerifier runs it in its
own process for short answer parts and in its bounded child for long ones. A box whose closing brace was written
escaped (`\\boxed{5\\}`) still closes there when nothing else would close it. Order of preference:
1. every `\\boxed{...}` / `\\fbox{...}` (nested braces matched) in the answer part: one distinct box is the
   answer; several distinct boxes are candidates that the verifier must reconcile (a hedge is rejected). When
   `final_answer_phrase` is on and a "final answer is X" sentence comes after the last box, X is the answer
   (the boxes were intermediate results);
2. the fallbacks the recipe switched on, in this order: `answer_tag` (last `<answer>...</answer>`),
   `final_answer_phrase` (the last "final answer is ..." / "answer: ..."), `last_math` (the whole answer when it
   is a bare expression, else whichever comes last in the text: the last `$...$` / `\\(...\\)` / `\\[...\\]`
   span or the last number outside them). Inline math (`$`, `\\(`) does not span lines; display math may.
A top-level " or " inside the chosen answer splits it into candidates as well ("3 or 4" is a hedge).
`extract_choice` reads a multiple-choice letter from prose; the verifier uses it only when the gold is a letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FALLBACKS = ("answer_tag", "final_answer_phrase", "last_math")


@dataclass(frozen=True)
class Extraction:
    """What was found. `method` is "boxed", a fallback name, or "" when nothing was found.

    `candidates` are answer strings; more than one means the completion offered several (distinct boxes, or an
    "or"), and `joined` is how they were written ("boxes" or "or").
    """

    method: str
    candidates: tuple[str, ...] = field(default_factory=tuple)
    joined: str = ""

    @property
    def text(self) -> str:
        return " ; ".join(self.candidates)


_BOX_CMD = re.compile(r"\\(?:boxed|fbox)\b")


def boxed_contents(text: str) -> list[str]:
    """Contents of every top-level `\\boxed{...}` / `\\fbox{...}` in order; unclosed boxes are ignored.

    A box written without braces (`\\boxed 5`) yields the next token.
    """
    found: list[str] = []
    pos = 0
    while True:
        m = _BOX_CMD.search(text, pos)
        if m is None:
            return found
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            end = matching_brace(text, i)
            if end < 0:
                end = _escaped_close(text, i)  # "\\boxed{5\\}": the closing brace written escaped
                if end < 0:
                    return found  # unclosed: nothing after it can be trusted to be a box either
                found.append(text[i + 1 : end].strip())
                return found
            found.append(text[i + 1 : end].strip())
            pos = end + 1
        else:
            token = _BARE_TOKEN.match(text, i)
            if token and token.end() > i:
                found.append(token.group(0))
            pos = (token.end() if token else i) + 1


_BARE_TOKEN = re.compile(r"[^\s$.,;]+")


def _escaped_close(text: str, open_index: int) -> int:
    """For a box that never closes: the index of a `\\}` that would close it (no `\\{` opened before it, braces
    balanced), followed only by punctuation, math delimiters or the end of its line; else -1."""
    depth, escaped, i, n = 0, 0, open_index + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            if text[i + 1] == "{":
                escaped += 1
            elif text[i + 1] == "}":
                if escaped == 0 and depth == 0:
                    rest = text[i + 2 : i + 40].split("\n", 1)[0]
                    return i if re.fullmatch(r"[\s$.,;)\]\\]*", rest) else -1
                escaped -= 1
            i += 2
            continue
        if ch == "\n" and text[i + 1 : i + 2] == "\n":
            return -1  # a box does not run over a paragraph
        depth += ch == "{"
        depth -= ch == "}"
        i += 1
    return -1


def matching_brace(text: str, open_index: int) -> int:
    """Index of the `}` closing the `{` at `open_index` (escaped `\\{`/`\\}` are skipped), or -1."""
    depth = 0
    i = open_index
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
# "final answer is X", "the answer is: X", "Answer: X". The value runs to the end of the line; the text after
# the phrase is cleaned below. `[^\n]{0,80}?` is bounded so the regex stays linear.
_PHRASE = re.compile(
    r"(?:final\s+answer|\banswer)\b[^\n]{0,80}?(?:\bis\b|:|=)\s*(?P<value>[^\n]+)"
    r"|\banswer\s*(?P<value2>(?:\$|\\\(|\\\[)[^\n]+)",
    re.IGNORECASE,
)
# Spans are bounded (an answer is far shorter), so a text full of unclosed openers costs linear time, not quadratic.
_MATH_SPAN = re.compile(
    r"\$\$(?P<a>.{1,2000}?)\$\$|\\\[(?P<b>.{1,2000}?)\\\]|\\\((?P<c>[^\n]{1,2000}?)\\\)"
    r"|(?<![\\$])\$(?P<d>[^$\n]{1,2000}?)(?<!\\)\$",
    re.DOTALL,
)
_SPACES = re.compile(r"\s+")
# A number in prose: a LaTeX fraction, thousands groups, a decimal comma ("2,74 $"), a/b, a decimal. Digits right
# after "{" belong to LaTeX (the 5 of "\frac{2}{5}") and are not numbers of their own.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.{])(?:-?\\[dt]?frac\{-?\d+\}\{\d+\}|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|-?\d+,\d{1,2}(?![\d,])"
    r"|-?\d+/\d+(?![\d/])|-?\d+(?:\.\d+)?%?|-?\.\d+%?)"
)
_QUOTES_LEFT = re.compile(r'^(?:[*_ "`\u201c]|\\")+')
_QUOTES_RIGHT = re.compile(r'(?:[*_ "`\u201d.]|\\")+$')
_HOPE = re.compile(r"\.?\s*I hope it is correct.*$", re.IGNORECASE | re.DOTALL)
OR = re.compile(r"\\text\{\s*or\s*\}|\\(?:lor|vee)\b|(?<![A-Za-z])or(?![A-Za-z])")
_PROSE = re.compile(r"[A-Za-z]{4,}|[A-Za-z]{2,}'?[A-Za-z]*\s+[A-Za-z]{2,}")
_BARE_OK = re.compile(r"^[\w\s\\{}()\[\]^_.,+\-*/=<>|!%:;'&]+$", re.ASCII)  # ASCII: "4000千克" is prose


def extract_answer(answer_text: str, fallbacks: tuple[str, ...] = FALLBACKS) -> Extraction:
    """Find the final answer in `answer_text` (see the module docstring for the order)."""
    boxes = _distinct(boxed_contents(answer_text))
    if boxes and "final_answer_phrase" in fallbacks:
        after = _final_phrase_after_boxes(answer_text)
        if after:
            return _split_or("final_answer_phrase", after)
    if boxes:
        if len(boxes) > 1:
            return Extraction("boxed", tuple(boxes), "boxes")
        return _split_or("boxed", boxes[0])
    for name in fallbacks:
        found = _FALLBACK_FUNCS[name](answer_text)
        if found:
            return _split_or(name, found)
    return Extraction("")


def _from_answer_tag(text: str) -> str:
    tags = _ANSWER_TAG.findall(text)
    return _strip_math(tags[-1]) if tags and tags[-1].strip() else ""


_HASHES = re.compile(r"^\s*####\s*(?P<value>[^\n]+?)\s*$", re.MULTILINE)


def hashes_value(text: str) -> str:
    """The value of GSM8K's last "#### 72" line, or ""."""
    last = None
    for last in _HASHES.finditer(text):
        pass
    return last.group("value").rstrip(".") if last else ""


def _from_phrase(text: str) -> str:
    hashed = hashes_value(text)
    if hashed:
        return hashed
    last = None
    for m in _PHRASE.finditer(text):
        last = m
    if last is None:
        return ""
    start = last.start("value") if last.group("value") is not None else last.start("value2")
    rest = _QUOTES_LEFT.sub("", text[start : start + 2000])  # "**Answer:** 7", 'is \\"$12$\\"': markup around it
    if rest.startswith(("$", "\\(", "\\[")):  # a math span right after the phrase, possibly multi-line
        spans = _math_spans(rest)
        if spans:
            first = _QUOTES_RIGHT.sub("", _HOPE.sub("", rest.split("\n\n")[0]).strip())
            return spans[0] if not _only_spans_and_joiners(first) else " , ".join(spans)
    value = _QUOTES_RIGHT.sub("", _HOPE.sub("", rest.split("\n")[0]).strip())
    outside = _MATH_SPAN.sub(" ", value)
    if re.search(r"\bis\b", outside):  # "The volume of $ABCD$ is 120": the value follows the last "is"
        value = re.split(r"\bis\b", value)[-1].strip()
    spans = _math_spans(value)
    if spans:
        return " , ".join(spans) if _only_spans_and_joiners(value) else spans[0]
    value = _strip_math(value.rstrip(". ")).strip()
    if re.search(r"[A-Za-z]{3,}", re.sub(r"\\[A-Za-z]+", "", value)):  # prose: take its last number
        numbers = _NUMBER.findall(value)
        return numbers[-1] if numbers else ""
    return value


def _from_last_math(text: str) -> str:
    stripped = text.strip()
    if len(stripped) <= 200 and _BARE_OK.match(stripped) and "\n" not in stripped:
        bare = re.sub(r"\\[A-Za-z]+(?:\{[^{}]*\})?", "", stripped)
        short = len(stripped) <= 40 and len(stripped.split()) <= 3  # "odd", "f'", "x = y"
        if (short or re.search(r"[\d\\]", stripped)) and not _PROSE.search(bare):
            return _strip_math(stripped.rstrip("."))
    last_span = None
    for last_span in _MATH_SPAN.finditer(text):
        pass
    # "... $d = \frac{90}{n}$ ... so there are 12 of them.": the number written after the last span is the answer
    masked = _MATH_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    last_number = None
    for last_number in _NUMBER.finditer(masked):
        pass
    if last_span is not None and (last_number is None or last_span.end() > last_number.end()):
        spans = _math_spans(last_span.group(0))
        if spans:
            return spans[-1]
    return last_number.group(0) if last_number else ""


def _final_phrase_after_boxes(text: str) -> str:
    """The value of a "final answer is X" sentence written after the last box, or ""."""
    return final_phrase_value(text, max(text.rfind("\\boxed"), text.rfind("\\fbox")) + 1)


def final_phrase_value(text: str, start: int = 0) -> str:
    """The value of the last "final answer is X" / "Final Answer: X" sentence at or after `start`, or ""."""
    phrase = None
    for phrase in _FINAL_PHRASE.finditer(text, start):
        pass
    return _from_phrase(text[phrase.start():]) if phrase is not None else ""


_FINAL_PHRASE = re.compile(r"final\s+answer\b[^\n]{0,80}?(?:\bis\b|:)", re.IGNORECASE)
_CHOICE_PHRASE = re.compile(
    r"\banswer\s*(?:is\s*:?|:)\s*(?:option\s*|choice\s*)?\(?\s*(?P<l>(?-i:[A-J]))\s*\)?(?![A-Za-z0-9])", re.IGNORECASE
)
_CHOICE_LEAD = re.compile(r"^\s*\(?(?P<l>[A-J])(?:\)|\.(?!\d)|:|\s*$)")
_CHOICE_LAST = re.compile(r"(?<![A-Za-z'])\(?(?P<l>[A-J])\)?[.!]?\s*$")


def extract_choice(text: str) -> Extraction:
    """A choice letter from prose: the last "answer is (C)" / "answer: C", else a leading "C." / "(C)" / lone "C",
    else a letter that ends the text ("... so I think it's B")."""
    last = None
    for last in _CHOICE_PHRASE.finditer(text):
        pass
    m = last or _CHOICE_LEAD.match(text) or _CHOICE_LAST.search(text[-200:])
    return Extraction("choice", (m.group("l"),)) if m else Extraction("")


_FALLBACK_FUNCS = {
    "answer_tag": _from_answer_tag,
    "final_answer_phrase": _from_phrase,
    "last_math": _from_last_math,
}


def _math_spans(text: str) -> list[str]:
    out = []
    for m in _MATH_SPAN.finditer(text):
        body = next(g for g in m.groups() if g is not None).strip()
        if body:
            out.append(body)
    return out


def _only_spans_and_joiners(value: str) -> bool:
    rest = _MATH_SPAN.sub(" ", value)
    return re.fullmatch(r"[\s,.;]*(?:(?:and|or|,)[\s,.;]*)*", rest, re.IGNORECASE) is not None


def _strip_math(s: str) -> str:
    s = s.strip()
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            return s[len(left) : len(s) - len(right)].strip()
    return s


def _distinct(items: list[str]) -> list[str]:
    """Items in order, without repeats (spaces ignored); linear: a hostile text may hold thousands of boxes."""
    seen: dict[str, str] = {}
    for item in items:
        key = _SPACES.sub("", item)
        if key and key not in seen:
            seen[key] = item
    return list(seen.values())


def _split_or(method: str, answer: str) -> Extraction:
    parts = split_top_level(answer, OR)
    if len(parts) > 1 and all(p.strip() for p in parts):
        distinct = _distinct([p.strip() for p in parts])
        if len(distinct) > 1:
            return Extraction(method, tuple(distinct), "or")
        return Extraction(method, (distinct[0],))
    return Extraction(method, (answer.strip(),))


def split_top_level(s: str, sep: re.Pattern[str]) -> list[str]:
    """Split `s` at matches of `sep` that are outside every (), [], {} (and \\{ \\}) pair."""
    depth_at = _depths(s)
    parts, start = [], 0
    for m in sep.finditer(s):
        if depth_at[m.start()] == 0:
            parts.append(s[start : m.start()])
            start = m.end()
    parts.append(s[start:])
    return parts


def _depths(s: str) -> list[int]:
    depths, depth = [], 0
    for ch in s:
        if ch in ")]}":
            depth = max(0, depth - 1)
        depths.append(depth)
        if ch in "([{":
            depth += 1
    return depths
