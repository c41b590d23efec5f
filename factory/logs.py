"""Other libraries' log lines: kept in the run folder, off the terminal (shown with `--verbose`).

What a command prints on stderr is the factory's own: the progress bar, the `[event]` lines, warnings of the
`factory`/`verifiers` loggers, errors. What other libraries emit goes to `<run>/.factory/logs/libraries.log`:
- Python logging in the driver process (ray, vllm, torch, transformers, datasets, huggingface_hub, ...): their own
  terminal handlers are taken off and their records reach one file handler on the root logger;
- Python warnings (FutureWarning, DeprecationWarning, ...), through `logging.captureWarnings`;
- what the engine and verification actors print (vLLM, torch, Triton, tqdm bars of checkpoint loading): Ray
  forwards it to the driver, where the Ray runtime hands it to `worker_lines` instead of the terminal.
Lines emitted before the run folder is known (Ray starts during the preflight, before the folder is opened) are
held in memory and written once it is (`attach`); if no folder is ever opened (a refused run), they are dropped.

`library_logs(verbose=False)` sets this up for one command and restores the logging state after it (tests call the
CLI in-process); `--verbose` leaves every library's output as it was, on the terminal. Library code calling
`factory.run.run` directly is not affected: nothing here happens unless the CLI asks.

Not covered: bytes a native library writes straight to the driver's file descriptor 2 (C++ log lines of Ray's core
worker), which no Python hook sees; on a Ray cluster, the actors' output is forwarded the same way, so it lands in
the driver's run folder.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

OWN = ("factory", "verifiers")
"""Loggers of these packages stay on the terminal (warnings and above), as Python's default handler shows them."""
LOG_FILE = "libraries.log"
BUFFER_RECORDS = 10_000
"""Records held before the run folder is known (Ray's start-up says a handful)."""
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_LOGGER = "ray-workers"
"""The logger of the actors' forwarded output (not under `ray.`, whose own handler prints to the terminal)."""

_state: dict[str, Any] = {}


class _Held(logging.Handler):
    """Records kept in memory (the latest BUFFER_RECORDS) until the run folder is known."""

    def __init__(self) -> None:
        super().__init__()
        self.records: collections.deque[logging.LogRecord] = collections.deque(maxlen=BUFFER_RECORDS)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _OwnRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in OWN


class _LibraryRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] not in OWN


def active() -> bool:
    """True while a command routes library output to the run folder (not --verbose)."""
    return bool(_state)


@contextlib.contextmanager
def library_logs(verbose: bool = False) -> Iterator[None]:
    """Route other libraries' logs and warnings off the terminal for the duration of one command."""
    if verbose or _state:
        yield
        return
    root = logging.getLogger()
    saved = {"level": root.level, "handlers": list(root.handlers), "showwarning": warnings.showwarning,
             "loggers": {}}
    buffer = _Held()
    buffer.addFilter(_LibraryRecords())
    own = logging.StreamHandler(sys.stderr)
    own.setLevel(logging.WARNING)
    own.addFilter(_OwnRecords())
    root.handlers = [buffer, own]
    root.setLevel(logging.INFO)
    _state.update(saved=saved, sink=buffer, own=own)
    logging.captureWarnings(True)
    reroute()
    try:
        yield
    finally:
        logging.captureWarnings(False)
        warnings.showwarning = saved["showwarning"]
        for name, (handlers, propagate) in _state["saved"]["loggers"].items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate
        sink = _state["sink"]
        root.handlers = saved["handlers"]
        root.setLevel(saved["level"])
        sink.close()
        _state.clear()


def reroute() -> None:
    """Take the terminal handlers off every library logger known now, so their records reach the file; call again
    after importing a library that installs its own handler at import (Ray does)."""
    if not _state:
        return
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger) or name.split(".")[0] in OWN:
            continue
        # A library's terminal handler is a StreamHandler (Ray's writes to whatever sys.stderr is at emit time);
        # file handlers, also StreamHandlers, are its own business and stay.
        terminal = [h for h in logger.handlers
                    if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
        if terminal or not logger.propagate:
            _state["saved"]["loggers"].setdefault(name, (list(logger.handlers), logger.propagate))
            logger.handlers = [h for h in logger.handlers if h not in terminal]
            logger.propagate = True


def attach(log_dir: Path) -> None:
    """Write library output to `log_dir/libraries.log` from now on (appending: a resume adds to it), with what was
    held in memory first. No-op unless `library_logs` is routing."""
    if not _state or isinstance(_state["sink"], logging.FileHandler):
        return
    reroute()  # libraries imported since the command started (datasets, transformers, ...)
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_LibraryRecords())
    buffer: _Held = _state["sink"]
    for record in buffer.records:
        handler.handle(record)
    buffer.records.clear()
    root = logging.getLogger()
    root.handlers = [handler if h is buffer else h for h in root.handlers]
    buffer.close()
    _state["sink"] = handler


def log_path(run_dir: Path) -> Path:
    return Path(run_dir) / ".factory" / "logs" / LOG_FILE


def worker_lines(data: dict[str, Any]) -> None:
    """Ray's forwarded actor output (`{"lines", "pid", "actor_name", "task_name", "is_err", ...}`) as log records."""
    logger = logging.getLogger(WORKER_LOGGER)
    who = data.get("actor_name") or data.get("task_name") or "worker"
    level = logging.WARNING if data.get("is_err") else logging.INFO
    for line in data.get("lines", []):
        logger.log(level, "(%s pid=%s) %s", who, data.get("pid"), line)
