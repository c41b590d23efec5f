"""Language consistency: the reasoning and the answer must be in the prompt's language (R1's SFT filter).

`LanguageVerifier` finds the expected language (the recipe's `expected_language`, else the prompt's, else the
trace's own dominant one), cuts the completion into prose segments (`verifiers.prose`: formulas, numbers, code and
identifiers removed, one segment per sentence and script, short sentences merged), labels each segment, and weighs
the labels by letters. It rejects with

- `language_mismatch` when the reasoning or the answer is as a whole (`mismatch_share` of its prose letters or
  more) in languages other than the expected ones;
- `language_mixing` when `max_other_share` or more of the trace's prose letters are in another language.

Details carry `expected`, where it came from, the letter shares per language (`shares`, with `und` for prose that
could not be judged), `other_share`, and the scope that failed.

How a segment is labelled. Scripts that belong to one language decide alone: Hangul is Korean, Han with kana is
Japanese, Han alone is Chinese (or Japanese when Japanese is expected: kanji-only phrases cannot be told apart),
Greek, Hebrew, Thai... For scripts shared by several languages (Latin, Cyrillic, Arabic, Devanagari) the segment
is scored with langdetect's own model: its 55 language profiles and its n-gram normalisation, summing
log(p(n-gram | language) + smoothing) over all n-grams of the segment. That is the naive-Bayes score langdetect
estimates by random sampling; computing it exactly makes the result deterministic without a seed and costs one
vectorised sum per segment instead of 7 random trials. A segment counts as another language only when it is
long enough (`min_segment_chars` letters; ideographs count 3) and that language beats every expected one by
`min_margin` nats per n-gram (more for short segments); otherwise it is `und`: counted as prose, not held against
the trace (a short English aside that langdetect cannot tell from Danish is not mixing). In a script the expected
language does not use (Latin inside Chinese), a segment is foreign once it has three distinct words of three or
more letters, so variables and names are not. Cost is bounded: segments are cut at `max_segment_chars` letters,
and at most `max_segments` of those needing a score, evenly spaced over the trace, are scored.

`langdetect_whole_text` runs langdetect itself (seeded) on a whole text: the baseline the benchmark compares with.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

from verifiers.types import Completion, Prompt, Verdict, split_think
from verifiers.base import Verifier
from verifiers.prose import Segment, prose_segments, script_of, weighted_letters

_SMOOTHING = 0.5 / 10_000  # langdetect's alpha / BASE_FREQ: the weight of an n-gram a profile never saw
_SCRIPT_LANGUAGE = {"hangul": "ko", "kana": "ja", "han": "zh"}  # decided by script, no scoring needed
_SHORT_LETTERS = 40  # below this many letters a segment needs min_margin * 40 / letters
# Japanese sentences carry kana; a Han-only run this long in Japanese text is taken for Chinese.
_KANJI_ONLY_MAX = 6
_ALIASES = {"zh-cn": "zh", "zh-tw": "zh"}  # langdetect's two Chinese profiles are one language here


def normalize_language(code: str) -> str:
    """Our name of a language: langdetect's code, with both Chinese profiles folded into `zh`."""
    code = code.strip().lower().replace("_", "-")
    return _ALIASES.get(code, code)


class _Profiles:
    """langdetect's profiles as a matrix: one row of log-probabilities per n-gram, one column per language."""

    def __init__(self) -> None:
        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        self.factory = factory
        order = sorted(range(len(factory.langlist)), key=lambda i: factory.langlist[i])
        self.languages = [normalize_language(factory.langlist[i]) for i in order]
        self.row: dict[str, int] = {}
        rows = []
        for ngram, probs in factory.word_lang_prob_map.items():
            self.row[ngram] = len(rows)
            rows.append([probs[i] for i in order])
        self.logp = np.log(np.asarray(rows, dtype=np.float64) + _SMOOTHING).astype(np.float32)
        self.by_script = self._languages_by_script(factory.word_lang_prob_map, order)

    def _languages_by_script(self, table: dict[str, list[float]], order: list[int]) -> dict[str, list[int]]:
        """Column indices of the languages whose letters are mostly in each script (from their 1-grams)."""
        mass: dict[int, Counter[str]] = {col: Counter() for col in range(len(order))}
        for ngram, probs in table.items():
            if len(ngram) == 1 and ngram.isalpha():
                script = script_of(ngram)
                for col, i in enumerate(order):
                    mass[col][script] += probs[i]
        by_script: dict[str, list[int]] = {}
        for col, counter in mass.items():
            by_script.setdefault(counter.most_common(1)[0][0], []).append(col)
        return by_script


_PROFILES: _Profiles | None = None
_LOCK = threading.Lock()


def _profiles() -> _Profiles:
    """Load the profiles once per process (about a second), on first use rather than at import."""
    global _PROFILES
    with _LOCK:
        if _PROFILES is None:
            _PROFILES = _Profiles()
        return _PROFILES


@lru_cache(maxsize=1 << 16)
def _word_rows(word: str) -> tuple[int, ...]:
    """Profile rows of the 1-, 2- and 3-grams of one word, as langdetect's `NGram` would emit them."""
    table = _profiles().row
    chars = "".join(NGram.normalize(c) for c in NGram.normalize_vi(word))
    if any(a.isupper() and b.isupper() for a, b in zip(chars, chars[1:])):
        return ()  # langdetect skips all-capital words (acronyms)
    padded = f" {chars} "
    grams = [padded[i : i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1)]
    return tuple(table[g] for g in grams if g.strip() and g in table)


@dataclass
class _Scored:
    segment: Segment
    label: str  # best language, or the script's language
    scores: dict[str, float] | None = None  # language -> mean log-likelihood per n-gram (scored scripts only)


def _score(segment: Segment) -> _Scored:
    """Label one segment: by its script when that names one language, else by langdetect's profiles."""
    if segment.script in _SCRIPT_LANGUAGE:
        return _Scored(segment, _SCRIPT_LANGUAGE[segment.script])
    profiles = _profiles()
    columns = profiles.by_script.get(segment.script, [])
    if len(columns) < 2:
        label = profiles.languages[columns[0]] if columns else f"script:{segment.script}"
        return _Scored(segment, label)
    rows = [r for word in segment.text.split() for r in _word_rows(word)]
    if not rows:
        return _Scored(segment, "und")
    means = (profiles.logp[rows].sum(axis=0) / len(rows))[columns].tolist()
    scores = dict(zip((profiles.languages[c] for c in columns), means))  # scored scripts hold no `zh` twins
    return _Scored(segment, max(scores, key=scores.__getitem__), scores)


def _evenly_spaced(items: list[Any], limit: int) -> list[Any]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def langdetect_whole_text(text: str, seed: int = 0) -> str:
    """langdetect itself on a whole text, seeded (the benchmark's baseline); `und` when it finds no features."""
    detector = _profiles().factory.create()
    detector.seed = seed  # langdetect draws its n-gram samples from random.Random(seed)
    detector.append(text)
    try:
        return normalize_language(detector.detect())
    except LangDetectException:
        return "und"


def known_languages() -> list[str]:
    """Codes accepted for `expected_language` and `also_allowed` (langdetect's profiles, Chinese as `zh`)."""
    import os

    return sorted({normalize_language(name) for name in os.listdir(PROFILES_DIRECTORY)})


class LanguageVerifier(Verifier):
    """Reject traces whose prose is not in the expected language (`language_mismatch`) or mixes in another one
    (`language_mixing`). See the module docstring for how segments are judged.

    Parameters (recipe `params`), defaults calibrated with `python -m factory.bench.language`:
    - expected_language: a langdetect code (`en`, `zh`, `fr`, ...); None = the prompt's language (its problem
      text, else its templated user turn), or the trace's dominant one when neither has enough prose to tell.
    - also_allowed: further languages never counted as foreign (e.g. `[en]` to tolerate English terms).
    - max_other_share (0.08): reject as mixing when this share of the trace's prose letters or more is foreign.
      A little under the 10% we aim to catch: the measured share of a 10% mix runs up to ~12% low (foreign words
      lost with formulas, short or close-to-call sentences left `und`); clean traces measure 0-2%.
    - mismatch_share (0.9): reject as mismatch when the reasoning or the answer is this foreign or more.
    - min_segment_chars (12): letters a segment needs to be judged (ideographs count 3); shorter ones are `und`.
    - min_margin (0.15): nats per n-gram by which a foreign language must beat every expected one; a segment
      of fewer than 40 letters needs min_margin * 40 / letters (short English scores Danish or Welsh easily).
    - max_segment_chars (300): longer segments are cut, so one detection costs a bounded amount.
    - max_segments (96): at most this many scored segments, evenly spaced over the trace, are judged (a
      ~4,000-character trace has 50-70; segments labelled by script alone are free and always counted).
    """

    name = "language"
    version = "1"

    def __init__(
        self,
        expected_language: str | None = None,
        also_allowed: Sequence[str] = (),
        max_other_share: float = 0.08,
        mismatch_share: float = 0.9,
        min_segment_chars: int = 12,
        min_margin: float = 0.15,
        max_segment_chars: int = 300,
        max_segments: int = 96,
    ) -> None:
        known = set(known_languages())
        wanted = [expected_language] if expected_language else []
        for code in [*wanted, *also_allowed]:
            if normalize_language(code) not in known:
                raise ValueError(f"unknown language '{code}' (known: {', '.join(sorted(known))})")
        if not 0 < max_other_share <= mismatch_share <= 1:
            raise ValueError("need 0 < max_other_share <= mismatch_share <= 1")
        self.expected_language = normalize_language(expected_language) if expected_language else None
        self.also_allowed = frozenset(normalize_language(c) for c in also_allowed)
        self.max_other_share = max_other_share
        self.mismatch_share = mismatch_share
        self.min_segment_chars = min_segment_chars
        self.min_margin = min_margin
        self.max_segment_chars = max_segment_chars
        self.max_segments = max_segments

    def verify(self, prompt: Prompt, completion: Completion) -> Verdict:
        return self.verify_batch(prompt, [completion])[0]

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        prompt_languages: tuple[str, ...] = ()
        if not self.expected_language:
            # The problem decides; when it is mostly formula, the templated user turn (its instruction) does.
            user_turns = [m.get("content", "") for m in prompt.messages if m.get("role") == "user"]
            for text in [prompt.problem, *user_turns]:
                prompt_languages = prompt_languages or self.prompt_languages(text)
        return [self._judge(prompt_languages, c.text) for c in completions]

    def _segments(self, text: str, part: str) -> list[Segment]:
        return prose_segments(
            text, part, min_letters=self.min_segment_chars, max_letters=self.max_segment_chars
        )

    def _bounded(self, segments: list[Segment]) -> list[Segment]:
        """All segments whose script names their language (free to label), and at most `max_segments` of those
        that need scoring, evenly spaced so that a long trace is sampled from end to end."""
        needs_scoring = [s for s in segments if s.script not in _SCRIPT_LANGUAGE and self._judgeable(s)]
        if len(needs_scoring) <= self.max_segments:
            return segments
        kept = {id(s) for s in _evenly_spaced(needs_scoring, self.max_segments)}
        dropped = {id(s) for s in needs_scoring} - kept
        return [s for s in segments if id(s) not in dropped]

    def _judgeable(self, segment: Segment) -> bool:
        return weighted_letters(segment.script, segment.letters) >= self.min_segment_chars

    def prompt_languages(self, text: str) -> tuple[str, ...]:
        """Languages `text` may be in, best first: those within `min_margin` of the best; () if it cannot tell.

        The script holding most of the prompt's letters is judged as one document (a prompt is short, so its
        sentences together say more than each alone). Han without kana may be Chinese or Japanese.
        """
        segments = self._segments(text, "prompt")
        by_script: Counter[str] = Counter()
        for segment in segments:
            by_script[segment.script] += segment.letters
        if not by_script:
            return ()
        script, letters = by_script.most_common(1)[0]
        if weighted_letters(script, letters) < self.min_segment_chars:
            return ()
        if script == "han":
            return ("zh", "ja")
        joined = " ".join(s.text for s in segments if s.script == script)
        item = _score(Segment("prompt", script, joined, letters))
        if item.scores is None:
            return (item.label,) if item.label != "und" else ()
        best = item.scores[item.label]
        close = [lang for lang, value in item.scores.items() if value >= best - self.min_margin]
        return tuple(sorted(close, key=lambda lang: -item.scores[lang]))  # type: ignore[index]

    def _expected(self, prompt_languages: tuple[str, ...], scored: list[_Scored]) -> tuple[str | None, str]:
        """The expected language and where it came from: the recipe, the prompt, or the trace itself.

        The trace's dominant language is taken when the prompt cannot tell or allows it (a Spanish prompt scores
        close to Portuguese); otherwise the prompt's best one, so a trace wholly in another language is a mismatch.
        """
        if self.expected_language:
            return self.expected_language, "recipe"
        letters: Counter[str] = Counter()
        for item in scored:
            if self._judgeable(item.segment) and item.label != "und":
                japanese = item.segment.script == "han" and "ja" in prompt_languages[:1]
                japanese = japanese and item.segment.letters < _KANJI_ONLY_MAX
                letters["ja" if japanese else item.label] += item.segment.letters
        dominant = letters.most_common(1)[0][0] if letters else None
        if not prompt_languages:
            return dominant, "trace"
        if dominant in prompt_languages:
            return dominant, "prompt"
        return prompt_languages[0], "prompt"

    def _label(self, item: _Scored, allowed: frozenset[str]) -> str:
        """The segment's language if it is allowed or confidently foreign, else `und` (not held against it)."""
        if not self._judgeable(item.segment) or item.label == "und":
            return "und"
        if item.segment.script == "han" and "ja" in allowed and item.segment.letters < _KANJI_ONLY_MAX:
            return "ja"  # a short kanji-only phrase in Japanese text cannot be told from Chinese
        if item.label in allowed or item.scores is None:
            return item.label
        # Short segments are noisy ("So for some integer" scores Danish): they need a proportionally wider margin.
        needed = self.min_margin * max(1.0, _SHORT_LETTERS / item.segment.letters)
        rivals = [item.scores[lang] for lang in allowed if lang in item.scores]
        if not rivals:
            # A script the expected language does not use (Latin in Chinese text) is foreign prose if it has
            # words: variables, units and names ("ab Python ab", "AM GM") do not make three distinct words.
            words = {w for w in item.segment.text.split() if len(w) >= 3}
            return item.label if len(words) >= 3 else "und"
        if item.scores[item.label] - max(rivals) >= needed:
            return item.label
        return "und"

    def _judge(self, prompt_languages: tuple[str, ...], text: str) -> Verdict:
        split = split_think(text)
        segments = self._segments(split.reasoning, "reasoning") + self._segments(split.answer, "answer")
        scored = [_score(s) for s in self._bounded(segments)]
        expected, source = self._expected(prompt_languages, scored)
        if expected is None:
            return Verdict.accept(self.name, expected=None, expected_from=source, prose_letters=0)
        allowed = self.also_allowed | {expected}
        by_part: dict[str, Counter[str]] = {"reasoning": Counter(), "answer": Counter()}
        for item in scored:
            by_part[item.segment.part][self._label(item, allowed)] += item.segment.letters
        details = {"expected": expected, "expected_from": source}
        details.update(self._shares(by_part["reasoning"] + by_part["answer"], allowed))
        for part, counts in by_part.items():
            part_shares = self._shares(counts, allowed)
            if part_shares["other_share"] >= self.mismatch_share:
                return Verdict.reject(self.name, "language_mismatch", **{**details, **part_shares, "scope": part})
        if details["other_share"] >= self.max_other_share:
            return Verdict.reject(self.name, "language_mixing", **details, scope="trace")
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
