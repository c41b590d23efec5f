"""The tiny judge's tools and shipped files (factory/tiny_judge, data/models/tiny-judge): the held-out pairs are
never trained on, the value tokens keep the think block's values whole and the answers' digits apart, and the
shipped folder is what vLLM's CPU build loads. No training, no engine: fast."""

from __future__ import annotations

import json
import random
from pathlib import Path

from factory.tiny_judge.pairs import canonical, draw_pairs, forms, split_pairs, values
from factory.tiny_judge.train import HELD_OUT_FILE, JudgeTrainConfig, add_value_tokens, fresh_pairs, reply

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "models" / "tiny-judge"


def key(pair) -> tuple[str, str]:
    return tuple(sorted(pair[:2]))


def test_fresh_epochs_are_new_pairs_and_never_a_held_out_one():
    cfg = JudgeTrainConfig(pairs=3000)
    train, held_out = split_pairs(draw_pairs(cfg.seed, cfg.pairs), cfg.held_out_share, cfg.seed)
    held_keys = {key(p) for p in held_out}
    fresh = fresh_pairs(cfg, 1, held_keys)
    assert not {key(p) for p in fresh} & held_keys
    assert {key(p) for p in fresh} - {key(p) for p in train}  # new combinations, not the first draw again
    assert fresh_pairs(cfg, 1, held_keys) == fresh and fresh_pairs(cfg, 2, held_keys) != fresh


def test_value_tokens_are_whole_and_answers_keep_their_digits():
    from factory.tiny_teacher.tokenizer import train_tokenizer

    rng = random.Random(0)
    corpus = [f for v in values() for f in forms(v, rng)] + [reply("29/8", "7/2", "different")]
    tok = train_tokenizer(corpus, 300)
    add_value_tokens(tok)
    for value in values():
        if value.denominator != 1:
            assert len(tok(canonical(value), add_special_tokens=False)["input_ids"]) == 1, canonical(value)
    pieces = tok.tokenize("\\frac{38}{16} 0.375 11/10")
    assert {"3", "8", "1", "6", "0", "7", "5", "11/10"} <= set(pieces) and "1/10" not in pieces
    text = reply("29/8", "29/8", "equivalent")
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_reply_names_the_owner_of_each_value_and_ends_with_the_verdict():
    from factory.verification.judge_template import parse_choice

    same, other = reply("29/8", "29/8", "equivalent"), reply("29/8", "7/2", "different")
    assert same.splitlines()[1:3] == ["29/8 = A", "29/8 = A"] and other.splitlines()[1:3] == ["29/8 = A", "7/2 = B"]
    assert (parse_choice(same), parse_choice(other)) == ("equivalent", "different")


def test_shipped_judge_is_small_and_loadable_by_vllm_cpu():
    assert sum(p.stat().st_size for p in MODEL.iterdir() if p.is_file()) < 10 * 1024 * 1024
    config = json.loads((MODEL / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] == 64  # vLLM's CPU attention refuses 16
    training = json.loads((MODEL / "training.json").read_text())
    assert training["parameters"] > 0 and training["steps"] > 0


def test_shipped_held_out_pairs_follow_the_split_rule():
    training = json.loads((MODEL / "training.json").read_text())
    cfg = JudgeTrainConfig(**training["config"])
    train, held_out = split_pairs(draw_pairs(cfg.seed, cfg.pairs), cfg.held_out_share, cfg.seed)
    shipped = [json.loads(line) for line in (REPO / "data" / HELD_OUT_FILE).open()]
    assert [(r["reference"], r["answer"], r["label"]) for r in shipped] == [p[:3] for p in held_out]
    assert not {key(p) for p in train} & {key(p) for p in held_out}
    assert len(shipped) == training["held_out_pairs"] >= 1000
