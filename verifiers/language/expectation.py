"""Expectation: which language a prompt expects its completion in.

The expected language, in order: the problem text itself (`Prompt.problem`, answer-format instructions such as
"Please reason step by step, and put your final answer within \\boxed{}." removed, whatever language they are in)
when it holds enough prose to judge (`min_segment_chars` letters); else the prompt's own label
(`prompt.metadata["language"]`) or the recipe's `expected_language`; else the templated chat as a whole (for a
problem as short as "What is 345 + 278?" the recipe's instruction is all there is); else the trace's dominant one.
The problem is judged as one document: all its letters in its main script. A short problem (a dozen words) scores
several related languages closely; the label (the prompt's, else the recipe's) is taken when it is among them, and
without a label the trace's dominant language is taken when it is among them (a Spanish problem scores close to
Portuguese), else the best one. So the instruction sentence a recipe appends never decides the language: a short
French problem followed by an English instruction expects French. With `override_problem` the recipe's language is
expected whatever the problem is in (a recipe that asks for answers in one language).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from verifiers.language.scoring import KANJI_ONLY_MAX, Scored, Thresholds, language_label, score
from verifiers.prose import Segment, strip_instructions, weighted_letters
from verifiers.types import Prompt

_NAME = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Expectation:
    """What the prompt says about the expected language: candidates (best first) and where they came from."""

    languages: tuple[str, ...]
    source: str  # "prompt" (the problem), "prompt_language" (its label), "recipe", "template", or "trace"
    names: frozenset[str] = frozenset()  # capitalised words of the problem: names, not evidence of a language


def expect(prompt: Prompt, thresholds: Thresholds, recipe_language: str | None = None,
           override_problem: bool = False, deadline: float | None = None) -> Expectation:
    """The languages a prompt expects, best first, and where they came from (see the module docstring)."""
    problem = prompt.problem or ""
    names = frozenset(w for w in _NAME.findall(problem) if w[0].isupper())
    if override_problem and recipe_language:
        return Expectation((recipe_language,), "recipe", names)
    label = language_label(prompt.metadata.get("language")) if prompt.metadata else None
    prior, prior_source = (label, "prompt_language") if label else (recipe_language, "recipe")
    turns = [m.get("content", "") or "" for m in prompt.messages if m.get("role") in ("system", "user")]
    template = tuple(piece for turn in turns if problem.strip() and problem in turn for piece in turn.split(problem))
    # Without a problem text the user turn is the problem (with whatever instruction a dataset baked in).
    text = problem if problem.strip() else "\n".join(m.get("content", "") or "" for m in prompt.messages
                                                     if m.get("role") == "user")
    languages = prompt_languages(strip_instructions(text, template), thresholds, prior, deadline)
    if languages:
        return Expectation(languages, "prompt", names)
    if prior:
        return Expectation((prior,), prior_source, names)
    # A problem too short to judge ("What is 345 + 278?"): the templated turn as a whole, instruction included.
    languages = prompt_languages("\n".join(turns), thresholds, None, deadline)
    return Expectation(languages, "template" if languages else "trace", names)


def prompt_languages(text: str, thresholds: Thresholds, prior: str | None = None,
                     deadline: float | None = None) -> tuple[str, ...]:
    """Languages `text` may be in, best first: those within `min_margin` of the best; () if it cannot tell.

    The script holding most of the prompt's letters is judged as one document (a prompt is short, so its
    sentences together say more than each alone). Han without kana may be Chinese or Japanese. A `prior` (the
    prompt's label or the dataset's language) that scores within twice that margin of the best is the answer.
    """
    segments = thresholds.segments(text, "prompt", deadline)
    by_script: Counter[str] = Counter()
    for segment in segments:
        by_script[segment.script] += weighted_letters(segment.script, segment.letters)
    if not by_script:
        return ()
    script, weight = by_script.most_common(1)[0]
    if weight < thresholds.min_segment_chars:
        return ()
    letters = sum(s.letters for s in segments if s.script == script)
    if script == "han":
        return (prior,) if prior in ("zh", "ja") else ("zh", "ja")
    joined = " ".join(s.text for s in segments if s.script == script)
    item = score(Segment("prompt", script, joined, letters))
    if item.scores is None:
        return (item.label,) if item.label != "und" else ()
    best = item.scores[item.label]
    margin = thresholds.needed(letters)
    if prior in item.scores and item.scores[prior] >= best - 2 * margin:
        return (prior,)
    close = [lang for lang, value in item.scores.items() if value >= best - margin]
    return tuple(sorted(close, key=lambda lang: -item.scores[lang]))  # type: ignore[index]


def resolve(expectation: Expectation, scored: list[Scored], thresholds: Thresholds) -> tuple[str | None, str]:
    """The expected language and where it came from.

    The trace's dominant language is taken when the prompt cannot tell or allows it among close candidates;
    otherwise the prompt's best one, so a trace wholly in another language is a mismatch. A label (the
    prompt's or the recipe's) is taken as it is.
    """
    languages, source = expectation.languages, expectation.source
    if source in ("recipe", "prompt_language"):
        return languages[0], source
    letters: Counter[str] = Counter()
    for item in scored:
        if thresholds.judgeable(item.segment) and item.label != "und":
            japanese = item.segment.script == "han" and "ja" in languages[:1]
            japanese = japanese and item.segment.letters < KANJI_ONLY_MAX
            letters["ja" if japanese else item.label] += item.segment.letters
    dominant = letters.most_common(1)[0][0] if letters else None
    if not languages:
        return dominant, "trace"
    if dominant in languages:
        return dominant, source
    return languages[0], source
