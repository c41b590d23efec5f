"""The judge's prompt rendered for one ordered pair of answers, and the judge's reply read strictly.

The template (the recipe's `judge.template`, checked when the recipe loads; the shipped `data/judge/equivalence.txt`
is modelled on the public answer-equivalence prompts of OpenAI's simple-evals and open-r1's math judge) holds
`{problem}`, `{first}` and `{second}`; the two answers are put in one order and then in the other, so a judge that
prefers whichever answer comes first cannot accept alone. The judge must answer with one of `CHOICES`;
`parse_choice` is strict (one word, case and surrounding punctuation ignored), anything else is a judge error,
never a guess.
"""

from __future__ import annotations

import json
import re

from factory.recipe import Judge

CHOICES = ("equivalent", "different")


def load_template(template: str = "equivalence") -> str:
    """The text of a judge template: a shipped name or a file (checked as a recipe checks it)."""
    return Judge(template=template).template_text()


def render(template: str, problem: str, first: str, second: str) -> tuple[dict[str, str], ...]:
    """The chat sent to the judge: one user turn."""
    return ({"role": "user", "content": template.format(problem=problem.strip(), first=first.strip(),
                                                        second=second.strip())},)


_WORD = re.compile(r"^[\s\"'`*(\[]*([A-Za-z_]+)[\s\"'`*.)\]!]*$")


def parse_choice(text: str) -> str | None:
    """'equivalent' / 'different' from the judge's reply, or None when it is anything else (JSON
    `{"verdict": "..."}` is read too, for servers asked for JSON)."""
    text = (text or "").strip()
    if "</think>" in text:  # a reasoning judge: only what follows its think block counts
        text = text.rsplit("</think>", 1)[1].strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        text = str(value.get("verdict", "")) if isinstance(value, dict) else ""
    m = _WORD.match(text)
    if not m:
        return None
    word = m.group(1).lower()
    return word if word in CHOICES else None
