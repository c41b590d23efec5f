"""Find the program in a completion: the last fenced Python code block of the answer (after `</think>`).

A block tagged `python`, `py`, `python3` (any case) wins over an untagged one; blocks tagged with another
language (```text, ```bash) are never taken. Only closed fences count: an answer cut off inside its code block
has no code. Code in the reasoning is ignored, since the model may draft wrong versions there.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)^[ \t]{0,3}(?P=fence)[ \t]*$",
                    re.MULTILINE | re.DOTALL)
_PYTHON_TAGS = {"python", "py", "python3", "py3"}


def extract_code(answer: str) -> str | None:
    """The last Python code block of `answer` (tagged python, else untagged), or None if there is none."""
    tagged, untagged = None, None
    for match in _FENCE.finditer(answer):
        lang = match.group("lang").lower()
        if lang in _PYTHON_TAGS:
            tagged = match.group("body")
        elif not lang:
            untagged = match.group("body")
    code = tagged if tagged is not None else untagged
    if code is None or not code.strip():
        return None
    return code
