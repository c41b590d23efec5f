"""Short problems in many Latin-script languages with the recipe's English instruction appended (issue 16).

The fixtures (tests/verifiers/fixtures/lang_short) are our own: about a dozen words of problem in 14 languages and
English, each with a correct trace written wholly in the problem's language.
"""

from __future__ import annotations

import pytest

from factory.bench.language import (INSTRUCTION, SHORT_FIXTURES, language_of, load_fixtures, long_trace, near,
                                    prose_sentences, templated)
from verifiers.language import LanguageVerifier
from verifiers.prose import strip_instructions
from verifiers.types import THINK_CLOSE, Completion, Prompt, split_think

SHORT = {f.language: f for f in load_fixtures(SHORT_FIXTURES)}
LANGUAGES = sorted({language_of(f) for f in SHORT.values()})
# One sentence of another language, as R1 traces switch: English asides, and a sentence of each other language.
ASIDES = {
    "en": ["Wait, let me double-check this calculation once more.", "Hmm, so the total should still be correct here.",
           "Let me verify this result with another method."],
    "zh": ["让我再检查一下这个计算是否正确。"],
    "ru": ["Давайте ещё раз проверим это вычисление."],
}


def judge(verifier: LanguageVerifier, prompt: Prompt, text: str):
    return verifier.verify(prompt, Completion(prompt.prompt_id, 0, text))


def with_sentence(completion: str, sentence: str) -> str:
    """`sentence` on its own line in the middle of the reasoning."""
    split = split_think(completion)
    lines = split.reasoning.split("\n")
    lines.insert(len(lines) // 2, sentence)
    return "<think>\n" + "\n".join(lines) + f"\n{THINK_CLOSE}\n\n{split.answer}"


def foreign_sentences(host: str) -> dict[str, list[str]]:
    pool = {lang: list(sentences) for lang, sentences in ASIDES.items()}
    for fixture in SHORT.values():
        pool.setdefault(language_of(fixture), []).extend(prose_sentences(fixture.completion, min_letters=24))
    return {lang: s for lang, s in pool.items() if not near(lang, host) and s}


def test_fixtures_cover_enough_latin_script_languages() -> None:
    assert len(set(LANGUAGES) - {"en"}) >= 8
    for fixture in SHORT.values():
        assert len(fixture.problem.split()) <= 18  # short: about a dozen words


@pytest.mark.parametrize("name", sorted(SHORT))
@pytest.mark.parametrize("form", ["template", "baked", "turn"])
def test_correct_trace_in_the_problems_language_is_accepted(verifier: LanguageVerifier, name: str, form: str) -> None:
    fixture = SHORT[name]
    verdict = judge(verifier, templated(fixture.problem, form), fixture.completion)
    assert verdict.accepted, verdict
    assert verdict.details["expected"] == language_of(fixture) and verdict.details["expected_from"] == "prompt"


@pytest.mark.parametrize("name", sorted(SHORT))
def test_one_foreign_sentence_is_mixing(verifier: LanguageVerifier, name: str) -> None:
    fixture = SHORT[name]
    missed = []
    for guest, sentences in sorted(foreign_sentences(language_of(fixture)).items()):
        sentence = max(sentences, key=len)
        verdict = judge(verifier, templated(fixture.problem), with_sentence(fixture.completion, sentence))
        if verdict.reason != "language_mixing":
            missed.append((guest, sentence, verdict.details))
        else:
            assert verdict.details["sentence"] == " ".join(sentence.split()), verdict.details
            assert verdict.details["other_share"] < 0.4
    assert not missed


@pytest.mark.parametrize("name", ["fr_1", "de_2", "pl_1", "tr_1", "en_1"])
def test_one_english_aside_is_mixing_and_named(verifier: LanguageVerifier, name: str) -> None:
    fixture = SHORT[name]
    aside = "Wait, let me double-check this calculation once more." if not name.startswith("en") else \
        "Attends, je vérifie encore une fois ce calcul."
    verdict = judge(verifier, templated(fixture.problem), with_sentence(fixture.completion, aside))
    assert verdict.reason == "language_mixing", verdict
    assert verdict.details["sentence"] == aside  # scope "trace" here: in a trace this short it is 8% or more
    long = with_sentence(long_trace(fixture.completion), aside)
    verdict = judge(verifier, templated(fixture.problem), long)
    assert verdict.reason == "language_mixing" and verdict.details["scope"] == "sentence", verdict
    assert verdict.details["sentence_part"] == "reasoning" and verdict.details["sentence_language"] != language_of(fixture)


def test_trace_wholly_in_another_language_is_still_a_mismatch(verifier: LanguageVerifier) -> None:
    verdict = judge(verifier, templated(SHORT["fr_1"].problem), SHORT["de_1"].completion)
    assert verdict.reason == "language_mismatch" and verdict.details["expected"] == "fr"
    verdict = judge(verifier, templated(SHORT["it_1"].problem), SHORT["en_1"].completion)
    assert verdict.reason == "language_mismatch" and verdict.details["expected"] == "it"


@pytest.mark.parametrize("language", ["fr", "de", "es", "pl"])
def test_an_english_dataset_language_does_not_override_a_problem_it_can_judge(language: str) -> None:
    fixture = SHORT[f"{language}_1"]
    verdict = judge(LanguageVerifier(expected_language="en"), templated(fixture.problem), fixture.completion)
    assert verdict.accepted and verdict.details["expected"] == language, verdict


def test_the_dataset_language_decides_a_problem_without_words() -> None:
    # Until version 3 this held for "Calcule $3 + 4$." too; a short problem now speaks for itself (issue 21), so
    # only a problem with no words at all leaves the instruction, or the dataset's language, to decide.
    french = SHORT["fr_1"].completion
    prompt = templated("$3 + 4 = ?$")
    assert judge(LanguageVerifier(), prompt, french).reason == "language_mismatch"  # the instruction is all there is
    verdict = judge(LanguageVerifier(expected_language="fr"), prompt, french)
    assert verdict.accepted and verdict.details["expected_from"] == "recipe"


def test_the_prompts_own_language_label_comes_before_the_recipes() -> None:
    base = templated("$3 + 4 = ?$")
    labelled = Prompt("p", base.messages, base.problem, None, metadata={"language": "fr-FR"})
    verdict = judge(LanguageVerifier(expected_language="de"), labelled, SHORT["fr_1"].completion)
    assert verdict.accepted and verdict.details["expected"] == "fr"
    assert verdict.details["expected_from"] == "prompt_language"
    assert judge(LanguageVerifier(), labelled, SHORT["en_1"].completion).reason == "language_mismatch"
    unknown = Prompt("p", base.messages, base.problem, None, metadata={"language": "klingon"})
    assert judge(LanguageVerifier(expected_language="fr"), unknown, SHORT["fr_1"].completion).accepted


def test_a_label_breaks_a_tie_between_close_languages() -> None:
    # A short Spanish problem scores Portuguese and Catalan close; the dataset says Spanish.
    fixture = SHORT["es_2"]
    verdict = judge(LanguageVerifier(expected_language="es"), templated(fixture.problem), fixture.completion)
    assert verdict.accepted and verdict.details["expected"] == "es"


def test_names_from_the_problem_are_not_language_evidence(verifier: LanguageVerifier) -> None:
    problem = "Jean-François Lefèvre and Ségolène Beaumont share twelve apples equally. How many apples does each get?"
    text = ("<think>\nJean-François Lefèvre and Ségolène Beaumont share twelve apples, so each gets half of them.\n"
            "Half of twelve is six, so each of them gets six apples.\n</think>\n\nEach gets $\\boxed{6}$ apples.")
    verdict = judge(verifier, templated(problem), text)
    assert verdict.accepted and verdict.details["expected"] == "en", verdict


def test_sentence_rule_can_be_turned_off() -> None:
    fixture = SHORT["de_1"]
    text = with_sentence(long_trace(fixture.completion), "Wait, let me double-check this calculation once more.")
    assert judge(LanguageVerifier(), templated(fixture.problem), text).reason == "language_mixing"
    assert judge(LanguageVerifier(min_sentence_letters=0), templated(fixture.problem), text).accepted


def test_instructions_are_stripped_from_problem_text() -> None:
    assert strip_instructions(f"Combien font 3 et 4 ?\n{INSTRUCTION}").strip() == "Combien font 3 et 4 ?"
    assert strip_instructions(f"Löse x + 1 = 2 {INSTRUCTION}").strip() == "Löse x + 1 = 2"
    assert strip_instructions("Return your final response within \\boxed{}. Quanto vale 2+2?").strip() == "Quanto vale 2+2?"
    assert strip_instructions("Wie viel ist 2 + 2? Antwort bitte.", ("Antwort bitte.",)).strip() == "Wie viel ist 2 + 2?"
    assert strip_instructions("Find the area of the square.") == "Find the area of the square."


@pytest.mark.parametrize(
    "params, error",
    [
        ({"min_sentence_letters": 5}, ValueError),
        ({"min_sentence_letters": -1}, ValueError),
        ({"min_sentence_letters": 2.5}, TypeError),
        ({"override_problem": True}, ValueError),
        ({"override_problem": "yes", "expected_language": "en"}, TypeError),
        ({"also_allowed": "en"}, TypeError),
        ({"expected_language": 3}, TypeError),
        ({"max_segments": 0}, ValueError),
        ({"min_margin": -0.1}, ValueError),
        ({"max_other_share": "a lot"}, TypeError),
    ],
)
def test_bad_parameters_are_refused(params: dict, error: type) -> None:
    with pytest.raises(error):
        LanguageVerifier.check_params(**params)


def test_version_changed() -> None:
    assert LanguageVerifier.version != "1"
