"""Train the tiny judge from scratch: `data/models/tiny-judge/`, a small Qwen2 that reads the judge prompt
(`data/models/tiny-judge/judge_prompt.txt`) for two arithmetic answers and replies `equivalent` or `different`.

`nice -n 10 python -m factory.tiny_judge.train` (CPU only, 2 threads; the shipped model took 9.6 minutes on 2
shared cores, and the schedule stops at `minutes` in any case; `training.json` records the wall time) does, with
fixed seeds:
1. draws answer pairs (`pairs.draw_pairs`: fractions, decimals, percentages, mixed numbers, number words) and cuts
   them into a training part and a held-out part (`data/judge/tiny-judge-heldout.jsonl`, never trained on); each
   later epoch draws its pairs afresh (`fresh_pairs`), less every held-out pair, so no held-out pair is trained on;
2. trains a byte-level BPE tokenizer (single digits, so an answer's digits stay apart) plus one token per fraction
   value the judge writes (`add_value_tokens`), and a Qwen2 causal LM (head size 64: vLLM's CPU attention refuses
   16) with the loss on the reply only (`<think>` with each answer's value, then `equivalent` or `different`; the
   verdict weighted up, see `train_model`), each pair in a random order;
3. saves it in Hugging Face format (the tiny teacher's chat template), then `evaluate` scores the held-out part.

The tokenizer, batching and saving are the tiny teacher's, reused as they are; the optimiser loop is this
module's own (the weighted verdict loss). Nothing here is imported by the pipeline.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from factory.tiny_judge.pairs import canonical, draw_pairs, split_pairs, values
from factory.tiny_teacher.problems import make_splits
from factory.tiny_teacher.tokenizer import train_tokenizer
from factory.tiny_teacher.train import (batches, build_model, collate, parse_training_args, reload_as_shipped,
                                        save_model)
from factory.verification.judge_template import load_template, render

REPO = Path(__file__).resolve().parents[2]
HELD_OUT_FILE = Path("judge") / "tiny-judge-heldout.jsonl"
TEMPLATE = REPO / "data" / "models" / "tiny-judge" / "judge_prompt.txt"
"""The tiny judge's own short prompt, the two answers and no problem (a recipe names it in `judge.template`): a
third of the tokens of the shipped general template, which is what makes training fit a few CPU minutes."""


@dataclass
class JudgeTrainConfig:
    """Every setting that changes the shipped files (written into the model card)."""

    seed: int = 2024
    pairs: int = 17_000          # drawn pairs (with repeats); distinct ones are split below
    held_out_share: float = 0.1
    epochs: int = 16             # epoch 0 is the training part, each later one `pairs` pairs drawn afresh
    batch_size: int = 32
    lr: float = 3e-3
    warmup_steps: int = 200
    vocab_size: int = 512
    hidden_size: int = 128
    intermediate_size: int = 384
    num_layers: int = 3
    num_heads: int = 2           # head_dim 64: vLLM's CPU attention does not support 16
    verdict_weight: float = 2.0  # the loss weight of the tokens after `</think>` against each think token's
    minutes: float = 25.0        # training budget: the schedule ends at `epochs` or at this wall time, first reached
    threads: int = 2


def problems(seed: int) -> list[str]:
    """Problem statements for the prompts' context (the tiny teacher's train kinds; the judge ignores them)."""
    train, _ = make_splits(seed, 5, {"add": 200, "sub": 200, "mul": 200, "word": 200, "frac": 200, "dec": 200})
    return [p.problem for _, p in train]


def fresh_pairs(cfg: JudgeTrainConfig, epoch: int, held_keys: set[tuple[str, str]]) -> list[tuple]:
    """Epoch `epoch`'s training pairs: `cfg.pairs` pairs drawn afresh (another seed), less every held-out pair in
    either order, so later epochs see new combinations of the same forms and never a held-out one."""
    drawn = draw_pairs(cfg.seed + 7919 * epoch, cfg.pairs)
    return [pair for pair in drawn if tuple(sorted(pair[:2])) not in held_keys]


def reply(first_value: str, second_value: str, label: str) -> str:
    """The judge's reply: a think block with one line per answer, its value and whose value it is, then the
    verdict: `29/8 = A` then `29/8 = A` (equivalent: B's value is A's) or `7/2 = B` (different). Writing the values
    turns one hard decision into two lookups; naming the owner makes the comparison a copy. Asked whether two value
    tokens are equal, the tiny model sat at chance for thousands of steps (equality has no signal in either token
    alone); writing `A` after the second value when it already appeared as A's is what a two-layer induction
    circuit learns quickly, and the verdict then reads one token. The last word is what the stage parses."""
    owner = "A" if label == "equivalent" else "B"
    return f"<think>\n{first_value} = A\n{second_value} = {owner}\n</think>\n{label}"


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


def add_value_tokens(tokenizer) -> None:
    """One token per fraction value the judge writes in its think block (`29/8`; integers are single digits
    already): the value is one choice, not a digit string, and the two values compare as two tokens. In a
    2,000-step trial the think block's values went from 90% to 97% right. The same text in a prompt becomes the
    same token (`29/8` is its own value); other forms keep single digits (`\\frac{38}{16}`, `0.375`). Added
    tokens are matched leftmost-longest, so `11/10` is one token, never `1` and `1/10`."""
    from tokenizers import AddedToken

    tokenizer.add_tokens([AddedToken(canonical(v), special=False, normalized=False)
                          for v in values() if v.denominator != 1])


def encode(examples: list, tokenizer) -> list[tuple[list[int], int]]:
    out = []
    for chat, reply in examples:
        prompt = tokenizer.apply_chat_template(list(chat), tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append((ids + answer, len(ids)))
    return out


def train_model(model, epochs: list[list], cfg: JudgeTrainConfig, pad_id: int, verdict_from: int) -> dict:
    """AdamW, linear warmup then cosine decay to a tenth, the loss on the reply with the tokens after `</think>`
    (id `verdict_from`: the verdict and the end of turn) weighted `cfg.verdict_weight`. The verdict is one token
    of about fifteen and is learned last: at equal weight, after 2,000 steps of 32, the model wrote both values
    right yet gave the other verdict on a quarter of its own training pairs; a weight of 10 from the first step
    held the values back instead. Returns a log of the reply and verdict losses (mean per token, last 100 steps)."""
    import torch

    rng = random.Random(cfg.seed)
    plan = [b for encoded in epochs for b in batches(encoded, cfg.batch_size, rng)]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.1)

    def progress(step: int) -> float:
        """How far along the schedule: by steps, or by wall time on a machine slower than planned."""
        by_steps = (step - cfg.warmup_steps) / max(1, len(plan) - cfg.warmup_steps)
        return max(by_steps, (time.time() - start) / (60 * cfg.minutes))

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress(step)))))

    model.train()
    sums, log, start = {"reply": [], "verdict": []}, [], time.time()
    done = 0
    for step, batch in enumerate(plan):
        if step >= cfg.warmup_steps and progress(step) >= 1:
            break
        done = step + 1
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        input_ids, mask, labels = collate(batch, pad_id)
        logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1]
        target = labels[:, 1:]
        losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100,
                                                   reduction="none")
        scored = target != -100
        verdict = (torch.cumsum(target == verdict_from, dim=1) > 0) & (target != verdict_from) & scored
        weights = scored.float() + (cfg.verdict_weight - 1) * verdict.float()
        loss = (losses * weights).sum() / weights.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sums["reply"].append((losses * scored).sum().item() / scored.sum().item())
        sums["verdict"].append((losses * verdict).sum().item() / max(1, verdict.sum().item()))
        if (step + 1) % 100 == 0 or step + 1 == len(plan) or progress(step + 1) >= 1:
            reply_loss, verdict_loss = (round(sum(v[-100:]) / len(v[-100:]), 4) for v in sums.values())
            log.append({"step": step + 1, "reply_loss": reply_loss, "verdict_loss": verdict_loss})
            print(f"step {step + 1}/{len(plan)} reply loss {reply_loss:.4f} verdict loss {verdict_loss:.4f} "
                  f"lr {lr_at(step):.2e} {time.time() - start:.0f}s", flush=True)
    return {"steps": done, "planned_steps": len(plan), "final_loss": log[-1]["reply_loss"],
            "final_verdict_loss": log[-1]["verdict_loss"], "log": log}


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
    held_keys = {tuple(sorted(pair[:2])) for pair in held_out}
    epochs = [chats(train if e == 0 else fresh_pairs(cfg, e, held_keys), template, contexts,
                    random.Random(cfg.seed + e)) for e in range(cfg.epochs)]
    corpus = [turn["content"] for chat, _ in epochs[0] for turn in chat] + [r.replace("<think>", "").replace(
        "</think>", "") for _, r in epochs[0]]
    tokenizer = train_tokenizer(corpus, cfg.vocab_size)
    add_value_tokens(tokenizer)
    model = build_model(cfg, tokenizer)
    out = data_dir / "models" / "tiny-judge"
    tokenizer = reload_as_shipped(tokenizer, model, out, corpus)
    encoded = [encode(ex, tokenizer) for ex in epochs]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(train)} train pairs, {len(held_out)} held out; vocab {len(tokenizer)}; {n_params} parameters",
          flush=True)
    log = train_model(model, encoded, cfg, tokenizer.pad_token_id, tokenizer.convert_tokens_to_ids("</think>"))
    save_model(model, tokenizer, out)
    info = {"config": asdict(cfg), "parameters": n_params, "train_pairs": len(train), "held_out_pairs": len(held_out),
            "wall_minutes": round((time.time() - started) / 60, 1), "torch": torch.__version__,
            **log}
    (out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"saved {out} in {info['wall_minutes']} min", flush=True)


def main(argv: list[str] | None = None) -> None:
    run(*parse_training_args(JudgeTrainConfig, __doc__.split("\n")[0], "models/tiny-judge/ and judge/", argv))


if __name__ == "__main__":
    main()
