"""The judge's prompt rendered for one ordered pair of answers, and the judge's reply read strictly.

An equivalence template (the recipe's `judge.template`, checked when the recipe loads; the shipped `data/judge/equivalence.txt`
is modelled on the public answer-equivalence prompts of OpenAI's simple-evals and open-r1's math judge) holds
`{problem}`, `{first}` and `{second}`; the two answers are put in one order and then in the other, so a judge that
prefers whichever answer comes first cannot accept alone. The judge must answer with one of `CHOICES`;
`parse_choice` is strict (one word, case and surrounding punctuation ignored), anything else is a judge error,
never a guess. A rubric template gets the request, one answer and the criteria, and the judge answers with a score
from 1 to 10 (`parse_score`).
"""

from __future__ import annotations

import json
import re

from factory.recipe import Judge

CHOICES = ("equivalent", "different")
SCORES = tuple(str(score) for score in range(1, 11))
"""A rubric judge's replies: a score from 1 to 10."""


def load_template(template: str = "equivalence") -> str:
    """The text of a judge template: a shipped name or a file (checked as a recipe checks it)."""
    return Judge(template=template).template_text()


def render(template: str, problem: str, first: str, second: str) -> tuple[dict[str, str], ...]:
    """The chat sent to the judge: one user turn."""
    return ({"role": "user", "content": template.format(problem=problem.strip(), first=first.strip(),
                                                        second=second.strip())},)


def render_answer(template: str, problem: str, answer: str, rubric: str) -> tuple[dict[str, str], ...]:
    """The chat sent to a rubric judge: one user turn with the request, the answer and the criteria."""
    return ({"role": "user", "content": template.format(problem=problem.strip(), answer=answer.strip(),
                                                        rubric=rubric.strip())},)


_WORD = re.compile(r"^[\s\"'`*(\[]*([A-Za-z_]+)[\s\"'`*.)\]!]*$")


def _final_text(text: str, keys: tuple[str, ...]) -> str | None:
    """What a judge's reply says after its think block, if any; a JSON reply gives the value of its first key
    among `keys` ("" when none), a JSON reply that does not parse None."""
    text = (text or "").strip()
    if "</think>" in text:  # a reasoning judge: only what follows its think block counts
        text = text.rsplit("</think>", 1)[1].strip()
    if not text.startswith("{"):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return ""
    return str(next((value[k] for k in keys if k in value), ""))


def parse_choice(text: str) -> str | None:
    """'equivalent' / 'different' from the judge's reply, or None when it is anything else (JSON
    `{"verdict": "..."}` is read too, for servers asked for JSON)."""
    said = _final_text(text, ("verdict",))
    m = _WORD.match(said) if said is not None else None
    if not m:
        return None
    word = m.group(1).lower()
    return word if word in CHOICES else None


_BRACKETED = re.compile(r"\[\[\s*(\d{1,2})\s*\]\]")
_BARE_SCORE = re.compile(r"^[\s\"'`*(\[]*(\d{1,2})\s*(?:/\s*10)?[\s\"'`*.)\]]*$")


def parse_score(text: str) -> str | None:
    """A rubric judge's score ("1".."10") from its reply, or None: the last `[[n]]` (MT-Bench's convention), a
    reply that is only a number (`7`, `7/10`), or JSON `{"score": n}`; after a think block, if any. Anything else,
    or a number out of range, is a judge error, never a guess."""
    text = _final_text(text, ("score", "rating"))
    if text is None:
        return None
    bracketed = _BRACKETED.findall(text)
    m = _BARE_SCORE.match(text)
    found = bracketed[-1] if bracketed else m.group(1) if m else None
    return found if found in SCORES else None
