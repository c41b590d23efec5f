"""Decide whether two parsed answers (`parse.Value`) are the same answer. Runs only in the bounded child.

Numbers are compared by evaluating both sides to 60 significant digits: values written exactly must agree to
40 digits (this tells `1 - 1/e` from `1 + 1/e` and `\\sqrt{8}` equal to `2\\sqrt{2}` without simplify); a
decimal is held to `rel_tol` against a value it can only approximate (`0.333333` ~ `1/3`) but must be exact
against one it can write out (`0.5` vs `1/2`). Every tolerance is relative, at any magnitude: `1/50!` is not
`1/60!` and `10^{-60}` is not 0 (an absolute floor would make all tiny values equal), and two exact rationals
must be identical (`2^{200} + 1` is not `2^{200}`, which 60 digits cannot tell). A side that evaluates to zero
only within its precision (`\\sqrt{3 + 2\\sqrt{2}} - 1 - \\sqrt{2}`: evalf cancels to no significant digit) is
not taken as any number; `simplify` decides it. Expressions with variables are compared at fixed sample points
(same variables required); `simplify` is a last resort when too few points evaluate, and the caller's wall-clock
bound covers it. Structures (lists, sets, tuples, intervals, relations, matrices) are compared part by part.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy.core.function import AppliedUndef

from verifiers.math.parse import Unparseable, Value, relation_set

_EXACT_TOL = sympy.Float("1e-40", 60)
_MIN_PREC = 20  # bits: an evaluated number with fewer significant bits is a cancellation, not a value
_POINTS = ("0.5873", "1.3219", "-0.8412", "2.0647", "0.1931", "-1.7713")
_INTEGER_POINTS = ("-2", "2", "0.5", "3", "-1.5", "1", "-3", "1.5")
_POSITIVE_POINTS = ("0.3517", "1.7291", "2.9143", "0.8263", "1.1579", "3.4871")  # when too few points were real
_DIGITS = 60


@dataclass(frozen=True)
class Options:
    rel_tol: float = 1e-6
    ordered_lists: bool = False  # compare bare lists "1, 2, 3" in order (tuples in parentheses always are)


def equal(g: Value, p: Value, opt: Options) -> bool:
    """Whether the answer `p` is equivalent to the gold answer `g`."""
    if g.source and g.source == p.source and g.kind == p.kind:
        return True  # written identically: equal even where sympy cannot evaluate (f(2) < f(1))
    g, p = _unwrap_assignment(g, p), _unwrap_assignment(p, g)
    if g.kind == "text" or p.kind == "text":
        return _text_key(g) == _text_key(p) != ""
    if g.kind == "rel" and p.kind == "rel":
        return _relations_equal(g, p, opt)
    if "rel" in (g.kind, p.kind):  # an equation against its solutions: "x^2 = 4" and "x = 2 or x = -2", "2, -2"
        other = p if g.kind == "rel" else g
        rel_set = _relation_set(g if g.kind == "rel" else p)
        if rel_set is None or other.kind not in ("set", "seq", "expr"):
            return False
        if other.kind == "expr" and not isinstance(rel_set, sympy.FiniteSet):
            return False
        return _sets_equal(rel_set, _to_set(other))
    if g.kind == "seq" or p.kind == "seq":
        return _seq_equal(g, p, opt)
    if g.kind == "set" or p.kind == "set":
        return _sets_equal(_to_set(g), _to_set(p))
    if g.kind == "matrix" or p.kind == "matrix":
        return _matrix_equal(g, p, opt)
    golds = [g.obj] + ([g.obj / 100] if g.percent and not p.percent else [])
    preds = [p.obj] + ([p.obj / 100] if p.percent and not g.percent else [])
    return any(expr_equal(a, g.decimal, b, p.decimal, opt.rel_tol) for a in golds for b in preds)


def expr_equal(a: sympy.Expr, a_dec: bool, b: sympy.Expr, b_dec: bool, rel_tol: float) -> bool:
    """Equality of two sympy expressions (see the module docstring for the tolerance rules)."""
    if a == b:
        return True
    if a_dec == b_dec and not (a.free_symbols or b.free_symbols):
        ra, rb = _exact_rational(a), _exact_rational(b)
        if ra is not None and rb is not None:
            return ra == rb  # exact rationals (or two decimals written out in full): equal only if identical
    # Different variables are compared like the rest (x + 1 vs y + 1 differ at the sample points), so an
    # identity such as cos^2 x + sin^2 x = 1 still holds.
    tol = _tolerance(a, a_dec, b, b_dec, rel_tol)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if symbols and (a.has(sympy.factorial, sympy.binomial) or b.has(sympy.factorial, sympy.binomial)):
        a, b = a.rewrite(sympy.gamma), b.rewrite(sympy.gamma)  # n! at a sample point: Gamma(n + 1)
    if not symbols:
        verdict = _numbers_close(a, b, tol, {})
        return verdict if verdict is not None else _simplifies_to_zero(a - b)
    # A point where the two sides differ decides only when both are real there: log(a^2 b) and 2 log(a) + log(b)
    # differ where a < 0 only by the branch of the complex logarithm, and agree wherever both are real.
    # Where a point was skipped, integer and half-integer points look for a real counterexample that generic
    # points miss: (a^b)^c and a^(bc) agree for a > 0 but not at a = -2, b = 2, c = 1/2.
    valid, skipped = 0, False
    for points in (_POINTS, _POSITIVE_POINTS, _INTEGER_POINTS):
        if points is _INTEGER_POINTS and not skipped:
            break
        for k in range(len(points)):
            if points is _INTEGER_POINTS:  # exact values, so that a pole (log 0, 1/0) is seen as one
                exact = {s: sympy.Rational(points[(k + j) % len(points)]) for j, s in enumerate(symbols)}
                verdict = _numbers_close(a.xreplace(exact), b.xreplace(exact), tol, {}, at_point=True)
            else:
                subs = {s: sympy.Float(points[(k + j) % len(points)], _DIGITS) for j, s in enumerate(symbols)}
                verdict = _numbers_close(a, b, tol, subs)
            if verdict is False:
                return False
            valid += verdict is True and points is not _INTEGER_POINTS
            skipped |= verdict is None
        if valid >= 3 and not skipped:
            return True
    return valid >= 3 or _simplifies_to_zero(a - b)


_MAX_EXACT_EXPONENT = 4096  # 2^4096 has ~1,200 digits: cheap to compute exactly; larger is left to evalf
_MAX_EXACT_FACTORIAL = 1000


def _exact_rational(e: sympy.Expr) -> sympy.Rational | None:
    """`e` as an exact rational when it is one and cheap to compute (`2^{200} + 1`, `1/50!`), else None."""
    if e.is_Rational:
        return e
    try:
        if e.is_rational is not True:
            return None
        for p in e.atoms(sympy.Pow):
            if not (p.exp.is_Integer and abs(p.exp) <= _MAX_EXACT_EXPONENT):
                return None
        for f in e.atoms(sympy.factorial):
            if not (f.args[0].is_Integer and f.args[0] <= _MAX_EXACT_FACTORIAL):
                return None
        value = e.doit()
    except Exception:
        return None
    return value if value.is_Rational else None


def _tolerance(a: sympy.Expr, a_dec: bool, b: sympy.Expr, b_dec: bool, rel_tol: float) -> sympy.Float:
    if a_dec == b_dec:
        both_rational = a_dec and a.is_Rational and b.is_Rational
        return _EXACT_TOL if not a_dec or both_rational else sympy.Float(str(rel_tol), _DIGITS)
    exact = b if a_dec else a
    if exact.is_Rational and _terminates(exact):
        return _EXACT_TOL  # a decimal can write this value exactly, so it must
    return sympy.Float(str(rel_tol), _DIGITS)


def _terminates(r: sympy.Rational) -> bool:
    q = int(r.q)
    for f in (2, 5):
        while q % f == 0:
            q //= f
    return q == 1


def _numbers_close(a: sympy.Expr, b: sympy.Expr, tol: sympy.Float, subs: dict, at_point: bool = False) -> bool | None:
    """True/False when both evaluate to finite numbers, None when either does not. At a sample point (`subs`, or
    `at_point` for values already substituted), values that differ off the real line give None."""
    at_point = at_point or bool(subs)
    try:
        av = a.evalf(_DIGITS, subs=subs or None)
        bv = b.evalf(_DIGITS, subs=subs or None)
        (ar, ai), (br, bi) = av.as_real_imag(), bv.as_real_imag()
    except Exception:
        return None
    parts = (ar, ai, br, bi)
    if not all(isinstance(x, sympy.Number) and x.is_finite for x in parts):
        if not at_point and all(isinstance(x, sympy.Number) for x in parts):
            return bool(ar == br and ai == bi)  # infinities
        return None
    if any(isinstance(x, sympy.Float) and x != 0 and x._prec < _MIN_PREC for x in parts):
        return None  # evalf cancelled to zero within its precision: no value to compare (simplify decides)
    diff = abs(ar - br) + abs(ai - bi)
    scale = max(abs(ar) + abs(ai), abs(br) + abs(bi))
    if scale == 0:
        return True
    if diff <= tol * scale:  # relative at every magnitude: no absolute floor
        return True
    if at_point and (ai != 0 or bi != 0):
        return None  # different values off the real line: a branch of a complex function, not evidence
    return False


def _simplifies_to_zero(d: sympy.Expr) -> bool:
    try:
        return bool(sympy.simplify(d.doit()) == 0)
    except Exception:
        return False


def _unwrap_assignment(v: Value, other: Value) -> Value:
    """`x = 3` -> `3` when the other side is not a relation (`x = 1 + 2 = 3` -> `3`)."""
    if v.kind != "rel" or other.kind == "rel":
        return v
    sides, ops = v.obj
    if all(op == "=" for op in ops) and _is_name(sides[0]):
        return sides[-1]
    return v


def _is_name(v: Value) -> bool:
    """A left side that names the answer: `x`, `AB`, `f(x)`, `|AB|`, `\\frac{NO}{BO}`, `(x, y)`."""
    if v.kind == "expr":
        return _only_symbols(v.obj)
    return v.kind == "seq" and all(_is_name(x) for x in v.obj)


def _only_symbols(o: sympy.Basic) -> bool:
    if o.is_Symbol:
        return True
    if isinstance(o, sympy.Function) or isinstance(o, sympy.Abs):
        return all(_only_symbols(a) for a in o.args)
    if isinstance(o, (sympy.Mul, sympy.Pow)):
        return all(_only_symbols(a) or a in (-1, 1) for a in o.args)
    return False


def _text_key(v: Value) -> str:
    text = v.obj if v.kind == "text" else v.source
    return "".join(ch for ch in text.lower().replace("\\text", "") if ch.isalnum())


def _seq_equal(g: Value, p: Value, opt: Options) -> bool:
    if g.kind != "seq" or p.kind != "seq":
        one, other = (g, p) if g.kind == "seq" else (p, g)
        if other.kind == "set" and (one.brackets in ("()", "{}") or not one.ordered):
            return _sets_equal(_to_set(g), _to_set(p))
        if other.kind == "matrix":
            return _matrix_equal(g, p, opt)
        if len(one.obj) == 1:  # "{5}" vs "5"
            return equal(g.obj[0] if g.kind == "seq" else g, p.obj[0] if p.kind == "seq" else p, opt)
        return False
    if "{}" in (g.brackets, p.brackets):
        # A pair written in parentheses may be a list of the set's members, but then in the same order:
        # (1, 3) ~ {1, 3}, while the point (3, 1) is not {1, 3}.
        ordered = g.ordered or p.ordered
    elif g.ordered or p.ordered:
        ordered = True
    else:
        ordered = opt.ordered_lists
    if ordered:
        return len(g.obj) == len(p.obj) and all(equal(a, b, opt) for a, b in zip(g.obj, p.obj))
    return _same_members(_dedupe(g.obj, opt), _dedupe(p.obj, opt), opt)


def _dedupe(items: tuple[Value, ...], opt: Options) -> list[Value]:
    """A bare list of solutions is a set: "(3,17), (3,17), (5,2)" lists two."""
    out: list[Value] = []
    for v in items:
        if not any((v.source and v.source == u.source) or equal(v, u, opt) for u in out):
            out.append(v)
    return out


def _same_members(gs: list[Value], ps: list[Value], opt: Options) -> bool:
    if len(gs) != len(ps):
        return False
    unused = list(ps)
    for a in gs:
        match = next((i for i, b in enumerate(unused) if equal(a, b, opt)), None)
        if match is None:
            return False
        unused.pop(match)
    return True


def _to_set(v: Value) -> sympy.Set:
    if v.kind == "set":
        return v.obj
    if v.kind == "seq" and v.brackets == "()" and len(v.obj) == 2 and all(x.kind == "expr" for x in v.obj):
        return sympy.Interval.open(v.obj[0].obj, v.obj[1].obj)
    if v.kind == "seq" and all(x.kind == "expr" for x in v.obj):
        return sympy.FiniteSet(*[x.obj for x in v.obj])
    if v.kind == "expr":
        return sympy.FiniteSet(v.obj)
    raise Unparseable("not comparable as a set")


def _sets_equal(a: sympy.Set, b: sympy.Set) -> bool:
    if a == b:
        return True
    if isinstance(a, sympy.Interval) and isinstance(b, sympy.Interval):
        return (a.left_open, a.right_open) == (b.left_open, b.right_open) and all(
            expr_equal(x, False, y, False, 1e-6) for x, y in ((a.start, b.start), (a.end, b.end))
        )
    if isinstance(a, sympy.Union) and isinstance(b, sympy.Union) and len(a.args) == len(b.args):
        return all(_sets_equal(x, y) for x, y in zip(a.args, b.args))
    if isinstance(a, sympy.FiniteSet) and isinstance(b, sympy.FiniteSet) and len(a) == len(b):
        rest = list(b.args)
        for x in a.args:
            hit = next((i for i, y in enumerate(rest) if expr_equal(x, False, y, False, 1e-6)), None)
            if hit is None:
                return False
            rest.pop(hit)
        return True
    try:
        return bool(a.symmetric_difference(b).is_empty)
    except Exception:
        return False


def _matrix_equal(g: Value, p: Value, opt: Options) -> bool:
    def cells(v: Value) -> tuple[tuple[int, int], list] | None:
        if v.kind == "matrix":
            return tuple(v.obj.shape), list(v.obj)
        if v.kind == "seq" and v.ordered and all(x.kind == "expr" for x in v.obj):
            return (len(v.obj), 1), [x.obj for x in v.obj]  # a tuple is a column vector
        return None

    a, b = cells(g), cells(p)
    if a is None or b is None:
        return False
    (shape_a, xs), (shape_b, ys) = a, b
    if shape_a != shape_b and not (1 in shape_a and 1 in shape_b and len(xs) == len(ys)):
        return False
    return all(expr_equal(x, g.decimal, y, p.decimal, opt.rel_tol) for x, y in zip(xs, ys))


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


def _binary_relations(v: Value) -> list[tuple[sympy.Expr, str, sympy.Expr]]:
    sides, ops = v.obj
    if any(s.kind != "expr" for s in sides):
        raise Unparseable("relation between non-expressions")
    return [(sides[i].obj, ops[i], sides[i + 1].obj) for i in range(len(ops))]


def _relations_equal(g: Value, p: Value, opt: Options) -> bool:
    gs, ps = g.obj[0], p.obj[0]
    if all(op == "=" for op in g.obj[1] + p.obj[1]) and _is_name(gs[0]) and _is_name(ps[0]):
        if equal(gs[0], ps[0], opt) and equal(gs[-1], ps[-1], opt):  # x = 3 vs x = 3
            return True
    try:
        ga, pa = _binary_relations(g), _binary_relations(p)
    except Unparseable:  # "x = \\pm 2": compared by its solution set below
        ga, pa = [], [None]
    if len(ga) == len(pa) and all(_single_relation_equal(a, b, opt) for a, b in zip(ga, pa)):
        return True
    if _variables(g) != _variables(p):
        return False  # "x = 3" and "y = 3" solve for different unknowns
    gset, pset = _relation_set(g), _relation_set(p)
    return gset is not None and pset is not None and _sets_equal(gset, pset)


def _variables(v: Value) -> set[str]:
    names: set[str] = set()
    for side in v.obj[0]:
        if side.kind == "expr":
            names |= {s.name for s in side.obj.free_symbols}
    return names


def _single_relation_equal(a: tuple, b: tuple, opt: Options) -> bool:
    (l1, o1, r1), (l2, o2, r2) = a, b
    if o1 in ("<", "<="):
        l1, o1, r1 = r1, _FLIP[o1], l1
    if o2 in ("<", "<="):
        l2, o2, r2 = r2, _FLIP[o2], l2
    if o1 != o2:
        return False
    d1, d2 = sympy.expand(l1 - r1), sympy.expand(l2 - r2)
    if d1 == d2:
        return True
    if d2 == 0 or {s.name for s in d1.free_symbols} != {s.name for s in d2.free_symbols}:
        return False
    ratio = sympy.cancel(d1 / d2)
    if ratio.free_symbols:
        ratio = _constant_ratio(d1, d2)  # "y/2 = sin(x)cos(x)" and "y = sin(2x)": the ratio is 1/2 at every point
    if ratio is None or not ratio.is_number or ratio == 0:
        return False
    return o1 in ("=", "!=") or bool(ratio.is_positive)


def _constant_ratio(d1: sympy.Expr, d2: sympy.Expr) -> sympy.Expr | None:
    """d1 / d2 when it takes one nonzero real value at every sample point (checked to 1e-30), else None."""
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=lambda s: s.name)
    values = []
    for k in range(len(_POINTS)):
        subs = {s: sympy.Float(_POINTS[(k + j) % len(_POINTS)], _DIGITS) for j, s in enumerate(symbols)}
        try:
            a, b = d1.evalf(_DIGITS, subs=subs), d2.evalf(_DIGITS, subs=subs)
        except Exception:
            return None
        if not (a.is_real and b.is_real and a.is_Number and b.is_Number) or b == 0:
            return None
        values.append(a / b)
    first = values[0]
    if first == 0 or any(abs(v - first) > sympy.Float("1e-30", _DIGITS) * abs(first) for v in values):
        return None
    return sympy.nsimplify(first, rational=True)


def _relation_set(v: Value) -> sympy.Set | None:
    """The solution set of a relation chain in one variable (`1 < x \\le 2` -> (1, 2]), else None."""
    found = relation_set(v)
    if found is not None:
        return found
    try:
        rels = _binary_relations(v)
        calls = set().union(*(l.atoms(AppliedUndef) | r.atoms(AppliedUndef) for l, _, r in rels))
        if calls:  # "0 < f(x) < 1": the unknown f(x) is the variable
            names = {c: sympy.Symbol(f"_call{i}", real=True) for i, c in enumerate(sorted(calls, key=sympy.default_sort_key))}
            rels = [(l.xreplace(names), op, r.xreplace(names)) for l, op, r in rels]
        symbols = set().union(*(l.free_symbols | r.free_symbols for l, _, r in rels))
        if len(symbols) != 1:
            return None
        makers = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "=": sympy.Eq, "!=": sympy.Ne}
        cond = sympy.And(*[makers[op](l, r) for l, op, r in rels])
        return cond.as_set()
    except Exception:
        return None
