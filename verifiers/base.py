"""The verifier interface: what every verifier module implements.

A verifier takes one prompt (with its gold data) and completions sampled for it, and returns one `Verdict` per
completion. It never knows how a sample was made (no engine, no runtime imports here), so the same verifier serves
`factory generate` and `factory verify` alike.

Contract for implementers:
- `name` is the registry name; `version` changes whenever a verdict could change (it is written into every row).
- Constructor keyword arguments are the recipe's parameters for the verifier, declared with their types and bounds
  in `PARAMS` (see `verifiers.params`, the one checker every family uses); unknown ones raise `TypeError` (with a
  did-you-mean) and bad ones `ValueError` before anything costly starts: the recipe loader calls `check_params`
  and turns either into an error naming the recipe file and key.
- `verify_batch` is the hook a family implements: it gets all completions of one prompt, so gold data is parsed
  once per prompt. `verify` (one completion) is built on it.
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
from typing import Any, ClassVar, Mapping, Sequence

from verifiers.params import Param, check_names, check_params, signature_names
from verifiers.types import Completion, Prompt, Verdict


class Verifier(ABC):
    """Base class of all verifiers. Subclasses set `name`, `version`, `PARAMS`, and implement `verify_batch`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    costly: ClassVar[bool] = False
    PARAMS: ClassVar[Mapping[str, Param] | None] = None
    """The constructor's parameters with their types and bounds; None: not declared (see `check_params`)."""

    @abstractmethod
    def verify_batch(self, prompt: Prompt, completions: Sequence[Completion]) -> list[Verdict]:
        """Judge all completions of one prompt (one verdict each, in order); per-prompt work is done once."""

    def verify(self, prompt: Prompt, completion: Completion) -> Verdict:
        """Judge one completion of `prompt`."""
        return self.verify_batch(prompt, [completion])[0]

    @classmethod
    def check_params(cls, **params: Any) -> None:
        """Check recipe parameters when the recipe loads (TypeError/ValueError with a clear message).

        With `PARAMS` declared, the shared checker decides (`verifiers.params.check_params`) and nothing is built.
        Without, the names are checked against the constructor's signature, then the verifier is built with them
        and closed, so the constructor's own checks decide; a verifier whose constructor is costly (it starts a
        sandbox) overrides this with the checks alone.
        """
        if cls.PARAMS is not None:
            check_params(cls.name, params, cls.PARAMS)
            return
        check_names(cls.name, params, signature_names(cls))
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
