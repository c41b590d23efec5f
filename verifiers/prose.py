"""Cut the prose out of a reasoning trace: what a language detector should see, and nothing else.

Standard library only. `prose_segments` removes what is not prose (code blocks and inline code, LaTeX math and
commands, numbers, formulas, identifiers, URLs, code-like lines, lone letters used as variables), splits what is
left into sentences, groups each sentence's words by writing system, and merges consecutive short pieces of one
script until they are long enough to judge. Each `Segment` says which part of the completion it came from and how
many letters it holds; the language verifier detects the language of each and weighs it by its letters.

Blanking keeps every character's position, so each segment also says where its sentence (or the run of short
sentences merged into it) starts and ends in the text it was cut from: a verdict can quote the sentence it objects to.
`strip_instructions` removes the answer-format instructions that recipes and datasets append to a problem ("Please
reason step by step, and put your final answer within \\boxed{}."), which say nothing about the problem's language.

What it does not do: it does not decide any language (the script of a word is a fact, its language is not), and it
does not try to recognise prose hidden inside formulas (`\\text{...}` inside `$...$` is dropped with the formula).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# Scripts in which one character is about a word: a short run of them is already a judgeable sentence.
IDEOGRAPHIC = frozenset({"han", "kana", "hangul"})

FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_NON_PROSE = re.compile(
    "|".join(
        [
            FENCE.pattern,
            # Every pattern is linear in the text: a lazy span stops at the next opener of its kind (an unclosed
            # `\[` scans to the next `\[`, not to the end, for each of thousands of them) or is bounded.
            r"\$\$.*?\$\$",  # display math (the next `$$` closes it: linear)
            r"\\\[(?:(?!\\\[).)*?\\\]",
            r"\\begin\{(\w+\*?)\}.{0,4000}?\\end\{\2\}",  # bounded: unclosed environments cost linear time
            r"\\\((?:(?!\\\().)*?\\\)",
            r"(?<!\\)\$[^$\n]{1,400}?\$",  # inline math
            r"`[^`\n]*`",  # inline code
            # URLs, e-mail addresses. The address starts only where a token starts: `\S+@` tried at every position
            # of 100 KB of unspaced Chinese rescanned the rest each time (26 s).
            r"https?://\S+|www\.\S+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
            r"</?[A-Za-z][^<>\n]{0,80}>",  # tags such as <think>
            r"\\[A-Za-z]+\*?",  # leftover LaTeX commands (\boxed, \frac, ...)
            r"\b\w*_\w*\b",  # snake_case identifiers, subscripts
            r"\b[a-z]+[A-Z]\w*\b",  # camelCase identifiers
            r"\d+",  # numbers (the words around them stay)
        ]
    ),
    re.S | re.M,
)
_NOT_NEWLINE = re.compile(r"[^\n]")
_CODE_SYMBOL = re.compile(r"[=(){}\[\];<>+*/%&|^#\\]")
_ASCII_NON_SPACE = re.compile(r"[!-~]")
_SENTENCE_END = re.compile(r"(?<=[.!?;؟।۔])\s+|(?<=[。！？；])|\n+")
# Words by script, in one pass of the regex engine. Each class holds a script's letters and the combining marks
# its words carry (Vietnamese tones, Devanagari vowel signs, Arabic harakat), not its digits or punctuation.
_SCRIPT_WORD = re.compile(
    "|".join(
        f"(?P<{name}>[{chars}]+)"
        for name, chars in [
            ("latin", "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0300-\u036f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a"),
            ("cyrillic", "\u0400-\u0482\u0483-\u052f"),
            ("greek", "\u0370-\u0373\u0376-\u037d\u0386\u0388-\u03ff\u1f00-\u1ffc"),
            ("arabic", "\u0610-\u061a\u0620-\u065f\u066e-\u06d3\u06d5-\u06ef\u06fa-\u06ff\u0750-\u077f"),
            ("hebrew", "\u0591-\u05bd\u05bf-\u05c2\u05c4-\u05c7\u05d0-\u05f2"),
            ("devanagari", "\u0900-\u0963\u0971-\u097f"),
            # The other Indic scripts, with their vowel signs and viramas (not word characters for `\w`, so
            # without their own class a Bengali or Telugu word fell apart into one-letter pieces) and the zero-width
            # joiners their words hold.
            ("bengali", "\u0980-\u09e3\u09f0-\u09fe\u200c\u200d"),
            ("gurmukhi", "\u0a00-\u0a63\u0a70-\u0a7f\u200c\u200d"),
            ("gujarati", "\u0a80-\u0ae3\u0af0-\u0aff\u200c\u200d"),
            ("tamil", "\u0b80-\u0be5\u0bf0-\u0bff\u200c\u200d"),
            ("telugu", "\u0c00-\u0c65\u0c70-\u0c7f\u200c\u200d"),
            ("kannada", "\u0c80-\u0ce5\u0cf0-\u0cff\u200c\u200d"),
            ("malayalam", "\u0d00-\u0d65\u0d70-\u0d7f\u200c\u200d"),
            ("thai", "\u0e01-\u0e4e"),
            ("han", "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"),
            ("kana", "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"),
            ("hangul", "\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3"),
        ]
    )
    + r"|(?P<other>[^\W\d_]+)"
)


@dataclass(frozen=True)
class Segment:
    """A run of prose in one script: `letters` counts its letters (each ideograph, kana or syllable is one)."""

    part: str  # "reasoning" or "answer"
    script: str  # "latin", "cyrillic", "han", "kana", "hangul", "arabic", ... ("han" + "kana" pieces -> "kana")
    text: str
    letters: int
    kana: int = 0  # hiragana/katakana letters: a Han run with kana in it is Japanese
    start: int = 0  # where its sentence starts and ends in the text it was cut from
    end: int = 0
    sentences: int = 1  # how many (short) sentences were merged into it


@lru_cache(maxsize=8192)
def script_of(ch: str) -> str:
    """The writing system of one letter, from its Unicode name ("" for combining marks)."""
    if ch.isascii():
        return "latin"
    if unicodedata.category(ch).startswith("M"):
        return ""
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first in ("HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA") or name.startswith("HALFWIDTH KATAKANA"):
        return "kana"
    if first in ("CJK", "IDEOGRAPHIC"):
        return "han"
    if first == "FULLWIDTH" and "LATIN" in name:
        return "latin"
    return first.lower() or "other"


def _drop_code_lines(text: str) -> str:
    """Blank the ASCII part of lines that read as code or a formula (symbol-dense); keep their other letters."""
    out = []
    for line in text.split("\n"):
        symbols = len(_CODE_SYMBOL.findall(line))
        if symbols >= 3 and symbols >= 0.25 * len(_ASCII_NON_SPACE.findall(line)):
            line = _ASCII_NON_SPACE.sub(" ", line)
        out.append(line)
    return "\n".join(out)


def _drop_unclosed(text: str) -> str:
    """Blank the `\\(` and `\\[` that no closer follows. Each would make the scan below look for its closer to
    the end of the text and fail, so many of them would cost quadratic time; blanked, every scan is linear."""
    for opener, closer in (("\\(", "\\)"), ("\\[", "\\]")):
        last = text.rfind(closer)
        tail = last + len(closer) if last >= 0 else 0
        if opener in text[tail:]:
            text = text[:tail] + text[tail:].replace(opener, "  ")
    return text


def clean_prose(text: str) -> str:
    """`text` with everything that is not prose replaced by spaces, character for character (line breaks are
    kept), so positions in the result are positions in `text`. Linear time in the text's length (every pattern
    is bounded or anchored by a delimiter that follows it)."""
    def blank(m: re.Match[str]) -> str:
        found = m.group(0)
        return _NOT_NEWLINE.sub(" ", found) if "\n" in found else " " * len(found)

    return _NON_PROSE.sub(blank, _drop_code_lines(_drop_unclosed(text)))


def _sentence_pieces(sentence: str) -> dict[str, tuple[list[str], int]]:
    """Words of one sentence grouped by script, with their kana count; Han and kana go together as "cj"
    (Japanese mixes them inside a word). A lone letter outside CJK and Hangul is a variable, not a word."""
    groups: dict[str, tuple[list[str], int]] = {}
    for match in _SCRIPT_WORD.finditer(sentence):
        script, piece = match.lastgroup or "other", match.group(0)
        pieces = [(script, piece)] if script != "other" else _split_other(piece)
        for script, piece in pieces:
            if script in ("han", "kana"):
                words, kana = groups.get("cj", ([], 0))
                words.append(piece)
                groups["cj"] = (words, kana + (len(piece) if script == "kana" else 0))
            elif len(piece) > 1 or script == "hangul":
                groups.setdefault(script, ([], 0))[0].append(piece)
    return groups


def _split_other(word: str) -> list[tuple[str, str]]:
    """A letter run of a script without its own regex class, cut where its script changes (rare path)."""
    pieces: list[tuple[str, list[str]]] = []
    for ch in word:
        script = script_of(ch)
        if pieces and (not script or script == pieces[-1][0]):
            pieces[-1][1].append(ch)
        else:
            pieces.append((script or "other", [ch]))
    return [(s, "".join(chars)) for s, chars in pieces]


def weighted_letters(script: str, letters: int) -> int:
    """Letters counted for the minimum length: an ideograph or syllable weighs about a short word (3)."""
    return letters * 3 if script in IDEOGRAPHIC or script == "cj" else letters


def prose_segments(
    text: str, part: str, *, min_letters: int, max_letters: int, max_chars: int = 200_000,
    deadline: float | None = None,
) -> list[Segment]:
    """Prose segments of `text` (at most its first `max_chars` characters).

    A sentence's piece in one script that holds `min_letters` (ideographs weighted by `weighted_letters`) is a
    segment of its own, cut at word boundaries every `max_letters` letters so that detection cost per segment is
    bounded (a "word" longer than that, such as a run of unspaced Chinese, is cut inside). Shorter pieces of
    consecutive sentences in one script are merged until they hold `min_letters`; they are never merged into a
    long piece, so a foreign sentence is not diluted by its neighbours. What is left short stays a (short)
    segment: it counts as prose but cannot be judged.

    Time is linear in the text (every pattern is), and with a `deadline` (a `time.monotonic()` value) checked
    between sentences: past it `TimeoutError` is raised, so a caller bounds the whole scan in wall-clock time.
    """
    segments: list[Segment] = []
    buffers: dict[str, _Run] = {}

    def pieces(words: list[str]) -> Iterator[str]:
        for word in words:
            if len(word) <= max_letters:
                yield word
            else:
                yield from (word[i : i + max_letters] for i in range(0, len(word), max_letters))

    def emit(script: str, run: _Run) -> None:
        chunk: list[str] = []
        size = 0
        for word in pieces(run.words):
            if chunk and size + len(word) > max_letters:
                segments.append(_segment(part, script, chunk, run))
                chunk, size = [], 0
            chunk.append(word)
            size += len(word)
        if chunk:
            segments.append(_segment(part, script, chunk, run))

    cleaned = clean_prose(text[:max_chars])
    for count, (start, end) in enumerate(_sentence_spans(cleaned)):
        if deadline is not None and count % 64 == 0 and time.monotonic() > deadline:
            raise TimeoutError("prose segmentation ran out of time")
        groups = _sentence_pieces(cleaned[start:end])
        for script in [s for s in buffers if s not in groups]:
            emit(script, buffers.pop(script))
        for script, (words, kana) in groups.items():
            run = _Run(words, kana, start, end)
            long_piece = weighted_letters(script, run.letters) >= min_letters
            if long_piece and script in buffers:
                emit(script, buffers.pop(script))
            held = buffers.pop(script, None)
            if held is not None:
                run = _Run(held.words + words, held.kana + kana, held.start, end, held.sentences + 1)
            if weighted_letters(script, run.letters) >= min_letters:
                emit(script, run)
            else:
                buffers[script] = run
    for script in list(buffers):
        emit(script, buffers.pop(script))
    return segments


@dataclass(frozen=True)
class _Run:
    """Words of one script from one sentence, or from consecutive short ones, and where they stand."""

    words: list[str]
    kana: int
    start: int
    end: int
    sentences: int = 1

    @property
    def letters(self) -> int:
        return sum(map(len, self.words))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, position = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > position:
            spans.append((position, m.start()))
        position = max(position, m.end())
    if position < len(text):
        spans.append((position, len(text)))
    return spans


def _segment(part: str, script: str, words: list[str], run: _Run) -> Segment:
    if script == "cj":
        text = "".join(words)
        script = "kana" if run.kana else "han"
    else:
        text = " ".join(words)
    return Segment(part, script, text, sum(map(len, words)), run.kana, run.start, run.end, run.sentences)


# Answer-format instructions appended to problems by recipes and datasets: they are in the recipe's language, not
# necessarily the problem's. A sentence mentioning any of these is an instruction, not part of the problem.
_INSTRUCTION = re.compile(
    r"\\boxed|\bstep[- ]by[- ]step\b|\bfinal\s+(?:answer|response)\b|\b(?:put|write|give|return|output)\s+"
    r"(?:your|the)\s+(?:final\s+)?answer\b|\bthink\s+(?:carefully|step)\b",
    re.IGNORECASE,
)
# Where an instruction starts inside a line that also holds the problem ("Solve x + 1 = 2 Please reason ...").
_INSTRUCTION_START = re.compile(r"\b(?:Please|Let's|Let us|Put|Return|Reason|Think|Show|Give|Write|Output)\b")
_CLAUSE_END = re.compile(r"(?<=[.!?。！？])\s+")


def strip_instructions(text: str, known: tuple[str, ...] = ()) -> str:
    """`text` without answer-format instructions: first the `known` ones (a recipe template's own text, removed
    verbatim wherever it occurs), then every sentence that mentions a box, "step by step" or "final answer"."""
    for piece in known:
        if len(piece.strip()) >= 8:
            text = text.replace(piece.strip(), " ")
    lines = []
    for line in text.split("\n"):
        kept = []
        for sentence in _CLAUSE_END.split(line):
            m = _INSTRUCTION.search(sentence)
            if m is None:
                kept.append(sentence)
                continue
            opener = None
            for opener in _INSTRUCTION_START.finditer(sentence, 0, m.start() + 1):
                pass  # the last instruction word before the match starts the instruction
            if opener is not None and opener.start() > 0:
                kept.append(sentence[: opener.start()])
        lines.append(" ".join(kept))
    return "\n".join(lines)
