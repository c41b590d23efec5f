"""Prompt curation, part 2: exact and near-duplicate dedup, state across batches, and the vectorised path
(`curate_frame`) agreeing with the streaming one (`PromptCurator`)."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from factory.prompts.curation import (BenchmarkRef, Decontaminate, Dedup, Dropped, PromptCurator, curate_frame,
                              dedup_texts)

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"

FORTY = ("A farmer has a rectangular field whose length is three times its width. He plants corn on one half of "
         "the field, wheat on a third of the rest, and leaves the remaining part for grazing sheep. If the grazing "
         "part has an area of 1200 square meters, what is the width of the field in meters?")


def run(dedup: Dedup, texts: list[str]) -> tuple[list[str], list[Dropped]]:
    return PromptCurator(None, dedup).filter([(f"p{i}", t) for i, t in enumerate(texts)])


def test_forty_word_fixture_has_forty_words():
    assert len(FORTY.split()) >= 40


# --- exact -------------------------------------------------------------------------------------------------------

def test_exact_duplicates_after_normalisation_keep_the_first():
    texts = ["What is $12 + 7$?", "what is 12+7", "WHAT IS 12 + 7 ?", "What is 12 - 7?", "What is 12 + 8?"]
    kept, dropped = run(Dedup(exact=True), texts)
    assert kept == ["p0", "p3", "p4"]
    assert dropped == [Dropped("p1", "duplicate_prompt", {"duplicate_of": "p0"}),
                       Dropped("p2", "duplicate_prompt", {"duplicate_of": "p0"})]


def test_exact_dedup_off_keeps_everything():
    kept, dropped = run(Dedup(exact=False), ["same", "same"])
    assert kept == ["p0", "p1"] and dropped == []


# --- near --------------------------------------------------------------------------------------------------------

def test_one_changed_word_in_forty_is_a_near_duplicate():
    changed = FORTY.replace("wheat", "barley")
    kept, dropped = run(Dedup(exact=True, near=True, threshold=0.8), [FORTY, changed])
    assert kept == ["p0"]
    assert dropped[0].reason == "near_duplicate_prompt" and dropped[0].details["duplicate_of"] == "p0"
    assert 0.8 <= dropped[0].details["jaccard"] <= 1.0


@pytest.mark.parametrize("other", [
    FORTY.replace("1200", "1500").replace("three times", "twice").replace("a third", "a quarter")
    .replace("corn", "rice").replace("sheep", "goats"),                                 # same template, 5 edits
    "A gardener has a square plot. She plants tomatoes on a quarter of it and beans on the rest. If the beans "
    "cover 300 square meters, what is the side of the plot in meters?",                  # same topic
    "How many positive integers less than 1000 are divisible by 7 but not by 11?",
])
def test_distinct_prompts_are_not_near_duplicates(other):
    kept, dropped = run(Dedup(exact=True, near=True, threshold=0.8), [FORTY, other])
    assert kept == ["p0", "p1"], dropped


def test_near_duplicate_names_a_kept_prompt_and_exact_comes_first():
    changed = FORTY.replace("wheat", "barley")
    kept, dropped = run(Dedup(exact=True, near=True), [FORTY, FORTY.upper(), changed, changed])
    assert kept == ["p0"]
    assert [(d.prompt_id, d.reason, d.details["duplicate_of"]) for d in dropped] == [
        ("p1", "duplicate_prompt", "p0"), ("p2", "near_duplicate_prompt", "p0"), ("p3", "duplicate_prompt", "p2")]


# --- state across batches -----------------------------------------------------------------------------------------

def test_duplicates_of_earlier_batches_are_dropped():
    curator = PromptCurator(None, Dedup(exact=True, near=True))
    assert curator.filter([("a", FORTY), ("b", "What is 2 + 2?")]) == (["a", "b"], [])
    kept, dropped = curator.filter([("c", "what is 2+2"), ("d", FORTY.replace("wheat", "oats")), ("e", "New one.")])
    assert kept == ["e"]
    assert [(d.prompt_id, d.reason, d.details["duplicate_of"]) for d in dropped] == [
        ("c", "duplicate_prompt", "b"), ("d", "near_duplicate_prompt", "a")]
    kept, dropped = curator.filter([("f", "NEW ONE")])
    assert kept == [] and dropped[0].details == {"duplicate_of": "e"}


def test_batches_give_the_same_answer_as_one_call():
    texts = corpus()
    items = [(f"p{i}", t) for i, t in enumerate(texts)]
    whole = PromptCurator(*settings()).filter(items)
    curator = PromptCurator(*settings())
    kept, dropped = [], []
    for start in range(0, len(items), 7):
        k, d = curator.filter(items[start:start + 7])
        kept += k
        dropped += d
    assert (kept, dropped) == whole


# --- the vectorised path agrees ----------------------------------------------------------------------------------

def settings() -> tuple[Decontaminate, Dedup]:
    against = [BenchmarkRef(path=str(FIXTURES / "math500_mini.jsonl")),
               BenchmarkRef(path=str(FIXTURES / "aime_mini.parquet"), column="Problem")]
    return Decontaminate(against=against, ngram=8), Dedup(exact=True, near=True, threshold=0.8)


def corpus() -> list[str]:
    """Distinct problems, their retyped copies, one-word edits, benchmark copies and short texts, shuffled."""
    rng = random.Random(7)
    base = [f"A shop sells {a} apples and {b} pears each day for {c} days; the owner keeps a ledger of every sale "
            f"and wants the total number of fruits sold, written as a single integer without units."
            for a, b, c in [(3, 4, 5), (10, 2, 8), (7, 7, 1), (12, 30, 4), (5, 9, 6)]]
    base += ["What is 12 + 7?", "What is 12 - 7?", "Compute $\\dbinom{31}{28}$.", "", "Ｗｈａｔ ｉｓ １２ ＋ ７？"]
    copies = [t.upper() for t in base[:3]] + [t.replace(" ", "  ") for t in base[3:5]]
    edits = [t.replace("ledger", "notebook") for t in base[:3]]
    bench = ["How many positive whole-number divisors does 196 have? Show your reasoning.",
             "Every morning Aya goes for a 9-kilometer-long walk and stops at a coffee shop afterwards."]
    texts = base + copies + edits + bench
    rng.shuffle(texts)
    return texts


def test_curate_frame_agrees_with_the_curator():
    texts = corpus()
    frame = pl.DataFrame({"id": [f"p{i}" for i in range(len(texts))], "problem": texts, "extra": range(len(texts))})
    kept_frame, dropped_frame = curate_frame(frame, "id", "problem", *settings())
    kept, dropped = PromptCurator(*settings()).filter(list(zip(frame["id"], frame["problem"])))
    assert kept_frame["id"].to_list() == kept and dropped_frame == dropped
    assert kept_frame.columns == ["id", "problem", "extra"]
    reasons = {d.reason for d in dropped}
    assert reasons == {"contaminated", "duplicate_prompt", "near_duplicate_prompt"}


def test_curate_frame_on_many_rows_matches_in_chunks():
    """More rows than one decontamination chunk, with contamination at chunk edges."""
    from factory.prompts.curation import load_benchmarks

    decontaminate, _ = settings()
    index = load_benchmarks(decontaminate)
    copy = "How many positive whole-number divisors does 196 have?"
    texts = [f"Problem {i}: add {i} and {i + 1} and then report the sum to the class." for i in range(120)]
    for i in (0, 49, 50, 99, 119):
        texts[i] = copy + f" ({i})"
    from factory.prompts.curation.normalize import normalize_many
    norms = normalize_many(pl.Series(texts))
    assert sorted(index.match_series(norms, chunk=50)) == [0, 49, 50, 99, 119]
    assert all(index.match(n) is not None for n in norms.gather([0, 49, 50, 99, 119]))


def test_curate_frame_names_a_missing_column():
    with pytest.raises(ValueError, match="no column 'text'"):
        curate_frame(pl.DataFrame({"id": ["a"]}), "id", "text", None, Dedup())


# --- completions ---------------------------------------------------------------------------------------------------

def test_dedup_texts_collapses_whitespace_only_differences():
    texts = ["<think>a b</think> 4", "<think>a  b</think>\n4 ", "<think>a b</think> 5", " <think>a b</think> 4"]
    assert dedup_texts(texts) == [0, 2]
    assert dedup_texts([]) == []
