"""String clean-up of an answer, the size guard, and the sympy-free fast path.

Everything here is plain Python on short strings and cannot hang, so it runs in the caller's process:
- `clean` removes presentation (`$`, `\\left`, spacing, `\\dfrac`, degrees, trailing units and punctuation);
- `check_size` rejects answers too long or too deeply nested to hand to a parser;
- `fast_number` reads integers, decimals, fractions, mixed numbers, scientific notation and percentages as exact
  `Fraction`s, and `fast_equal` compares two of them (exact; a decimal against a non-terminating exact value is
  compared with a relative tolerance, since a decimal can only be a rounding of it);
- `choice_letter` reads multiple-choice answers ("B", "(B)", "\\text{(B) } 12");
- `phrase_values` reads the value out of a box that holds a short phrase around it ("the number is 10", "Answer:
  10", "25 €", "\\text{10 apples}"): the value is what is compared. Two different values in one phrase are two
  candidates (the verifier rejects them as `multiple_answers`); a phrase that negates, bounds or hedges its value
  ("not 10", "at least 10", "about 10") is ambiguous and refused, never read as the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

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
_UNIT_WORDS = (
    "cm|mm|km|m|kg|mg|g|lb|lbs|pounds?|oz|ounces?|ft|feet|foot|inch|inches|yd|yards?|miles?|mph|kph|meters?|"
    "metres?|units?|square units|sq units|cubic units|degrees?|dollars?|cents?|euros?|seconds?|secs?|minutes?|"
    "mins?|hours?|hrs?|days?|weeks?|months?|years?|liters?|litres?|ml|gallons?|cups?|people|persons?|students?|"
    "ways|times|pages|books|apples|marbles|balls|cookies|cars|points|coins|tickets|questions|steps|rounds|sq|"
    "square feet|square meters|square inches|square centimeters|cubic feet|cubic meters|cubic centimeters"
)
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


# -- a short phrase around one value ---------------------------------------------------------------------------

_TEXT_BODY = re.compile(r"\\(?:text(?:bf|rm|it|normal|sf|tt)?|mbox|textup|mathrm)\s*\{([^{}]*)\}")
_CURRENCY = re.compile(
    r"\\(?:euro|texteuro|pounds|textsterling|yen|textyen|textdollar)(?![A-Za-z])|\\\$|[$€£¥₹₩₽¢]"
    r"|(?<![A-Za-z])(?:USD|EUR|GBP|JPY|INR|CNY|RMB|Rs\.?)(?![A-Za-z])"
)
_COMMAND_ARG = re.compile(r"\\[A-Za-z]+\*?\s*\{[^{}]*\}")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z\u00c0-\u024f]+(?:'[a-z]+)?(?:\s*\^\s*\{?[23]\}?|[²³])?")
# The functions an answer may apply (`calculator.FUNCTIONS` evaluates them; listed here too, since this module does
# not import sympy). A name applied to an argument that is not one of these has no value we know.
FUNCTION_NAMES = frozenset(
    "sqrt cbrt root abs floor ceil ceiling round sign signum sgn exp ln log log10 log2 sin cos tan cot sec csc asin "
    "acos atan acot asec acsc arcsin arccos arctan arccot arcsec arccsc sinh cosh tanh coth asinh acosh atanh "
    "arcsinh arccosh arctanh min max gcd lcm factorial binomial".split())
_NOT_WORDS = FUNCTION_NAMES | frozenset("lg mod deg det pi inf infty oo infinity".split())
_SHORT_WORDS = frozenset("is of in to be it an as at by on so we my he if do us am no or sq cu cm mm km kg mg ml ft mi yd oz lb "
                         "hr hz".split())
# Words that change what the value means: a negation, a bound, an approximation, a condition, a hedge, or an
# operation on it ("10 squared", "half of 10", "3 thousand"); such a phrase is refused rather than misread.
_QUALIFIERS = frozenset(
    "not no none never except neither nor cannot can't isn't impossible least most less more fewer greater smaller "
    "larger than between approximately approx about around nearly almost roughly under over above below up if "
    "unless when either maybe possibly perhaps probably undefined wrong incorrect false invalid without excluding "
    "except squared cubed square cube root power times twice double triple half third quarter percent percentage "
    "thousand thousands million millions billion billions hundred hundreds dozen dozens factorial inverse "
    "reciprocal negative minus plus".split()
)
_GLUE = re.compile(r"^[\s:;,.!?]+|[\s:;,.!?]+$")


def phrase_values(s: str) -> tuple[list[str], str]:
    """The values a boxed phrase holds: ([s], "") when `s` is not a phrase (no words around math), ([value], "")
    for one value in words or with a currency sign, ([v1, v2], "") for two different ones, or ([], cause) when
    the words qualify the value ("ambiguous_phrase"). Plain-word answers ("odd", "Evelyn", "no solution") have no
    value and are returned unchanged, for the text comparison."""
    s = _NAMED_FUNCTION.sub(lambda m: m.group(1), s)  # \\operatorname{abs}(x), \\text{sqrt}(2): the name itself
    applied = _unknown_application(s)
    if applied:
        return [], applied
    unwrapped = _TEXT_BODY.sub(lambda m: f" {m.group(1)}", s)
    text = _CURRENCY.sub(" ", unwrapped)
    masked = _COMMAND_ARG.sub(lambda m: "#" * len(m.group(0)), text)  # \begin{pmatrix}, \mathbb{R}: not words
    tokens = list(_WORD.finditer(masked))
    prose = [_is_prose_word(m.group(0)) for m in tokens]
    for i, m in enumerate(tokens):  # "sqrt 16", "cos(x)": a function applied; "square root of 16": a word
        if _bare(m.group(0)).lower() in FUNCTION_NAMES:
            prose[i] = not _ARGUMENT_AFTER.match(masked[m.end() :])
        elif m.start() > 0 and masked[m.start() - 1] in "0123456789)}" and not _UNIT.fullmatch(_bare(m.group(0))):
            prose[i] = False  # "2abc": written onto the number, part of the expression ("12cm" is a unit)
    for i, m in enumerate(tokens):  # a lone letter next to words is one ("a total of", "x is"), else a variable
        letter = _bare(m.group(0))
        if not prose[i] and len(letter) == 1 and (letter.islower() or letter in "AI"):  # "C" may be the choice
            prose[i] = _next_to(tokens, prose, text, i)
    words = [m for m, is_word in zip(tokens, prose) if is_word]
    if not words:  # no phrase; a currency sign alone is dropped ("25 €")
        bare = _CURRENCY.sub(" ", s).strip()
        return ([s] if text == unwrapped or not bare else [bare]), ""
    pieces, position = [], 0
    for m in words:
        pieces.append(text[position : m.start()])
        position = m.end()
    pieces.append(text[position:])
    values = [v for v in (_GLUE.sub("", p).strip() for p in pieces) if re.search(r"[^\s=:()\-]", v)]
    if not values:
        return [s], ""  # words only: a text answer
    if any(_qualifies(m.group(0), text[m.end() :]) for m in words):
        return [], "ambiguous_phrase"
    if any(_inside_expression(text, m) for m in words):
        return [], "word_in_expression"  # "2 \\cdot apples", "12^{total}": only words around the value may go
    if any(re.search(r"\d", v) for v in values):
        values = [v for v in values if not re.fullmatch(r"[A-Z]{1,3}", v)] or values  # "the length AB is 10"
    values = [re.sub(r"^=\s*", "", v) for v in values]  # "the number = 10"
    distinct = list(dict.fromkeys(re.sub(r"\s+", "", v) for v in values))
    return ([values[0]] if len(distinct) == 1 else values), ""


_NAMED_FUNCTION = re.compile(r"\\(?:operatorname|mathrm|textrm|text|rm|mathit)\s*\{([A-Za-z]+)\}(?=\(|\\left\s*\(|\s+[\dA-Za-z(])")
_APPLIED = re.compile(r"(?<![\\A-Za-z])([A-Za-z]{2,})(?=\(|\\left\s*\()")
_UNIT = re.compile(rf"(?:{_UNIT_WORDS})", re.IGNORECASE)
_ARGUMENT_AFTER = re.compile(r"\s*(?:\(|\\left|\\?\{|\d|[A-Za-z](?![A-Za-z])|\\[A-Za-z])")
_BEFORE_OPERATOR = re.compile(r"(?:[+\-*/^_]|\\cdot|\\times|\\div)\s*\{?\s*$")
_AFTER_OPERATOR = re.compile(r"^\s*\}?\s*(?:[*/^]|\\cdot|\\times|\\div)")


def _unknown_application(s: str) -> str:
    """"unknown_function" when a name of two or more letters that is not a known function is applied to an
    argument written right after it (`total(18)`, `\\operatorname{foo}(3)`); else ""."""
    masked = _COMMAND_ARG.sub(lambda m: "#" * len(m.group(0)), s.replace("\\left", "      "))
    for m in _APPLIED.finditer(masked):
        if m.group(1).lower() not in FUNCTION_NAMES:
            return "unknown_function"
    return ""


def _inside_expression(text: str, word: re.Match[str]) -> bool:
    """Whether a word touches an operator: it is part of the expression, and deleting it would change the value."""
    return bool(_BEFORE_OPERATOR.search(text[: word.start()]) or _AFTER_OPERATOR.match(text[word.end() :]))


def _qualifies(word: str, after: str) -> bool:
    """Whether `word` changes the value's meaning ("square" and "cubic" before a unit only name the unit)."""
    bare = _bare(word).lower()
    if bare in ("square", "cubic", "sq", "cu") and re.match(r"\s*\}?\s*[A-Za-z]", after):
        return False
    return bare in _QUALIFIERS


def qualified(text: str) -> bool:
    """Whether words in `text` negate, bound, hedge or operate on a value (see `phrase_values`)."""
    return any(_qualifies(m.group(0), text[m.end() :]) for m in _WORD.finditer(text))


def _bare(word: str) -> str:
    return re.sub(r"\s*\^.*|[²³]", "", word)


def _is_prose_word(word: str) -> bool:
    """A word, not math: three or more letters (or a common two-letter word or unit) and not a function name;
    capitals of up to three letters name points and segments ("AB", "ABC")."""
    bare = _bare(word)
    if bare.lower() in _NOT_WORDS or (bare.isupper() and len(bare) <= 3 and bare.isascii()):
        return False
    return len(bare) >= 3 or bare.lower() in _SHORT_WORDS


def _next_to(tokens: list[re.Match[str]], prose: list[bool], text: str, i: int) -> bool:
    """Whether token i is separated from a prose word before or after it by spaces only."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(tokens) and prose[j]:
            a, b = sorted((tokens[i], tokens[j]), key=lambda m: m.start())
            if not text[a.end() : b.start()].strip():
                break
    else:
        return False
    around = text[: tokens[i].start()].rstrip()[-1:] + text[tokens[i].end() :].lstrip()[:1]
    return not re.search(r"[=<>^_(+*/]", around)  # "y=3", "f(x)": a variable
