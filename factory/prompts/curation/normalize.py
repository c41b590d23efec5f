"""Normalisation of problem texts for matching: one polars expression, used for every comparison.

Two texts that differ only in case, whitespace, punctuation, Unicode form (NFKC: full-width digits, ligatures,
`ℝ`), LaTeX spacing and trivia (`\\,` `\\ ` `\\quad`, `\\left(`/`\\right)`, `$`, `\\dfrac`/`\\tfrac` -> `\\frac`,
`\\le` -> `\\leq`, `\\cdot`/`\\times`/`×`/`*`, `\\text{}`/`\\mathrm{}` wrappers, `\\displaystyle`) or Unicode math
symbols (`π` `≤` `√` `·` `²`) normalise to the same string: the tokens, joined by single spaces. A token is a
number (`3.14`; `1,000` and `1{,}000` become `1000`), a run of letters (letter/digit boundaries split: `3x` ->
`3 x`), one CJK character, or one of the operators `+ - = < > ^ _ / | %` (kept because `5+3` and `5-3` are different
problems). Everything else (`. , ; : ? ! ' " ( ) [ ] { } \\ $ ~ &`) is a separator. A factorial `5!` / `n!` becomes
the word `factorial`; a hyphen inside a word (`two-digit`) is a space, elsewhere it is a minus.

What it does not do: it does not parse LaTeX (`\\frac12` and `\\frac{1}{2}` differ, `1/2` and `\\frac{1}{2}` differ),
reorder terms, or know synonyms of words. It is a matching key, never shown as data.

There is one implementation, on a polars Series (`normalize_series`), so the vectorised path over a whole source
(`curate_frame`) and the streaming path (`PromptCurator`) cannot disagree; `normalize_text` runs the same
expression on one string. polars is imported inside the functions so that `import factory.prompts.curation` stays light.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼", ["^0", "^1", "^2", "^3", "^4", "^5", "^6", "^7", "^8", "^9", "^+", "^-", "^="]))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉", ["_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9"]))

# After NFKC and lowercasing: Unicode math symbols to the LaTeX command the same text would use, dashes to spaces.
_SYMBOLS = {
    "π": " \\pi ", "×": " \\times ", "·": " \\times ", "⋅": " \\times ", "∙": " \\times ", "÷": " \\div ",
    "≤": " \\leq ", "≦": " \\leq ", "⩽": " \\leq ", "≥": " \\geq ", "≧": " \\geq ", "⩾": " \\geq ", "≠": " \\neq ",
    "<=": " \\leq ", ">=": " \\geq ", "!=": " \\neq ", "√": " \\sqrt ", "∞": " \\infty ", "°": "^\\circ ",
    "∈": " \\in ", "∠": " \\angle ", "△": " \\triangle ", "→": " \\to ", "⁄": "/", "∕": "/", "−": "-", "‐": "-",
    "‑": "-", "–": " ", "—": " ", "―": " ", "ς": "σ", "ß": "ss", "…": " ",
}

# (pattern, replacement) in order, Rust regex syntax (no look-around). Input is already lowercased.
_LATEX = [
    (r"\\\\", " "),                                            # line break \\ (before single-backslash commands)
    (r"\\[hv]space\*?\{[^}]*\}", " "),
    (r"\\operatorname\*", " "),
    (r"\\(?:left|right|middle|bigg?[lr]?|displaystyle|textstyle|scriptstyle|limits|nolimits|quad|qquad|enspace"
     r"|thinspace|medspace|thickspace|negthinspace|negmedspace|negthickspace|text|textrm|textbf|textit|textsf"
     r"|texttt|textnormal|mathrm|mathbf|mathit|mathsf|mathtt|mathbb|mathcal|mathfrak|mathscr|mathnormal"
     r"|boldsymbol|bm|emph|mbox|hbox|operatorname|rm|bf|it|cal|[lcv]?dots[cbmio]?|ddots|nonumber|notag)\b", " "),
    (r"\\[dtc]frac\b", r"\frac"),
    (r"\\[dt]binom\b", r"\binom"),
    (r"\\(?:le|leqslant|leqq)\b", r"\leq"),
    (r"\\(?:ge|geqslant|geqq)\b", r"\geq"),
    (r"\\ne\b", r"\neq"),
    (r"\\(?:rightarrow|longrightarrow)\b", r"\to"),
    (r"\\(?:cdot|ast)\b", r"\times"),
    (r"\\(?:lvert|rvert|vert|mid)\b", " | "),
    (r"\*{2,}", " "),                                          # markdown bold
    (r"([\p{L}\d\)\]\}])\*([\p{L}\d\(\[\{\\])", r"$1 \times $2"),  # 3*4, a*b (twice: 2*3*4)
    (r"([\p{L}\d\)\]\}])\*([\p{L}\d\(\[\{\\])", r"$1 \times $2"),
    (r"\s\*\s", r" \times "),                                  # 3 * 4; any other * is markdown emphasis
    (r"\\_", "_"),
    (r"_+", "_"),
]
_FACTORIAL = [
    (r"([\d\)\]\}])!", "$1 factorial "),                       # 5!  (n+1)!
    (r"(^|[^\p{L}])(\p{L})!", "$1$2 factorial "),              # n!  (a single letter; "hello!" is punctuation)
]
_WORD_HYPHEN = (r"(\p{L}\p{L})-(\p{L}\p{L})", "$1 $2")        # two-digit; applied twice for well-to-do
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
_TOKEN = (
    r"\d{1,3}(?:(?:,|\{,\})\d{3})+(?:\.\d+)?"                  # 1,000,000 or 1{,}000 (separators removed below)
    r"|\d+(?:\.\d+)?"
    rf"|[{_CJK}]"
    rf"|[[\p{{L}}\p{{M}}]--[{_CJK}]]+"
    r"|[+\-=<>^_/|%]"
)
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
    "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega",
}
# A Greek letter standing alone as a token is the variable \theta; inside a Greek word it stays a letter.
_GREEK_CLASS = "[" + "".join(_GREEK) + "]"
_GREEK_TOKENS = {f" {letter} ": f" {name} " for letter, name in _GREEK.items()}


def normalize_series(texts: Any) -> Any:
    """Normalise a polars String Series (nulls become ""); the one implementation of the matching key."""
    import polars as pl

    s = texts.cast(pl.String).fill_null("")
    # Only non-ASCII rows can change under NFKC or contain Greek letters: those passes run on them alone.
    non_ascii = (s.str.len_bytes() != s.str.len_chars()).arg_true()
    if len(non_ascii):
        s = s.scatter(non_ascii, s.gather(non_ascii).str.replace_many(_SUPERSCRIPTS | _SUBSCRIPTS).str.normalize("NFKC"))
    s = s.str.to_lowercase().str.replace_many(_SYMBOLS, leftmost=True)
    for pattern, replacement in _LATEX + _FACTORIAL + [_WORD_HYPHEN, _WORD_HYPHEN]:
        s = s.str.replace_all(pattern, replacement)
    tokens = s.str.extract_all(_TOKEN)
    out = tokens.list.join(" ")
    if len(non_ascii):
        greek = non_ascii.gather(s.gather(non_ascii).str.contains(_GREEK_CLASS).arg_true())
        if len(greek):
            # Tokens two spaces apart, so that neighbouring one-letter tokens do not share a space between matches.
            spaced = (" " + tokens.gather(greek).list.join("  ") + " ").str.replace_many(_GREEK_TOKENS)
            out = out.scatter(greek, spaced.str.replace_all(" +", " ").str.strip_chars(" "))
    return out.str.replace_all(r"[,{}]", "")


def normalize_many(texts: Any, workers: int | None = None, chunk: int = 100_000) -> Any:
    """`normalize_series` over a large Series in chunks on a thread pool (polars releases the GIL)."""
    import polars as pl

    if len(texts) <= chunk:
        return normalize_series(texts)
    workers = workers or os.cpu_count() or 1
    parts = [texts.slice(offset, chunk) for offset in range(0, len(texts), chunk)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return pl.concat(list(pool.map(normalize_series, parts)), rechunk=True)


def normalize_texts(texts: list[str]) -> list[str]:
    """`normalize_text` of each text, in one vectorised pass."""
    import polars as pl

    if not texts:
        return []
    return normalize_series(pl.Series("text", texts, dtype=pl.String)).to_list()


def normalize_text(text: str) -> str:
    """The matching key of one text: its tokens joined by single spaces (see the module docstring)."""
    return normalize_texts([text])[0]


def tokens_of(normalized: str) -> list[str]:
    """The tokens of a normalised text ("" has none)."""
    return normalized.split(" ") if normalized else []




def dedup_texts(texts: list[str]) -> list[int]:
    """Indices of the first text of each group of texts equal up to whitespace (runs of spaces, newlines, tabs,
    leading and trailing), in order. Used to collapse identical completions of one prompt; no other normalisation,
    since two completions that differ in anything else are different samples."""
    seen: set[str] = set()
    first: list[int] = []
    for index, text in enumerate(texts):
        key = " ".join(text.split())
        if key not in seen:
            seen.add(key)
            first.append(index)
    return first
