"""`factory report RUN_DIR`: one self-contained HTML file showing a run (the funnel, the distributions, sampled
traces with their verifier's evidence marked, pairs, throughput), written as `RUN_DIR/report.html` when a run
completes. `data.py` gathers (polars scans, bounded samples), `evidence.py` finds each verdict's evidence in the
trace, `page.py` assembles the page. Importing this package is light: polars loads only when a report is built.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

REPORT_NAME = "report.html"


def build_report(root: str | Path, out: str | Path | None = None, *, per_reason: int = 20, seed: int = 0) -> Path:
    """Write the report of the run folder `root` to `out` (default `root/report.html`); returns its path."""
    from factory.output.report.data import collect
    from factory.output.report.page import render
    from factory.output.run_folder import atomic_write_bytes

    root = Path(root)
    target = Path(out) if out else root / REPORT_NAME
    page = render(collect(root, per_reason=per_reason, seed=seed))
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, page.encode("utf-8"), target.parent)
    return target


def write_run_report(root: Path, event: Callable[..., Any]) -> None:
    """The hook at the end of a completed run: a report that fails to build is a warning, never a failed run."""
    started = time.monotonic()
    try:
        path = build_report(root)
    except Exception as exc:  # noqa: BLE001 - the data is committed; the report is a view of it
        event("warning", message=f"report.html not written: {type(exc).__name__}: {exc}")
        return
    event("report", message=f"report: {path} ({path.stat().st_size / 1e6:.1f} MB, "
                            f"{time.monotonic() - started:.1f} s)", path=str(path))
