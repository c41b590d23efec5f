"""The functions MathVerifier runs inside its bounded child: describe a gold answer, compare an answer to it, and
extract the answer from a long answer part (a hostile completion must not hold the caller's process).

Both take and return only short strings and numbers (cheap to pickle, nothing unbounded is ever printed).
Parsed gold answers are kept in a small LRU cache, so the n samples of one prompt parse the gold once for as
long as the child lives; a child replaced after a timeout simply parses it again.
"""

from __future__ import annotations

from collections import OrderedDict

from verifiers.math.equivalence import Options, equal
from verifiers.math.extract import extract_answer, extract_choice
import sympy

from verifiers.math.parse import Unparseable, Value, parse_answer, relation_set

_GOLD_CACHE: OrderedDict[str, Value | None] = OrderedDict()
_GOLD_CACHE_SIZE = 256


def _gold(gold: str) -> Value | None:
    if gold in _GOLD_CACHE:
        _GOLD_CACHE.move_to_end(gold)
        return _GOLD_CACHE[gold]
    try:
        value: Value | None = parse_answer(gold)
    except (Unparseable, RecursionError):
        value = None
    _GOLD_CACHE[gold] = value
    if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
        _GOLD_CACHE.popitem(last=False)
    return value


def gold_info(gold: str) -> tuple[str, int]:
    """("ok", number of values the gold lists) or ("unverifiable_gold", 0)."""
    value = _gold(gold)
    if value is None:
        return "unverifiable_gold", 0
    if value.kind == "seq":
        return "ok", len(value.obj)
    if value.kind in ("rel", "set"):  # an equation or a set with several solutions: "x^2 = 4" lists two
        try:
            found = relation_set(value) if value.kind == "rel" else value.obj
        except Exception:
            found = None
        if isinstance(found, sympy.FiniteSet) and len(found) > 1:
            return "ok", len(found)
    return "ok", 1


def compare(gold: str, answer: str, rel_tol: float, ordered_lists: bool) -> str:
    """"equal", "not_equal", "unparseable_answer" or "unverifiable_gold"."""
    g = _gold(gold)
    if g is None:
        return "unverifiable_gold"
    try:
        p = parse_answer(answer)
    except (Unparseable, RecursionError):
        return "unparseable_answer"
    try:
        same = equal(g, p, Options(rel_tol=rel_tol, ordered_lists=ordered_lists))
    except (Unparseable, RecursionError, ArithmeticError, TypeError, ValueError, AttributeError):
        same = False  # a comparison sympy cannot make is not evidence of equality
    return "equal" if same else "not_equal"


def extract(answer_text: str, fallbacks: tuple[str, ...], choice: bool, keep: int, max_chars: int) -> tuple:
    """`extract.extract_answer` (then `extract_choice` for a lettered gold) as (method, candidates, joined), with
    at most `keep` candidates of at most `max_chars` characters each, so the reply stays small."""
    found = extract_answer(answer_text, fallbacks)
    if choice and not found.candidates and fallbacks:
        found = extract_choice(answer_text)
    return found.method, tuple(c[:max_chars] for c in found.candidates[:keep]), found.joined


def _warm_up() -> None:
    """Run each parsing and comparison path once when the child starts: sympy imports parts of itself on first
    use (the expression parser, solveset, special functions), a cost of a few hundred milliseconds that would
    otherwise fall on the first answers that need them, and on their wall-clock bound."""
    for gold, answer in (("[3,\\infty)", "x \\ge 3"), ("5!", "120"), ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
                         ("\\log_2 8", "3"), ("\\sin(\\pi/6)", "0.5"), ("x^2=4", "x=2 or x=-2"),
                         ("2\\cdot 10^{-60}", "10^{-60}"), ("cos(x)^2", "1-sin(x)^2")):
        try:
            compare(gold, answer, 1e-6, False)
        except Exception:
            pass
    _GOLD_CACHE.clear()


_warm_up()
