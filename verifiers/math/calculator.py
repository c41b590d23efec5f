"""Plain-text (calculator) notation: `sqrt(12)`, `cos(x)^2`, `x^(0.2)`, `3^-x`, `a*b^-1`, `e^(x+1)`, `2x(x+1)`.

Runs only in the bounded child (it imports sympy). The text is cut into tokens here and every name is checked
against a fixed vocabulary before sympy's `parse_expr` (the maintained parser of sympy's own notation) sees it, so
nothing outside that vocabulary is ever evaluated: a name is a known function, a constant, a Greek letter, a
one-letter variable (optionally with a subscript: `x1`, `a_n`), or a run of two or three letters read as their
product (`xy`, `abc`, as the LaTeX grammar reads them). Anything else raises `UnknownName`: a word applied to a value is never dropped or turned into letters.

The vocabulary (`FUNCTIONS`), and the conventions:
- `log(x)` and `ln(x)` are natural logarithms (sympy's, Maxima's and Python's reading); `log(x, b)` is base b;
  `log10`, `log2` as named. (LaTeX `\\log` is read by the LaTeX grammar, base 10, as before.)
- `round` rounds half away from zero; `sign`/`signum` is -1, 0 or 1; `cbrt` and `root(x, n)` are real roots;
  `root(x)` is the square root; `binomial(n, k)`; `min`/`max`/`gcd`/`lcm` of any number of arguments.
- constants: `pi`, `e`, `i` (the imaginary unit, as in the LaTeX path), `oo`/`inf`/`infinity`.
- `a_n`, `a_{12}` are subscripted variables; `x1` is a variable of its own name.
- `f(`, `g(`, `h(` (lower or upper case) apply an unknown function (`f(x)` stays `f(x)`, equal only to itself);
  any other letter before `(` multiplies (`x(x+1)`).
- Implicit multiplication only where it is unambiguous: a number, a name or `)` followed by a name or `(`. Two
  numbers side by side (`3 1/2`) are not multiplied; `KnownSyntax` is raised and the LaTeX grammar decides.
"""

from __future__ import annotations

import re

import sympy
from sympy.parsing.sympy_parser import auto_number, factorial_notation, parse_expr

from verifiers.math.phrase import FUNCTION_NAMES


class UnknownName(ValueError):
    """A name outside the vocabulary: the answer has no value we can compute."""


class NotCalculator(ValueError):
    """Not calculator notation (leave it to the LaTeX grammar)."""


def _round(x: sympy.Expr) -> sympy.Expr:
    return sympy.sign(x) * sympy.floor(sympy.Abs(x) + sympy.Rational(1, 2))


def _root(x: sympy.Expr, n: sympy.Expr = sympy.Integer(2)) -> sympy.Expr:
    return sympy.sqrt(x) if n == 2 else sympy.real_root(x, n)


def _log(x: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    return sympy.log(x) if base is None else sympy.log(x, base)


def _fold(f):
    def apply(*args):
        out = args[0]
        for a in args[1:]:
            out = f(out, a)
        return out
    return apply


FUNCTIONS: dict[str, object] = {
    "sqrt": sympy.sqrt, "cbrt": lambda x: sympy.real_root(x, 3), "root": _root, "abs": sympy.Abs,
    "floor": sympy.floor, "ceil": sympy.ceiling, "ceiling": sympy.ceiling, "round": _round, "sign": sympy.sign,
    "signum": sympy.sign, "sgn": sympy.sign, "exp": sympy.exp, "ln": sympy.log, "log": _log,
    "log10": lambda x: sympy.log(x, 10), "log2": lambda x: sympy.log(x, 2),
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec, "csc": sympy.csc,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "acot": sympy.acot, "asec": sympy.asec,
    "acsc": sympy.acsc, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan, "arccot": sympy.acot,
    "arcsec": sympy.asec, "arccsc": sympy.acsc, "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "coth": sympy.coth, "asinh": sympy.asinh, "acosh": sympy.acosh, "atanh": sympy.atanh,
    "arcsinh": sympy.asinh, "arccosh": sympy.acosh, "arctanh": sympy.atanh,
    "min": sympy.Min, "max": sympy.Max, "gcd": _fold(sympy.gcd), "lcm": _fold(sympy.lcm),
    "factorial": sympy.factorial, "binomial": sympy.binomial,
}
assert set(FUNCTIONS) == FUNCTION_NAMES, "phrase.FUNCTION_NAMES lists the same vocabulary (it cannot import sympy)"
CONSTANTS = {"pi": sympy.pi, "e": sympy.E, "oo": sympy.oo, "inf": sympy.oo, "infinity": sympy.oo}
GREEK = frozenset("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron rho sigma tau "
                  "upsilon phi chi psi omega".split())
_UNDEFINED_FUNCTIONS = frozenset("fghFGH")

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z](?:[A-Za-z0-9]*)(?:_\{?[A-Za-z0-9]+\}?)?)"
                    r"|(?P<op>\*\*|[-+*/^(),!=<>\[\]]))")
_ARG_WORD = re.compile(r"\b(?P<f>[a-z]{2,7})\s+(?P<arg>\d+(?:\.\d+)?|[A-Za-z](?![A-Za-z(]))")
MAX_CHARS = 500


def looks_like_calculator(s: str) -> bool:
    """Whether `s` is written in plain-text notation (no LaTeX command or brace)."""
    return "\\" not in s and "{" not in s and "}" not in s and "&" not in s and len(s) <= MAX_CHARS


def parse_calculator(s: str, evaluate: bool = True) -> sympy.Expr:
    """The sympy expression of a plain-text answer. Raises `UnknownName` (a word with no value) or
    `NotCalculator` (not this notation)."""
    s = _ARG_WORD.sub(lambda m: f"{m.group('f')}({m.group('arg')})" if m.group("f") in FUNCTIONS else m.group(0), s)
    out: list[str] = []
    names: dict[str, object] = {}
    prev = ""  # kind of the previous token: "num", "name", "func", ")" or an operator
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None or m.end() == pos:
            raise NotCalculator(f"unexpected character {s[pos]!r}")
        pos = m.end()
        nxt = s[pos:].lstrip()[:1]
        if m.group("num"):
            if prev in ("num", ")", "name"):
                if prev == "num":
                    raise NotCalculator("two numbers side by side")
                out.append("*")
            out.append(m.group("num"))
            prev = "num"
        elif m.group("name"):
            pieces = _names(m.group("name"), nxt == "(")
            for i, (text, obj, kind) in enumerate(pieces):
                if prev in ("num", "name", ")"):
                    out.append("*")
                key = f"_n{len(names)}"
                names[key] = obj
                out.append(key)
                prev = kind
        else:
            op = m.group("op")
            if op == "(" and prev in ("num", ")", "name"):
                out.append("*")
            if op in ("=", "<", ">", "[", "]"):
                raise NotCalculator("a relation or bracket inside a leaf")
            out.append({"^": "**"}.get(op, op))
            prev = ")" if op in (")", "!") else op
    if not out:
        raise NotCalculator("empty")
    try:
        return parse_expr(" ".join(out), local_dict=names, global_dict=_GLOBALS,
                          transformations=(auto_number, factorial_notation), evaluate=evaluate)
    except (SyntaxError, TypeError, ValueError, AttributeError, ZeroDivisionError, NameError) as exc:
        raise NotCalculator(str(exc)) from exc


_GLOBALS = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "factorial": sympy.factorial}


def _names(name: str, applied: bool) -> list[tuple[str, object, str]]:
    """The objects one name token stands for: a function, a constant, a symbol, or two symbols (`xy`)."""
    if name in FUNCTIONS:
        if not applied:
            raise UnknownName(f"function {name!r} without an argument")
        return [(name, FUNCTIONS[name], "func")]
    if name in CONSTANTS:
        return [(name, CONSTANTS[name], "name")]
    if name in GREEK:
        return [(name, sympy.Symbol(name, real=True), "name")]
    if len(name) == 1:
        if applied and name in _UNDEFINED_FUNCTIONS:
            return [(name, sympy.Function(name), "func")]
        return [(name, sympy.Symbol(name, real=True), "name")]
    if re.fullmatch(r"[A-Za-z]_\{?[A-Za-z0-9]+\}?", name):  # a_n, a_{12}
        return [(name, sympy.Symbol(f"{name[0]}_{re.sub(r'[_{}]', '', name[2:])}", real=True), "name")]
    if re.fullmatch(r"[A-Za-z]\d+", name):  # x1: a name of its own (not x_1, as graders such as STACK read it)
        return [(name, sympy.Symbol(name, real=True), "name")]
    if re.fullmatch(r"[A-Za-z]{2,3}", name) and not applied:  # "xy", "abc": a product of variables
        return [(c, sympy.Symbol(c, real=True), "name") for c in name]
    raise UnknownName(f"unknown name {name!r}")
