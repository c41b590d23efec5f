"""TRL's GRPOTrainer runs a step on the tiny teacher with `verifiers.rewards.math_reward` as is (no vLLM).

The dataset is TRL's conversational `prompt` form with a `gold` column: two real arithmetic problems, one whose gold
was shifted by one (so the teacher's right answers must score 0.0) and one whose gold does not parse (None, which
TRL must take as "no reward" rather than crash on)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("trl")

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "data" / "models" / "tiny-r1"
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def _rows() -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "data/prompts/arith-test.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    add, sub, mul = by_id["arith-test-add-00000"], by_id["arith-test-sub-00000"], by_id["arith-test-mul-00000"]
    return [
        {"problem": add["problem"], "gold": add["answer"]},
        {"problem": sub["problem"], "gold": sub["answer"]},
        {"problem": mul["problem"], "gold": str(int(mul["answer"]) + 1)},  # the teacher cannot earn this one
        {"problem": by_id["arith-test-add-00001"]["problem"], "gold": "\\frac{1}{"},  # unverifiable
    ]


@pytest.mark.slow  # about 20 s on 2 cores: generation with transformers, one optimizer step
def test_grpo_step_with_math_reward(tmp_path):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from verifiers.rewards import close_default_rewards, math_reward

    rows = _rows()
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": r["problem"] + "\n" + INSTRUCTION}],
                                  "gold": r["gold"]} for r in rows])
    calls: list[dict] = []

    def logged_math_reward(prompts, completions, **columns):  # what TRL passed, and what we answered
        out = math_reward(prompts, completions, **columns)
        calls.append({"gold": list(columns["gold"]), "rewards": out, "completions": completions})
        return out

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(TINY)
    model = AutoModelForCausalLM.from_pretrained(TINY, dtype=torch.float32)
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=16, num_generations=4,
                      max_completion_length=256, max_steps=1, learning_rate=1e-5, temperature=1.0,
                      use_vllm=False, use_cpu=True, report_to=[], save_strategy="no", logging_steps=1, seed=0)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[logged_math_reward], args=args,
                          train_dataset=dataset)
    try:
        trainer.train()
    finally:
        close_default_rewards()

    assert trainer.state.global_step == 1
    assert len(calls) == 1
    call = calls[0]
    assert len(call["rewards"]) == 16
    assert sorted(set(call["gold"])) == sorted(r["gold"] for r in rows)  # the gold column, 4 per prompt
    assert isinstance(call["completions"][0], list) and call["completions"][0][0]["role"] == "assistant"
    by_gold: dict[str, list] = {}
    for gold, reward in zip(call["gold"], call["rewards"]):
        by_gold.setdefault(gold, []).append(reward)
    assert by_gold["\\frac{1}{"] == [None] * 4
    assert by_gold[rows[2]["gold"]] == [0.0] * 4  # the shifted gold
    real = by_gold[rows[0]["gold"]] + by_gold[rows[1]["gold"]]
    assert 1.0 in real  # the teacher is right most of the time
    logged = trainer.state.log_history[0]
    assert math.isfinite(logged["rewards/logged_math_reward/mean"]) and 0.0 < logged["rewards/logged_math_reward/mean"] < 1.0
    assert math.isfinite(logged["loss"])
