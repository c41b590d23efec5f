"""Short problems (3 to 6 words) followed by the math recipe's English instruction (issue 21).

The problem alone decides the expected language when it can; when it cannot, a trace written wholly in a language
the problem plausibly is, or in the instruction's language, is accepted, and a trace that mixes languages, or whose
one language has no support in the prompt, is rejected. The traces here are written for these tests; the figures
on public material are `python -m factory.bench.language_public` (its tuning half is checked below).
"""

from __future__ import annotations

import re

import pytest

from factory.bench.language import INSTRUCTION
from factory.bench.language_public import score
from verifiers.language import LanguageVerifier
from verifiers.types import Completion, Prompt

TRACES = {
    "it": ("Devo sommare i due numeri. Prima sommo le unità, poi le decine e infine le centinaia. "
           "Il risultato della somma è quindi milleduecentosessantanove. Ho controllato il conto due volte.",
           "Il risultato è $\\boxed{1269}$."),
    "de": ("Ich soll fünf mit sechs multiplizieren. Fünf mal sechs ist dasselbe wie sechs plus sechs plus sechs "
           "plus sechs plus sechs. Das ergibt dreißig, und die Probe mit zehn mal drei bestätigt es.",
           "Das Ergebnis ist $\\boxed{30}$."),
    "es": ("Tengo que multiplicar cinco por seis. Cinco veces seis es lo mismo que sumar seis cinco veces. "
           "El resultado es treinta, y lo compruebo sumando de nuevo los números.",
           "La respuesta es $\\boxed{30}$."),
    "en": ("I need to multiply five by six. Five times six is the same as adding six five times. "
           "That gives thirty, and checking with three times ten confirms it.",
           "The answer is $\\boxed{30}$."),
    "zh": ("我需要计算五乘以六。五乘以六等于六加六加六加六加六。结果是三十，我又用十乘以三验证了一遍。",
           "答案是 $\\boxed{30}$。"),
    "fr": ("Je dois multiplier cinq par six. Cinq fois six revient à additionner six cinq fois. "
           "Le résultat est trente, et je le vérifie en calculant trois fois dix.",
           "La réponse est $\\boxed{30}$."),
    "ru": ("Мне нужно умножить пять на шесть. Пять раз по шесть это то же самое, что сложить шесть пять раз. "
           "Получается тридцать, и проверка через три раза по десять это подтверждает.",
           "Ответ: $\\boxed{30}$."),
}


def sentences(language: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.。])\s*", TRACES[language][0]) if s]


def trace(language: str, *, middle: str = "") -> str:
    lines = sentences(language)
    if middle:
        lines.insert(len(lines) // 2, middle)
    return "<think>\n" + "\n".join(lines) + "\n</think>\n\n" + TRACES[language][1]


def prompt(problem: str) -> Prompt:
    return Prompt("p", ({"role": "user", "content": f"{problem}\n{INSTRUCTION}"},), problem, None)


def judge(verifier: LanguageVerifier, problem: str, text: str):
    return verifier.verify(prompt(problem), Completion("p", 0, text))


@pytest.mark.parametrize("problem, language", [("Quanto fa 811 + 458?", "it"), ("Was ist 5 mal 6?", "de"),
                                                ("¿Cuánto es 5 por 6?", "es"), ("Combien font 5 fois 6 ?", "fr"),
                                                ("Сколько будет 5 умножить на 6?", "ru"), ("五乘以六等于多少？", "zh"),
                                                ("What is 5 times 6?", "en")])
def test_a_trace_wholly_in_the_short_problems_language_is_accepted(verifier, problem: str, language: str) -> None:
    verdict = judge(verifier, problem, trace(language))
    assert verdict.accepted, verdict
    assert verdict.details["expected"] == language
    assert verdict.details["expected_from"] in ("prompt", "problem_or_instruction")


@pytest.mark.parametrize("problem, language", [("What is 5 times 6?", "zh"), ("What is 5 times 6?", "ru"),
                                                ("Quanto fa 811 + 458?", "zh"), ("Quanto fa 811 + 458?", "ru"),
                                                ("Сколько будет 5 умножить на 6?", "en"),
                                                ("Сколько будет 5 умножить на 6?", "de"),
                                                ("五乘以六等于多少？", "en"), ("¿Cuánto es 5 por 6?", "de")])
def test_a_trace_whose_language_the_prompt_does_not_support_is_a_mismatch(verifier, problem: str, language: str) -> None:
    # A Cyrillic or Chinese problem rules English out, English instruction or not; "What is" rules out Chinese.
    verdict = judge(verifier, problem, trace(language))
    assert verdict.reason == "language_mismatch", verdict


def test_an_english_trace_is_accepted_only_where_the_problem_cannot_decide(verifier) -> None:
    # "Quanto fa" scores Italian, Portuguese, Spanish and English close: the instruction's English is accepted.
    assert judge(verifier, "Quanto fa 811 + 458?", trace("en")).accepted
    # A longer Italian problem decides: English is a mismatch, instruction or not.
    verdict = judge(verifier, "Luca compra tre quaderni e due penne per la scuola: quanto spende in tutto?", trace("en"))
    assert verdict.reason == "language_mismatch" and verdict.details["expected"] == "it", verdict


@pytest.mark.parametrize("problem, host, guest", [
    ("Quanto fa 811 + 458?", "it", "en"), ("Quanto fa 811 + 458?", "en", "it"),
    ("Was ist 5 mal 6?", "de", "en"), ("Was ist 5 mal 6?", "en", "de"),
    ("¿Cuánto es 5 por 6?", "es", "en"), ("What is 5 times 6?", "en", "fr"), ("What is 5 times 6?", "en", "zh"),
])
def test_a_trace_that_mixes_languages_is_rejected(verifier, problem: str, host: str, guest: str) -> None:
    middle = " ".join([sentences(guest)[0], sentences(guest)[-1]])  # two sentences of the guest in the middle
    verdict = judge(verifier, problem, trace(host, middle=middle))
    assert verdict.reason in ("language_mixing", "language_mismatch"), verdict
    if verdict.reason == "language_mixing":
        assert verdict.details["shares"].get(guest, 0) > 0, verdict


def test_a_problem_without_words_leaves_the_instruction_to_decide(verifier) -> None:
    assert judge(verifier, "$5 \\times 6 = ?$", trace("en")).details["expected_from"] == "template"
    assert judge(verifier, "$5 \\times 6 = ?$", trace("it")).reason in ("language_mismatch", "language_mixing")


def test_the_public_tuning_half_stays_above_the_target() -> None:
    # MGSM and Tatoeba problems in 18 languages (tests/verifiers/fixtures/lang_public/SOURCES.md); the held-out
    # half is scored only by the benchmark.
    figures = score("tuning")
    assert figures["precision"] >= 0.97 and figures["recall"] >= 0.97, figures
