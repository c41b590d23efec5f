"""Gold screening results kept in the run folder, so a resume does not parse every gold answer again.

Before a prompt is sampled, every verifier's `check_gold` says whether its gold data can ever be checked (a
symbolic answer costs a sympy parse, ~30 ms). The outcome is recorded per (prompt id, gold) in
`.factory/gold.jsonl`, appended by the driver when a unit is committed; a rerun reads it once and asks the
verifiers only about prompts it does not hold. The file is a cache: losing it (or a torn last line) costs time,
never rows, and it is only ever used within one run folder, whose fingerprint fixes the recipe (and so the
verifiers and their parameters) and the input.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

from verifiers.base import Verifier
from verifiers.types import Prompt

FILE_NAME = "gold.jsonl"


def _key(prompt: Prompt) -> str:
    blob = prompt.prompt_id + "\0" + json.dumps(prompt.gold, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class GoldCache:
    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.known: dict[str, str] = known or {}
        """key -> "" (checkable) or the reason no verifier can check it."""
        self._new: list[tuple[str, str]] = []
        self.hits = 0

    @classmethod
    def load(cls, meta_dir: Path) -> "GoldCache":
        known: dict[str, str] = {}
        path = meta_dir / FILE_NAME
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                    known[record["k"]] = record["r"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a torn last line: that prompt is checked again
        return cls(known)

    def screen(self, prompt: Prompt, verifiers: Sequence[Verifier]) -> str | None:
        """The reason no verifier can check this prompt's gold, or None; from the cache when it is known."""
        key = _key(prompt)
        if key in self.known:
            self.hits += 1
            return self.known[key] or None
        reason = next((r for r in (v.check_gold(prompt) for v in verifiers) if r), None)
        self.known[key] = reason or ""
        self._new.append((key, reason or ""))
        return reason

    def flush(self, meta_dir: Path) -> None:
        """Append what was learnt since the last flush (the driver holds the folder's lock)."""
        if not self._new:
            return
        with (meta_dir / FILE_NAME).open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps({"k": k, "r": r}) + "\n" for k, r in self._new))
        self._new = []
