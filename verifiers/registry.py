"""Find verifiers by name: the built-ins, ones registered in code, and third-party ones via entry points.

A recipe names verifiers (`math`, `format`, ...). Built-ins are listed here as "module:Class" strings and imported
lazily, so naming `format` never imports sympy. A third party adds one either by calling `register_verifier` or by
declaring an entry point in the `factory.verifiers` group (`myverifier = mypkg.module:MyVerifier`).
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Callable

from verifiers.base import Verifier

_BUILTIN: dict[str, str] = {
    "format": "verifiers.format:FormatVerifier",
    "math": "verifiers.math:MathVerifier",
    "choice": "verifiers.choice:ChoiceVerifier",
    "code": "verifiers.code:CodeVerifier",
    "language": "verifiers.language.verifier:LanguageVerifier",
    "repetition": "verifiers.readability:RepetitionVerifier",
    "paragraph_length": "verifiers.readability:ParagraphLengthVerifier",
    "code_in_answer": "verifiers.readability:CodeInAnswerVerifier",
    "trivial_reasoning": "verifiers.readability:TrivialReasoningVerifier",
    "final_summary": "verifiers.readability:FinalSummaryVerifier",
}
_REGISTERED: dict[str, type[Verifier]] = {}
ENTRY_POINT_GROUP = "factory.verifiers"


class UnknownVerifierError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def register_verifier(name: str) -> Callable[[type[Verifier]], type[Verifier]]:
    """Class decorator: make `cls` available to recipes under `name`."""

    def decorate(cls: type[Verifier]) -> type[Verifier]:
        _REGISTERED[name] = cls
        return cls

    return decorate


def _entry_point_targets() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_verifiers() -> list[str]:
    """All names a recipe may use."""
    return sorted(set(_BUILTIN) | set(_REGISTERED) | set(_entry_point_targets()))


def verifier_class(name: str) -> type[Verifier]:
    """The class registered under `name`; raises UnknownVerifierError with a did-you-mean hint."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    target = _BUILTIN.get(name) or _entry_point_targets().get(name)
    if target is None:
        close = difflib.get_close_matches(name, available_verifiers(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UnknownVerifierError(
            f"unknown verifier '{name}'{hint} (available: {', '.join(available_verifiers())})"
        )
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Verifier)):
        raise TypeError(f"verifier '{name}' ({target}) is not a verifiers.base.Verifier subclass")
    return cls


def create_verifier(name: str, params: dict[str, Any] | None = None) -> Verifier:
    """Instantiate the verifier `name` with recipe parameters `params`."""
    return verifier_class(name)(**(params or {}))
