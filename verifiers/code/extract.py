"""Find the program in a completion: the last fenced code block of the answer (after `</think>`) in a language the
recipe accepts, and that language.

A block tagged with an accepted language (`python`, `py`, `python3`; `cpp`, `c++`, `cc`, `cxx`; any case) wins
over an untagged one, which counts as Python; blocks tagged with another language (```text, ```bash, or a language
the recipe does not accept) are never taken. Among tagged blocks the last one wins, so the language of the
completion's last fenced block picks the toolchain. Only closed fences count: an answer cut off inside its code
block has no code. Code in the reasoning is ignored, since the model may draft wrong versions there.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)^[ \t]{0,3}(?P=fence)[ \t]*$",
                    re.MULTILINE | re.DOTALL)
LANGUAGES = {"python": ("python", "py", "python3", "py3"), "cpp": ("cpp", "c++", "cc", "cxx", "cpp17", "c++17")}
_TAG_LANGUAGE = {tag: language for language, tags in LANGUAGES.items() for tag in tags}


def extract_program(answer: str, languages: tuple[str, ...] = ("python",)) -> tuple[str, str] | None:
    """(language, code) of the last accepted code block of `answer`, or None if there is none."""
    tagged, untagged = None, None
    for match in _FENCE.finditer(answer):
        language = _TAG_LANGUAGE.get(match.group("lang").lower())
        if language in languages:
            tagged = (language, match.group("body"))
        elif not match.group("lang") and "python" in languages:
            untagged = ("python", match.group("body"))
    found = tagged if tagged is not None else untagged
    if found is None or not found[1].strip():
        return None
    return found


def extract_code(answer: str) -> str | None:
    """The last Python code block of `answer` (tagged python, else untagged), or None if there is none."""
    found = extract_program(answer)
    return found[1] if found else None
