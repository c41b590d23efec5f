"""The format verifier: R1's shape, `<think>` reasoning `</think>` then an answer, finished within the token limit.

Checks, in order, each with its own reason:
- `truncated`: generation stopped at the token limit (`finish_reason == "length"`); the trace is unfinished even
  if the text happens to look complete.
- `missing_think`, `unclosed_think`, `multiple_think`, `text_before_think`: the think block is absent, never closed,
  repeated, or preceded by prose (see `verifiers.types.split_think`).
- `empty_reasoning`, `empty_answer`: nothing inside the block, or nothing after it.
- `think: allowed` accepts an answer with no think block at all; `think: forbidden` rejects any think tag
  (`think_forbidden`) and wants a non-empty answer. R1 gave simple non-reasoning queries (writing, factual
  questions, translation) no chain of thought: the general recipe uses `allowed`.

Pure string work on the already-generated text: linear time, so the wall-clock bound is the text's length.
"""

from __future__ import annotations

from typing import Sequence

from verifiers.base import Verifier
from verifiers.params import check_params, flag, text
from verifiers.types import Completion, Prompt, Verdict, split_think


class FormatVerifier(Verifier):
    """Accepts exactly one non-empty `<think>…</think>` block followed by a non-empty answer."""

    name = "format"
    version = "1"
    THINK = ("required", "allowed", "forbidden")
    PARAMS = {"require_think": flag(), "allow_truncated": flag(), "think": text(THINK, optional=True)}

    def __init__(self, require_think: bool = True, allow_truncated: bool = False, think: str | None = None) -> None:
        """think: `required` (R1's reasoning traces, the default), `allowed` (a think block or none: general data)
        or `forbidden` (plain answers only). require_think: the older switch (false = `allowed`); `think` wins.
        allow_truncated: accept `finish_reason == "length"` (never wise for SFT data; for audits only)."""
        check_params(self.name, {"require_think": require_think, "allow_truncated": allow_truncated, "think": think},
                     self.PARAMS)
        self.think = think or ("required" if require_think else "allowed")
        self.require_think = self.think == "required"
        self.allow_truncated = allow_truncated

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        return [self._judge(c) for c in completions]

    def _judge(self, completion: Completion) -> Verdict:
        if completion.finish_reason == "length" and not self.allow_truncated:
            return Verdict.reject(self.name, "truncated", completion_tokens=completion.completion_tokens)
        split = split_think(completion.text)
        if self.think == "forbidden" and split.state != "missing_think":
            return Verdict.reject(self.name, "think_forbidden")
        if split.state == "missing_think" and not self.require_think:
            return Verdict.accept(self.name) if split.answer else Verdict.reject(self.name, "empty_answer")
        if split.state != "ok":
            return Verdict.reject(self.name, split.state)
        if not split.reasoning:
            return Verdict.reject(self.name, "empty_reasoning")
        if not split.answer:
            return Verdict.reject(self.name, "empty_answer")
        return Verdict.accept(self.name)
