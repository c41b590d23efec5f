"""The verifier interface: what every verifier module implements.

A verifier takes one prompt (with its gold data) and completions sampled for it, and returns one `Verdict` per
completion. It never knows how a sample was made (no engine, no runtime imports here), so the same verifier serves
`factory generate` and `factory verify` alike.

Contract for implementers:
- `name` is the registry name; `version` changes whenever a verdict could change (it is written into every row).
- Constructor keyword arguments are the recipe's parameters for the verifier; unknown ones raise `TypeError` and
  out-of-bounds ones `ValueError` before anything costly starts: the recipe loader calls `check_params` and turns
  either into an error naming the recipe file and key.
- `verify_batch` gets all completions of one prompt, so gold data is parsed once per prompt.
- Every call is bounded in wall-clock time without SIGALRM (it must work in threads and Ray workers). A verifier
  that can hang (sympy, running code) runs that part in a child process it can kill, and returns a `timeout`
  rejection rather than raising.
- `costly = True` marks a verifier the pipeline may skip for a sample already rejected by a cheap one; the row then
  carries `Verdict.skipped(name)` for it.
- Exceptions escaping `verify_batch` are bugs: the pipeline records them as `unverifiable(verifier_error)` and
  keeps going, so one bad sample cannot stop a batch job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Sequence

from verifiers.types import Completion, Prompt, Verdict


class Verifier(ABC):
    """Base class of all verifiers. Subclasses set `name`, `version`, and implement `verify`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    costly: ClassVar[bool] = False

    @abstractmethod
    def verify(self, prompt: Prompt, completion: Completion) -> Verdict:
        """Judge one completion of `prompt`."""

    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        """Judge all completions of one prompt; override to share per-prompt work (parsing the gold once)."""
        return [self.verify(prompt, c) for c in completions]

    @classmethod
    def check_params(cls, **params: Any) -> None:
        """Check recipe parameters when the recipe loads (raise TypeError/ValueError with a clear message).

        The default builds the verifier with them and closes it, so the constructor's own checks decide; a
        verifier whose constructor is costly (it starts a sandbox) overrides this with the checks alone.
        """
        cls(**params).close()

    def check_gold(self, prompt: Prompt) -> str | None:
        """Return a snake_case reason if this prompt's gold data can never be verified, else None.

        Called once per prompt before generation, so a broken reference is reported (and its samples marked
        unverifiable) instead of silently failing every sample.
        """
        return None

    def close(self) -> None:
        """Release child processes or other resources. Safe to call twice."""

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
