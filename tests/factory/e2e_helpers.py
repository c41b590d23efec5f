"""Running the real CLI in a subprocess for the end-to-end tests (its own Ray instance and vLLM engine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TINY_TEACHER, events_of

PROMPTS, N, PER_UNIT = 24, 4, 2
RUN_FLAGS = ["generate", "--recipe", "tiny", "--model", str(TINY_TEACHER), "--limit", str(PROMPTS),
             "--n", str(N), "--set", f"output.prompts_per_shard={PER_UNIT}", "--set", "output.pairs=true",
             "--log-json"]
UNITS = PROMPTS // PER_UNIT


def start_run(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "factory.cli", *RUN_FLAGS, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 900) -> tuple[int, list[dict], str]:
    out, err = proc.communicate(timeout=timeout)
    events = events_of(out)
    return proc.returncode, events, err


