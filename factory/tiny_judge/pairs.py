"""Answer pairs for the tiny judge: one value written two ways (equivalent) or two close values (different).

Values are positive fractions p/q with q in `DENOMINATORS` up to `MAX_VALUE`. Each value has several written
forms: integer or decimal digits, `\\frac{p}{q}`, `\\dfrac`, `p/q`, an unreduced fraction, a percentage, a mixed
number (`1 1/2`, `1\\frac{1}{2}`) and English number words ("three quarters", "one and a half", "twelve"). A pair
is (reference, answer, label) with label "equivalent" exactly when the two values are equal (`Fraction`), so labels
never depend on a grader. Different pairs use close values (a neighbour numerator, another denominator, the
reciprocal, a tenfold slip), the mistakes a reader must not let through.

`split_pairs` cuts the distinct (reference, answer) strings into a training and a held-out part: no held-out pair
is ever trained on, in either order, although its values and forms appear in other pairs.
"""

from __future__ import annotations

import random
from fractions import Fraction

DENOMINATORS = (1, 2, 3, 4, 5, 8, 10)
MAX_VALUE = 5
LABELS = ("equivalent", "different")

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_ORDINAL = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"), 5: ("fifth", "fifths"),
            8: ("eighth", "eighths"), 10: ("tenth", "tenths")}


def values() -> list[Fraction]:
    """Every value of the space, in a fixed order."""
    seen = {Fraction(p, q) for q in DENOMINATORS for p in range(1, MAX_VALUE * q + 1)}
    return sorted(seen)


def _words_of_fraction(value: Fraction, rng: random.Random) -> str | None:
    whole, rest = divmod(value.numerator, value.denominator)
    rest_frac = Fraction(rest, value.denominator)
    if rest_frac == 0:
        return _ONES[whole] if whole < len(_ONES) else None
    q, p = rest_frac.denominator, rest_frac.numerator
    if q not in _ORDINAL:
        return None
    one, many = _ORDINAL[q]
    if q == 4 and rng.random() < 0.4:
        one, many = "fourth", "fourths"
    if q == 2 and whole:
        part = "a half"
    else:
        part = f"{'one' if p == 1 else _ONES[p]} {one if p == 1 else many}"
        if p == 1 and rng.random() < 0.5:
            part = f"{'an' if one[0] in 'aeiou' else 'a'} {one}"
    if not whole:
        return part
    return f"{_ONES[whole]} and {part}"


def _decimal(value: Fraction) -> str | None:
    q = value.denominator
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    if q != 1:
        return None
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text


def forms(value: Fraction, rng: random.Random) -> list[str]:
    """Distinct written forms of `value` (drawn with `rng` where several spellings exist)."""
    p, q = value.numerator, value.denominator
    out: list[str] = []
    if q == 1:
        out += [str(p), f"{p}.0", f"\\frac{{{2 * p}}}{{2}}"]
    else:
        k = 2  # one unreduced spelling per value: the judge learns forms, not long division
        out += [f"\\frac{{{p}}}{{{q}}}", f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}", f"\\frac{{{k * p}}}{{{k * q}}}",
                f"{k * p}/{k * q}"]
        if value > 1:
            whole, rest = divmod(p, q)
            out += [f"{whole} {rest}/{q}", f"{whole}\\frac{{{rest}}}{{{q}}}"]
    decimal = _decimal(value)
    if decimal is not None and q != 1:
        out.append(decimal)
    percent = _decimal(value * 100)
    if percent is not None and value <= 2:
        out.append(f"{percent}\\%" if rng.random() < 0.5 else f"{percent}%")
    words = _words_of_fraction(value, rng)
    if words is not None:
        out.append(words)
    return list(dict.fromkeys(out))


def near_values(value: Fraction, space: list[Fraction], rng: random.Random) -> list[Fraction]:
    """Close but different values of the space: the mistakes an equivalence reader must catch."""
    p, q = value.numerator, value.denominator
    candidates = {Fraction(p + 1, q), Fraction(max(1, p - 1), q), Fraction(p, q + 1) if q + 1 in DENOMINATORS
                  else value, 1 / value, value * 10, value / 10, value + 1, value * 2}
    candidates |= {rng.choice(space) for _ in range(2)}
    in_space = set(space)
    return sorted(c for c in candidates if c != value and c in in_space)


def canonical(value: Fraction) -> str:
    """The value as the judge writes it while reasoning: `7` or the reduced `3/4`."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def draw_pairs(seed: int, count: int) -> list[tuple[str, str, str, str, str]]:
    """`count` (reference, answer, label, reference value, answer value) pairs, half equivalent, in a seeded order
    (values written by `canonical`); repeats are possible."""
    rng = random.Random(seed)
    space = values()
    pairs = []
    for i in range(count):
        value = rng.choice(space)
        ref = rng.choice(forms(value, rng))
        if i % 2 == 0:
            options = [f for f in forms(value, rng) if f != ref] or [ref]
            pairs.append((ref, rng.choice(options), "equivalent", canonical(value), canonical(value)))
        else:
            other = rng.choice(near_values(value, space, rng))
            pairs.append((ref, rng.choice(forms(other, rng)), "different", canonical(value), canonical(other)))
    return pairs


def split_pairs(pairs: list[tuple], held_out_share: float, seed: int) -> tuple[list[tuple], list[tuple]]:
    """(train, held_out): every distinct unordered pair of strings goes to one side only."""
    keys = sorted({tuple(sorted(p[:2])) for p in pairs})
    random.Random(seed).shuffle(keys)
    held = set(keys[: int(len(keys) * held_out_share)])
    train = [p for p in pairs if tuple(sorted(p[:2])) not in held]
    seen_held: set[tuple[str, str]] = set()
    held_out = []
    for p in pairs:
        key = tuple(sorted(p[:2]))
        if key in held and key not in seen_held:
            seen_held.add(key)
            held_out.append(p)
    return train, held_out


def has_words(text: str) -> bool:
    """True when an answer is written in number words (a form the math rules do not read)."""
    return any(c.isalpha() for c in text.replace("\\frac", "").replace("\\dfrac", "").replace("\\%", ""))
