"""The `language` verifier: the reasoning and the answer must be in the prompt's language (R1's SFT filter).

`LanguageVerifier` finds the expected language (`verifiers.language.expectation`), cuts the completion into prose
segments (`verifiers.prose`: formulas, numbers, code and identifiers removed, one segment per sentence and script,
short sentences merged), drops the proper names the problem uses, labels each segment
(`verifiers.language.scoring`), and weighs the labels by letters. It rejects with

- `language_mismatch` when the reasoning or the answer is as a whole (`mismatch_share` of its prose letters or
  more) in languages other than the expected ones;
- `language_mixing` when `max_other_share` or more of the trace's prose letters are in another language (scope
  `trace`), or when any one sentence or line of `min_sentence_letters` letters or more is confidently in another
  language, whatever its share (scope `sentence`): one sentence of another language in the middle of the reasoning
  is the mixing R1 filtered out, however long the trace around it.

Details carry `expected`, where it came from (`expected_from`), the letter shares per language (`shares`, with
`und` for prose that could not be judged), `other_share`, the scope that failed, and for mixing the first foreign
sentence as written (`sentence`) with its language (`sentence_language`).

A segment counts as another language only when it is long enough (`min_segment_chars` letters; ideographs count 3)
and that language beats every expected one by `min_margin` nats per n-gram (more for short segments); otherwise it
is `und`: counted as prose, not held against the trace (a short English aside that langdetect cannot tell from
Danish is not mixing). In a script the expected language does not use (Latin inside Chinese), a segment is foreign
once it has three distinct words of three or more letters, so variables and names are not. English asides are also
known by their words: langdetect's encyclopedia profiles score "let me double check this" as close to French as to
English, so three words that are English in no other Latin-script language (`ENGLISH`: "the", "this", "check",
"wait", ...) making a third of a sentence settle it as English (two keep an English sentence from being called
foreign). The sentence rule does not count a language that is a near twin of an expected one (`TWINS`:
Dutch/Afrikaans, Spanish/Catalan/Portuguese, the Scandinavian languages, Czech/Slovak, ...): on one sentence their
profiles are too close to call; the share rule still counts them. Cost is bounded: segments are cut at
`max_segment_chars` letters, and at most `max_segments` of those needing a score, evenly spaced over the trace, are
scored (past that a trace is sampled, so a lone foreign sentence in a very long trace may be missed).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from typing import Any, Sequence

from verifiers.base import Verifier
from verifiers.language.expectation import Expectation, expect, prompt_languages, resolve
from verifiers.language.scoring import (KANJI_ONLY_MAX, SCRIPT_LANGUAGE, Scored, Thresholds, english_words,
                                        known_languages, load_profiles, normalize_language, score_all, twins)
from verifiers.prose import Segment, weighted_letters
from verifiers.types import Completion, Prompt, Verdict, split_think

_DETAIL_CHARS = 200


def _int_param(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float_param(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return float(value)



def _evenly_spaced(items: list[Any], limit: int) -> list[Any]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]



class LanguageVerifier(Verifier):
    """Reject traces whose prose is not in the expected language (`language_mismatch`) or mixes in another one
    (`language_mixing`). See the module docstring for how the expected language is found and segments are judged.

    Parameters (recipe `params`), defaults calibrated with `python -m factory.bench.language`:
    - expected_language: a langdetect code (`en`, `zh`, `fr`, ...): the dataset's language, used when the problem
      cannot decide (no words, or close candidates of several families) and taken when a problem scores it within
      twice the margin of the best;
      None = no dataset language (the prompt's label `metadata["language"]`, if any, plays that role per prompt).
    - override_problem (False): expect `expected_language` whatever the problem's language.
    - also_allowed: further languages never counted as foreign (e.g. `[en]` to tolerate English terms).
    - max_other_share (0.08): reject as mixing when this share of the trace's prose letters or more is foreign.
      A little under the 10% we aim to catch: the measured share of a 10% mix runs up to ~12% low (foreign words
      lost with formulas, short or close-to-call sentences left `und`); clean traces measure 0-2%.
    - mismatch_share (0.9): reject as mismatch when the reasoning or the answer is this foreign or more.
    - min_sentence_letters (16; 0 = off): one sentence or line of prose with this many letters (ideographs count
      3; names, numbers, formulas and code not counted) that is confidently foreign rejects the trace as mixing.
      Between min_segment_chars and 10,000. Shorter asides ("Bon, okay", "Voilà") are left to the share rule.
    - min_segment_chars (12): letters a segment needs to be judged (ideographs count 3); shorter ones are `und`.
    - min_margin (0.15): nats per n-gram by which a foreign language must beat every expected one; a segment
      of fewer than 40 letters needs min_margin * 40 / letters (short English scores Danish or Welsh easily).
    - max_segment_chars (300): longer segments are cut, so one detection costs a bounded amount.
    - max_seconds (2.0): wall-clock bound of one verdict (and of the prompt's expectation); past it the
      verdict is a `timeout` rejection. A 4,000-character trace takes a few ms; 100 KB of anything 0.1-1 s.
    - max_segments (2000): at most this many scored segments, evenly spaced over the trace, are judged (a
      ~4,000-character trace has 50-70, a 32k-token one about 1,500; segments labelled by script alone are free
      and always counted).
    """

    name = "language"
    version = "3"  # 2: expected language from the problem first (instructions never decide), the sentence rule;
    # 3: linear scans with a wall-clock bound (`timeout`), short problems decided by the problem alone

    def __init__(
        self,
        expected_language: str | None = None,
        also_allowed: Sequence[str] = (),
        max_other_share: float = 0.08,
        mismatch_share: float = 0.9,
        min_segment_chars: int = 12,
        min_margin: float = 0.15,
        max_segment_chars: int = 300,
        max_segments: int = 2000,
        min_sentence_letters: int = 16,
        override_problem: bool = False,
        max_seconds: float = 2.0,
    ) -> None:
        if expected_language is not None and not isinstance(expected_language, str):
            raise TypeError(f"expected_language must be a language code or null, got {expected_language!r}")
        if not isinstance(also_allowed, (list, tuple, set, frozenset)) or not all(isinstance(c, str) for c in also_allowed):
            raise TypeError(f"also_allowed must be a list of language codes, got {also_allowed!r}")
        known = set(known_languages())
        wanted = [expected_language] if expected_language else []
        for code in [*wanted, *also_allowed]:
            if normalize_language(code) not in known:
                raise ValueError(f"unknown language '{code}' (known: {', '.join(sorted(known))})")
        self.max_other_share = _float_param("max_other_share", max_other_share, 0.0, 1.0)
        self.mismatch_share = _float_param("mismatch_share", mismatch_share, 0.0, 1.0)
        if not 0 < max_other_share <= mismatch_share <= 1:
            raise ValueError("need 0 < max_other_share <= mismatch_share <= 1")
        if not isinstance(override_problem, bool):
            raise TypeError(f"override_problem must be true or false, got {override_problem!r}")
        if override_problem and not expected_language:
            raise ValueError("override_problem needs an expected_language")
        self.expected_language = normalize_language(expected_language) if expected_language else None
        self.also_allowed = frozenset(normalize_language(c) for c in also_allowed)
        self.override_problem = override_problem
        self.min_segment_chars = _int_param("min_segment_chars", min_segment_chars, 1, 1000)
        self.min_margin = _float_param("min_margin", min_margin, 0.0, 10.0)
        self.max_segment_chars = _int_param("max_segment_chars", max_segment_chars, min_segment_chars, 100_000)
        self.max_segments = _int_param("max_segments", max_segments, 1, 1_000_000)
        self.min_sentence_letters = _int_param("min_sentence_letters", min_sentence_letters, 0, 10_000)
        if 0 < min_sentence_letters < min_segment_chars:
            raise ValueError(f"min_sentence_letters must be 0 (off) or at least min_segment_chars ({min_segment_chars})")
        self.thresholds = Thresholds(self.min_segment_chars, self.max_segment_chars, self.min_margin)
        self.max_seconds = _float_param("max_seconds", max_seconds, 0.001, 600.0)

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        """One verdict per completion. Each is bounded by `max_seconds` of wall-clock time (the prompt's own
        expectation by another `max_seconds`, once): every scan is linear and checks a deadline between sentences
        and scoring blocks, so past it the verdict is a `timeout` rejection, with no signal and no thread."""
        load_profiles()  # once per process, before any clock starts
        try:
            expectation = self.expectation(prompt, time.monotonic() + self.max_seconds)
        except TimeoutError:
            return [self._timeout("prompt") for _ in completions]
        verdicts = []
        for completion in completions:
            try:
                verdicts.append(self._judge(expectation, completion.text, time.monotonic() + self.max_seconds))
            except TimeoutError:
                verdicts.append(self._timeout("completion"))
        return verdicts

    def _timeout(self, scope: str) -> Verdict:
        return Verdict.reject(self.name, "timeout", limit_s=self.max_seconds, scope=scope)

    # -- the expected language ------------------------------------------------------------------------------

    def expectation(self, prompt: Prompt, deadline: float | None = None) -> Expectation:
        """The languages a prompt expects, best first, and where they came from (`expectation.expect`)."""
        return expect(prompt, self.thresholds, self.expected_language, self.override_problem, deadline)

    def prompt_languages(self, text: str, prior: str | None = None) -> tuple[str, ...]:
        """Languages `text` may be in, best first (`expectation.prompt_languages`)."""
        return prompt_languages(text, self.thresholds, prior)

    # -- segments -------------------------------------------------------------------------------------------

    def _bounded(self, segments: list[Segment]) -> list[Segment]:
        """All segments whose script names their language (free to label), and at most `max_segments` of those
        that need scoring, evenly spaced so that a long trace is sampled from end to end."""
        needs_scoring = [s for s in segments if s.script not in SCRIPT_LANGUAGE and self.thresholds.judgeable(s)]
        if len(needs_scoring) <= self.max_segments:
            return segments
        kept = {id(s) for s in _evenly_spaced(needs_scoring, self.max_segments)}
        dropped = {id(s) for s in needs_scoring} - kept
        return [s for s in segments if id(s) not in dropped]

    @staticmethod
    def _without_names(segment: Segment, names: frozenset[str]) -> Segment:
        """The segment without the problem's capitalised words (names: "Marie", "Lisa"), which say nothing about
        the language a trace is written in."""
        if not names or segment.script in ("han", "kana"):
            return segment
        words = segment.text.split()
        kept = [w for w in words if w not in names]
        if len(kept) == len(words):
            return segment
        return replace(segment, text=" ".join(kept), letters=sum(map(len, kept)))

    def _label(self, item: Scored, allowed: frozenset[str]) -> str:
        """The segment's language if it is allowed or confidently foreign, else `und` (not held against it)."""
        if not self.thresholds.judgeable(item.segment) or item.label == "und":
            return "und"
        if item.segment.script == "han" and "ja" in allowed and item.segment.letters < KANJI_ONLY_MAX:
            return "ja"  # a short kanji-only phrase in Japanese text cannot be told from Chinese
        if item.label in allowed or item.scores is None:
            return item.label
        english = english_words(item.segment)
        if english >= 2 and "en" in allowed:
            return "en"
        if english >= 3 and item.segment.script == "latin":
            return "en"
        # Short segments are noisy ("So for some integer" scores Danish): they need a proportionally wider margin.
        needed = self.thresholds.needed(item.segment.letters)
        rivals = [item.scores[lang] for lang in allowed if lang in item.scores]
        if not rivals:
            # A script the expected language does not use (Latin in Chinese text) is foreign prose if it has
            # words: variables, units and names ("ab Python ab", "AM GM") do not make three distinct words.
            words = {w for w in item.segment.text.split() if len(w) >= 3}
            return item.label if len(words) >= 3 else "und"
        if item.scores[item.label] - max(rivals) >= needed:
            return item.label
        return "und"

    def _foreign_sentence(self, item: Scored, label: str, allowed: frozenset[str]) -> bool:
        """Whether this segment alone rejects the trace: one whole sentence (not short ones merged), long enough,
        and confidently in a language that is not a near twin of an allowed one."""
        segment = item.segment
        if not self.min_sentence_letters or segment.sentences != 1 or label == "und" or label in allowed:
            return False
        if weighted_letters(segment.script, segment.letters) < self.min_sentence_letters:
            return False
        if item.scores is None or label == "en" and english_words(segment) >= 3:
            return label not in twins(allowed)
        # The best language outside the allowed ones and their twins must itself beat every allowed one.
        near = twins(allowed)
        outside = [lang for lang in item.scores if lang not in near]
        rivals = [item.scores[lang] for lang in allowed if lang in item.scores]
        if not outside:
            return False
        best = max(outside, key=item.scores.__getitem__)
        return not rivals or item.scores[best] - max(rivals) >= self.thresholds.needed(segment.letters)

    # -- the verdict ----------------------------------------------------------------------------------------

    def _judge(self, expectation: Expectation, text: str, deadline: float | None = None) -> Verdict:
        split = split_think(text)
        parts = {"reasoning": split.reasoning, "answer": split.answer}
        segments = [self._without_names(s, expectation.names)
                    for p, t in parts.items() for s in self.thresholds.segments(t, p, deadline)]
        scored = score_all(self._bounded(segments), deadline)
        expected, source = resolve(expectation, scored, self.thresholds)
        if expected is None:
            return Verdict.accept(self.name, expected=None, expected_from=source, prose_letters=0)
        allowed = self.also_allowed | {expected}
        by_part: dict[str, Counter[str]] = {"reasoning": Counter(), "answer": Counter()}
        foreign: tuple[Scored, str] | None = None
        for item in scored:
            label = self._label(item, allowed)
            by_part[item.segment.part][label] += item.segment.letters
            if foreign is None and self._foreign_sentence(item, label, allowed):
                foreign = (item, label)
        details: dict[str, Any] = {"expected": expected, "expected_from": source}
        details.update(self._shares(by_part["reasoning"] + by_part["answer"], allowed))
        for part, counts in by_part.items():
            part_shares = self._shares(counts, allowed)
            if part_shares["other_share"] >= self.mismatch_share:
                return Verdict.reject(self.name, "language_mismatch", **{**details, **part_shares, "scope": part})
        if foreign is not None:
            item, label = foreign
            sentence = " ".join(parts[item.segment.part][item.segment.start : item.segment.end].split())
            details.update(sentence=sentence[:_DETAIL_CHARS], sentence_language=label, sentence_part=item.segment.part)
        if details["other_share"] >= self.max_other_share:
            return Verdict.reject(self.name, "language_mixing", **details, scope="trace")
        if foreign is not None:
            return Verdict.reject(self.name, "language_mixing", **details, scope="sentence")
        return Verdict.accept(self.name, **details)

    @staticmethod
    def _shares(counts: Counter[str], allowed: frozenset[str]) -> dict[str, Any]:
        """Letter shares per language (`und`: prose too short or too close to call) and the foreign share."""
        total = sum(counts.values())
        other = sum(n for lang, n in counts.items() if lang not in allowed and lang != "und")
        return {
            "prose_letters": total,
            "other_share": round(other / total, 4) if total else 0.0,
            "shares": {lang: round(n / total, 4) for lang, n in counts.most_common()} if total else {},
        }
