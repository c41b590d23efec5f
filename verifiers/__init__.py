"""Rule-based verifiers: one module or subpackage per family (format, math/, code/, language, readability).

A plugin author needs only this package: `from verifiers import Verifier, Verdict, Prompt, Completion`, subclass
`Verifier`, and register it (`register_verifier` or a `factory.verifiers` entry point). Nothing here imports the
pipeline (`factory`). Importing this package is cheap: heavy dependencies (sympy, langdetect) are imported by the
module that needs them, and `verifiers.registry` imports a verifier module only when a recipe names it.
"""

from verifiers.base import Verifier
from verifiers.registry import available_verifiers, create_verifier, register_verifier
from verifiers.types import Completion, Prompt, ThinkSplit, Verdict, split_think

__all__ = ["Completion", "Prompt", "ThinkSplit", "Verdict", "Verifier", "available_verifiers", "create_verifier",
           "register_verifier", "split_think"]
