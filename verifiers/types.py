"""The sample contract: Prompt, Completion, Verdict and the think split.

Standard library only, and nothing of ours is imported here: it sits below both packages. Verifiers judge these
types, and the pipeline (sources, engines, runtimes, the writer) makes and stores them; a third-party verifier
needs nothing else (`from verifiers import Verifier, Verdict, Prompt, Completion`). The output row and its Arrow
schema are the factory's business (`factory.output.rows`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
VerdictStatus = Literal["accepted", "rejected", "unverifiable", "skipped"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Prompt:
    """One problem to be answered, as the engines and verifiers see it.

    `messages` is the chat sent to the teacher (system and user turns, already templated). `problem` is the
    untemplated problem text (what a language verifier compares against). `gold` is the reference the verifiers
    check against: a string answer for math, a dict of tests for code; it must be JSON-serialisable.
    """

    prompt_id: str
    messages: tuple[dict[str, str], ...]
    problem: str
    gold: Any
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    """One sampled assistant turn for a prompt. `text` is the whole assistant text, think block included."""

    prompt_id: str
    sample_index: int
    text: str
    finish_reason: str = "stop"  # "stop" | "length" | "abort" | "external" (verified traces made elsewhere)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Verdict:
    """What one verifier decided about one completion.

    status: accepted | rejected | unverifiable (the check could not be made, e.g. the gold does not parse: never
    counted as wrong, never accepted) | skipped (a costly verifier not run because the sample was already rejected).
    reason: snake_case, empty for accepted (e.g. `wrong_answer`, `timeout`, `unclosed_think`, `skipped_already_rejected`).
    details: small JSON-serialisable dict for audits (extracted answer, per-test results, language shares...).
    """

    name: str
    status: VerdictStatus
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @classmethod
    def accept(cls, name: str, **details: Any) -> "Verdict":
        return cls(name, "accepted", "", details)

    @classmethod
    def reject(cls, name: str, reason: str, **details: Any) -> "Verdict":
        return cls(name, "rejected", reason, details)

    @classmethod
    def unverifiable(cls, name: str, reason: str, **details: Any) -> "Verdict":
        return cls(name, "unverifiable", reason, details)

    @classmethod
    def skipped(cls, name: str, reason: str = "skipped_already_rejected") -> "Verdict":
        return cls(name, "skipped", reason, {})

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "accepted": self.accepted,
            "status": self.status,
            "reason": self.reason,
            "details": json.dumps(self.details, ensure_ascii=False, sort_keys=True, default=str),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Verdict":
        return cls(row["name"], row["status"], row["reason"] or "", json.loads(row["details"] or "{}"))


@dataclass(frozen=True)
class ThinkSplit:
    """A completion cut at its think block.

    `state` is "ok" (exactly one `<think>...</think>` opening the text), "missing_think" (no tags at all),
    "unclosed_think" (an opening tag with no close), "multiple_think" (more than one block or a stray tag),
    "text_before_think" (prose before the opening tag). `reasoning` and `answer` are best-effort in every state:
    for an unclosed think the whole rest is reasoning and the answer is empty, so no verifier can pick an answer
    out of unfinished reasoning.
    """

    reasoning: str
    answer: str
    state: str


_THINK_TAG = re.compile(r"</?think>")


def split_think(text: str) -> ThinkSplit:
    """Split an assistant text into reasoning and answer (see `ThinkSplit` for the states)."""
    opens = text.count(THINK_OPEN)
    closes = text.count(THINK_CLOSE)
    if opens == 0 and closes == 0:
        return ThinkSplit("", text.strip(), "missing_think")
    # R1 chat templates put "<think>\n" in the generation prompt, so the completion may start inside the block.
    if opens == 0 and closes == 1:
        reasoning, answer = text.split(THINK_CLOSE, 1)
        return ThinkSplit(reasoning.strip(), answer.strip(), "ok")
    if opens == 1 and closes == 0:
        before, reasoning = text.split(THINK_OPEN, 1)
        return ThinkSplit(reasoning.strip(), "", "unclosed_think")
    if opens == 1 and closes == 1 and text.index(THINK_OPEN) < text.index(THINK_CLOSE):
        before, rest = text.split(THINK_OPEN, 1)
        reasoning, answer = rest.split(THINK_CLOSE, 1)
        state = "ok" if not before.strip() else "text_before_think"
        return ThinkSplit(reasoning.strip(), answer.strip(), state)
    last_close = text.rfind(THINK_CLOSE)
    reasoning = _THINK_TAG.sub("", text[:last_close])
    return ThinkSplit(reasoning.strip(), text[last_close + len(THINK_CLOSE):].strip(), "multiple_think")


def chat(system_prompt: str | None, user: str) -> tuple[dict[str, str], ...]:
    """The chat messages for one prompt: an optional system turn and the user turn."""
    turns = [] if not system_prompt else [{"role": "system", "content": system_prompt}]
    turns.append({"role": "user", "content": user})
    return tuple(turns)
