"""Other libraries' log lines go to the run folder, not the terminal (factory/logs.py).

Fast tests use a logger set up the way Ray sets its own up at import (a terminal handler, no propagation) and real
warnings; the slow one reads the stderr of the shared real tiny run (`full_run`: vLLM + Ray through the CLI).
"""

from __future__ import annotations

import logging
import sys
import warnings

import pytest

from factory import logs
from factory.cli import EXIT_OK, main
from tests.conftest import write_jsonl

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."


@pytest.fixture
def library(capfd):
    """A library logger as Ray sets its own up at import: a terminal handler, no propagation."""
    logger = logging.getLogger("examplelib")
    handler = logging.StreamHandler(sys.stderr)
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger
    logger.handlers, logger.propagate = [], True


def test_library_lines_are_held_then_written_to_the_run_folder(tmp_path, capfd, library):
    before = list(library.handlers)
    with logs.library_logs():
        library.warning("a library warning before the folder is known")
        warnings.warn("a deprecation of some library", FutureWarning)
        logging.getLogger("factory.test").warning("the factory's own warning")
        logs.attach(tmp_path / "logs")
        library.warning("a library warning after")
        logs.worker_lines({"lines": ["Loading safetensors checkpoint shards: 100%"], "pid": 42,
                           "actor_name": "GenerationActor", "is_err": True})
    err = capfd.readouterr().err
    assert "the factory's own warning" in err
    assert "library warning" not in err and "deprecation" not in err and "safetensors" not in err
    text = (tmp_path / "logs" / logs.LOG_FILE).read_text()
    assert text.index("before the folder is known") < text.index("a library warning after")
    assert "FutureWarning: a deprecation of some library" in text
    assert "(GenerationActor pid=42) Loading safetensors" in text
    assert "the factory's own warning" not in text
    # Restored: the library's own handler is back, warnings are warnings again.
    assert library.handlers == before and library.propagate is False and not logs.active()
    library.info("after the command")
    assert "after the command" in capfd.readouterr().err


def test_verbose_leaves_libraries_on_the_terminal(tmp_path, capfd, library):
    with logs.library_logs(verbose=True):
        logs.attach(tmp_path / "logs")
        library.info("shown as the library wants")
    assert "shown as the library wants" in capfd.readouterr().err
    assert not (tmp_path / "logs").exists()


def test_a_cli_run_keeps_its_library_log_in_the_run_folder(tmp_path):
    rows = [{"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD}]
    out = tmp_path / "run"
    assert main(["verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", rows)),
                 "--out", str(out), "--log-json"]) == EXIT_OK
    assert logs.log_path(out).is_file()  # made by the run, even when no library said anything
    assert not logs.active()


@pytest.mark.slow
def test_a_real_generate_writes_no_library_line_to_stderr(full_run):
    """The shared tiny run (vLLM engine in a Ray actor, --log-json): its stderr holds none of Ray's, vLLM's,
    torch's or Triton's lines; they are in the run folder's library log."""
    out, _ = full_run
    err = (out.parent / "stderr.txt").read_text()
    assert err.strip() == "", err[-3000:]
    text = logs.log_path(out).read_text()
    assert "Started a local Ray instance" in text  # the driver's Ray logger
    assert "(GenerationActor pid=" in text           # the engine actor's output, forwarded by Ray
    assert "Autoscaler status" not in text            # Ray shows only the autoscaler's events; so does the log
