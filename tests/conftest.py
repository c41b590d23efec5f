"""Shared test fixtures: project paths and small prompt files written per test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TINY_TEACHER = PROJECT_ROOT / "data" / "models" / "tiny-r1"
ARITH_TEST = PROJECT_ROOT / "data" / "prompts" / "arith-test.jsonl"


def events_of(text: str) -> list[dict]:
    """The JSON-line events a `--log-json` run printed (other lines ignored)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def factory_cmd() -> list[str]:
    """The CLI as a subprocess command, using the interpreter running the tests."""
    return [sys.executable, "-m", "factory.cli"]
