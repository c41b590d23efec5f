"""Math answer verifier: extraction, parsing (sympy via latex2sympy2_extended) and equivalence, bounded in time.

Only `verifier` is imported here; it does not import sympy. The sympy modules (`parse`, `equivalence`,
`worker`) are imported in the bounded child process the verifier starts on first need.

Modules: extract (answer out of the text), normalize (clean-up, size caps, the no-sympy fast path), phrase (words around a value),
parse (string -> typed sympy value), calculator (plain-text notation: `sqrt(12)`, `x^(0.2)`), equivalence (value == value), worker (child entry points),
verifier (MathVerifier).
"""

from verifiers.math.verifier import MathVerifier

__all__ = ["MathVerifier"]
