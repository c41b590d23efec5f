"""The engine interface: turn prompts into n completions each.

An engine is owned by one generation actor (and may be called from its threads at once). It must return, for every
prompt, exactly `n` completions with sample_index first_index..first_index+n-1, in any order (adaptive sampling
asks for later rounds with a first_index past the earlier ones).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from verifiers.types import Completion, Prompt

ANSWER_FAULTS = ("invalid_answer", "invalid_usage", "response_too_large", "prompt_too_long")
"""finish_reasons an engine gives a sample it could not make or read (an HTTP teacher's choice without text, a
`usage` that is not a count, a body over the size bound; a prompt longer than the engine's context, never sent):
verification rejects such a sample as `teacher:<finish_reason>` before any verifier."""


def prompt_too_long(prompt: Prompt, tokens: int, n: int, first_index: int) -> list[Completion]:
    """The samples of a prompt the engine cannot take (no room left in its context): empty, named, never sent."""
    return [Completion(prompt.prompt_id, first_index + i, "", "prompt_too_long", prompt_tokens=tokens)
            for i in range(n)]


@dataclass(frozen=True)
class SamplingConfig:
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    choices: tuple[str, ...] = ()
    """When set, each reply must be one of these strings (structured output: an LLM judge's one-word verdict)."""

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def of(cls, generation: Any) -> "SamplingConfig":
        """From a recipe's `generation` section."""
        return cls(n=generation.n, temperature=generation.temperature, top_p=generation.top_p,
                   max_tokens=generation.max_tokens)


class Engine(ABC):
    """A text generator owning its model for the lifetime of the object."""

    model: str

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig, first_index: int = 0) -> list[Completion]:
        """n completions per prompt, all prompts in one batch, numbered from `first_index`."""

    def close(self) -> None:
        """Free the model (GPU memory, engine subprocesses)."""
