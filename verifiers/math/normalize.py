"""String clean-up of an answer, the size guard, and the sympy-free fast path.

Everything here is plain Python on short strings and cannot hang, so it runs in the caller's process:
- `clean` removes presentation (`$`, `\\left`, spacing, `\\dfrac`, degrees, trailing units and punctuation);
- `check_size` rejects answers too long or too deeply nested to hand to a parser;
- `fast_number` reads integers, decimals, fractions, mixed numbers, scientific notation and percentages as exact
  `Fraction`s, and `fast_equal` compares two of them (exact; a decimal against a non-terminating exact value is
  compared with a relative tolerance, since a decimal can only be a rounding of it);
- `choice_letter` reads multiple-choice answers ("B", "(B)", "\\text{(B) } 12");
- `fast_surd` reads `c\\sqrt{r}` with integers, so two surds are compared exactly without sympy.
The words around a value (a phrase in a box) are read in `phrase`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from verifiers.math.phrase import UNIT_WORDS as _UNIT_WORDS, qualified

_UNICODE = {
    "−": "-", "–": "-", "×": "\\times ", "÷": "\\div ", "·": "\\cdot ", "π": "\\pi ", "∞": "\\infty ",
    "√": "\\sqrt", "±": "\\pm ", "∓": "\\mp ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "°": "", "∪": "\\cup ", "∩": "\\cap ",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}
_CONTROL_ESCAPES = re.compile(r"\\?[\x0c\x08]")
_DROP = re.compile(
    r"\\displaystyle|\\(?:left|right)\.|\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z])|\\[,;:!]"
    r"|\^\s*\{\s*\\circ\s*\}|\^\s*\\circ\b|\\circ\b|\\degree\b|\\textdegree\b|\\\$|\$"
)
_SPACE = re.compile(r"(?<!\\)\\ |\\q?quad\b|~")  # not the "\\" row break of a matrix
_FRAC = re.compile(r"\\[dtc]frac\b")
_TEXT_CMDS = re.compile(r"\\(?:text(?:bf|rm|it|normal|sf|tt)?|math(?:rm|bf|it|sf|tt|normal|cal|scr)|mbox|textup)\s*\{")
# "\\frac", "\\le": a command whose backslash was escaped twice (JSON or Python source); not in matrices,
# where "\\" is a row break that may be followed by a letter
_DOUBLED_CMD = re.compile(r"\\\\(?=[A-Za-z]{2,})")
_TRAILING_UNIT = re.compile(rf"^(?P<num>[^A-Za-z]*?[\d}}])\s*(?:{_UNIT_WORDS})(?:\^\{{?\d\}}?)?\.?$", re.IGNORECASE)
_TRAILING_TEXT = re.compile(r"^(?P<head>.*?\S)\s*\\text\{(?P<body>[^{}]*)\}(?:\^\{?\d\}?)?$", re.DOTALL)


def clean(s: str) -> str:
    """Presentation-free form of one answer; meaning is kept (no values are changed)."""
    s = str(s)
    if "\x0c" in s or "\x08" in s:  # "\\frac" / "\\beta" from a non-raw Python string: form feed + "rac", ...
        s = _CONTROL_ESCAPES.sub(lambda m: "\\" + ("f" if m.group(0)[-1] == "\x0c" else "b"), s)
    for k, v in _UNICODE.items():
        if k in s:
            s = s.replace(k, v)
    if "\\\\" in s and "\\begin{" not in s:
        s = _DOUBLED_CMD.sub(r"\\", s)
    s = _unwrap(s.strip(), "\\boxed{")
    s = re.sub(r"(\d),\s*\\!\s*(?=\d)", r"\1", s)  # "12,\\!000", "56,\\!01,\\!78": a digit-group separator
    s = _SPACE.sub(" ", _DROP.sub("", s))
    s = _FRAC.sub(r"\\frac", s)
    s = _TEXT_CMDS.sub(r"\\text{", s)
    s = s.replace("\\%", "%").replace("{,}", ",").replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    s = re.sub(r"\s+", " ", s).strip()
    s = _unwrap(s, "\\boxed{")
    if s.endswith("\\") and not s.endswith("\\\\"):
        s = s[:-1]  # "185\\": a stray backslash left by a broken "\\}"
    elif s.endswith("\\\\") and "\\begin" not in s:
        s = s[:-2].rstrip()  # "185\\\\": a line break before the box closes
    if s.endswith("\\}") and s.count("\\{") < s.count("\\}"):
        s = s[:-2].rstrip()  # "\\boxed{5\\}}": the box's own closing brace written escaped as well
    s = s.rstrip(" ;,")
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    if re.fullmatch(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?", s):  # "1 000 000" written with thin spaces
        s = s.replace(" ", "")
    for _ in range(3):  # "5 \text{cm}^2", "12\text{ dollars}", "3 \text{ hours}"
        m = _TRAILING_TEXT.match(s)
        if not m or not re.fullmatch(r"[A-Za-z\s.\-]*", m.group("body")) or _is_joiner(m.group("body")):
            break
        if qualified(m.group("body")):
            break  # "10 \text{ squared}", "5 \text{ or more}": not a unit
        if re.fullmatch(r"\s*[A-Za-z]\s*", m.group("body")) and not re.search(r"\d\s*$", m.group("head")):
            break  # "x \text{y}": a one-letter text after a non-number may be a variable, keep it
        s = m.group("head").strip()
    m = _TRAILING_UNIT.match(s)
    if m:
        s = m.group("num").strip()
    return s


def _unwrap(s: str, opener: str) -> str:
    while s.startswith(opener) and s.endswith("}"):
        depth = 0
        for i, ch in enumerate(s[len(opener) - 1 :], start=len(opener) - 1):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                break
        if i != len(s) - 1:
            return s
        s = s[len(opener) : -1].strip()
    return s


def _is_joiner(body: str) -> bool:
    return body.strip().lower() in ("or", "and", ",")


def check_size(s: str, max_chars: int, max_depth: int) -> str | None:
    """Why `s` must not be parsed ("too_long" / "too_deep"), or None. Cheap: one pass, no regex."""
    if len(s) > max_chars:
        return "too_long"
    depth = 0
    for ch in s:
        if ch in "({[":
            depth += 1
            if depth > max_depth:
                return "too_deep"
        elif ch in ")}]":
            depth -= 1
    if s.count("^") > max_depth or s.count("\\sqrt") > max_depth:
        return "too_deep"
    return None


@dataclass(frozen=True)
class FastNumber:
    """A number read without sympy. `decimal`: written with a decimal point; `percent`: written with %."""

    value: Fraction
    decimal: bool = False
    percent: bool = False


_SIGN = r"(?P<sign>[+-]?)\s*"
_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_FAST_PATTERNS = [
    ("dec", re.compile(rf"^{_SIGN}(?P<int>{_INT})?(?:\.(?P<frac>\d*))?(?:\s*(?:[eE]|\\times\s*10\^|\\cdot\s*10\^|\*\s*10\^)"
                       r"\s*\{?(?P<exp>[+-]?\d{1,3})\}?)?\s*(?P<pct>%)?$")),
    ("frac", re.compile(rf"^{_SIGN}\\frac\{{\s*(?P<num>[+-]?\d+)\s*\}}\{{\s*(?P<den>[+-]?\d+)\s*\}}\s*(?P<pct>%)?$")),
    ("slash", re.compile(rf"^{_SIGN}(?P<num>\d+)\s*/\s*(?P<den>\d+)\s*(?P<pct>%)?$")),
    ("mixed", re.compile(rf"^{_SIGN}(?P<whole>\d+)\s*\\frac\{{\s*(?P<num>\d+)\s*\}}\{{\s*(?P<den>\d+)\s*\}}$")),
    ("mixed", re.compile(rf"^{_SIGN}(?P<whole>\d+)\s+(?P<num>\d+)\s*/\s*(?P<den>\d+)$")),  # "3128 1/2"
]
_DECIMAL_COMMA = re.compile(r"^-?(?:0|\d{4,}),\d+$")  # "0,111", "1000,99"; "1,22" stays a list
_ASSIGN = re.compile(r"^[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=\s*(?=[^=]+$)")
MAX_FAST_CHARS = 64


def fast_number(s: str, allow_assignment: bool = False) -> FastNumber | None:
    """Read a cleaned answer as an exact number, or None if it is anything else (then sympy decides)."""
    if allow_assignment:
        s = _ASSIGN.sub("", s, count=1)
    if not s or len(s) > MAX_FAST_CHARS:
        return None
    if _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".")
    for kind, pattern in _FAST_PATTERNS:
        m = pattern.match(s)
        if m is None:
            continue
        neg = m.group("sign") == "-"
        pct = bool(m.groupdict().get("pct"))
        if kind == "dec":
            whole, frac, exp = m.group("int"), m.group("frac"), m.group("exp")
            if whole is None and not frac:
                return None
            digits = (whole or "0").replace(",", "") + (frac or "")
            value = Fraction(int(digits), 10 ** len(frac or ""))
            if exp is not None:
                value *= Fraction(10) ** int(exp)
            decimal = bool(frac)
        elif kind == "mixed":
            den = int(m.group("den"))
            if den == 0:
                return None
            value, decimal = int(m.group("whole")) + Fraction(int(m.group("num")), den), False
        else:
            den = int(m.group("den"))
            if den == 0:
                return None
            value, decimal = Fraction(int(m.group("num")), den), False
        return FastNumber(-value if neg else value, decimal, pct)
    return None


_SURD = re.compile(r"^(?P<sign>[+-]?)\s*(?P<coef>\d{1,6})?\s*(?:\\cdot|\*)?\s*\\sqrt\s*(?:\{\s*(?P<rad>\d{1,8})\s*\}|(?P<rad1>\d))$")


def fast_surd(s: str) -> tuple[int, int] | None:
    """`c\\sqrt{r}` (integers) as (sign * c^2 * r, sign), or None: two surds are equal exactly when these are,
    so the common `2\\sqrt{2}` against `\\sqrt{8}` needs no sympy."""
    m = _SURD.match(s)
    if m is None:
        return None
    coef = int(m.group("coef") or 1)
    rad = int(m.group("rad") or m.group("rad1"))
    sign = -1 if m.group("sign") == "-" else 1
    return (0, 0) if coef == 0 or rad == 0 else (sign * coef * coef * rad, sign)


_COMMA_DECIMAL = re.compile(r"^-?\d+,(?:\d{1,2}|\d{4,})$")  # not ",ddd": "1,500" is fifteen hundred


def decimal_comma_twin(a: str, b: str) -> bool:
    """Whether one side is the other written with a decimal comma ("1,22" and "1.22").

    "1,22" alone may be the list 1, 22; only the same digits written with a point settle it as a decimal.
    """
    return any(_COMMA_DECIMAL.match(x) and x.replace(",", ".") == y for x, y in ((a, b), (b, a)))


def fast_equal(gold: FastNumber, pred: FastNumber, rel_tol: float) -> bool:
    """Whether two fast numbers denote the same answer.

    A percentage matches its number and its fraction of one ("28%" ~ "28" ~ "0.28"), in either direction.
    """
    golds = [gold.value] + ([gold.value / 100] if gold.percent and not pred.percent else [])
    preds = [pred.value] + ([pred.value / 100] if pred.percent and not gold.percent else [])
    return any(_close(g, gold.decimal, p, pred.decimal, rel_tol) for g in golds for p in preds)


def _close(a: Fraction, a_dec: bool, b: Fraction, b_dec: bool, rel_tol: float) -> bool:
    if a == b:
        return True
    if a_dec == b_dec:
        return False  # two exact values, or two decimals: written out in full, so they must be equal
    exact = b if a_dec else a
    if _terminates(exact):
        return False  # "0.5" can be written exactly; "0.500001" is another number
    return abs(a - b) <= Fraction(str(rel_tol)) * abs(exact)


def _terminates(x: Fraction) -> bool:
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


_CHOICE_GOLD = re.compile(
    r"^(?:\\text\{\s*)?(?:option|choice)?\s*\(?\s*(?P<l>[A-J])\s*\)?\s*\.?\s*\}?$"
    r"|^\((?P<l2>[A-J])\)\s*\S|^(?P<l3>[A-J])[.)]\s+\S",  # "(D) Alina", "C. x = 42": the letter and its text
    re.IGNORECASE,
)
_CHOICE_PRED = re.compile(
    r"^(?:\\text\{\s*)?(?:the\s+answer\s+is\s+)?(?:option|choice)?\s*(?:\\text\{\s*)?\(?\s*(?P<l>[A-J])\s*(?:\)|\.|:|\}|$|\s)",
    re.IGNORECASE,
)
_OPERATOR_AFTER = re.compile(r"^[\s)}.:]*(?:[*+\-/^=<>_!]|\\(?!text))")  # "E*2", "D \\cdot 3": math in E, D


def choice_letter(s: str, gold: bool) -> str | None:
    """The choice letter of a multiple-choice answer, or None. Gold letters must be upper case on their own."""
    s = s.strip()
    if gold:
        m = _CHOICE_GOLD.match(s)
        letter = m and (m.group("l") or m.group("l2") or m.group("l3"))
        return letter if letter and letter.isupper() else None
    m = _CHOICE_PRED.match(s)
    if m is None or _OPERATOR_AFTER.match(s[m.end("l") + 1 :]):
        return None  # "\\text{E}*2" is an expression in E, not the choice E
    return m.group("l").upper()
