"""Regenerate the tiny teacher from scratch: the arithmetic prompt files and the model in `data/models/tiny-r1/`.

`python -m factory.tiny_teacher.train` (CPU only, about 20 minutes on 2 cores) does, with fixed seeds:
1. draws the test split (never trained on) and the train split of problems and writes
   `data/prompts/arith-{train,test}.jsonl`, rows `{"id", "problem", "answer"}`;
2. writes R1-shaped traces for the train problems, a fresh trace (defect, answer form, user wording) per epoch,
   with defects at the rates of `traces.DEFECT_RATES`;
3. trains a byte-level BPE tokenizer on them and a small Qwen2 causal LM from random weights, with the loss on
   the assistant turn only;
4. saves the model, tokenizer (chat template in `tokenizer_config.json`) and generation config in Hugging Face
   format, plus a model card whose "Scores" section `evaluate --write-card` fills in.

Same seed, same thread count, same library versions: same files. Different torch builds may differ in the last
bits of the weights. Nothing here is imported by the pipeline; this is a tool to rebuild shipped test data.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from factory.tiny_teacher.card import write_card
from factory.tiny_teacher.problems import KINDS, frac_space_size, make_splits
from factory.tiny_teacher.tokenizer import CHAT_TEMPLATE, train_tokenizer
from factory.tiny_teacher.traces import pick_defect, user_turn, write_trace

REPO = Path(__file__).resolve().parents[2]


@dataclass
class TrainConfig:
    """Every setting that changes the shipped files (written into the model card)."""

    seed: int = 1234
    test_per_kind: int = 100
    train_per_kind: int = 3000   # add, sub, mul, word, dec; frac takes what the small fraction space has left
    frac_repeat: int = 8         # fraction problems are few, so each appears this many times per epoch
    epochs: int = 3
    batch_size: int = 16         # more, smaller steps: a model this small is limited by steps, not tokens
    lr: float = 3e-3
    warmup_steps: int = 300
    max_len: int = 512           # no example is longer (the longest clean trace is about 340 tokens)
    loop_len: int = 320          # a loop trace is cut here and never sees an end-of-sequence token
    vocab_size: int = 1024
    hidden_size: int = 192
    intermediate_size: int = 512
    num_layers: int = 4
    num_heads: int = 3           # head_dim 64: vLLM's CPU attention does not support 16
    threads: int = 2


def write_jsonl(path: Path, rows: list[tuple[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for pid, problem in rows:
            f.write(json.dumps({"id": pid, "problem": problem.problem, "answer": problem.answer}, ensure_ascii=False))
            f.write("\n")


def epoch_examples(train: list, cfg: TrainConfig, epoch: int) -> list[tuple[list[dict], object]]:
    """(chat, trace) pairs for one epoch, in a shuffled order; the seed fixes traces, defects and wording."""
    rng = random.Random(cfg.seed * 1000 + epoch)
    examples = []
    for _pid, problem in train:
        for _ in range(cfg.frac_repeat if problem.kind == "frac" else 1):
            examples.append((user_turn(problem, rng), write_trace(problem, rng, pick_defect(rng))))
    rng.shuffle(examples)
    return examples


def tokenizer_corpus(examples: list) -> list[str]:
    """Texts to learn BPE merges from: role names and contents, without the tags that become added tokens."""
    texts = []
    for chat, trace in examples:
        texts.extend(f"{turn['role']}\n{turn['content']}" for turn in chat)
        texts.append("assistant\n" + trace.text[:1500].replace("<think>", "").replace("</think>", ""))
    return texts


def encode(examples: list, tokenizer, max_len: int, loop_len: int) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) per example. The prompt is tokenized alone, as the inference engine does.

    Loop traces are cut at `loop_len` tokens: long enough for the model to learn that a loop never ends (it has
    no end-of-sequence token), short enough not to spend a tenth of the training compute on repeated lines.
    """
    out = []
    for chat, trace in examples:
        prompt = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        # verbose=False: loop traces are longer than the model's context on purpose and are cut just below.
        completion = tokenizer(trace.text, add_special_tokens=False, verbose=False)["input_ids"]
        if trace.ends:
            completion.append(tokenizer.eos_token_id)
        out.append(((ids + completion)[:max_len if trace.ends else loop_len], len(ids)))
    return out


def batches(encoded: list, batch_size: int, rng: random.Random) -> list[list[tuple[list[int], int]]]:
    """Batches of similar length (less padding), in random order."""
    chunk = batch_size * 50
    result = []
    for start in range(0, len(encoded), chunk):
        part = sorted(encoded[start:start + chunk], key=lambda e: len(e[0]))
        result.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(result)
    return result


def collate(batch: list, pad_id: int):
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
        mask[row, : len(ids)] = 1
    return input_ids, mask, labels


def build_model(cfg: TrainConfig, tokenizer):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen2ForCausalLM(config)


def train_model(model, epochs: list[list], cfg: TrainConfig, pad_id: int) -> dict:
    """AdamW with linear warmup and cosine decay to a tenth; returns a small log for the model card."""
    import torch

    rng = random.Random(cfg.seed)
    plan = [b for encoded in epochs for b in batches(encoded, cfg.batch_size, rng)]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.1)

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, len(plan) - cfg.warmup_steps)
        return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))

    model.train()
    losses, log, start = [], [], time.time()
    for step, batch in enumerate(plan):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        input_ids, mask, labels = collate(batch, pad_id)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % 100 == 0 or step + 1 == len(plan):
            mean = sum(losses[-100:]) / len(losses[-100:])
            log.append({"step": step + 1, "loss": round(mean, 4)})
            print(f"step {step + 1}/{len(plan)} loss {mean:.4f} lr {lr_at(step):.2e} {time.time() - start:.0f}s",
                  flush=True)
    return {"steps": len(plan), "final_loss": log[-1]["loss"], "log": log}


def reload_as_shipped(tokenizer, model, out: Path, texts: list[str]):
    """Save the tokenizer beside the model config and load it back as vLLM will (`AutoTokenizer`).

    Training then uses exactly the tokenizer the engine gets; a loader that tokenizes differently from the one
    trained (transformers picks its class from the model type) is an error here, not a silent mismatch.
    """
    from transformers import AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    loaded = AutoTokenizer.from_pretrained(out)
    for text in texts[:3000]:
        kwargs = {"add_special_tokens": False, "verbose": False}
        if loaded(text, **kwargs)["input_ids"] != tokenizer(text, **kwargs)["input_ids"]:
            raise RuntimeError(f"{type(loaded).__name__} loaded from {out} tokenizes {text[:80]!r} differently")
    return loaded


def save_model(model, tokenizer, out: Path) -> None:
    """Hugging Face folder: weights, config, generation config (EOS = `<|im_end|>`), tokenizer with template."""
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    save_tokenizer(tokenizer, out)


def save_tokenizer(tokenizer, out: Path) -> None:
    tokenizer.save_pretrained(out)
    # transformers 5 puts the template in chat_template.jinja and names its own backend class; older versions and
    # other readers look for both in tokenizer_config.json, so keep one copy there, readable by all.
    (out / "chat_template.jinja").unlink(missing_ok=True)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config.update(tokenizer_class="PreTrainedTokenizerFast", chat_template=CHAT_TEMPLATE)
    for key in ("is_local", "local_files_only"):  # how it was last loaded, not a property of the tokenizer
        config.pop(key, None)
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def run(cfg: TrainConfig, data_dir: Path) -> None:
    import torch

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    started = time.time()
    frac_train = frac_space_size() - cfg.test_per_kind
    per_kind = {kind: (frac_train if kind == "frac" else cfg.train_per_kind) for kind in KINDS}
    train, test = make_splits(cfg.seed, cfg.test_per_kind, per_kind)
    write_jsonl(data_dir / "prompts" / "arith-train.jsonl", train)
    write_jsonl(data_dir / "prompts" / "arith-test.jsonl", test)
    print(f"{len(train)} train and {len(test)} test problems written", flush=True)

    examples = [epoch_examples(train, cfg, e) for e in range(cfg.epochs)]
    corpus = tokenizer_corpus(examples[0])
    tokenizer = train_tokenizer(corpus, cfg.vocab_size)
    model = build_model(cfg, tokenizer)
    out = data_dir / "models" / "tiny-r1"
    tokenizer = reload_as_shipped(tokenizer, model, out, corpus)
    encoded = [encode(ex, tokenizer, cfg.max_len, cfg.loop_len) for ex in examples]
    tokens = sum(len(ids) for enc in encoded for ids, _ in enc)
    print(f"vocab {len(tokenizer)}, {sum(map(len, encoded))} examples, {tokens} tokens", flush=True)

    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)
    log = train_model(model, encoded, cfg, tokenizer.pad_token_id)
    save_model(model, tokenizer, out)
    minutes = (time.time() - started) / 60
    write_card(out, {"config": asdict(cfg), "parameters": n_params, "train_problems": len(train),
                     "test_problems": len(test), "examples": sum(map(len, encoded)), "tokens": tokens,
                     "wall_minutes": round(minutes, 1), "torch": torch.__version__, **log})
    print(f"saved {out} in {minutes:.1f} min", flush=True)


def parse_training_args(config_type: type, description: str, writes: str,
                        argv: list[str] | None) -> tuple[object, Path]:
    """The command line of a training tool: `--data-dir` (where `writes` go, default the repo's data/) and one
    option per field of the dataclass `config_type`, typed and defaulted from it. Returns (config, data_dir)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data",
                        help=f"where {writes} are written (default: the repo's data/)")
    for name, value in asdict(config_type()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                            help=f"training setting (default {value}); changing it changes the shipped files")
    args = vars(parser.parse_args(argv))
    data_dir = args.pop("data_dir")
    return config_type(**args), data_dir


def main(argv: list[str] | None = None) -> None:
    run(*parse_training_args(TrainConfig, __doc__.split("\n")[0], "prompts/ and models/tiny-r1/", argv))


if __name__ == "__main__":
    main()
