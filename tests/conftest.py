"""Shared test fixtures: project paths and small prompt files written per test."""

from __future__ import annotations

import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TINY_TEACHER = PROJECT_ROOT / "data" / "models" / "tiny-r1"
ARITH_TEST = PROJECT_ROOT / "data" / "prompts" / "arith-test.jsonl"


def events_of(text: str) -> list[dict]:
    """The JSON-line events a `--log-json` run printed (other lines ignored)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def boxed_number(answer: str) -> Fraction | None:
    """The number in an answer's last box once the words around it are dropped ("9696 apples" is 9696), or None.
    The tiny teacher samples words into its boxes; the math verifier grades the value they leave, so an accepted
    row's box holds exactly the gold's number, with words only around it. Independent of the verifier's code."""
    from factory.tiny_teacher.evaluate import last_boxed, parse_number

    boxed = last_boxed(answer)
    if boxed is None:
        return None
    body = re.sub(r"\\text\{([^{}]*)\}", r" \1 ", boxed)
    body = re.sub(r"(?<![\\A-Za-z])[A-Za-z]+", " ", body)
    body = re.sub(r"(?<=\d)(?:,|\{,\}|\\,|\\!|\\ )(?=\d{3}(?!\d))", "", body)  # 9,696 and 9\,696: digit groups
    return parse_number(body.strip(" .,:;"))


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
