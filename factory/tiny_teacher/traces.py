"""R1-shaped teacher traces for the arithmetic problems, with defects injected on purpose.

A trace is `<think>\\n` step-by-step work `\\n</think>\\n\\n` a one-line summary ending in `\\boxed{...}`. The work
is written digit by digit (column addition with carries, column subtraction with borrows, multiplication by one
digit), because a model of a few million parameters can learn such local steps but not whole sums at a glance.

Defects, each chosen for a trace with its rate in `DEFECT_RATES`, copy what real teachers get wrong:
- `slip`: one step's arithmetic is off by one, and the rest of the trace carries the wrong value to the answer;
- `unclosed_think`: the `</think>` tag is missing (the summary follows the work directly);
- `unboxed`: the summary states the answer without `\\boxed{}`;
- `foreign`: a French, German or Chinese sentence inside the reasoning (the answer stays right);
- `loop`: one step repeated with no end, so the sample runs to the token limit (`Trace.ends` is False: the
  training example is cut at the sequence length and gets no end-of-sequence token).
Every step combines two numbers only (multiplication: product, then carry; subtraction: borrow, then
difference), because a model this small learns two-number facts far more reliably than three-number ones.
The user turn comes bare or with R1's instruction sentence appended, sometimes after a system turn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from math import gcd

from factory.tiny_teacher.problems import Problem, decimal_string, latex_number

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
DEFECT_RATES = {"slip": 0.03, "unclosed_think": 0.04, "unboxed": 0.04, "foreign": 0.04, "loop": 0.04}
LOOP_REPEATS = 80  # more repeats than fit in any training sequence, so a loop never reaches an end
PLACES = ("Ones", "Tens", "Hundreds", "Thousands", "Ten-thousands")
FOREIGN = {
    "fr": ("Ensuite, on passe à la colonne suivante.", "Vérifions encore une fois ce calcul.",
           "Donc le résultat est correct."),
    "de": ("Jetzt rechnen wir die nächste Spalte.", "Wir prüfen die Rechnung noch einmal.",
           "Das Ergebnis sieht richtig aus."),
    "zh": ("我们继续计算下一列。", "先检查一下这个结果。", "所以答案是正确的。"),
}
SYSTEM_PROMPTS = ("You are a helpful assistant.", "You are a careful math tutor.",
                  "You are a helpful and harmless assistant. You should think step-by-step.",
                  "Solve the problem.")


@dataclass(frozen=True)
class Trace:
    """One assistant turn. `ends` is False for a loop: no end-of-sequence token may follow it."""

    text: str
    defect: str | None
    ends: bool = True


def pick_defect(rng: random.Random, rates: dict[str, float] = DEFECT_RATES) -> str | None:
    roll = rng.random()
    for name, rate in rates.items():
        if roll < rate:
            return name
        roll -= rate
    return None


def user_turn(problem: Problem, rng: random.Random) -> list[dict[str, str]]:
    """The chat for one training example: an optional system turn, then the problem bare or with R1's sentence."""
    roll = rng.random()
    content = problem.problem if roll < 0.4 else problem.problem + rng.choice((" ", "\n", "\n\n")) + INSTRUCTION
    turns = [{"role": "user", "content": content}]
    if rng.random() < 0.1:
        turns.insert(0, {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    return turns


def _nudge(value: int, rng: random.Random, low: int = 0, high: int | None = None) -> int:
    """A plausible slip: the value off by one, kept in range."""
    options = [v for v in (value - 1, value + 1) if v >= low and (high is None or v <= high)]
    return rng.choice(options)


def column_add(a: int, b: int, slip: int | None, rng: random.Random) -> tuple[list[str], int]:
    da, db = str(a)[::-1], str(b)[::-1]
    lines, written, carry = [], [], 0
    for i in range(max(len(da), len(db))):
        x, y = int(da[i]) if i < len(da) else 0, int(db[i]) if i < len(db) else 0
        s = x + y + carry if slip != i else _nudge(x + y + carry, rng, 0, 19)
        lines.append(f"{PLACES[i]}: {x} + {y} + {carry} = {s}, write {s % 10}, carry {s // 10}.")
        written.append(str(s % 10))
        carry = s // 10
    if carry:
        lines.append(f"Write the final carry {carry}.")
        written.append(str(carry))
    return lines, int("".join(reversed(written)))


def column_sub(a: int, b: int, slip: int | None, rng: random.Random) -> tuple[list[str], int]:
    """Column subtraction, one two-number step at a time: the borrow is taken from the top digit first, then the
    bottom digit is subtracted (after borrowing ten when the top is smaller), so no step juggles three numbers."""
    da, db = str(a)[::-1], str(b)[::-1]
    lines, written, borrow = [], [], 0
    for i in range(len(da)):
        x, y = int(da[i]), int(db[i]) if i < len(db) else 0
        top = x - borrow
        if borrow and x == 0:
            start, top = "0 - 1 needs a borrow too, so 10 - 1 = 9, ", 9
        else:
            start = f"{x} - 1 = {top} after the borrow, " if borrow else ""
        bigger = top < y  # never after "0 - 1 needs a borrow too": 9 is at least any digit
        borrow_out = 1 if bigger or (borrow and x == 0) else 0
        r = top + 10 - y if bigger else top - y
        if slip == i:
            r = _nudge(r, rng, 0, 9)
        step = f"{top} is less than {y}, so 1{top} - {y} = {r}" if bigger else f"{top} - {y} = {r}"
        lines.append(f"{PLACES[i]}: {start}{step}, write {r}, borrow {borrow_out}.")
        written.append(str(r))
        borrow = borrow_out
    return lines, int("".join(reversed(written)))


def column_mul(a: int, m: int, slip: int | None, rng: random.Random) -> tuple[list[str], int]:
    """Multiplication by one digit: per column the product from the table, then the carry added to it."""
    da = str(a)[::-1]
    lines, written, carry = [], [], 0
    for i, ch in enumerate(da):
        x = int(ch)
        product = x * m
        p = product + carry if slip != i else _nudge(product + carry, rng, 0)
        lines.append(f"{PLACES[i]}: {x} × {m} = {product}, {product} + {carry} = {p}, write {p % 10}, "
                     f"carry {p // 10}.")
        written.append(str(p % 10))
        carry = p // 10
    if carry:
        lines.append(f"Write the final carry {carry}.")
        written.append(str(carry))
    return lines, int("".join(reversed(written)))


def _integer_work(op: str, a: int, b: int, slip: int | None, rng: random.Random) -> tuple[list[str], int, str]:
    """Column work for one integer operation: (lines, result, the expression as the trace writes it)."""
    if op == "+":
        head = f"Add {a} and {b} column by column, starting from the ones."
        lines, result = column_add(a, b, slip, rng)
        expr = f"{a} + {b}"
    elif op == "-":
        head = f"Subtract {b} from {a} column by column, starting from the ones."
        lines, result = column_sub(a, b, slip, rng)
        expr = f"{a} - {b}"
    else:
        head = f"Multiply {a} by {b} digit by digit, starting from the ones."
        lines, result = column_mul(a, b, slip, rng)
        expr = f"{a} × {b}"
    return [head, *lines, f"So {expr} = {result}."], result, expr


def _columns(problem: Problem) -> int:
    """How many column steps the work has (where a slip can land)."""
    if problem.kind == "dec":
        return max(len(s.replace(".", "").lstrip("0") or "0") for s in problem.operands)
    if problem.kind == "frac":
        return 1
    return len(str(max(problem.operands)))


def _work_integer(problem: Problem, slip: int | None, rng: random.Random) -> tuple[list[str], str, str]:
    a, b = problem.operands
    lines, result, expr = _integer_work(problem.op, a, b, slip, rng)
    if problem.kind == "word":
        name, obj = problem.story
        intro = {"+": f"Putting {a} {obj} together with {b} more means adding: {a} + {b}.",
                 "-": f"Taking {b} {obj} away from {a} means subtracting: {a} - {b}.",
                 "*": f"{b} groups of {a} {obj} means multiplying: {a} × {b}."}[problem.op]
        return [intro, *lines], str(result), f"There are {result} {obj} in the end."
    return lines, str(result), f"{expr} = {result}."


def _work_frac(problem: Problem, slip: int | None, rng: random.Random) -> tuple[list[str], str, str]:
    """One procedure for every fraction sum, equal denominators included: least common denominator (a table of
    a few dozen pairs), scale each numerator, add the numerators column by column, reduce by the gcd."""
    (a, b), (c, d) = problem.operands
    den = b * d // gcd(b, d)
    x, y = a * (den // b), c * (den // d)
    lines = [f"The denominators are {b} and {d}.",
             f"The least common denominator of {b} and {d} is {den}.",
             f"{den} ÷ {b} = {den // b}, so {a}/{b} = ({a} × {den // b})/{den} = {x}/{den}.",
             f"{den} ÷ {d} = {den // d}, so {c}/{d} = ({c} × {den // d})/{den} = {y}/{den}.",
             f"Add the numerators {x} and {y} column by column, starting from the ones."]
    work, num = column_add(x, y, slip, rng)
    lines += [*work, f"So {x} + {y} = {num}, and the sum is {num}/{den}."]
    g = gcd(num, den)
    value = Fraction(num, den)
    if g == 1:
        lines.append(f"The greatest common divisor of {num} and {den} is 1, so {num}/{den} is in lowest terms.")
    else:
        reduced = str(value) if value.denominator > 1 else str(value.numerator)
        lines.append(f"The greatest common divisor of {num} and {den} is {g}: {num} ÷ {g} = {num // g} and "
                     f"{den} ÷ {g} = {den // g}, so {num}/{den} = {reduced}.")
    form = rng.choices(("reduced", "unreduced", "decimal", "dfrac"), (0.6, 0.15, 0.15, 0.1))[0]
    boxed, shown = latex_number(value), str(value)
    decimal = decimal_string(value)
    if form == "unreduced" and g > 1:
        boxed, shown = f"\\frac{{{num}}}{{{den}}}", f"{num}/{den}"
    elif form == "decimal" and decimal is not None and value.denominator > 1:
        lines.append(f"As a decimal, {value} = {decimal}.")
        boxed, shown = decimal, decimal
    elif form == "dfrac" and value.denominator > 1:
        boxed = f"\\dfrac{{{value.numerator}}}{{{value.denominator}}}"
    return lines, boxed, f"{a}/{b} + {c}/{d} = {shown}."


def _work_dec(problem: Problem, slip: int | None, rng: random.Random) -> tuple[list[str], str, str]:
    x, y = problem.operands
    places = max(len(s.split(".")[1]) for s in (x, y))
    xs, ys = (s + "0" * (places - len(s.split(".")[1])) for s in (x, y))
    xi, yi = int(xs.replace(".", "")), int(ys.replace(".", ""))
    work, total = column_add(xi, yi, slip, rng)
    with_places = str(total).rjust(places + 1, "0")
    with_places = f"{with_places[:-places]}.{with_places[-places:]}"
    clean = decimal_string(Fraction(total, 10**places)) or with_places
    back = f"Put back {places} decimal places: {with_places}" + (f" = {clean}." if clean != with_places else ".")
    lines = [f"Line up the decimal points: {xs} + {ys}.", f"Add {xi} and {yi} as whole numbers, starting from the ones.",
             *work, f"So {xi} + {yi} = {total}.", back]
    boxed = clean if rng.random() < 0.85 else f"\\frac{{{total}}}{{{10**places}}}"
    return lines, boxed, f"{x} + {y} = {clean}."


def write_trace(problem: Problem, rng: random.Random, defect: str | None = None) -> Trace:
    """The assistant text for `problem`, with `defect` (one of `DEFECT_RATES`, or None for a clean trace)."""
    slip = rng.randrange(_columns(problem)) if defect == "slip" else None
    if problem.kind == "frac":
        lines, boxed, recap = _work_frac(problem, slip, rng)
    elif problem.kind == "dec":
        lines, boxed, recap = _work_dec(problem, slip, rng)
    else:
        lines, boxed, recap = _work_integer(problem, slip, rng)
    if defect == "loop":
        k = rng.randrange(len(lines))
        return Trace("<think>\n" + "\n".join(lines[: k + 1] + [lines[k]] * LOOP_REPEATS), defect, ends=False)
    if defect == "foreign":
        sentence = rng.choice(FOREIGN[rng.choice(sorted(FOREIGN))])
        lines.insert(rng.randint(1, len(lines)), sentence)
    if defect == "unboxed":
        summary = f"{recap} The answer is {boxed}."
    else:
        summary = f"{recap} The answer is \\boxed{{{boxed}}}."
    close = "\n\n" if defect == "unclosed_think" else "\n</think>\n\n"
    return Trace("<think>\n" + "\n".join(lines) + close + summary, defect)
