"""Expectation: which language a prompt expects its completion in.

The problem decides, from its own text (`Prompt.problem`, answer-format instructions such as "Please reason step
by step, and put your final answer within \\boxed{}." removed, whatever language they are in), judged as one
document (all its letters in its main script) from 4 letters on, with a margin that widens as it gets shorter:
- candidates of one family (one language, or near twins such as Spanish, Catalan and Portuguese): expected from
  the `prompt`; the trace's own language among them is taken, else the best;
- candidates of several families, as a problem of three words yields ("Quanto fa 811 + 458?" scores Italian,
  Portuguese, Spanish, Catalan and English close): the prompt's label (`prompt.metadata["language"]`) or the
  recipe's `expected_language` decides if there is one (`prompt_language`, `recipe`); else
  (`problem_or_instruction`) a trace wholly in one of the candidates is taken in it, so the instruction's language
  is accepted when the problem may be in it too and never for a problem that rules it out (a Cyrillic one); a
  trace that also holds the problem's best candidate, even in sentences too short to judge alone, expects that one
  and the rest is foreign (mixing);
- no words at all ("$3 + 4 = ?$"): the label or the recipe's language, else the instruction's (`template`), else
  the trace's dominant one (`trace`).
A label scored within twice the margin of the best is the one candidate; against a problem of enough prose
(`min_segment_chars` letters) that rules it out, the problem's candidates stand. The instruction a recipe appends
never decides for a problem that can. With `override_problem` the recipe's language
is expected whatever the problem is in (a recipe that asks for answers in one language).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from verifiers.language.scoring import KANJI_ONLY_MAX, Scored, Thresholds, language_label, score, twins
from verifiers.prose import Segment, strip_instructions, weighted_letters
from verifiers.types import Prompt

_NAME = re.compile(r"[^\W\d_]{2,}")
# A prompt with fewer letters than this says nothing about its language ("Tom?", "x + y"). From this on it is scored,
# with a margin that widens as it gets shorter (`Thresholds.needed`), so a short one yields several candidates.
_MIN_PROMPT_LETTERS = 4
_MAX_PROMPT_CHARS = 20_000  # a problem's language is clear long before this; the scoring of one document is bounded


@dataclass(frozen=True)
class Expectation:
    """What the prompt says about the expected language: candidates (best first) and where they came from."""

    languages: tuple[str, ...]
    source: str  # "prompt" (the problem), "prompt_language" (its label), "recipe", "problem_or_instruction" (a
    # problem too short to decide: the languages it plausibly is, then the instruction's), "template", or "trace"
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
    problem_text = strip_instructions(text, template)
    judged = _prompt_languages(problem_text, thresholds, prior, deadline)
    languages = judged.languages
    if languages and (_one_family(languages) or prior and judged.weight >= thresholds.min_segment_chars):
        return Expectation(languages, "prompt", names)
    if prior:  # the prompt's label or the dataset's language decides what the problem cannot
        return Expectation((prior,), prior_source, names)
    if languages:
        # A problem that cannot decide ("Quanti soldi?" scores Italian, Catalan, Indonesian close): a trace wholly
        # in one of the languages it plausibly is. The instruction's language is one of them only when the problem
        # may be in it too ("Quanto fa 811 + 458?" may be English; a Cyrillic or Thai problem never is).
        return Expectation(languages, "problem_or_instruction", names)
    # A problem with no words ("$3 + 4$"): the instruction (what the templated turns hold besides the problem's
    # words) is all the prompt says.
    problem_words = set(problem_text.split())
    instruction = " ".join(w for w in "\n".join(turns).split() if w not in problem_words)
    said = prompt_languages(instruction, thresholds, None, deadline)[:1]
    return Expectation(said, "template" if said else "trace", names)


def _one_family(languages: tuple[str, ...]) -> bool:
    """Whether the candidates are one language or its near twins (Spanish, Catalan, Portuguese): the problem has
    decided, and the trace's own language among them is taken."""
    return set(languages) <= twins(frozenset(languages[:1]))


def prompt_languages(text: str, thresholds: Thresholds, prior: str | None = None,
                     deadline: float | None = None) -> tuple[str, ...]:
    """Languages `text` may be in, best first: those within the margin of the best; () if it cannot tell.

    The script holding most of the prompt's letters is judged as one document (a prompt is short, so its
    sentences together say more than each alone), from 4 letters on, with a margin that widens as the text gets
    shorter (`Thresholds.needed`). Han without kana may be Chinese or Japanese. A `prior` (the prompt's label or
    the dataset's language) that scores within twice that margin of the best is the answer.
    """
    return _prompt_languages(text, thresholds, prior, deadline).languages


@dataclass(frozen=True)
class _Judged:
    languages: tuple[str, ...]  # candidates, best first
    weight: int = 0  # weighted letters judged


def _prompt_languages(text: str, thresholds: Thresholds, prior: str | None, deadline: float | None) -> _Judged:
    """`prompt_languages`, with the letters and scores it judged on."""
    segments = thresholds.segments(text[:_MAX_PROMPT_CHARS], "prompt", deadline)
    by_script: Counter[str] = Counter()
    for segment in segments:
        by_script[segment.script] += weighted_letters(segment.script, segment.letters)
    if not by_script:
        return _Judged(())
    script, weight = by_script.most_common(1)[0]
    if weight < _MIN_PROMPT_LETTERS:
        return _Judged((), weight)
    letters = sum(s.letters for s in segments if s.script == script)
    if script == "han":
        return _Judged((prior,) if prior in ("zh", "ja") else ("zh", "ja"), weight)
    joined = " ".join(s.text for s in segments if s.script == script)
    item = score(Segment("prompt", script, joined, letters))
    if item.scores is None:
        return _Judged((item.label,) if item.label != "und" else (), weight)
    best = item.scores[item.label]
    margin = thresholds.needed(letters)
    if prior in item.scores and item.scores[prior] >= best - 2 * margin:
        return _Judged((prior,), weight)
    close = [lang for lang, value in item.scores.items() if value >= best - margin]
    ranked = tuple(sorted(close, key=lambda lang: -item.scores[lang]))  # type: ignore[index]
    return _Judged(ranked, weight)


def resolve(expectation: Expectation, scored: list[Scored], thresholds: Thresholds) -> tuple[str | None, str]:
    """The expected language and where it came from.

    The trace's dominant language is taken when the prompt cannot tell or allows it among close candidates;
    otherwise the prompt's best one, so a trace wholly in another language is a mismatch. A label (the
    prompt's or the recipe's) is taken as it is. For a problem that cannot decide, a trace is taken in another
    candidate than the problem's best only when it is wholly in it: when the best one is also present, even in
    sentences too short to judge alone (pooled), it is expected, and the other language is foreign (mixing).
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
        if source == "problem_or_instruction" and dominant != languages[0]:
            if letters[languages[0]] >= thresholds.min_segment_chars or _in_short_pieces(languages[0], scored, thresholds):
                return languages[0], source
        return dominant, source
    return languages[0], source


def _in_short_pieces(language: str, scored: list[Scored], thresholds: Thresholds) -> bool:
    """Whether the trace's pieces too short to judge alone ("We add 345 and 278.", "So the sum is 623."), pooled by
    script into one text, are in `language` and hold enough letters to say so."""
    pools: dict[str, list[Segment]] = {}
    for item in scored:
        if not thresholds.judgeable(item.segment) and item.segment.letters > 1:
            pools.setdefault(item.segment.script, []).append(item.segment)
    for script, pieces in pools.items():
        letters = sum(p.letters for p in pieces)
        if weighted_letters(script, letters) < thresholds.min_segment_chars:
            continue
        pooled = score(Segment("pool", script, " ".join(p.text for p in pieces), letters))
        if pooled.label == language:
            return True
    return False
