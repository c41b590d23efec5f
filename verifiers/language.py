"""Language consistency: the reasoning and the answer must be in the prompt's language (R1's SFT filter).

`LanguageVerifier` finds the expected language (see below), cuts the completion into prose segments
(`verifiers.prose`: formulas, numbers, code and identifiers removed, one segment per sentence and script, short
sentences merged), drops the proper names the problem uses, labels each segment, and weighs the labels by letters.
It rejects with

- `language_mismatch` when the reasoning or the answer is as a whole (`mismatch_share` of its prose letters or
  more) in languages other than the expected ones;
- `language_mixing` when `max_other_share` or more of the trace's prose letters are in another language (scope
  `trace`), or when any one sentence or line of `min_sentence_letters` letters or more is confidently in another
  language, whatever its share (scope `sentence`): one sentence of another language in the middle of the reasoning
  is the mixing R1 filtered out, however long the trace around it.

Details carry `expected`, where it came from (`expected_from`), the letter shares per language (`shares`, with
`und` for prose that could not be judged), `other_share`, the scope that failed, and for mixing the first foreign
sentence as written (`sentence`) with its language (`sentence_language`).

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

How a segment is labelled. Scripts that belong to one language decide alone: Hangul is Korean, Han with kana is
Japanese, Han alone is Chinese (or Japanese when Japanese is expected: kanji-only phrases cannot be told apart),
Greek, Hebrew, Thai... For scripts shared by several languages (Latin, Cyrillic, Arabic, Devanagari) the segment
is scored with langdetect's own model: its 55 language profiles and its n-gram normalisation, summing
log(p(n-gram | language) + smoothing) over all n-grams of the segment. That is the naive-Bayes score langdetect
estimates by random sampling; computing it exactly makes the result deterministic without a seed, and all segments
of a trace are scored in one vectorised sum. A segment counts as another language only when it is long enough
(`min_segment_chars` letters; ideographs count 3) and that language beats every expected one by `min_margin` nats
per n-gram (more for short segments); otherwise it is `und`: counted as prose, not held against the trace (a short
English aside that langdetect cannot tell from Danish is not mixing). In a script the expected language does not
use (Latin inside Chinese), a segment is foreign once it has three distinct words of three or more letters, so
variables and names are not. English asides are also known by their words: langdetect's encyclopedia profiles
score "let me double check this" as close to French as to English, so three words that are English in no other
Latin-script language (`_ENGLISH`: "the", "this", "check", "wait", ...) making a third of a sentence settle it as
English (two keep an English sentence from being called foreign). The sentence rule does not count a language that is a near twin of an expected one
(`_TWINS`: Dutch/Afrikaans, Spanish/Catalan/Portuguese, the Scandinavian languages, Czech/Slovak, ...): on one
sentence their profiles are too close to call; the share rule still counts them. Cost is bounded: segments are cut
at `max_segment_chars` letters, and at most `max_segments` of those needing a score, evenly spaced over the trace,
are scored (past that a trace is sampled, so a lone foreign sentence in a very long trace may be missed).

`langdetect_whole_text` runs langdetect itself (seeded) on a whole text: the baseline the benchmark compares with.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

from verifiers.types import Completion, Prompt, Verdict, split_think
from verifiers.base import Verifier
from verifiers.prose import Segment, prose_segments, script_of, strip_instructions, weighted_letters

_SMOOTHING = 0.5 / 10_000  # langdetect's alpha / BASE_FREQ: the weight of an n-gram a profile never saw
_SCRIPT_LANGUAGE = {"hangul": "ko", "kana": "ja", "han": "zh"}  # decided by script, no scoring needed
_SHORT_LETTERS = 40  # below this many letters a segment needs min_margin * 40 / letters
# Japanese sentences carry kana; a Han-only run this long in Japanese text is taken for Chinese.
_KANJI_ONLY_MAX = 6
_ALIASES = {"zh-cn": "zh", "zh-tw": "zh"}  # langdetect's two Chinese profiles are one language here
# Languages whose profiles one sentence cannot tell apart (measured on the fixtures: their clean sentences score
# each other within the margin); a sentence in one of them does not count as foreign to the other.
_TWINS = ({"af", "nl"}, {"ca", "es", "pt"}, {"da", "no", "sv"}, {"cs", "sk"}, {"hr", "sl"}, {"bg", "mk"},
          {"ru", "uk"}, {"hi", "mr", "ne"}, {"fa", "ur"}, {"zh", "ja"})
# English words that are words in no other Latin-script language profiled here. langdetect's profiles come from
# encyclopedia text and score short English asides close to French or Danish ("let me double check this" ties
# French); three of these settle a sentence as English (two keep an English sentence from being called foreign).
_ENGLISH = frozenset(
    "the this that these those with which what when where why how then than there their they them would should "
    "could let wait check verify again just maybe think need have has our each step once same both another because "
    "yes hmm actually number find value equals equal answer first second now some only into get got does doesn "
    "isn didn wasn make result sum times way other means since given gives know see look try not been being its "
    "calculate compute divided multiply multiplied subtract".split()
)
_DETAIL_CHARS = 200
_NAME = re.compile(r"[^\W\d_]{2,}")


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


def _score_all(segments: Sequence[Segment]) -> list[_Scored]:
    """Label segments: by their script when that names one language, else by langdetect's profiles (all the
    scored segments in one gather and one segmented sum)."""
    profiles = _profiles()
    out: list[_Scored | None] = [None] * len(segments)
    pending: list[tuple[int, list[int], list[int]]] = []
    for i, segment in enumerate(segments):
        if segment.script in _SCRIPT_LANGUAGE:
            out[i] = _Scored(segment, _SCRIPT_LANGUAGE[segment.script])
            continue
        columns = profiles.by_script.get(segment.script, [])
        if len(columns) < 2:
            label = profiles.languages[columns[0]] if columns else f"script:{segment.script}"
            out[i] = _Scored(segment, label)
            continue
        rows = [r for word in segment.text.split() for r in _word_rows(word)]
        if rows:
            pending.append((i, rows, columns))
        else:
            out[i] = _Scored(segment, "und")
    if pending:
        starts = np.cumsum([0] + [len(rows) for _, rows, _ in pending[:-1]])
        flat = np.fromiter((r for _, rows, _ in pending for r in rows), dtype=np.int64)
        sums = np.add.reduceat(profiles.logp[flat], starts, axis=0)
        for (i, rows, columns), total in zip(pending, sums):
            means = (total[columns] / len(rows)).tolist()
            scores = dict(zip((profiles.languages[c] for c in columns), means))  # scored scripts: no `zh` twins
            out[i] = _Scored(segments[i], max(scores, key=scores.__getitem__), scores)
    return out  # type: ignore[return-value]


def _score(segment: Segment) -> _Scored:
    return _score_all([segment])[0]


def _evenly_spaced(items: list[Any], limit: int) -> list[Any]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def _twins(languages: frozenset[str]) -> frozenset[str]:
    """`languages` and their near twins."""
    out = set(languages)
    for group in _TWINS:
        if group & languages:
            out |= group
    return frozenset(out)


def _english_words(segment: Segment) -> int:
    """How many of the segment's words are English only (`_ENGLISH`), if they make a third of its words."""
    if segment.script != "latin":
        return 0
    words = segment.text.lower().split()
    found = sum(w in _ENGLISH for w in words)
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


@dataclass(frozen=True)
class _Expectation:
    """What the prompt says about the expected language: candidates (best first) and where they came from."""

    languages: tuple[str, ...]
    source: str  # "prompt" (the problem), "prompt_language" (its label), "recipe", "template", or "trace"
    names: frozenset[str] = frozenset()  # capitalised words of the problem: names, not evidence of a language


class LanguageVerifier(Verifier):
    """Reject traces whose prose is not in the expected language (`language_mismatch`) or mixes in another one
    (`language_mixing`). See the module docstring for how the expected language is found and segments are judged.

    Parameters (recipe `params`), defaults calibrated with `python -m factory.bench.language`:
    - expected_language: a langdetect code (`en`, `zh`, `fr`, ...): the dataset's language, used when the problem
      holds too little prose to judge and as the tie-breaker when a short problem scores it close to the best;
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
    - max_segments (2000): at most this many scored segments, evenly spaced over the trace, are judged (a
      ~4,000-character trace has 50-70, a 32k-token one about 1,500; segments labelled by script alone are free
      and always counted).
    """

    name = "language"
    version = "2"  # 2: expected language from the problem first (instructions never decide), the sentence rule

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

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        expectation = self.expectation(prompt)
        return [self._judge(expectation, c.text) for c in completions]

    # -- the expected language ------------------------------------------------------------------------------

    def expectation(self, prompt: Prompt) -> _Expectation:
        """The languages a prompt expects, best first, and where they came from (see the module docstring)."""
        problem = prompt.problem or ""
        names = frozenset(w for w in _NAME.findall(problem) if w[0].isupper())
        if self.override_problem and self.expected_language:
            return _Expectation((self.expected_language,), "recipe", names)
        label = language_label(prompt.metadata.get("language")) if prompt.metadata else None
        prior, prior_source = (label, "prompt_language") if label else (self.expected_language, "recipe")
        turns = [m.get("content", "") or "" for m in prompt.messages if m.get("role") in ("system", "user")]
        template = tuple(piece for turn in turns if problem.strip() and problem in turn for piece in turn.split(problem))
        # Without a problem text the user turn is the problem (with whatever instruction a dataset baked in).
        text = problem if problem.strip() else "\n".join(m.get("content", "") or "" for m in prompt.messages
                                                         if m.get("role") == "user")
        languages = self.prompt_languages(strip_instructions(text, template), prior)
        if languages:
            return _Expectation(languages, "prompt", names)
        if prior:
            return _Expectation((prior,), prior_source, names)
        # A problem too short to judge ("What is 345 + 278?"): the templated turn as a whole, instruction included.
        languages = self.prompt_languages("\n".join(turns))
        return _Expectation(languages, "template" if languages else "trace", names)

    def prompt_languages(self, text: str, prior: str | None = None) -> tuple[str, ...]:
        """Languages `text` may be in, best first: those within `min_margin` of the best; () if it cannot tell.

        The script holding most of the prompt's letters is judged as one document (a prompt is short, so its
        sentences together say more than each alone). Han without kana may be Chinese or Japanese. A `prior` (the
        prompt's label or the dataset's language) that scores within twice that margin of the best is the answer.
        """
        segments = self._segments(text, "prompt")
        by_script: Counter[str] = Counter()
        for segment in segments:
            by_script[segment.script] += weighted_letters(segment.script, segment.letters)
        if not by_script:
            return ()
        script, weight = by_script.most_common(1)[0]
        if weight < self.min_segment_chars:
            return ()
        letters = sum(s.letters for s in segments if s.script == script)
        if script == "han":
            return (prior,) if prior in ("zh", "ja") else ("zh", "ja")
        joined = " ".join(s.text for s in segments if s.script == script)
        item = _score(Segment("prompt", script, joined, letters))
        if item.scores is None:
            return (item.label,) if item.label != "und" else ()
        best = item.scores[item.label]
        margin = self._needed(letters)
        if prior in item.scores and item.scores[prior] >= best - 2 * margin:
            return (prior,)
        close = [lang for lang, value in item.scores.items() if value >= best - margin]
        return tuple(sorted(close, key=lambda lang: -item.scores[lang]))  # type: ignore[index]

    def _expected(self, expectation: _Expectation, scored: list[_Scored]) -> tuple[str | None, str]:
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
            if self._judgeable(item.segment) and item.label != "und":
                japanese = item.segment.script == "han" and "ja" in languages[:1]
                japanese = japanese and item.segment.letters < _KANJI_ONLY_MAX
                letters["ja" if japanese else item.label] += item.segment.letters
        dominant = letters.most_common(1)[0][0] if letters else None
        if not languages:
            return dominant, "trace"
        if dominant in languages:
            return dominant, source
        return languages[0], source

    # -- segments -------------------------------------------------------------------------------------------

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

    def _judgeable(self, segment: Segment) -> bool:
        return weighted_letters(segment.script, segment.letters) >= self.min_segment_chars

    def _needed(self, letters: int) -> float:
        """Nats per n-gram by which a language must beat another: more for short texts, which are noisy."""
        return self.min_margin * max(1.0, _SHORT_LETTERS / max(letters, 1))

    def _label(self, item: _Scored, allowed: frozenset[str]) -> str:
        """The segment's language if it is allowed or confidently foreign, else `und` (not held against it)."""
        if not self._judgeable(item.segment) or item.label == "und":
            return "und"
        if item.segment.script == "han" and "ja" in allowed and item.segment.letters < _KANJI_ONLY_MAX:
            return "ja"  # a short kanji-only phrase in Japanese text cannot be told from Chinese
        if item.label in allowed or item.scores is None:
            return item.label
        english = _english_words(item.segment)
        if english >= 2 and "en" in allowed:
            return "en"
        if english >= 3 and item.segment.script == "latin":
            return "en"
        # Short segments are noisy ("So for some integer" scores Danish): they need a proportionally wider margin.
        needed = self._needed(item.segment.letters)
        rivals = [item.scores[lang] for lang in allowed if lang in item.scores]
        if not rivals:
            # A script the expected language does not use (Latin in Chinese text) is foreign prose if it has
            # words: variables, units and names ("ab Python ab", "AM GM") do not make three distinct words.
            words = {w for w in item.segment.text.split() if len(w) >= 3}
            return item.label if len(words) >= 3 else "und"
        if item.scores[item.label] - max(rivals) >= needed:
            return item.label
        return "und"

    def _foreign_sentence(self, item: _Scored, label: str, allowed: frozenset[str]) -> bool:
        """Whether this segment alone rejects the trace: one whole sentence (not short ones merged), long enough,
        and confidently in a language that is not a near twin of an allowed one."""
        segment = item.segment
        if not self.min_sentence_letters or segment.sentences != 1 or label == "und" or label in allowed:
            return False
        if weighted_letters(segment.script, segment.letters) < self.min_sentence_letters:
            return False
        if item.scores is None or label == "en" and _english_words(segment) >= 3:
            return label not in _twins(allowed)
        # The best language outside the allowed ones and their twins must itself beat every allowed one.
        twins = _twins(allowed)
        outside = [lang for lang in item.scores if lang not in twins]
        rivals = [item.scores[lang] for lang in allowed if lang in item.scores]
        if not outside:
            return False
        best = max(outside, key=item.scores.__getitem__)
        return not rivals or item.scores[best] - max(rivals) >= self._needed(segment.letters)

    # -- the verdict ----------------------------------------------------------------------------------------

    def _judge(self, expectation: _Expectation, text: str) -> Verdict:
        split = split_think(text)
        parts = {"reasoning": split.reasoning, "answer": split.answer}
        segments = [self._without_names(s, expectation.names) for p, t in parts.items() for s in self._segments(t, p)]
        scored = _score_all(self._bounded(segments))
        expected, source = self._expected(expectation, scored)
        if expected is None:
            return Verdict.accept(self.name, expected=None, expected_from=source, prose_letters=0)
        allowed = self.also_allowed | {expected}
        by_part: dict[str, Counter[str]] = {"reasoning": Counter(), "answer": Counter()}
        foreign: tuple[_Scored, str] | None = None
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
