"""Fixtures shared by the factory's tests: one real tiny-recipe run per session (vLLM CPU + Ray), reused by the
end-to-end tests as their reference and by the TRL tests as the run folder they train on."""

from __future__ import annotations

import pytest

from tests.factory.e2e_helpers import finish, start_run


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """The shipped tiny recipe (with pairs) on 24 prompts: the reference run of this module, and the run folder
    the TRL tests train on (tests/factory/test_trl.py)."""
    out = tmp_path_factory.mktemp("full") / "run"
    code, events, err = finish(start_run(out))
    assert code == 0, err[-3000:]
    (out.parent / "stderr.txt").write_text(err)  # what the run showed on the terminal (tests/factory/test_logs.py)
    return out, events


