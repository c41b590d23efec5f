"""LanguageVerifier on hand-written multilingual traces (tests/verifiers/fixtures/lang) and mixtures of them."""

from __future__ import annotations

import random

import pytest

from factory.bench.language import (insert_sentence, language_of, letters, load_fixtures, long_trace, mix, near,
                                    prose_sentences)
from verifiers.types import Completion, Prompt
from verifiers.language import LanguageVerifier, langdetect_whole_text
from verifiers.registry import create_verifier

FIXTURES = {f.language: f for f in load_fixtures()}
TEMPLATE = "\nPlease reason step by step, and put your final answer within \\boxed{}."
REJECTIONS = {"language_mixing", "language_mismatch"}


def prompt_for(problem: str) -> Prompt:
    return Prompt("p", ({"role": "user", "content": problem + TEMPLATE},), problem, "0")


def judge(verifier: LanguageVerifier, problem: str, text: str):
    return verifier.verify(prompt_for(problem), Completion("p", 0, text))


def test_registry_builds_it() -> None:
    assert isinstance(create_verifier("language"), LanguageVerifier)


def test_fixtures_cover_the_languages_the_issue_names() -> None:
    languages = {language_of(f) for f in FIXTURES.values()}
    assert {"en", "zh", "fr", "de", "es", "ru", "ja", "ko"} <= languages
    assert len(languages) >= 14


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_single_language_trace_is_accepted(verifier: LanguageVerifier, name: str) -> None:
    fixture = FIXTURES[name]
    verdict = judge(verifier, fixture.problem, fixture.completion)
    assert verdict.accepted, verdict
    assert verdict.details["expected"] == language_of(fixture)
    assert verdict.details["expected_from"] == "prompt"
    assert verdict.details["other_share"] < 0.02
    assert abs(sum(verdict.details["shares"].values()) - 1) < 1e-3


@pytest.mark.parametrize("name", ["en_math", "en_r1"])
def test_math_heavy_english_is_not_taken_for_another_language(verifier: LanguageVerifier, name: str) -> None:
    verdict = judge(verifier, FIXTURES[name].problem, long_trace(FIXTURES[name].completion, 8000))
    assert verdict.accepted and verdict.details["other_share"] == 0.0, verdict


def test_formula_only_trace_and_prompt_are_accepted(verifier: LanguageVerifier) -> None:
    text = "<think>\n$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\\[ 3 \\cdot \\tfrac13 = 1 \\]\nf(x) = x^2, x_1 = 0\n</think>\n\n$\\boxed{1}$"
    verdict = verifier.verify(Prompt("p", (), "$3\\int_0^1 x^2 dx$", "1"), Completion("p", 0, text))
    assert verdict.accepted and verdict.details["prose_letters"] == 0


HOSTS = ["en", "en_r1", "zh", "fr", "de", "es", "ru", "ja", "ko", "ar", "hi"]
GUESTS = ["en", "zh", "fr", "de", "es", "ru", "ja", "ko"]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("length", ["short", "long"])
def test_another_language_in_ten_percent_of_the_prose_is_rejected(
    verifier: LanguageVerifier, host: str, length: str
) -> None:
    rng = random.Random(f"{host}-{length}")
    base = FIXTURES[host].completion if length == "short" else long_trace(FIXTURES[host].completion)
    missed = []
    for guest in GUESTS:
        if guest == language_of(FIXTURES[host]):
            continue
        text, share = mix(base, prose_sentences(FIXTURES[guest].completion, min_letters=20), 0.10, rng, True)
        assert share >= 0.10
        verdict = judge(verifier, FIXTURES[host].problem, text)
        if verdict.reason not in REJECTIONS:
            missed.append((guest, round(share, 3), verdict.details))
        elif verdict.reason == "language_mixing":
            assert verdict.details["shares"].get(guest, 0) > 0.05, verdict.details
    assert not missed


# Until version 2 whole foreign sentences up to 3% of the letters were accepted here; one foreign sentence is now
# mixing whatever its share (issue 16), so what stays accepted is a few foreign words, too short to be a sentence.
ASIDES = {"en": ["Okay.", "Good."], "fr": ["Bon.", "Voilà."], "de": ["Also gut.", "Genau."], "es": ["Bueno.", "Vale."],
          "ru": ["Итак.", "Хорошо."], "zh": ["好。"], "ja": ["よし。"], "ko": ["좋아."]}


@pytest.mark.parametrize("host", HOSTS)
def test_a_few_foreign_words_are_accepted(verifier: LanguageVerifier, host: str) -> None:
    rng = random.Random(host)
    base = long_trace(FIXTURES[host].completion)
    for guest, words in ASIDES.items():
        if guest == language_of(FIXTURES[host]):
            continue
        text, share = mix(base, words, 0.03, rng, reach=False)
        verdict = judge(verifier, FIXTURES[host].problem, text)
        assert verdict.accepted, (guest, share, verdict.details)


@pytest.mark.parametrize("host", HOSTS)
def test_one_foreign_sentence_under_the_share_threshold_is_mixing(verifier: LanguageVerifier, host: str) -> None:
    rng = random.Random(host)
    base = long_trace(FIXTURES[host].completion)
    for guest in GUESTS:
        if near(guest, language_of(FIXTURES[host])):  # Chinese in Japanese is left to the share rule
            continue
        shortest = 8 if guest in ("zh", "ja", "ko") else 24  # an ideograph or syllable weighs about 3 letters
        sentences = [s for s in prose_sentences(FIXTURES[guest].completion, min_letters=shortest) if letters(s) <= 70]
        text, share = insert_sentence(base, rng.choice(sentences), rng)
        assert share < 0.04
        verdict = judge(verifier, FIXTURES[host].problem, text)
        assert verdict.reason == "language_mixing" and verdict.details["scope"] == "sentence", (guest, share, verdict)
        assert verdict.details["sentence"] in " ".join(text.split())


TINY = (
    "<think>\nWe add 345 and 278. {middle} 4 + 7 + 1 = 12, write 2 carry 1. 3 + 2 + 1 = 6. So the sum is 623.\n"
    "</think>\n\nThe answer is \\boxed{{623}}."
)


@pytest.mark.parametrize(
    "sentence",
    [
        "Nous additionnons les unités et nous retenons une dizaine.",
        "Zuerst addieren wir die Einer und merken uns den Übertrag.",
        "个位相加得十三，写三进一。",
        "Сначала складываем единицы и запоминаем перенос.",
    ],
)
def test_one_foreign_sentence_in_a_short_tiny_teacher_trace_is_mixing(
    verifier: LanguageVerifier, sentence: str
) -> None:
    verdict = judge(verifier, "What is 345 + 278?", TINY.format(middle=sentence))
    assert verdict.reason == "language_mixing", verdict
    assert verdict.details["expected"] == "en"


def test_the_clean_tiny_teacher_trace_is_accepted(verifier: LanguageVerifier) -> None:
    verdict = judge(verifier, "What is 345 + 278?", TINY.format(middle="5 + 8 = 13, write 3 carry 1."))
    assert verdict.accepted, verdict


def test_whole_trace_in_another_language_is_a_mismatch(verifier: LanguageVerifier) -> None:
    verdict = judge(verifier, FIXTURES["en"].problem, FIXTURES["fr"].completion)
    assert verdict.reason == "language_mismatch" and verdict.details["scope"] == "reasoning"
    assert verdict.details["expected"] == "en" and verdict.details["shares"]["fr"] > 0.9


def test_answer_in_another_language_is_a_mismatch(verifier: LanguageVerifier) -> None:
    english = FIXTURES["en"].completion.split("</think>")[0]
    text = english + "</think>\n\n第一块地产120千克，第二块地产240千克，第三块地产195千克，所以一共收获555千克小麦。"
    verdict = judge(verifier, FIXTURES["en"].problem, text)
    assert verdict.reason == "language_mismatch" and verdict.details["scope"] == "answer"


def test_recipe_language_decides_only_what_the_problem_cannot() -> None:
    # Until version 2 the recipe's language overrode the problem; the problem now comes first (issue 16), and the
    # old behaviour is `override_problem`.
    fixture = FIXTURES["fr"]
    assert LanguageVerifier(expected_language="fr").verify(prompt_for("Add 2 and 3."), Completion("p", 0, fixture.completion)).accepted
    verdict = LanguageVerifier(expected_language="en").verify(prompt_for(fixture.problem), Completion("p", 0, fixture.completion))
    assert verdict.accepted and verdict.details["expected"] == "fr" and verdict.details["expected_from"] == "prompt"
    forced = LanguageVerifier(expected_language="en", override_problem=True)
    verdict = forced.verify(prompt_for(fixture.problem), Completion("p", 0, fixture.completion))
    assert verdict.reason == "language_mismatch" and verdict.details["expected_from"] == "recipe"


def test_also_allowed_tolerates_a_second_language() -> None:
    text, _ = mix(FIXTURES["zh"].completion, prose_sentences(FIXTURES["en"].completion), 0.2, random.Random(0), True)
    zh = FIXTURES["zh"].problem
    assert LanguageVerifier().verify(prompt_for(zh), Completion("p", 0, text)).reason == "language_mixing"
    assert LanguageVerifier(also_allowed=["en"]).verify(prompt_for(zh), Completion("p", 0, text)).accepted


def test_chinese_profiles_fold_into_one_language() -> None:
    assert LanguageVerifier(expected_language="zh-TW").expected_language == "zh"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'klingon'"):
        LanguageVerifier(expected_language="klingon")


def test_short_foreign_words_are_not_held_against_a_trace(verifier: LanguageVerifier) -> None:
    text = FIXTURES["en"].completion.replace("Everything is consistent", "Voilà, everything is consistent")
    text = text.replace("Okay, let me", "Bon, okay, let me")
    assert judge(verifier, FIXTURES["en"].problem, text).accepted


def test_verdicts_are_deterministic() -> None:
    text, _ = mix(long_trace(FIXTURES["de"].completion), prose_sentences(FIXTURES["fr"].completion), 0.1, random.Random(3), True)
    first = LanguageVerifier().verify(prompt_for(FIXTURES["de"].problem), Completion("p", 0, text))
    again = LanguageVerifier().verify(prompt_for(FIXTURES["de"].problem), Completion("p", 0, text))
    assert first == again
    assert langdetect_whole_text(text) == langdetect_whole_text(text) == "de"


def test_batch_matches_single(verifier: LanguageVerifier) -> None:
    fixture = FIXTURES["ko"]
    completions = [Completion("p", i, t) for i, t in enumerate([fixture.completion, FIXTURES["ja"].completion])]
    batch = verifier.verify_batch(prompt_for(fixture.problem), completions)
    assert batch == [verifier.verify(prompt_for(fixture.problem), c) for c in completions]
    assert [v.accepted for v in batch] == [True, False]


def test_very_long_trace_is_sampled_not_refused(verifier: LanguageVerifier) -> None:
    text = long_trace(FIXTURES["en"].completion, 200_000)
    verdict = judge(verifier, FIXTURES["en"].problem, text)
    assert verdict.accepted and verdict.details["prose_letters"] > 0
