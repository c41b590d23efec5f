"""The value of a box that holds a short phrase around it ("the number is 10", "Answer: 10", "25 €",
"\\text{10 apples}"), and the rule that keeps words from changing a value.

Plain string work (no sympy). Only words around the whole value may go (labels, units, currency). A name applied
to an argument is a function: a known one (`FUNCTION_NAMES`, evaluated by `calculator`) stays in the value, an
unknown one makes the phrase unreadable (`unknown_function`); a word touching an operator is part of the
expression (`word_in_expression`); words that negate, bound, hedge or operate on the value ("not 10", "at least
10", "half of 10") make it unreadable (`ambiguous_phrase`), wherever they stand, and so does a phrase cut off
after a joining word ("10 divided by", "5 or").
"""

from __future__ import annotations

import re

UNIT_WORDS = (  # words that name a unit or the counted thing after a number
    "cm|mm|km|m|kg|mg|g|lb|lbs|pounds?|oz|ounces?|ft|feet|foot|inch|inches|yd|yards?|miles?|mph|kph|meters?|"
    "metres?|units?|square units|sq units|cubic units|degrees?|dollars?|cents?|euros?|seconds?|secs?|minutes?|"
    "mins?|hours?|hrs?|days?|weeks?|months?|years?|liters?|litres?|ml|gallons?|cups?|people|persons?|students?|"
    "ways|times|pages|books|apples|marbles|balls|cookies|cars|points|coins|tickets|questions|steps|rounds|sq|"
    "square feet|square meters|square inches|square centimeters|cubic feet|cubic meters|cubic centimeters"
)


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
# Words that join the value to something after them; a phrase that ends on one was cut off, and what it joined
# ("10 divided by", "5 or", "12 per") may change the value. ("in" is left out: "10 in" is ten inches.)
_CONNECTORS = frozenset("by of to and or with from per for into onto the a an at as on than over plus minus times "
                        "divided multiplied".split())


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
    if any(_qualifies(m.group(0), text[m.end() :]) for m in words) or _cut_off(text, words[-1]):
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
_UNIT = re.compile(rf"(?:{UNIT_WORDS})", re.IGNORECASE)
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


def _cut_off(text: str, last: re.Match[str]) -> bool:
    """Whether the phrase ends on a joining word with nothing after it ("9696 column by")."""
    return _bare(last.group(0)).lower() in _CONNECTORS and not _GLUE.sub("", text[last.end() :]).strip()


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
