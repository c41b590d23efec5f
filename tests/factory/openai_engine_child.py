"""Runs OpenAIEngine on the first prompts of data/prompts/arith-test.jsonl and writes the completions as JSON.

A child process for the journal tests, which `kill -9` it mid-generation and then run it again:

    python tests/factory/openai_engine_child.py --base-url URL --model M --journal DIR --out FILE [--prompts 12] ...

The output ({"completions": [...], "counters": {...}}) is written only when every prompt has its n samples.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from factory.engines.base import SamplingConfig  # noqa: E402
from factory.engines.openai_engine import HTTPSettings, OpenAIEngine  # noqa: E402
from verifiers.types import Prompt, chat  # noqa: E402

SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."


def arith_prompts(count: int) -> list[Prompt]:
    rows = [json.loads(line) for line in (ROOT / "data" / "prompts" / "arith-test.jsonl").open()][:count]
    return [Prompt(prompt_id=r["id"], messages=chat(None, r["problem"] + SUFFIX), problem=r["problem"],
                   gold=r["answer"]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--journal", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=448)
    parser.add_argument("--max-concurrency", type=int, default=2)
    parser.add_argument("--max-n-per-request", type=int, default=2)
    args = parser.parse_args()
    settings = HTTPSettings(base_url=args.base_url, max_concurrency=args.max_concurrency,
                            max_n_per_request=args.max_n_per_request, request_timeout_s=120, backoff_base_s=0.05,
                            backoff_max_s=0.5)
    engine = OpenAIEngine(args.model, settings, args.journal)
    try:
        engine.preflight()
        sampling = SamplingConfig(n=args.n, temperature=1.0, top_p=1.0, max_tokens=args.max_tokens)
        completions = engine.generate(arith_prompts(args.prompts), sampling)
        counters = engine.counters()
    finally:
        engine.close()
    args.out.write_text(json.dumps({"completions": [asdict(c) for c in completions], "counters": counters}))


if __name__ == "__main__":
    main()


# ---- used by the tests (not when run as a script) ----

def journaled(journal_dir: Path) -> dict[tuple[str, int], str]:
    """(prompt_id, sample_index) -> text of every sample of the whole lines in the journal folder."""
    from factory.engines.journal import RequestJournal

    if not journal_dir.is_dir():
        return {}
    return {key: c.text for key, c in RequestJournal(journal_dir).samples().items()}


def child_command(base_url: str, model: str, journal_dir: Path, out: Path, **options: object) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--base-url", base_url, "--model", model,
           "--journal", str(journal_dir), "--out", str(out)]
    for name, value in options.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    return cmd


def kill_once_journaled(cmd: list[str], journal_dir: Path, samples: int, timeout_s: float = 300) -> int:
    """Start `cmd`, `kill -9` it as soon as at least `samples` samples are journaled; returns how many were."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while len(journaled(journal_dir)) < samples:
            if proc.poll() is not None:
                raise AssertionError(f"the child ended ({proc.returncode}) before it could be killed: "
                                     + proc.stderr.read().decode(errors="replace")[-2000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {samples} samples journaled after {timeout_s:.0f} s")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    return len(journaled(journal_dir))


def rerun(cmd: list[str], out: Path) -> dict:
    import subprocess

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())
