"""Scoring: which language a run of prose is in. The one module that imports langdetect.

How a segment is labelled. Scripts that belong to one language decide alone: Hangul is Korean, Han with kana is
Japanese, Han alone is Chinese (or Japanese when Japanese is expected: kanji-only phrases cannot be told apart),
Greek, Hebrew, Thai... For scripts shared by several languages (Latin, Cyrillic, Arabic, Devanagari) the segment
is scored with langdetect's own model: its 55 language profiles and its n-gram normalisation, summing
log(p(n-gram | language) + smoothing) over all n-grams of the segment. That is the naive-Bayes score langdetect
estimates by random sampling; computing it exactly makes the result deterministic without a seed, and all segments
of a trace are scored in one vectorised sum.

Also here: the language codes (`normalize_language`, `known_languages`, `language_label`), the near twins one
sentence cannot tell apart (`TWINS`), the English-only words that settle a short English aside (`english_words`),
the thresholds a segment must meet to be judged (`Thresholds`), and `langdetect_whole_text`, langdetect itself run
(seeded) on a whole text: the baseline the benchmark compares with.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

from verifiers.prose import Segment, prose_segments, script_of, weighted_letters

_BLOCK_ROWS = 1 << 16  # n-grams gathered at once: 65,536 x 55 float32 is 14 MB
_SMOOTHING = 0.5 / 10_000  # langdetect's alpha / BASE_FREQ: the weight of an n-gram a profile never saw
SCRIPT_LANGUAGE = {"hangul": "ko", "kana": "ja", "han": "zh"}  # decided by script, no scoring needed
SHORT_LETTERS = 40  # below this many letters a segment needs min_margin * 40 / letters
# Japanese sentences carry kana; a Han-only run this long in Japanese text is taken for Chinese.
KANJI_ONLY_MAX = 6
_ALIASES = {"zh-cn": "zh", "zh-tw": "zh"}  # langdetect's two Chinese profiles are one language here
# Languages whose profiles one sentence cannot tell apart (measured on the fixtures: their clean sentences score
# each other within the margin); a sentence in one of them does not count as foreign to the other.
TWINS = ({"af", "nl"}, {"ca", "es", "pt"}, {"da", "no", "sv"}, {"cs", "sk"}, {"hr", "sl"}, {"bg", "mk"},
         {"ru", "uk"}, {"hi", "mr", "ne"}, {"fa", "ur"}, {"zh", "ja"})
# English words that are words in no other Latin-script language profiled here. langdetect's profiles come from
# encyclopedia text and score short English asides close to French or Danish ("let me double check this" ties
# French); three of these settle a sentence as English (two keep an English sentence from being called foreign).
ENGLISH = frozenset(
    "the this that these those with which what when where why how then than there their they them would should "
    "could let wait check verify again just maybe think need have has our each step once same both another because "
    "yes hmm actually number find value equals equal answer first second now some only into get got does doesn "
    "isn didn wasn make result sum times way other means since given gives know see look try not been being its "
    "calculate compute divided multiply multiplied subtract".split()
)


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


def load_profiles() -> None:
    """Load langdetect's profiles now (about a second, once per process), so no time bound pays for it."""
    _profiles()


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
class Scored:
    segment: Segment
    label: str  # best language, or the script's language
    scores: dict[str, float] | None = None  # language -> mean log-likelihood per n-gram (scored scripts only)


def score_all(segments: Sequence[Segment], deadline: float | None = None) -> list[Scored]:
    """Label segments: by their script when that names one language, else by langdetect's profiles (the scored
    segments gathered and summed in blocks of at most `_BLOCK_ROWS` n-grams, so memory stays bounded).

    With a `deadline` (a `time.monotonic()` value), checked between segments and blocks, `TimeoutError` is
    raised past it."""
    profiles = _profiles()
    out: list[Scored | None] = [None] * len(segments)
    pending: list[tuple[int, list[int], list[int]]] = []
    for i, segment in enumerate(segments):
        if deadline is not None and i % 64 == 0 and time.monotonic() > deadline:
            raise TimeoutError("language scoring ran out of time")
        if segment.script in SCRIPT_LANGUAGE:
            out[i] = Scored(segment, SCRIPT_LANGUAGE[segment.script])
            continue
        columns = profiles.by_script.get(segment.script, [])
        if len(columns) < 2:
            label = profiles.languages[columns[0]] if columns else f"script:{segment.script}"
            out[i] = Scored(segment, label)
            continue
        rows = [r for word in segment.text.split() for r in _word_rows(word)]
        if rows:
            pending.append((i, rows, columns))
        else:
            out[i] = Scored(segment, "und")
    for block in _blocks(pending):
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("language scoring ran out of time")
        starts = np.cumsum([0] + [len(rows) for _, rows, _ in block[:-1]])
        flat = np.fromiter((r for _, rows, _ in block for r in rows), dtype=np.int64)
        sums = np.add.reduceat(profiles.logp[flat], starts, axis=0)
        for (i, rows, columns), total in zip(block, sums):
            means = (total[columns] / len(rows)).tolist()
            scores = dict(zip((profiles.languages[c] for c in columns), means))  # scored scripts: no `zh` twins
            out[i] = Scored(segments[i], max(scores, key=scores.__getitem__), scores)
    return out  # type: ignore[return-value]


def _blocks(pending: list[tuple[int, list[int], list[int]]]) -> Iterator[list[tuple[int, list[int], list[int]]]]:
    """`pending` in consecutive blocks of about `_BLOCK_ROWS` n-grams (a segment is never split)."""
    block: list[tuple[int, list[int], list[int]]] = []
    size = 0
    for item in pending:
        if block and size + len(item[1]) > _BLOCK_ROWS:
            yield block
            block, size = [], 0
        block.append(item)
        size += len(item[1])
    if block:
        yield block


def score(segment: Segment) -> Scored:
    return score_all([segment])[0]


def twins(languages: frozenset[str]) -> frozenset[str]:
    """`languages` and their near twins."""
    out = set(languages)
    for group in TWINS:
        if group & languages:
            out |= group
    return frozenset(out)


def english_words(segment: Segment) -> int:
    """How many of the segment's words are English only (`ENGLISH`), if they make a third of its words."""
    if segment.script != "latin":
        return 0
    words = segment.text.lower().split()
    found = sum(w in ENGLISH for w in words)
    return found if 3 * found >= len(words) else 0


def langdetect_whole_text(text: str, seed: int = 0) -> str:
    """langdetect itself on a whole text, seeded (the benchmark's baseline); `und` when it finds no features."""
    detector = _profiles().factory.create()
    detector.seed = seed  # langdetect draws its n-gram samples from random.Random(seed)
    detector.append(text)
    try:
        return normalize_language(detector.detect())
    except LangDetectException:
        return "und"


@lru_cache(maxsize=1)
def known_languages() -> list[str]:
    """Codes accepted for `expected_language` and `also_allowed` (langdetect's profiles, Chinese as `zh`)."""
    import os

    return sorted({normalize_language(name) for name in os.listdir(PROFILES_DIRECTORY)})


def language_label(value: Any) -> str | None:
    """A per-prompt language label ("fr", "pt-BR", "zh_Hans") as one of our codes, or None if it names none."""
    if not isinstance(value, str) or not value.strip():
        return None
    code = normalize_language(value)
    known = known_languages()
    for candidate in (code, code.split("-")[0]):
        if candidate in known:
            return candidate
    return None



@dataclass(frozen=True)
class Thresholds:
    """How prose is cut and when a label counts, shared by the expectation and the verdict (recipe params)."""

    min_segment_chars: int  # letters a segment needs to be judged (ideographs count 3)
    max_segment_chars: int  # longer segments are cut, so one detection costs a bounded amount
    min_margin: float  # nats per n-gram by which one language must beat another

    def segments(self, text: str, part: str, deadline: float | None = None) -> list[Segment]:
        return prose_segments(text, part, min_letters=self.min_segment_chars, max_letters=self.max_segment_chars,
                              deadline=deadline)

    def judgeable(self, segment: Segment) -> bool:
        return weighted_letters(segment.script, segment.letters) >= self.min_segment_chars

    def needed(self, letters: int) -> float:
        """Nats per n-gram by which a language must beat another: more for short texts, which are noisy."""
        return self.min_margin * max(1.0, SHORT_LETTERS / max(letters, 1))
