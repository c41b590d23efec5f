"""Progress reporting: a live bar for people, JSON lines for batch schedulers (`--log-json`).

Both report the same events: `start`, `starting` (engines loading), `engines_ready` (or `waiting` while a cluster
has no room), one `unit` per committed work unit (prompts, samples/s, pass rate so far, and the engine's counters
such as HTTP requests in flight and retries), `skipped` rows, `dropped` prompts (curation), `warning`s, and
`summary` or `error` at the end.

The bar counts prompts and is labelled with the command (`generate`, `verify`, `curate`). Its total is known only
for sources whose prompt count can be read cheaply (a local prompt file, capped by `--limit`); a Hub dataset, a run
folder or a trace file given to `verify` shows a count that grows, with no total.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

PLAIN_EVENTS = ("start", "starting", "engines_ready", "waiting", "skipped", "dropped", "error", "warning")


class Progress:
    def __init__(self, *, label: str, total_prompts: int | None, json_lines: bool) -> None:
        self.json_lines = json_lines
        self.started = time.monotonic()
        self.samples = 0
        self.passed = 0
        self._bar: Any = None
        if not json_lines:
            from tqdm import tqdm

            self._bar = tqdm(total=total_prompts, unit="prompt", file=sys.stderr, dynamic_ncols=True, desc=label)

    def advance(self, prompts: int) -> None:
        """Count prompts already done by earlier invocations (a resume)."""
        if self._bar is not None and prompts:
            self._bar.update(prompts)

    def event(self, kind: str, **fields: Any) -> None:
        """Emit a JSON line (with --log-json) or a plain message line on stderr."""
        if self.json_lines:
            print(json.dumps({"event": kind, "time": round(time.time(), 3), **fields}, default=str), flush=True)
        elif kind in PLAIN_EVENTS:
            text = fields.get("message") or " ".join(f"{k}={v}" for k, v in fields.items())
            # `is not None`: a tqdm bar without a total has no length, and its truth value raises TypeError
            if self._bar is not None:
                self._bar.write(f"[{kind}] {text}", file=sys.stderr)
            else:
                print(f"[{kind}] {text}", file=sys.stderr)

    def unit_done(self, unit: int, prompts: int, samples: int, passed: int,
                  counters: dict[str, Any] | None = None) -> None:
        self.samples += samples
        self.passed += passed
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.samples / elapsed
        pass_rate = self.passed / self.samples if self.samples else 0.0
        counters = counters or {}
        if self._bar is not None:
            self._bar.update(prompts)
            shown = {k: counters[k] for k in ("requests_in_flight", "retries", "estimated_cost_usd") if k in counters}
            self._bar.set_postfix(samples_s=f"{rate:.1f}", passed=f"{pass_rate:.1%}", **shown)
        else:
            self.event("unit", unit=unit, prompts=prompts, samples=samples, passed=passed,
                       samples_per_s=round(rate, 3), pass_rate_so_far=round(pass_rate, 4), **counters)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
