"""The engine interface: turn prompts into n completions each.

An engine is owned by one generation actor and used from that actor's thread only. It must return, for every
prompt, exactly `n` completions with sample_index 0..n-1, in any order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from verifiers.types import Completion, Prompt


@dataclass(frozen=True)
class SamplingConfig:
    n: int
    temperature: float
    top_p: float
    max_tokens: int

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
    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[Completion]:
        """n completions per prompt, all prompts in one batch."""

    def close(self) -> None:
        """Free the model (GPU memory, engine subprocesses)."""
