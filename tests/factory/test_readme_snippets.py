"""The README's Python snippets, extracted from README.md itself and run as written.

Every fenced ```python block of the README must be preceded by a marker `<!-- test: GROUP -->`, which says what the
snippet needs: `load` and `plugin` run on a run folder made by `factory verify` (no engine, fast); `trl` runs the
training snippets, in README order in one folder (the SFT snippet saves the `student` the DPO and GRPO snippets
start from), on the shared tiny run (real vLLM + Ray, `full_run`), so it is slow. A new snippet without a marker
fails the test: no snippet goes untested.

Replaced before running, and only these (the README says so): the run-folder placeholders `runs/tiny-<fingerprint>`
and `runs/math-<fingerprint>` (by the run folder), and the 7B Hub student (by the shipped tiny teacher: tests have no
network). `problems.jsonl`, which the GRPO snippet reads from the working folder, is written there from the shipped
training prompts. The snippets run in a subprocess on CPU (`CUDA_VISIBLE_DEVICES=""`, Hub offline) from a folder
that holds `data/` like the repo root, so `data/models/tiny-r1` resolves as it does for a user.

Run as a script, this file is that subprocess: `python test_readme_snippets.py SNIPPETS_JSON REPORT_JSON`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GROUPS = ("load", "plugin", "trl")
MARKED = re.compile(r"<!-- test: (?P<group>[\w-]+) -->\n```python\n(?P<code>.*?)```", re.S)
PLACEHOLDERS = ("runs/tiny-<fingerprint>", "runs/math-<fingerprint>")
HUB_STUDENTS = ("Qwen/Qwen2.5-7B-Instruct",)


def snippets(group: str) -> list[dict]:
    """The README's snippets of `group`, in order, with the line each starts on."""
    text = README.read_text()
    return [{"line": text[:m.start("code")].count("\n") + 1, "code": m.group("code")}
            for m in MARKED.finditer(text) if m.group("group") == group]


def run_snippets(group: str, run_dir: Path, work: Path, timeout: int) -> list[dict]:
    """Run the group's snippets (placeholders replaced) in a subprocess in `work`; returns what each did."""
    (work / "data").symlink_to(ROOT / "data")
    with open(ROOT / "data" / "prompts" / "arith-train.jsonl") as source:
        (work / "problems.jsonl").write_text("".join(next(source) for _ in range(32)))
    items = []
    for item in snippets(group):
        code = item["code"]
        for placeholder in PLACEHOLDERS:
            code = code.replace(placeholder, str(run_dir))
        for student in HUB_STUDENTS:
            code = code.replace(student, "data/models/tiny-r1")
        items.append({**item, "code": code})
    (work / "snippets.json").write_text(json.dumps(items))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(work / ".hf"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, __file__, "snippets.json", "report.json"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads((work / "report.json").read_text())


def test_every_python_snippet_is_marked_with_a_known_group():
    text = README.read_text()
    fences = [text[:m.start()].count("\n") + 1 for m in re.finditer(r"^```python$", text, re.M)]
    marked = [text[:m.start("code")].count("\n") for m in MARKED.finditer(text)]
    assert fences and sorted(fences) == sorted(marked), "README.md: a ```python block without <!-- test: GROUP -->"
    assert {m.group("group") for m in MARKED.finditer(text)} <= set(GROUPS)
    for group in GROUPS:
        assert snippets(group), f"no README snippet in group {group}"


def test_load_and_plugin_snippets_run_as_written(tmp_path):
    from factory.cli import EXIT_OK, main
    from tests.conftest import write_jsonl

    good = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
    rows = [{"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": good},
            {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": good.replace("{7}", "{8}")}]
    run_dir = tmp_path / "run"
    assert main(["verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", rows)),
                 "--out", str(run_dir), "--log-json"]) == EXIT_OK
    work = tmp_path / "work"
    work.mkdir()
    (loaded,) = run_snippets("load", run_dir, work, timeout=300)
    assert loaded["datasets"] == {"ds": {"accepted": 1, "rejected": 1}, "pairs": {"train": 1}}
    work = tmp_path / "work2"
    work.mkdir()
    (plugin,) = run_snippets("plugin", run_dir, work, timeout=300)
    assert "short_answer" in plugin["verifiers"]
    assert plugin["checks"] == {"short": "accepted", "long": "rejected:too_long"}


@pytest.mark.slow
def test_training_snippets_run_as_written_on_cpu(full_run, tmp_path):
    run_dir, _ = full_run
    sft, dpo, sft_7b, grpo = run_snippets("trl", run_dir, tmp_path, timeout=1800)
    (train,) = sft["trainings"]
    assert train["trainer"] == "SFTTrainer" and train["steps"] == 10 and train["loss"] == train["loss"]
    assert train["device"] == "cpu"
    assert (tmp_path / "student" / "config.json").is_file() and "student" in sft["files"]
    assert sft["datasets"]["ds"]["accepted"] > 0
    (train,) = dpo["trainings"]
    assert train["trainer"] == "DPOTrainer" and train["steps"] == 5 and train["loss"] == train["loss"]
    (train,) = sft_7b["trainings"]
    assert train["trainer"] == "SFTTrainer" and train["steps"] >= 1 and not train["bf16"]
    (train,) = grpo["trainings"]
    assert train["trainer"] == "GRPOTrainer" and train["steps"] == 2 and train["device"] == "cpu"


def _check_plugin(namespace: dict) -> dict:
    """Use a verifier class the snippet defined, on a short and a long completion."""
    from verifiers.types import Completion, Prompt, chat

    cls = next((v for v in namespace.values() if isinstance(v, type) and getattr(v, "name", None) == "short_answer"),
               None)
    if cls is None:
        return {}
    prompt = Prompt("p", chat(None, "q"), "q", "1", "src")
    out = {}
    for label, text in (("short", "<think>x</think>1"), ("long", "x" * 20_000)):
        verdict = cls().verify(prompt, Completion("p", 0, text))
        out[label] = "accepted" if verdict.accepted else f"rejected:{verdict.reason}"
    return out


def main(snippets_json: str, report_json: str) -> None:
    """Run each snippet in a fresh namespace, in order, in this folder; record datasets, trainings, verifiers."""
    import transformers

    trainings: list[dict] = []
    real_train = transformers.Trainer.train

    def recording_train(self, *args, **kwargs):  # the real train(); what it did is noted for the test
        result = real_train(self, *args, **kwargs)
        trainings.append({"trainer": type(self).__name__, "steps": self.state.global_step,
                          "loss": result.training_loss, "output_dir": self.args.output_dir,
                          "device": str(self.args.device), "bf16": self.args.bf16})
        return result

    transformers.Trainer.train = recording_train
    from datasets import Dataset, DatasetDict
    from verifiers.registry import available_verifiers

    report = []
    for item in json.loads(Path(snippets_json).read_text()):
        namespace: dict = {"__name__": "__main__"}
        trainings.clear()
        exec(compile(item["code"], f"README.md:{item['line']}", "exec"), namespace)
        report.append({
            "line": item["line"],
            "datasets": {name: ({split: ds.num_rows for split, ds in value.items()} if isinstance(value, DatasetDict)
                                else {"train": value.num_rows})
                         for name, value in namespace.items() if isinstance(value, (Dataset, DatasetDict))},
            "trainings": list(trainings),
            "verifiers": available_verifiers(),
            "checks": _check_plugin(namespace),
            "files": sorted(p.name for p in Path(".").iterdir()),
        })
    Path(report_json).write_text(json.dumps(report, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:3])
