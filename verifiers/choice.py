"""Multiple-choice answers (GPQA-, MMLU-Pro-, SuperGPQA-style): which option did the completion choose?

The gold is a letter (`"B"`, `"(B)"`), an option index (an int, 0-based by default: MMLU-Pro's `answer_index`), or
the text of the right option (SuperGPQA's `answer`, GPQA's `Correct Answer`). The options come from a prompt
column kept in the prompt's metadata (`prompts.keep_columns: [options]`): a list of option texts in letter order
(A, B, C, ...), a mapping letter -> text, or a JSON string of either; `options_key` may also name several columns,
one option each (GPQA's `Correct Answer`, `Incorrect Answer 1`, ... in the order the prompt showed them).

The chosen option is read from the answer part (after `</think>`), most explicit first:
1. every `\\boxed{...}`: a letter (`B`, `(B)`, `\\text{B}`, `B) 42 J`) or, with options, an option's text;
2. the last "answer is (B)" / "Answer: B" / "correct option is B" / "final answer: **B**" phrase;
3. an answer part that is only a letter ("B", "(B).", "**B**", "B) ..."), or, with options, only an option's text.
Two different options among what was read (`\\boxed{A} ... \\boxed{C}`, "A or C", "A and C", "A, C") are
`multiple_answers`, a hedge. Reasons: `no_answer` (nothing read), `unparseable_answer` (a boxed or stated answer
that is neither a letter in range nor an option's text: what an LLM judge can still read), `multiple_answers`,
`wrong_answer`; `unverifiable_gold` when the gold names no option. Details carry `answer` (the chosen letter),
`extracted` (what was read) and `method`. Pure string work on bounded text: no child process is needed.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any, Sequence

from verifiers.base import Verifier
from verifiers.math.extract import boxed_contents
from verifiers.types import Completion, Prompt, Verdict, split_think

_MAX_ANSWER_CHARS = 20_000  # a hostile answer part is cut before any regex reads it
_LETTER = r"\(?\s*(?:\\text\{|\\mathrm\{|\*\*)?\s*(?P<l>[A-Z])\s*(?:\}|\*\*)?\s*\)?"
_PHRASE = re.compile(
    r"(?:\banswer|\boption|\bchoice)\s*(?:is|would\s+be|should\s+be|:)?\s*[:=]?\s*(?:\*\*)?\s*(?:option\s+|choice\s+)?"
    + _LETTER + r"(?![A-Za-z0-9])", re.IGNORECASE)
_BARE = re.compile(r"^\s*(?:\*\*)?\s*(?:answer\s*:\s*)?" + _LETTER + r"\s*(?:[.)\]:]|$)", re.IGNORECASE)
_JOINED = re.compile(r"^\s*\(?([A-Z])\)?\s*(?:,|\bor\b|\band\b|/|&)\s*\(?([A-Z])\)?\s*$")


class ChoiceVerifier(Verifier):
    """`options_key`: the metadata key (or keys) holding the options; `index_base`: 0 or 1 for integer golds;
    `max_letters`: the letters read when a prompt has no options (default A-J, MMLU-Pro's ten)."""

    name = "choice"
    version = "1"

    def __init__(self, options_key: str | list[str] = "options", index_base: int = 0, max_letters: int = 10) -> None:
        keys = [options_key] if isinstance(options_key, str) else options_key
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise TypeError(f"options_key must be a column name or a list of them, got {options_key!r}")
        if index_base not in (0, 1) or isinstance(index_base, bool):
            raise ValueError(f"index_base must be 0 or 1, got {index_base!r}")
        if isinstance(max_letters, bool) or not isinstance(max_letters, int) or not 2 <= max_letters <= 26:
            raise ValueError(f"max_letters must be an integer in [2, 26], got {max_letters!r}")
        self.options_keys, self.index_base, self.max_letters = keys, index_base, max_letters

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        options = self.options(prompt)
        gold, why = self._gold(prompt.gold, options)
        if gold is None:
            return [Verdict.unverifiable(self.name, "unverifiable_gold", cause=why) for _ in completions]
        letters = string.ascii_uppercase[: len(options) if options else self.max_letters]
        return [self._judge(split_think(c.text).answer[-_MAX_ANSWER_CHARS:], gold, options, letters)
                for c in completions]

    def check_gold(self, prompt: Prompt) -> str | None:
        return None if self._gold(prompt.gold, self.options(prompt))[0] is not None else "unverifiable_gold"

    # -- options and gold -----------------------------------------------------------------------------------

    def options(self, prompt: Prompt) -> list[str]:
        """The prompt's option texts in letter order (empty when it has none)."""
        meta = prompt.metadata or {}
        if len(self.options_keys) > 1:
            return [str(meta[k]) for k in self.options_keys if meta.get(k) not in (None, "")]
        raw = meta.get(self.options_keys[0])
        if isinstance(raw, str) and raw.strip()[:1] in ("[", "{"):
            try:
                raw = json.loads(raw)
            except ValueError:
                return []
        if isinstance(raw, dict):
            return [str(raw[k]) for k in sorted(raw, key=str)]
        if isinstance(raw, (list, tuple)):
            return [str(o) for o in raw]
        return []

    def _gold(self, raw: Any, options: list[str]) -> tuple[str | None, str]:
        count = len(options) if options else self.max_letters
        if isinstance(raw, bool):
            return None, "gold is a boolean"
        if isinstance(raw, int):
            index = raw - self.index_base
            return (string.ascii_uppercase[index], "") if 0 <= index < count else (None, f"index {raw} out of range")
        if not isinstance(raw, str) or not raw.strip():
            return None, "gold is not a letter, an index or an option's text"
        m = re.fullmatch(r"\s*\(?\s*([A-Z])\s*[).:]?\s*", raw)
        if m and string.ascii_uppercase.index(m.group(1)) < count:
            return m.group(1), ""
        letter = _option_letter(raw, options)
        if letter:
            return letter, ""
        if raw.strip().isdigit() and 0 <= int(raw) - self.index_base < count:
            return string.ascii_uppercase[int(raw) - self.index_base], ""
        return None, "gold names no option" if options else "gold is not a letter (the prompt has no options)"

    # -- answers --------------------------------------------------------------------------------------------

    def _judge(self, answer: str, gold: str, options: list[str], letters: str) -> Verdict:
        chosen, extracted, method, unreadable = self.read(answer, options, letters)
        details = {"extracted": extracted[:200], "method": method}
        if not chosen:
            if unreadable:
                return Verdict.reject(self.name, "unparseable_answer", **details)
            return Verdict.reject(self.name, "no_answer", **details)
        if len(chosen) > 1:
            return Verdict.reject(self.name, "multiple_answers", answer=",".join(chosen), **details)
        details["answer"] = chosen[0]
        if chosen[0] == gold:
            return Verdict.accept(self.name, **details)
        return Verdict.reject(self.name, "wrong_answer", **details)

    def read(self, answer: str, options: list[str], letters: str) -> tuple[list[str], str, str, bool]:
        """(distinct letters chosen, what was read, method, whether something was read that names no option)."""
        boxes = boxed_contents(answer)
        if boxes:
            chosen: list[str] = []
            for box in boxes:
                for letter in _letters_of(box, options, letters):
                    if letter not in chosen:
                        chosen.append(letter)
            return chosen, " ; ".join(boxes), "boxed", not chosen
        phrase = None
        for phrase in _PHRASE.finditer(answer):
            pass
        if phrase is not None and phrase.group("l").upper() in letters and _is_choice(phrase):
            tail = answer[phrase.start("l"):phrase.start("l") + 12]
            joined = _JOINED.match(re.split(r"[.\n]", tail)[0])
            if joined and joined.group(1) != joined.group(2) and {joined.group(1), joined.group(2)} <= set(letters):
                return [joined.group(1), joined.group(2)], tail.strip(), "phrase", False
            return [phrase.group("l").upper()], phrase.group(0).strip(), "phrase", False
        last_line = answer.strip().splitlines()[-1] if answer.strip() else ""
        for text in dict.fromkeys((answer.strip(), last_line)):
            found = _letters_of(text, options, letters)
            if found:
                return found, text[:200], "bare", False
        stated = None
        for stated in re.finditer(r"\b(?:answer|option|choice)\s*(?:is|would\s+be|:)\s*:?\s*(.+)$", answer, re.IGNORECASE | re.MULTILINE):
            pass
        if stated is None:
            return [], "", "", False
        letter = _option_letter(stated.group(1), options)
        return ([letter] if letter else []), stated.group(1).strip(), "phrase" if letter else "", not letter


def _is_choice(phrase: re.Match) -> bool:
    """An "answer is I ..." phrase where the letter is the pronoun starting a clause is not a choice."""
    letter = phrase.group("l")
    marked = phrase.group(0).rstrip()[-1:] in ")}*"  # "(I)", "**I**": an option, whatever follows
    rest = phrase.string[phrase.end():phrase.end() + 12]
    return marked or not (letter == "I" and re.match(r"\s+[a-z]", rest))


def _letters_of(text: str, options: list[str], letters: str) -> list[str]:
    """The option letters one answer names: a lone letter, "A or C", "B) text", or an option's own text."""
    text = text.strip()
    text = re.sub(r"^\\(?:text|mathrm|textbf)\{(.*)\}$", r"\1", text).strip()
    joined = _JOINED.match(text)
    if joined:
        found = [g for g in dict.fromkeys(joined.groups()) if g in letters]
        if found:
            return found
    m = _BARE.match(text)
    if m and m.group("l") in letters and (m.group("l").isupper() or len(text.strip("()*. ")) == 1):
        letter = m.group("l").upper()
        rest = text[m.end():].strip()
        if not rest or not options or _option_letter(rest, options) in (None, letter):
            return [letter]
    letter = _option_letter(text, options)
    return [letter] if letter else []


def _normal(text: str) -> str:
    text = re.sub(r"\\(?:text|mathrm)\{([^{}]*)\}", r"\1", text)
    text = text.replace("$", "").replace("\\%", "%").replace("**", "")
    return " ".join(text.lower().split()).strip(" .")


def _option_letter(text: str, options: list[str]) -> str | None:
    """The letter of the one option whose text `text` is (case, spacing, `$` and a final period ignored)."""
    wanted = _normal(text)
    if not wanted:
        return None
    hits = [string.ascii_uppercase[i] for i, o in enumerate(options) if _normal(o) == wanted]
    return hits[0] if len(hits) == 1 else None
