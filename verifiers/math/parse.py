"""Parse one answer string into a typed value of sympy objects. Runs only in the bounded child process.

The outer structure (lists, "or"/"and", sets, tuples, intervals, unions, relations, matrices, text, percent)
is read here, so its meaning is ours and explicit; each leaf expression is parsed by `latex2sympy2_extended`
(the maintained ANTLR LaTeX grammar math-verify builds on). Decimals are rewritten as exact fractions before
parsing and flagged, so the comparison knows which side was written inexactly.

Answers that could make sympy compute an astronomically large integer (power towers, huge exponents or
factorials) are parsed with evaluation off; they stay unevaluated trees that `evalf` handles in bounded
precision. No parsed object is ever converted to a string here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy
from latex2sympy2_extended import NormalizationConfig, latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig

from verifiers.math.calculator import NotCalculator, UnknownName, looks_like_calculator, parse_calculator
from verifiers.math.extract import split_top_level
from verifiers.math.normalize import clean
from verifiers.math.phrase import FUNCTION_NAMES


class Unparseable(ValueError):
    """The string is not an answer we can read."""


@dataclass(frozen=True)
class Value:
    """A parsed answer.

    kind: "expr" (sympy Expr), "rel" (a chain: `obj` = (sides, ops) with sides Values, ops like "=", "<="),
    "seq" (`obj` = tuple of Values; `ordered` for tuples, `brackets` "()", "[]", "{}" or "" for a bare list),
    "set" (a sympy Set: interval or union), "matrix" (sympy Matrix), "text" (`obj` = lower-cased words).
    decimal: written with a decimal point; percent: written with %; risky: parsed unevaluated (huge numbers).
    """

    kind: str
    obj: Any
    ordered: bool = False
    brackets: str = ""
    decimal: bool = False
    percent: bool = False
    risky: bool = False
    source: str = ""


_CONV = ConversionConfig(lowercase_symbols=False, interpret_as_mixed_fractions=True)
_NORM = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=False, boxed="none")
_LIST_SEP = re.compile(r",|;")
_SEMI = re.compile(r";")
_COMMA = re.compile(r",")
_JOINER = re.compile(r"\\text\{\s*(?:or|and)\s*\}|\\(?:lor|vee|land|wedge)\b|(?<![A-Za-z\\])(?:or|and)(?![A-Za-z])")
_REL = re.compile(r"\\(?:leq?|geq?|neq?|lt|gt|approx|leqslant|geqslant)(?![A-Za-z])|<=|>=|!=|=|<|>")
_REL_NAMES = {"\\le": "<=", "\\leq": "<=", "\\leqslant": "<=", "<=": "<=", "\\ge": ">=", "\\geq": ">=",
              "\\geqslant": ">=", ">=": ">=", "\\lt": "<", "<": "<", "\\gt": ">", ">": ">", "=": "=",
              "\\approx": "=", "\\ne": "!=", "\\neq": "!=", "!=": "!="}
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$")
_DECIMAL = re.compile(r"(?<![\d.])(\d*)\.(\d+)(?![\d.])")
_RISKY = re.compile(r"\^\s*\{[^{}]*\^|\^\s*[{(]?\s*\d{5,}|\d{4,}\s*!|!\s*!|\^\s*[{(]?\s*\d+\s*!"
                    r"|\^\s*(?:\d+|[A-Za-z]|\([^()]*\))\s*\^|\^\s*\(\s*\d+\s*\^|factorial\s*\(\s*\d{4,}")  # "9^9^9", "2^(2^5)"
_MATRIX = re.compile(r"^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.DOTALL)
_ANY_MATRIX = re.compile(r"\\begin\{([pbBvV]?matrix)\}(.*?)\\end\{\1\}", re.DOTALL)
_PRIME = re.compile(r"(?<![\\A-Za-z])([A-Za-z])\s*('+)")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' \-]*$")
_FUNCTION_WORDS = {"sin", "cos", "tan", "log", "ln", "exp", "sqrt", "pi", "infty", "inf", "oo"}
_MAX_ITEMS = 64
# A plain function name (no backslash) applied inside LaTeX, other than those the grammar reads itself
_PLAIN_FUNCTION = re.compile(r"(?<![\\A-Za-z])(?:%s)\s*\(" % "|".join(sorted(FUNCTION_NAMES - {"sqrt"}, key=len, reverse=True)))


def parse_answer(s: str) -> Value:
    """Parse a (raw or cleaned) answer string. Raises `Unparseable`."""
    s = clean(s)
    if not s:
        raise Unparseable("empty")
    return _parse(s, 0)


def _parse(s: str, depth: int) -> Value:
    s = s.strip()
    if depth > 8 or not s:
        raise Unparseable("empty or too nested")
    wrapped = re.fullmatch(r"\\text\{([^{}]*)\}", s)
    if wrapped and wrapped.group(1).strip():
        s = wrapped.group(1).strip()  # "\text{A, C}" is the list A, C
        if _WORDS.match(s) and len(s) > 1:
            return Value("text", " ".join(s.lower().replace("-", " ").split()), source=s)  # "\text{odd}"
    s = re.sub(r"^[A-Za-z]\s*\\in\s*", "", s)  # "x \in [1, 2]" is the set itself
    approx = split_top_level(s, re.compile(r"\\approx(?![A-Za-z])"))
    if len(approx) > 1 and approx[0].strip():
        # "x = 1/3 \approx 0.33": the exact value is the answer; "x \approx 11": the value is all there is
        s = approx[-1].strip() if re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?", approx[0].strip()) else approx[0].strip()
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    for sep in (_JOINER, _SEMI, _COMMA):  # "p=5,q=2; p=7,q=2" and "... and ..." list two solutions
        parts = split_top_level(s, sep)
        if len(parts) > 1:
            parts = [p for p in parts if p.strip() and p.strip() != "\\ldots"]
            if len(parts) > _MAX_ITEMS:
                raise Unparseable("too many items")
            if sep is _JOINER:
                solutions = _joined_relations(s, parts, depth)
                if solutions is not None:  # "x=2 or x=-2", "x>2 or x<-2": one solution set
                    return solutions
            items = []
            for part in parts:  # "21, 16 or 11" is one flat list
                v = _parse(part, depth + 1)
                if sep is not _COMMA and _all_assignments(v):
                    v = Value("seq", v.obj, True, "()", source=v.source)  # "p=5, q=2" is the point (5, 2)
                items.extend(v.obj if v.kind == "seq" and v.brackets == "" and not v.ordered else [v])
            return Value("seq", tuple(items), False, "", source=s)
    unions = split_top_level(s, re.compile(r"\\cup(?![A-Za-z])"))
    if len(unions) > 1:
        sets = [_as_set(_parse(p, depth + 1)) for p in unions]
        return Value("set", sympy.Union(*sets), source=s)
    rel = _parse_relation(s, depth)  # before ratios: "V_1:V_2 = 11:21" names the ratio 11:21
    if rel is not None:
        return rel
    ratio = split_top_level(s, re.compile(r"(?<!\\):(?!=)"))
    if len(ratio) > 1 and all(p.strip() for p in ratio):  # "7:32", "12:00"
        return Value("seq", tuple(_parse(p, depth + 1) for p in ratio), True, ":", source=s)
    bracketed = _parse_brackets(s, depth)
    if bracketed is not None:
        return bracketed
    m = _MATRIX.match(s) if s.count("\\begin{") == 1 else None
    if m:
        return _parse_matrix(m.group(2), depth)
    product = _matrix_product(s, depth) if s.count("\\begin{") > 1 else None
    if product is not None:
        return product
    text = _as_text(s)
    if text is not None:
        return Value("text", text, source=s)
    return _parse_leaf(s)


def _joined_relations(s: str, parts: list[str], depth: int) -> Value | None:
    """Relations in one variable joined by "or" (a union) or by "and" (an intersection) as the solution set they
    describe; None when the parts are not all such relations or the joiners are mixed."""
    joiners = {"or" if re.search(r"or|\\lor|\\vee", m.group(0)) else "and"
               for m in _JOINER.finditer(s) if _top_level(s, m.start())}
    if len(joiners) != 1:
        return None
    values = [_parse(_unparenthesise(p), depth + 1) for p in parts]
    if not all(v.kind in ("rel", "set") for v in values) or all(v.kind == "set" for v in values):
        return None
    sets = [relation_set(v) if v.kind == "rel" else v.obj for v in values]
    if any(x is None for x in sets):
        return None
    combined = sympy.Union(*sets) if joiners == {"or"} else sympy.Intersection(*sets)
    return Value("set", combined, source=s)


def _unparenthesise(s: str) -> str:
    """"(x < 0 or x >= 1)": a group of joined relations inside parentheses, without them; else `s`."""
    s = s.strip()
    if s.startswith("(") and s.endswith(")") and _encloses(s, 0) and len(split_top_level(s[1:-1], _JOINER)) > 1:
        return s[1:-1]
    return s


def relation_set(v: Value) -> sympy.Set | None:
    """The real solution set of a relation chain in one variable (`1 < x \\le 2` -> (1, 2], `x^2 = 4` -> {-2, 2},
    `x = \\pm 2` -> {-2, 2}), else None."""
    sides, ops = v.obj
    if len(sides) == 2 and ops == ("=",) and sides[0].kind == "expr" and sides[0].obj.is_Symbol \
            and sides[1].kind == "seq" and all(x.kind == "expr" for x in sides[1].obj):
        return sympy.FiniteSet(*[x.obj for x in sides[1].obj])
    if any(x.kind != "expr" for x in sides):
        return None
    rels = [(sides[i].obj, ops[i], sides[i + 1].obj) for i in range(len(ops))]
    symbols = set().union(*(l.free_symbols | r.free_symbols for l, _, r in rels))
    if len(symbols) != 1:
        return None
    x = next(iter(symbols))
    real = sympy.Symbol(x.name, real=True)
    makers = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "=": sympy.Eq, "!=": sympy.Ne}
    try:
        cond = sympy.And(*[makers[op](l.xreplace({x: real}), r.xreplace({x: real})) for l, op, r in rels])
        found = sympy.solveset(cond, real, sympy.S.Reals) if len(rels) == 1 else cond.as_set()
    except Exception:
        return None
    return found if isinstance(found, sympy.Set) and not isinstance(found, sympy.ConditionSet) else None


def _parse_relation(s: str, depth: int) -> Value | None:
    parts = split_top_level(s, _REL)
    if len(parts) < 2:
        return None
    ops = [_REL_NAMES[m.group(0)] for m in _REL.finditer(s) if _top_level(s, m.start())]
    if any(not p.strip() for p in parts):
        raise Unparseable("relation with an empty side")
    sides = tuple(_parse(p, depth + 1) for p in parts)
    return Value("rel", (sides, tuple(ops)), source=s)


def _top_level(s: str, index: int) -> bool:
    depth = 0
    for ch in s[:index]:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return depth == 0


def _parse_brackets(s: str, depth: int) -> Value | None:
    braces = 2 if s.startswith("\\{") and s.endswith("\\}") and _encloses(s, 1) else 0
    if not braces and s.startswith("{") and s.endswith("}") and _encloses(s, 0):
        braces = 1  # "{2, 3, 5}" written without the backslashes
    if braces and (braces == 2 or _LIST_SEP.search(s)):
        inner = s[braces:-braces].strip()
        items = [p for p in split_top_level(inner, _LIST_SEP) if p.strip()] if inner else []
        return Value("seq", tuple(_parse(p, depth + 1) for p in items), False, "{}", source=s)
    if s in ("\\emptyset", "\\varnothing", "\\{\\}", "\\O"):
        return Value("seq", (), False, "{}", source=s)
    if len(s) < 2 or s[0] not in "([" or s[-1] not in ")]" or not _encloses(s, 0):
        return None
    items = split_top_level(s[1:-1], _LIST_SEP)
    if len(items) < 2:
        return None  # "(x+1)" is a parenthesised expression
    if len(items) > _MAX_ITEMS:
        raise Unparseable("too many items")
    values = tuple(_parse(p, depth + 1) for p in items)
    if len(values) == 2 and s[0] + s[-1] != "()":
        lo, hi = (_real_endpoint(v) for v in values)
        return Value("set", sympy.Interval(lo, hi, s[0] == "(", s[-1] == ")"), source=s)
    return Value("seq", values, True, s[0] + s[-1], source=s)


def _encloses(s: str, open_index: int) -> bool:
    """Whether the bracket at `open_index` closes at the very end of `s` (so it wraps the whole string)."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0 and i >= open_index:
                return i >= len(s) - 1
    return False


def _real_endpoint(v: Value) -> sympy.Expr:
    if v.kind != "expr" or not v.obj.is_extended_real and v.obj.free_symbols == set():
        raise Unparseable("interval endpoint")
    return v.obj


def _all_assignments(v: Value) -> bool:
    """A bare list whose items all read `name = value`."""
    return v.kind == "seq" and v.brackets == "" and len(v.obj) > 1 and all(
        x.kind == "rel" and set(x.obj[1]) == {"="} and len(x.obj[0]) == 2 for x in v.obj)


def _matrix_product(s: str, depth: int) -> Value | None:
    """Matrices written side by side (optionally with \\cdot / \\times) are their product; None for other forms
    (a sum of matrices is left to the grammar)."""
    found = list(_ANY_MATRIX.finditer(s))
    between = re.sub(r"\\cdot|\\times|\s", "", _ANY_MATRIX.sub(" ", s))
    if len(found) < 2 or between:
        return None
    product = _parse_matrix(found[0].group(2), depth).obj
    for m in found[1:]:
        right = _parse_matrix(m.group(2), depth).obj
        if product.shape[1] != right.shape[0]:
            raise Unparseable("matrix shapes do not multiply")
        product = product * right
    return Value("matrix", product, source=s)


def _parse_matrix(body: str, depth: int) -> Value:
    rows = [r for r in re.split(r"\\\\", body) if r.strip() and r.strip() != "\\hline"]
    cells = [[_parse(c, depth + 1) for c in r.split("&")] for r in rows]
    if not cells or len({len(r) for r in cells}) != 1 or any(c.kind != "expr" for r in cells for c in r):
        raise Unparseable("matrix")
    return Value("matrix", sympy.Matrix([[c.obj for c in r] for r in cells]), source=body)


def _as_text(s: str) -> str | None:
    inner = re.sub(r"\\text\{([^{}]*)\}", r"\1", s).strip()
    if "\\" in inner or not _WORDS.match(inner):
        return None
    words = inner.lower().replace("-", " ").split()
    if all(len(w) == 1 for w in words) and len(words) > 1:
        return None  # "i-x", "a - b": letters and operators, not words
    if "\\text{" in s or len(words) > 1 or (len(words[0]) >= 4 and words[0] not in _FUNCTION_WORDS):
        return " ".join(words)
    return None


def _as_set(v: Value) -> sympy.Set:
    if v.kind == "set":
        return v.obj
    if v.kind == "seq" and v.brackets == "{}":
        return sympy.FiniteSet(*[e.obj for e in v.obj if e.kind == "expr"])
    if v.kind == "seq" and v.brackets == "()" and len(v.obj) == 2:
        return sympy.Interval.open(_real_endpoint(v.obj[0]), _real_endpoint(v.obj[1]))
    if v.kind == "expr":
        return sympy.FiniteSet(v.obj)
    raise Unparseable("not a set")


def _parse_leaf(s: str) -> Value:
    s = clean(s)  # list items carry their own units and punctuation
    if not s:
        raise Unparseable("empty")
    s = re.sub(r"\+-(?!-)", r"\\pm ", s)  # "3+-sqrt(2)" is plus or minus ("2 + -3" keeps its space: a sum)
    if "\\pm" in s or "\\mp" in s:  # "\frac{-1 \pm \sqrt{13}}{4}" is two answers
        plus = s.replace("\\pm", "+").replace("\\mp", "-")
        minus = s.replace("\\pm", "-").replace("\\mp", "+")
        if plus.lstrip().startswith("+"):
            plus = plus.lstrip()[1:]
        return Value("seq", (_parse_leaf(plus), _parse_leaf(minus)), False, "", source=s)
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    s = s.replace("**", "^")
    # The grammar drops primes (f' would be f); a primed letter becomes a symbol of its own
    s = _PRIME.sub(lambda m: f"\\mathrm{{{m.group(1)}}}_{{{'pr' * len(m.group(2))}}}", s)
    decimal = bool(_DECIMAL.search(s))
    s = _DECIMAL.sub(lambda m: f"({int((m.group(1) or '0') + m.group(2))}/1{'0' * len(m.group(2))})", s)
    risky = bool(_RISKY.search(s))
    if looks_like_calculator(s):  # "sqrt(12)", "cos(x)^2", "3^-x": plain-text notation
        try:
            return _wrap(parse_calculator(s, evaluate=not risky), s, decimal, percent, risky)
        except UnknownName as exc:
            raise Unparseable(str(exc)) from exc  # a name with no known value: never read as another value
        except NotCalculator:
            pass
        except RecursionError as exc:
            raise Unparseable("too deep") from exc
    elif _PLAIN_FUNCTION.search(s):
        raise Unparseable("plain-text function inside LaTeX")  # the grammar would read "abs(x)" as a*b*s*x
    s = re.sub(r"(?<![\\A-Za-z])pi(?![A-Za-z])", r"\\pi ", s)
    try:
        if risky:
            with sympy.evaluate(False):
                obj = latex2sympy(s, is_real=True, conversion_config=_CONV, normalization_config=_NORM)
        else:
            obj = latex2sympy(s, is_real=True, conversion_config=_CONV, normalization_config=_NORM)
    except RecursionError as exc:
        raise Unparseable("too deep") from exc
    except Exception as exc:  # the grammar's errors are plain Exceptions
        raise Unparseable("latex") from exc
    return _wrap(obj, s, decimal, percent, risky)


def _wrap(obj: Any, s: str, decimal: bool, percent: bool, risky: bool) -> Value:
    if isinstance(obj, sympy.MatrixExpr) and not isinstance(obj, sympy.MatrixBase):
        obj = obj.doit()  # a sum or product of explicit matrices
    if isinstance(obj, sympy.MatrixBase):
        return Value("matrix", obj, source=s)
    if isinstance(obj, (sympy.FiniteSet, sympy.Tuple)):  # "a \pm b", or a list the grammar found
        items = tuple(_wrap(o, "", decimal, False, risky) for o in obj.args)
        return Value("seq", items, isinstance(obj, sympy.Tuple), "", source=s)
    if isinstance(obj, sympy.Set):
        return Value("set", obj, source=s)
    if isinstance(obj, (sympy.logic.boolalg.Boolean,)) and not isinstance(obj, sympy.Expr):
        raise Unparseable("logic")
    if not isinstance(obj, sympy.Expr):
        raise Unparseable("not an expression")
    if obj.has(sympy.zoo, sympy.nan):
        raise Unparseable("undefined value")  # 1/0 must not equal 2/0
    i_sym = [sym for sym in obj.free_symbols if sym.name == "i"]
    if i_sym:
        obj = obj.xreplace({i_sym[0]: sympy.I})
    return Value("expr", obj, decimal=decimal, percent=percent, risky=risky, source=s)
