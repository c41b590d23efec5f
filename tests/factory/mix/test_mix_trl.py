"""R1's corpus in miniature: two tiny math runs and a general run (made by `factory verify`: real verifiers, no
engine) mixed by `factory mix`, loaded with `datasets.load_dataset` and trained on by TRL's SFTTrainer as is (the
tiny teacher as the student, a few steps on CPU)."""

from __future__ import annotations

import pytest

from factory.cli import EXIT_OK, main
from tests.conftest import TINY_TEACHER
from tests.factory.mix.mix_helpers import GENERAL_TRACES, arith_rows, verify_run, write_mixture

pytestmark = pytest.mark.slow


def test_a_mixture_of_two_runs_and_a_general_run_trains_with_sft_trainer(tmp_path):
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    runs = [verify_run(tmp_path, "math-1", arith_rows(0, 24, "a")), verify_run(tmp_path, "math-2", arith_rows(16, 24, "b")),
            verify_run(tmp_path, "general", recipe="general", traces=GENERAL_TRACES)]
    mixture = write_mixture(tmp_path / "r1.yaml", {"name": "r1-mini", "seed": 0, "rows_per_shard": 16,
                                                   "tokenizer": str(TINY_TEACHER), "sources": [
        {"name": "reasoning-1", "path": str(runs[0])},
        {"name": "reasoning-2", "path": str(runs[1]), "rows": 12},
        {"name": "general", "path": str(runs[2])}]})
    out = tmp_path / "mix"
    assert main(["mix", str(mixture), "--out", str(out)]) == EXIT_OK

    card = (out / "README.md").read_text()
    table = {line.split(" | ")[0][2:]: line.split(" | ") for line in card.splitlines() if line.startswith("| ")}
    assert table["reasoning-1"][5] == "24" and table["reasoning-2"][5] == "12" and table["general"][5] == "8"
    assert table["reasoning-2"][4] == "16"  # 24 problems, 8 of them already in reasoning-1
    tokens = {name: int(table[name][7].replace(",", "")) for name in ("reasoning-1", "reasoning-2", "general")}
    assert all(count > 0 for count in tokens.values())  # counted with the mixture's tokenizer
    assert any(line.startswith("| **total** |") and "| 44 | 100.0 |" in line for line in card.splitlines())

    ds = load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"]
    assert len(ds) == 44
    tokenizer = AutoTokenizer.from_pretrained(str(TINY_TEACHER))
    trainer = SFTTrainer(model=str(TINY_TEACHER), train_dataset=ds,
                         args=SFTConfig(output_dir=str(tmp_path / "student"), max_steps=3, per_device_train_batch_size=4,
                                        report_to=[], save_strategy="no", use_cpu=True))
    assert trainer.completion_only_loss is True  # TRL read the rows as conversational prompt-completion
    first, row = trainer.train_dataset[0], ds[0]
    mask = [label != -100 for label in first["labels"]] if "labels" in first else first["completion_mask"]
    trained = tokenizer.decode([t for t, m in zip(first["input_ids"], mask) if m])
    prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(first["input_ids"]).startswith(prompt)
    assert trained.startswith(row["completion"][0]["content"][:20].strip()[:10])
    result = trainer.train()
    assert trainer.state.global_step == 3 and result.training_loss == result.training_loss
