"""The README's TRL snippets, run as written on a run folder (with the tiny teacher as the student), and what TRL
tokenized: run as a subprocess so that each run has its own PYTHONHASHSEED.

    python tests/factory/trl_snippets.py RUN_DIR MODEL OUT_JSON
"""

from __future__ import annotations

import json
import sys
import tempfile


def main(run_dir: str, model: str, out_json: str) -> None:
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model)
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        # --- the README's SFT snippet (model id replaced by the tiny teacher, a few steps) -----------------
        ds = load_dataset(run_dir, cache_dir=f"{tmp}/hf")
        trainer = SFTTrainer(model=model, train_dataset=ds["accepted"],
                             args=SFTConfig(output_dir=f"{tmp}/student", max_steps=2, per_device_train_batch_size=2,
                                            report_to=[], save_strategy="no", use_cpu=True))
        first = trainer.train_dataset[0]
        row = ds["accepted"][0]
        ids = first["input_ids"]
        # TRL folds the completion mask into `labels` (-100 = no loss) when it builds the dataset.
        mask = ([label != -100 for label in first["labels"]] if "labels" in first else first["completion_mask"])
        report["sft"] = {
            "columns": sorted(trainer.train_dataset.column_names),
            "text": tokenizer.decode(ids),
            "trained_text": tokenizer.decode([t for t, m in zip(ids, mask) if m]),
            "expected_text": tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False),
            "expected_prompt": tokenizer.apply_chat_template(row["prompt"], tokenize=False,
                                                             add_generation_prompt=True),
            "assistant_text": row["completion"][0]["content"],
            "eos": tokenizer.eos_token,
            "completion_only_loss": trainer.completion_only_loss,
        }
        result = trainer.train()
        report["sft"]["steps"] = trainer.state.global_step
        report["sft"]["loss"] = result.training_loss

        # --- the README's DPO snippet on the pairs config -----------------------------------------------
        pairs = load_dataset(run_dir, "pairs", cache_dir=f"{tmp}/hf")["train"]
        dpo = DPOTrainer(model=model, train_dataset=pairs,
                         args=DPOConfig(output_dir=f"{tmp}/dpo", max_steps=1, per_device_train_batch_size=2,
                                        report_to=[], save_strategy="no", use_cpu=True))
        sample = dpo.train_dataset[0]
        pair = pairs[0]
        report["dpo"] = {
            "columns": sorted(dpo.train_dataset.column_names),
            "prompt_text": tokenizer.decode(sample["prompt_ids"]),
            "chosen_text": tokenizer.decode(sample["chosen_ids"]),
            "rejected_text": tokenizer.decode(sample["rejected_ids"]),
            "expected_prompt": tokenizer.apply_chat_template(pair["prompt"], tokenize=False,
                                                             add_generation_prompt=True),
            "chosen": pair["chosen"][0]["content"],
            "rejected": pair["rejected"][0]["content"],
        }
        result = dpo.train()
        report["dpo"]["steps"] = dpo.state.global_step
        report["dpo"]["loss"] = result.training_loss
    with open(out_json, "w") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
