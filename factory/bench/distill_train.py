"""The distillation benchmark's students: the SFT corpora of both arms, the shared initialisation, TRL's SFTTrainer.

Corpora (`sft_corpora`): the filtered arm is the run's `accepted` split as written (kept after selection); the
unfiltered arm is as many rows drawn at random (seeded) from everything the teacher wrote, `accepted` and `rejected`
together, defects included. Rows are read in whichever form the run folder has: TRL's conversational
prompt-completion (`prompt` = the user turn(s), `completion` = one assistant message), else `messages` (user and
assistant turns), cut at the last assistant turn. Both become prompt-completion rows, so the loss is on the
assistant turn only, as in R1-distill and open-r1 SFT.

Initialisation (`student_init`): both arms of one seed start from the same weights. "perturbed" (the default) takes
the teacher's weights and adds Gaussian noise of `noise` times each tensor's own standard deviation (seeded): a
student that has lost much of what the teacher knows, so that SFT on a few thousand traces decides what it becomes.
"scratch" builds a fresh model from the teacher's config (same tokenizer) with seeded random weights. A fresh
student cannot learn column arithmetic in the few CPU minutes a benchmark run can spend (the teacher itself needed
3,400 steps), so its pass@1 stays near the floor for both arms and the comparison measures noise.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "generation_config.json")


def row_to_example(row: dict[str, Any]) -> dict[str, list[dict[str, str]]] | None:
    """One run-folder row as a conversational prompt-completion example (None if it has neither form)."""
    prompt, completion = row.get("prompt"), row.get("completion")
    if _is_chat(prompt) and _is_chat(completion):
        return {"prompt": _clean(prompt), "completion": _clean(completion)}
    messages = row.get("messages")
    if _is_chat(messages):
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is not None and last > 0:
            return {"prompt": _clean(messages[:last]), "completion": _clean(messages[last:last + 1])}
    return None


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def _clean(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m.get("content") or ""} for m in messages]


def load_run(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The run folder's splits as lists of rows (`datasets.load_dataset(run_dir)`, as a user loads it)."""
    from datasets import load_dataset

    ds = load_dataset(str(run_dir))
    return {split: ds[split].to_list() for split in ("accepted", "rejected") if split in ds}


def sft_corpora(run_dir: Path, seed: int) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """(filtered, unfiltered, info): the kept rows, and as many rows drawn from all the teacher wrote."""
    splits = load_run(run_dir)
    accepted = splits.get("accepted", [])
    everything = accepted + splits.get("rejected", [])
    filtered = [e for e in map(row_to_example, accepted) if e is not None]
    pool = [(e, failed_a_verifier(r)) for r, e in ((r, row_to_example(r)) for r in everything) if e is not None]
    if not filtered or len(pool) < len(filtered):
        raise SystemExit(f"{run_dir}: {len(filtered)} kept rows and {len(pool)} rows in all; cannot build the arms")
    drawn = random.Random(seed).sample(pool, len(filtered))
    form = "prompt/completion" if accepted and _is_chat(accepted[0].get("prompt")) else "messages"
    info = {"row_form": form, "kept": len(filtered), "teacher_samples": len(everything),
            "verifier_rejected_share_of_teacher_samples": round(sum(f for _, f in pool) / len(pool), 4),
            "verifier_rejected_share_of_unfiltered_corpus": round(sum(f for _, f in drawn) / len(drawn), 4)}
    return filtered, [e for e, _ in drawn], info


def failed_a_verifier(row: dict[str, Any]) -> bool:
    """Rejected by a verifier, not only by selection (a duplicate of a kept trace, or over the per-prompt cap)."""
    reasons = row.get("rejection_reasons") or []
    return any(not str(r).startswith("selection:") for r in reasons)


def student_init(teacher: Path, out: Path, init: str, noise: float, seed: int) -> Path:
    """Write the shared starting point of both arms of `seed` to `out` (a Hugging Face folder); reused if there."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if (out / "model.safetensors").exists():
        return out
    torch.manual_seed(seed)
    if init == "scratch":
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(teacher), dtype=torch.float32)
    elif init == "perturbed":
        model = AutoModelForCausalLM.from_pretrained(teacher, dtype=torch.float32)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for param in model.parameters():
                scale = noise * float(param.std()) if param.numel() > 1 else 0.0
                param.add_(torch.randn(param.shape, generator=generator) * scale)
    else:
        raise ValueError(f"unknown init {init!r} (perturbed | scratch)")
    save_with_tokenizer(model, teacher, out)
    return out


def save_with_tokenizer(model, teacher: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:  # the teacher's tokenizer, chat template and EOS, exactly as vLLM reads them
        shutil.copy(teacher / name, out / name)


def train_student(init_dir: Path, teacher: Path, examples: list[dict], out: Path, seed: int,
                  settings: dict[str, Any]) -> dict[str, Any]:
    """SFT one student from `init_dir` on `examples` with TRL's SFTTrainer; saves it to `out` with the tokenizer."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    done = out / "train.json"
    if done.exists():
        return json.loads(done.read_text())
    torch.set_num_threads(settings["threads"])
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(teacher)
    model = AutoModelForCausalLM.from_pretrained(init_dir, dtype=torch.float32)
    args = SFTConfig(
        output_dir=str(out / "trainer"), max_steps=settings["steps"], per_device_train_batch_size=settings["batch_size"],
        learning_rate=settings["lr"], lr_scheduler_type="cosine", warmup_steps=settings["warmup_steps"],
        weight_decay=0.0, max_grad_norm=1.0, max_length=settings["max_length"], seed=seed, data_seed=seed,
        completion_only_loss=True, packing=False, logging_steps=25, save_strategy="no", report_to=[], use_cpu=True,
        dataloader_num_workers=0, disable_tqdm=True,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
    result = trainer.train()
    save_with_tokenizer(trainer.model, teacher, out)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    info = {"steps": trainer.state.global_step, "train_loss": round(result.training_loss, 4),
            "final_logged_loss": round(losses[-1], 4) if losses else None, "examples": len(examples),
            "minutes": round((time.time() - started) / 60, 2)}
    done.write_text(json.dumps(info, indent=1))
    shutil.rmtree(out / "trainer", ignore_errors=True)
    return info
