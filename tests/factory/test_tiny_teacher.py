"""Tests of the tiny teacher: the generator, the grading helpers, the shipped files, and vLLM loading the model."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest

from factory.tiny_teacher import evaluate
from factory.tiny_teacher.problems import KINDS, make_splits
from factory.tiny_teacher.traces import DEFECT_RATES, INSTRUCTION, write_trace
from tests.conftest import read_jsonl

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "models" / "tiny-r1"
PROMPTS = REPO / "data" / "prompts"


# --- the generator --------------------------------------------------------------------------------------------

def test_splits_are_deterministic_and_disjoint_by_computation():
    train_a, test_a = make_splits(7, 20, {k: 50 for k in KINDS})
    train_b, test_b = make_splits(7, 20, {k: 50 for k in KINDS})
    assert [(i, p.problem) for i, p in train_a + test_a] == [(i, p.problem) for i, p in train_b + test_b]
    assert not {p.key() for _, p in train_a} & {p.key() for _, p in test_a}


@pytest.mark.parametrize("kind", KINDS)
def test_clean_traces_are_r1_shaped_and_box_the_gold_value(kind):
    train, _ = make_splits(3, 1, {k: 40 for k in KINDS})
    rng = random.Random(0)
    for _, problem in [t for t in train if t[1].kind == kind]:
        trace = write_trace(problem, rng, None)
        reasoning, close, answer = trace.text.partition("\n</think>\n\n")
        assert trace.text.startswith("<think>\n") and close and trace.ends
        assert evaluate.false_equations(reasoning) == 0, trace.text
        boxed = evaluate.last_boxed(answer)
        assert evaluate.parse_number(boxed) == evaluate.parse_number(problem.answer), trace.text


def test_each_defect_shows_the_way_the_evaluator_detects_it():
    train, _ = make_splits(5, 1, {k: 30 for k in KINDS})
    rng = random.Random(1)
    for _, problem in train:
        gold = evaluate.parse_number(problem.answer)
        for defect in DEFECT_RATES:
            trace = write_trace(problem, rng, defect)
            graded = evaluate.grade(trace.text, "stop" if trace.ends else "length", gold)
            expected = {"slip": "wrong_answer", "unclosed_think": "unclosed_think", "unboxed": "unboxed",
                        "foreign": "foreign", "loop": "loop"}[defect]
            assert graded[expected], (defect, trace.text)
            assert graded["correct"] == (defect == "foreign"), (defect, trace.text)
            if defect == "slip":
                assert graded["arith_slip"]


def test_fraction_traces_use_equivalent_non_gold_forms():
    train, _ = make_splits(11, 1, {k: (300 if k == "frac" else 1) for k in KINDS})
    rng = random.Random(2)
    forms = set()
    for _, problem in [t for t in train if t[1].kind == "frac"]:
        boxed = evaluate.last_boxed(write_trace(problem, rng, None).text)
        if boxed != problem.answer:
            forms.add("decimal" if "." in boxed else "dfrac" if "dfrac" in boxed else "unreduced")
    assert forms == {"decimal", "dfrac", "unreduced"}


# --- the grading helpers of evaluate.py ----------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("42", Fraction(42)), ("-7", Fraction(-7)), ("0.75", Fraction(3, 4)), ("\\frac{6}{8}", Fraction(3, 4)),
    ("\\dfrac{3}{4}", Fraction(3, 4)), ("3/4", Fraction(3, 4)), ("-\\frac{1}{2}", Fraction(-1, 2)),
    (" 1.50 ", Fraction(3, 2)), ("x + 1", None), ("\\frac{1}{0}", None), ("", None),
])
def test_parse_number(text, value):
    assert evaluate.parse_number(text) == value


def test_last_boxed_matches_braces_and_takes_the_last():
    assert evaluate.last_boxed("a \\boxed{1} b \\boxed{\\frac{3}{4}}.") == "\\frac{3}{4}"
    assert evaluate.last_boxed("no box") is None
    assert evaluate.last_boxed("\\boxed{\\frac{1}{2}") is None


def test_pass_at_k_unbiased_estimator():
    assert evaluate.pass_at_k(8, 0, 1) == 0.0
    assert evaluate.pass_at_k(8, 2, 1) == pytest.approx(0.25)
    assert evaluate.pass_at_k(8, 1, 8) == 1.0
    assert evaluate.pass_at_k(8, 2, 4) == pytest.approx(1 - 15 / 70)


def test_false_equations_and_foreign_detection():
    assert evaluate.false_equations("Ones: 7 + 5 + 1 = 13, write 3.\nTens: 12 - 6 - 1 = 5.\n3 × 4 = 12.") == 0
    assert evaluate.false_equations("Ones: 7 + 5 + 1 = 14, write 4.\n2.5 + 1.75 = 4.25\n1/4 + 1/2 = 3/4") == 1
    assert evaluate.foreign_languages("Tens: 1 + 2 = 3.\n所以答案是正确的。") == {"zh"}
    assert evaluate.foreign_languages("Donc le résultat est correct.") == {"fr"}
    assert evaluate.foreign_languages("Wir prüfen die Rechnung noch einmal.") == {"de"}
    assert evaluate.foreign_languages("So the answer is correct, and the sum is 12.") == set()


# --- the shipped files ----------------------------------------------------------------------------------------

def test_shipped_model_folder_is_complete_and_small():
    names = {p.name for p in MODEL.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file()) < 10 * 1024 * 1024
    config = json.loads((MODEL / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    assert "toy for tests, not a useful model" in (MODEL / "README.md").read_text()


def test_shipped_prompt_splits():
    train, test = read_jsonl(PROMPTS / "arith-train.jsonl"), read_jsonl(PROMPTS / "arith-test.jsonl")
    assert len(test) >= 500
    for rows in (train, test):
        assert all(set(r) == {"id", "problem", "answer"} for r in rows)
        assert len({r["id"] for r in rows}) == len(rows)
        assert all(evaluate.parse_number(r["answer"]) is not None for r in rows)
    assert not {r["problem"] for r in test} & {r["problem"] for r in train}
    assert {r["id"].split("-")[2] for r in test} == set(KINDS)
    assert any(r["answer"].startswith("\\frac{") for r in test) and any("." in r["answer"] for r in test)


def test_tokenizer_chat_template_ends_assistant_turn_with_eos():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODEL)
    generation = json.loads((MODEL / "generation_config.json").read_text())
    assert tok.eos_token == "<|im_end|>" and generation["eos_token_id"] == tok.eos_token_id
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 1 + 2?"},
            {"role": "assistant", "content": "<think>\n1 + 2 = 3.\n</think>\n\n\\boxed{3}"}]
    text = tok.apply_chat_template(chat, tokenize=False)
    assert "<|im_start|>system\nBe brief.<|im_end|>" in text
    assert text.rstrip("\n").endswith("\\boxed{3}" + tok.eos_token)
    prompt = tok.apply_chat_template(chat[1:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tok("<think>\n12 + 345", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<think>\n12 + 345"  # think tags survive decoding
    assert sum(t.isdigit() for t in tok.convert_ids_to_tokens(ids)) == 5  # one token per digit


def test_tokenizer_loads_as_saved():
    """transformers picks the tokenizer class from the model type; it must tokenize exactly like tokenizer.json."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    loaded, raw = AutoTokenizer.from_pretrained(MODEL), Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    train, _ = make_splits(0, 1, {k: 5 for k in KINDS})
    rng = random.Random(0)
    texts = [write_trace(p, rng, d).text[:600] for _, p in train for d in (None, "foreign")]
    texts += [p.problem + "\n" + INSTRUCTION for _, p in train] + ["Ça fait 12,5 €. 所以答案是正确的。"]
    for text in texts:
        assert loaded(text, add_special_tokens=False)["input_ids"] == raw.encode(text, add_special_tokens=False).ids


# --- the real engine ------------------------------------------------------------------------------------------

def _generate_with_vllm(chats, params_kwargs):
    """Sample with a fresh `vllm.LLM`, then shut its engine down and check no process of it is left."""
    import os

    import psutil

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams

    from factory.engines.vllm_engine import shutdown_llm

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    llm = LLM(model=str(MODEL), enforce_eager=True, dtype="float32", seed=0, max_model_len=1024)
    try:
        return llm.chat(chats, SamplingParams(**params_kwargs), use_tqdm=False)
    finally:
        shutdown_llm(llm)
        # multiprocessing's resource tracker is one per Python process and lives as long as it, by design.
        new = [p for p in psutil.Process().children(recursive=True)
               if p.pid not in before and "resource_tracker" not in _command_line(p)]
        _, alive = psutil.wait_procs(new, timeout=30)
        assert not alive, f"engine processes left after shutdown: {[_command_line(p) for p in alive]}"


def _command_line(process) -> str:
    """The command line, or "" for a process that already exited: a zombie not yet reaped has none to read (a CI
    failure), yet it is still waited for above like any other."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return ""


@pytest.mark.slow
def test_vllm_loads_the_model_and_chat_writes_r1_shaped_traces():
    rows = read_jsonl(PROMPTS / "arith-test.jsonl")
    picked = [r for kind in KINDS for r in [x for x in rows if f"-{kind}-" in x["id"]][:3]]
    chats = [[{"role": "user", "content": r["problem"] + ("\n" + INSTRUCTION if i % 2 else "")}]
             for i, r in enumerate(picked)]
    outputs = _generate_with_vllm(chats, {"temperature": 0.0, "max_tokens": 448})
    shaped = correct = 0
    for row, out in zip(picked, outputs):
        sample = out.outputs[0]
        reasoning, close, answer = sample.text.partition("\n</think>\n\n")
        if sample.text.startswith("<think>\n") and close and sample.finish_reason == "stop" and \
                evaluate.last_boxed(answer) is not None:
            shaped += 1
        correct += evaluate.grade(sample.text, sample.finish_reason, evaluate.parse_number(row["answer"]))["correct"]
    # Greedy decoding avoids the rare trained-in defects, so every trace should have the shape; a model writing
    # noise would get none right.
    assert shaped >= len(picked) - 1, [o.outputs[0].text for o in outputs]
    assert correct >= len(picked) // 3
