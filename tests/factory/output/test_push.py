"""`factory push`: what a run folder publishes, and what it refuses, offline.

The selection is checked with huggingface_hub's own `filter_repo_objects` (the function `upload_folder` filters a
folder with) on a real run folder. The upload itself needs the Hub and a token, so it is NOT tested here: a fake
`HfApi` stands in only to record the arguments the command passes to `create_repo` and `upload_folder`.
"""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub.utils import filter_repo_objects

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.output.push import IGNORED, PUBLISHED, REPLACED
from tests.conftest import write_jsonl

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
ROWS = [
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD},
    {"id": "a", "problem": "What is 3 + 4?", "answer": "7", "completion": GOOD.replace("{7}", "{8}")},
    {"id": "b", "problem": "What is 2 + 5?", "answer": "7", "completion": GOOD},
]


class FakeApi:
    """Records calls; never touches the network."""

    calls: list[tuple[str, dict]] = []

    def create_repo(self, repo_id, **kwargs):
        FakeApi.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def create_branch(self, repo_id, **kwargs):
        FakeApi.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        FakeApi.calls.append(("upload_folder", kwargs))
        return None


@pytest.fixture
def run_dir(tmp_path):
    out = tmp_path / "run"
    code = main(["verify", "--recipe", "tiny", "--input", str(write_jsonl(tmp_path / "t.jsonl", ROWS)),
                 "--out", str(out), "--log-json", "--set", "output.prompts_per_shard=1"])
    assert code == EXIT_OK
    return out


@pytest.fixture
def fake_hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a real HfApi call would fail, not reach the network
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    FakeApi.calls = []
    return FakeApi


def selected(root: Path) -> set[str]:
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return set(filter_repo_objects(files, allow_patterns=PUBLISHED, ignore_patterns=IGNORED))


def test_the_upload_selects_the_dataset_and_never_factory_state(run_dir):
    state = {p.relative_to(run_dir).as_posix() for p in (run_dir / ".factory").rglob("*") if p.is_file()}
    assert ".factory/run.json" in state and any(s.startswith(".factory/units/") for s in state)
    shards = {p.relative_to(run_dir).as_posix() for p in (run_dir / "data").rglob("*.parquet")}
    assert {s.split("/")[1] for s in shards} == {"accepted", "rejected", "pairs"}
    base = {"README.md", "stats.json", "manifest.json", "recipe.resolved.yaml", "report.html"}  # every run's
    assert selected(run_dir) == shards | base
    (run_dir / "notes.txt").write_text("mine")               # not the factory's: not published
    (run_dir / ".factory" / "logs").mkdir(exist_ok=True)
    (run_dir / ".factory" / "logs" / "libraries.log").write_text("ray says hi")
    (run_dir / "data" / "accepted" / "part-00009.parquet.tmp").write_text("half")
    assert selected(run_dir) == shards | base


def test_push_passes_the_patterns_and_options_to_huggingface_hub(run_dir, fake_hub, capsys):
    code = main(["push", str(run_dir), "--repo", "me/traces", "--private", "--revision", "v1"])
    assert code == EXIT_OK, capsys.readouterr().err
    names = [name for name, _ in fake_hub.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    create, branch, upload = (kwargs for _, kwargs in fake_hub.calls)
    assert create == {"repo_id": "me/traces", "repo_type": "dataset", "private": True, "exist_ok": True}
    assert branch["branch"] == "v1" and branch["repo_type"] == "dataset"
    assert upload["repo_id"] == "me/traces" and upload["repo_type"] == "dataset" and upload["revision"] == "v1"
    assert Path(upload["folder_path"]) == run_dir
    assert upload["allow_patterns"] == PUBLISHED and upload["ignore_patterns"] == IGNORED
    assert ".factory/*" in upload["ignore_patterns"] and upload["delete_patterns"] == REPLACED


def test_an_incomplete_run_is_refused_unless_allowed(run_dir, fake_hub, capsys):
    # What stats.json says while a run is being written, or after it stopped early (exit 1).
    stats = json.loads((run_dir / "stats.json").read_text())
    (run_dir / "stats.json").write_text(json.dumps({**stats, "complete": False, "units_done": 2, "units_total": 5}))
    assert main(["push", str(run_dir), "--repo", "me/traces"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "not complete (2/5 units committed)" in err and "--allow-incomplete" in err and "stats.json" in err
    assert fake_hub.calls == []  # nothing created, nothing uploaded
    assert main(["push", str(run_dir), "--repo", "me/traces", "--allow-incomplete"]) == EXIT_OK
    assert [name for name, _ in fake_hub.calls] == ["create_repo", "upload_folder"]  # no --revision: no branch


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, fake_hub, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.md").write_text("notes")
    assert main(["push", str(tmp_path / "mine"), "--repo", "me/traces"]) == EXIT_USAGE
    assert "not a run folder" in capsys.readouterr().err and fake_hub.calls == []


def test_push_has_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["push", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--repo" in out and "--allow-incomplete" in out and ".factory/" in out
