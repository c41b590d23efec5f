"""TRL's real trainers on a real run folder (the shipped tiny recipe, with pairs): the README's snippets as written,
under several PYTHONHASHSEED values, asserting on the token ids TRL trains on.

What must hold: SFTTrainer reads the accepted split as conversational prompt-completion, so it trains on the
chat-templated conversation (the templated user turn with the instruction, then the assistant turn with
`<think>…</think>` and the answer, then the end-of-turn token), with the loss on the assistant turn only; DPOTrainer
reads the pairs config as conversational preference data with the same templated prompt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factory.recipe import R1_INSTRUCTION
from tests.conftest import TINY_TEACHER

pytestmark = pytest.mark.slow
SNIPPETS = Path(__file__).with_name("trl_snippets.py")


@pytest.mark.parametrize("hash_seed", ["0", "1", "2"])
def test_readme_trl_snippets_train_on_the_right_text(full_run, tmp_path, hash_seed):
    out, _ = full_run
    report_path = tmp_path / "report.json"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(SNIPPETS), str(out), str(TINY_TEACHER), str(report_path)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(report_path.read_text())

    sft = report["sft"]
    assert sft["completion_only_loss"] is True
    # The whole templated conversation, exactly as the chat template renders it, ends with the end-of-turn token.
    assert sft["text"] == sft["expected_text"]
    assert sft["text"].startswith(sft["expected_prompt"])
    assert R1_INSTRUCTION in sft["expected_prompt"]
    # The loss covers the assistant turn and its end-of-turn token, nothing of the prompt.
    assert sft["trained_text"] == sft["text"][len(sft["expected_prompt"]):]
    assert sft["trained_text"].startswith(sft["assistant_text"].split("\n")[0])
    assert "<think>" in sft["trained_text"] and "</think>" in sft["trained_text"]
    assert sft["trained_text"].rstrip().endswith(sft["eos"])
    assert R1_INSTRUCTION not in sft["trained_text"]
    assert sft["steps"] == 2 and sft["loss"] == sft["loss"]  # trained; the loss is a number, not NaN

    dpo = report["dpo"]
    assert dpo["prompt_text"] == dpo["expected_prompt"]
    assert dpo["chosen_text"].startswith(dpo["chosen"].split("\n")[0]) and "\\boxed" in dpo["chosen_text"]
    assert dpo["rejected_text"].startswith(dpo["rejected"].split("\n")[0])
    assert dpo["chosen_text"] != dpo["rejected_text"]
    assert dpo["steps"] == 1 and dpo["loss"] == dpo["loss"]
