"""Train the tiny judge from scratch: `data/models/tiny-judge/`, a small Qwen2 that reads the judge prompt
(`factory/verification/judge_prompt.txt`) for two arithmetic answers and replies `equivalent` or `different`.

`nice -n 10 python -m factory.tiny_judge.train` (CPU only, about 15 minutes on 2 cores) does, with fixed seeds:
1. draws answer pairs (`pairs.draw_pairs`: fractions, decimals, percentages, mixed numbers, number words) and cuts
   them into a training part and a held-out part (`data/judge/tiny-judge-heldout.jsonl`, never trained on);
2. trains a byte-level BPE tokenizer and a Qwen2 causal LM (head size 64: vLLM's CPU attention refuses 16) with
   the loss on the reply only (`<think>` with each answer's value, then `equivalent` or `different`), each pair in a
   random order;
3. saves it in Hugging Face format (the tiny teacher's chat template), then `evaluate` scores the held-out part.

The training tools (tokenizer, batching, the optimiser loop, saving) are the tiny teacher's, reused as they are.
Nothing here is imported by the pipeline.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from factory.tiny_judge.pairs import draw_pairs, split_pairs
from factory.tiny_teacher.problems import make_splits
from factory.tiny_teacher.tokenizer import train_tokenizer
from factory.tiny_teacher.train import build_model, reload_as_shipped, save_model, train_model
from factory.verification.judge_template import load_template, render

REPO = Path(__file__).resolve().parents[2]
HELD_OUT_FILE = Path("judge") / "tiny-judge-heldout.jsonl"
TEMPLATE = REPO / "data" / "models" / "tiny-judge" / "judge_prompt.txt"
"""The tiny judge's own short prompt, the two answers and no problem (a recipe names it in `judge.template`): a
third of the tokens of the shipped general template, which is what makes training fit ~20 CPU minutes."""


@dataclass
class JudgeTrainConfig:
    """Every setting that changes the shipped files (written into the model card)."""

    seed: int = 2024
    pairs: int = 17_000          # drawn pairs (with repeats); distinct ones are split below
    held_out_share: float = 0.1
    epochs: int = 1              # every pair is drawn afresh; the budget is ~20 CPU minutes on a shared machine
    batch_size: int = 16
    lr: float = 3e-3
    warmup_steps: int = 100
    vocab_size: int = 512
    hidden_size: int = 128
    intermediate_size: int = 256
    num_layers: int = 2
    num_heads: int = 2           # head_dim 64: vLLM's CPU attention does not support 16
    threads: int = 2


def problems(seed: int) -> list[str]:
    """Problem statements for the prompts' context (the tiny teacher's train kinds; the judge ignores them)."""
    train, _ = make_splits(seed, 5, {"add": 200, "sub": 200, "mul": 200, "word": 200, "frac": 200, "dec": 200})
    return [p.problem for _, p in train]


def reply(first_value: str, second_value: str, label: str) -> str:
    """The judge's reply: a short think block with each answer's value, then the verdict. Writing the values first
    turns one hard decision into two easy lookups and a comparison (the last word is what the stage parses)."""
    return f"<think>\nA = {first_value}\nB = {second_value}\n</think>\n{label}"


def chats(pairs: list[tuple], template: str, contexts: list[str],
          rng: random.Random) -> list[tuple[tuple[dict[str, str], ...], str]]:
    """(judge chat, reply) per pair, the two answers in a random order."""
    out = []
    for ref, answer, label, ref_value, answer_value in pairs:
        if rng.random() < 0.5:
            first, second, values = ref, answer, (ref_value, answer_value)
        else:
            first, second, values = answer, ref, (answer_value, ref_value)
        out.append((render(template, rng.choice(contexts), first, second), reply(*values, label)))
    return out


def encode(examples: list, tokenizer) -> list[tuple[list[int], int]]:
    out = []
    for chat, reply in examples:
        prompt = tokenizer.apply_chat_template(list(chat), tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append((ids + answer, len(ids)))
    return out


def run(cfg: JudgeTrainConfig, data_dir: Path) -> None:
    import torch

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    started = time.time()
    template = load_template(str(TEMPLATE))
    train, held_out = split_pairs(draw_pairs(cfg.seed, cfg.pairs), cfg.held_out_share, cfg.seed)
    held_path = data_dir / HELD_OUT_FILE
    held_path.parent.mkdir(parents=True, exist_ok=True)
    with held_path.open("w", encoding="utf-8") as f:
        for ref, answer, label, *_ in held_out:
            f.write(json.dumps({"reference": ref, "answer": answer, "label": label}, ensure_ascii=False) + "\n")
    contexts = problems(cfg.seed)
    epochs = [chats(train, template, contexts, random.Random(cfg.seed + e)) for e in range(cfg.epochs)]
    corpus = [turn["content"] for chat, _ in epochs[0] for turn in chat] + [r.replace("<think>", "").replace(
        "</think>", "") for _, r in epochs[0]]
    tokenizer = train_tokenizer(corpus, cfg.vocab_size)
    model = build_model(cfg, tokenizer)
    out = data_dir / "models" / "tiny-judge"
    tokenizer = reload_as_shipped(tokenizer, model, out, corpus)
    encoded = [encode(ex, tokenizer) for ex in epochs]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(train)} train pairs, {len(held_out)} held out; vocab {len(tokenizer)}; {n_params} parameters",
          flush=True)
    log = train_model(model, encoded, cfg, tokenizer.pad_token_id)
    save_model(model, tokenizer, out)
    info = {"config": asdict(cfg), "parameters": n_params, "train_pairs": len(train), "held_out_pairs": len(held_out),
            "wall_minutes": round((time.time() - started) / 60, 1), "torch": torch.__version__,
            "steps": log["steps"], "final_loss": log["final_loss"]}
    (out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"saved {out} in {info['wall_minutes']} min", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data",
                        help="where models/tiny-judge/ and judge/ are written (default: the repo's data/)")
    for name, value in asdict(JudgeTrainConfig()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                            help=f"training setting (default {value}); changing it changes the shipped files")
    args = vars(parser.parse_args(argv))
    data_dir = args.pop("data_dir")
    run(JudgeTrainConfig(**args), data_dir)


if __name__ == "__main__":
    main()
