"""Prompt curation, part 1: normalisation, benchmark loading, decontamination and the settings parsers.

The benchmark files are tiny benchmark-format fixtures (tests/factory/prompts/fixtures/benchmarks/): a MATH-500-like JSONL
(`problem`), an AIME-like Parquet (`Problem`), a GPQA-like CSV (`Question`). Nothing comes from the Hub.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from factory.prompts.curation import (BenchmarkRef, Decontaminate, PromptCurator, normalize_text, parse_decontaminate,
                              parse_dedup)
from factory.prompts.curation.benchmarks import KNOWN_BENCHMARKS, load_benchmark, resolved

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
MATH = str(FIXTURES / "math500_mini.jsonl")
AIME = str(FIXTURES / "aime_mini.parquet")
GPQA = str(FIXTURES / "gpqa_mini.csv")


@pytest.fixture(scope="module")
def curator() -> PromptCurator:
    against = [BenchmarkRef(path=MATH), BenchmarkRef(path=AIME, column="Problem"),
               BenchmarkRef(path=GPQA, column="Question", name="GPQA-Diamond")]
    return PromptCurator(Decontaminate(against=against, ngram=8), None)


def verdict(curator: PromptCurator, text: str) -> dict | None:
    kept, dropped = curator.filter([("p", text)])
    return None if kept else dropped[0].details


# --- normalisation -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("What is $5+3$?", "what is 5 + 3"),
    ("Find  the\tvalue\nof x.", "FIND THE VALUE OF X"),
    (r"$\dfrac{1}{2}\cdot x^{2} \le 3$", r"\frac{1}{2} \times x^2 \leq 3"),
    ("Ｆｉｎｄ １２３", "find 123"),                                         # full-width forms (NFKC)
    ("x² + ½", "x^2 + 1/2"),
    (r"\left( a+b \right)", "(a + b)"),
    (r"$x\,\;\!\ y\quad z$", "x y z"),
    (r"\tfrac{a}{b} \geqslant \mathrm{d} \text{ cm}", r"\frac{a}{b} \ge d cm"),
    ("x ≤ π·r", r"x \leq \pi \times r"),
    ("1,000,000 or 1{,}000", "1000000 or 1000"),
    ("a two-digit number", "a two digit number"),
    ("“Quoted”, ‘text’—here…", "quoted text here"),
    ("θ = α", r"\theta = \alpha"),
])
def test_normalisation_makes_variants_equal(a, b):
    assert normalize_text(a) == normalize_text(b)


@pytest.mark.parametrize("a, b", [
    ("What is 5+3?", "What is 5-3?"),          # operators are content
    ("What is 5*3?", "What is 5+3?"),
    ("Compute 5!", "Compute 5"),               # factorial is kept as a word
    ("Is 3.5 > 35?", "Is 35 > 35?"),           # decimals stay one number
    ("the *smallest* n", "the times smallest n"),
])
def test_normalisation_keeps_what_changes_the_problem(a, b):
    assert normalize_text(a) != normalize_text(b)


def test_normalised_form_is_tokens_joined_by_spaces():
    assert normalize_text(r"Find $\frac{3x}{4}$, then 2*y.") == "find frac 3 x 4 then 2 times y"
    assert normalize_text("") == "" and normalize_text("?!") == ""
    assert normalize_text("数学题 x") == "数 学 题 x"


# --- decontamination: must be removed ---------------------------------------------------------------------------

def test_verbatim_copy_is_removed_with_benchmark_and_ngram(curator):
    details = verdict(curator, "How many positive whole-number divisors does 196 have?")
    assert details == {"benchmark": "math500_mini", "ngram": "how many positive whole number divisors does 196"}


@pytest.mark.parametrize("text", [
    "HOW MANY POSITIVE WHOLE-NUMBER DIVISORS DOES 196 HAVE?",                                  # case
    "How   many positive\nwhole-number divisors does 196 have ?",                              # whitespace
    "How many positive whole number divisors, does 196 have",                                   # punctuation
    "Ｈｏｗ many positive whole‐number divisors does １９６ have?",                              # Unicode forms
    r"If $f(x) = \frac{3x-2}{x-2}$, what is the value of $f(-2) +f(-1)+ f(0)$?",               # LaTeX trivia
    r"If $f(x)=\tfrac{3x - 2}{x - 2}$ , what is the value of \( f\left(-2\right) + f(-1) + f(0) \)",
    r"Convert the point $(0,\,3)$ in rectangular coordinates to polar coordinates. Enter it as $(r,\theta)$.",
])
def test_variants_of_a_benchmark_problem_are_removed(curator, text):
    assert verdict(curator, text) is not None


def test_problem_embedded_in_a_longer_prompt_is_removed(curator):
    text = ("Here is a warm-up from my homework sheet, please help. There exist real numbers x and y, both greater "
            "than one, such that something holds; explain each step clearly.")
    details = verdict(curator, text)
    assert details == {"benchmark": "aime_mini", "ngram": "there exist real numbers x and y both"}


def test_short_problem_is_compared_whole(curator):
    assert verdict(curator, r"compute \binom{31}{28}") == {"benchmark": "math500_mini", "ngram": "compute binom 31 28"}
    assert verdict(curator, "COMPUTE $\\dbinom{31}{28}$ .") is not None
    assert verdict(curator, r"Compute $\dbinom{31}{27}$.") is None               # different numbers
    assert verdict(curator, r"Compute $\dbinom{31}{28}$ modulo 7, then add it to 5.") is None   # not whole


def test_csv_and_parquet_benchmarks_and_their_names(curator):
    gpqa = ("Two quantum states with energies E1 and E2 have lifetimes of 10^-9 sec and 10^-8 sec respectively. "
            "Which difference resolves them?")
    assert verdict(curator, gpqa)["benchmark"] == "GPQA-Diamond"
    assert verdict(curator, "Find the remainder when 2^{100} is divided by 7.")["benchmark"] == "aime_mini"


# --- decontamination: must stay ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Find the remainder when $3^{100}$ is divided by $7$.",                       # same topic, other numbers
    "Find the remainder when $5^{100}$ is divided by $9$.",
    "How many positive whole-number divisors does 198 have?",
    r"If $f(x) = \dfrac{5x-2}{x-5}$, what is the value of $f(1)$?",
    # shares only 7-grams of boilerplate ("what is the value of f ...", "express your answer as a common fraction")
    "Let g(t) = t^2 + 1. Express your answer as a common fraction: what is the value of g(1/2) + g(1/3)?",
    # different problems sharing a short phrase ("rectangular coordinates", "polar coordinates")
    "A curve is given in polar coordinates by r = 2 cos t. Write its equation in rectangular coordinates.",
    "Every morning Bob jogs around the park; how long does a 5 km jog take at 10 km per hour?",
])
def test_different_problems_stay(curator, text):
    assert verdict(curator, text) is None


def test_contamination_is_reported_before_duplication():
    curator = PromptCurator(Decontaminate(against=[BenchmarkRef(path=MATH)]), parse_dedup({}, "r"))
    text = "How many positive whole-number divisors does 196 have?"
    kept, dropped = curator.filter([("a", text), ("b", text.upper()), ("c", "Something else entirely, 42.")])
    assert kept == ["c"] and [d.reason for d in dropped] == ["contaminated", "contaminated"]


# --- benchmark files and errors ----------------------------------------------------------------------------------

def test_fixture_files_load_with_their_columns():
    assert len(load_benchmark(BenchmarkRef(path=MATH)).problems) == 5
    assert len(load_benchmark(BenchmarkRef(path=AIME, column="Problem")).problems) == 3
    assert len(load_benchmark(BenchmarkRef(path=GPQA, column="Question")).problems) == 3


def test_missing_file_names_the_file_and_column():
    with pytest.raises(ValueError, match=r"benchmark file not found: nope/missing\.jsonl \(column 'problem'\)"):
        PromptCurator(Decontaminate(against=[BenchmarkRef(path="nope/missing.jsonl")]), None)


def test_missing_column_names_the_file_and_lists_columns():
    with pytest.raises(ValueError, match=r"aime_mini\.parquet: no column 'problem' \(columns: ID, Problem"):
        PromptCurator(Decontaminate(against=[BenchmarkRef(path=AIME)]), None)


def test_empty_benchmark_is_an_error(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"problem": "  "}) + "\n")
    with pytest.raises(ValueError, match=r"empty\.jsonl: column 'problem' has no non-empty problem"):
        load_benchmark(BenchmarkRef(path=str(empty)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "x"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2 is not JSON"):
        load_benchmark(BenchmarkRef(path=str(bad)))


def test_known_benchmarks_resolve_short_names_and_defaults():
    assert resolved(BenchmarkRef(hub_id="MATH-500")) == BenchmarkRef(
        hub_id="HuggingFaceH4/MATH-500", split="test", column="problem", name="MATH-500")
    gpqa = resolved(BenchmarkRef(hub_id="Idavidrein/gpqa"))
    assert (gpqa.config, gpqa.split, gpqa.column) == ("gpqa_diamond", "train", "Question")
    assert resolved(BenchmarkRef(hub_id="someone/my-eval")).column == "problem"
    assert resolved(BenchmarkRef(hub_id="someone/my-eval")).split == "test"
    assert {"HuggingFaceH4/MATH-500", "HuggingFaceH4/aime_2024", "math-ai/aime25", "Idavidrein/gpqa",
            "livecodebench/code_generation_lite"} <= set(KNOWN_BENCHMARKS)


# --- settings ----------------------------------------------------------------------------------------------------

def test_parse_decontaminate_strings_and_mappings():
    parsed = parse_decontaminate({"against": [MATH, "MATH-500", {"path": GPQA, "column": "Question"}], "ngram": 13},
                                 "r.yaml")
    assert parsed.ngram == 13
    assert parsed.against == [BenchmarkRef(path=MATH), BenchmarkRef(hub_id="MATH-500"),
                              BenchmarkRef(path=GPQA, column="Question")]
    assert parse_decontaminate(None, "r.yaml") is None


@pytest.mark.parametrize("data, message", [
    ({"against": [MATH], "ngrams": 8}, r"r\.yaml: key 'decontaminate': unknown key 'ngrams'; did you mean 'ngram'"),
    ({"against": []}, r"key 'decontaminate\.against': must be a non-empty list"),
    ({"against": [MATH], "ngram": 0}, r"key 'decontaminate\.ngram': must be >= 1, got 0"),
    ({"against": [{"path": MATH, "hub_id": "x/y"}]}, r"'decontaminate\.against\[0\]': give exactly one of"),
    ({"against": [{"path": MATH, "colum": "q"}]}, r"'decontaminate\.against\[0\]': unknown key 'colum'; did you mean 'column'"),
])
def test_parse_decontaminate_errors_name_where_and_key(data, message):
    with pytest.raises(ValueError, match=message):
        parse_decontaminate(data, "r.yaml")


@pytest.mark.parametrize("data, message", [
    ({"threshold": 0}, r"key 'dedup\.threshold': must be > 0, got 0"),
    ({"threshold": 1.5}, r"key 'dedup\.threshold'"),
    ({"near": "yes"}, r"key 'dedup\.near': must be true or false"),
    ({"num_perm": 4}, r"key 'dedup\.num_perm': must be >= 16, got 4"),
    ({"shingles": 3}, r"unknown key 'shingles'; did you mean 'shingle'"),
])
def test_parse_dedup_errors(data, message):
    with pytest.raises(ValueError, match=message):
        parse_dedup(data, "r.yaml")


def test_parse_dedup_values():
    dedup = parse_dedup({"near": True, "threshold": 0.7, "num_perm": 64, "shingle": 2}, "r.yaml")
    assert (dedup.exact, dedup.near, dedup.threshold, dedup.num_perm, dedup.shingle) == (True, True, 0.7, 64, 2)
    assert parse_dedup(None, "r.yaml") is None


def test_importing_curation_stays_light():
    code = "import sys, factory.prompts.curation; print(sorted(m for m in ('polars', 'datasketch', 'datasets', 'numpy') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3]).stdout
    assert out.strip() == "[]"
