"""The run folder trusts nothing it reads back, through the real CLI (`factory verify` in a subprocess): the recipe's
`name` cannot place the default folder anywhere, a marker that fails its schema (no shard list, empty, not JSON)
means its unit is redone with a warning that says so, and a damaged `run.json` is refused with a plain repair."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import write_jsonl

ROOT = Path(__file__).resolve().parents[3]
GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."
TRACES = [{"id": f"q{i}", "problem": f"What is 3 + {i}?", "answer": str(3 + i),
           "completion": GOOD.replace("{7}", "{%d}" % (3 + i))} for i in range(6)]


def verify(cwd: Path, recipe: str, *extra: str) -> subprocess.CompletedProcess:
    inp = write_jsonl(cwd / "traces.jsonl", TRACES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "factory.cli", "verify", "--recipe", recipe, "--input", str(inp),
                           "--log-json", "--set", "output.prompts_per_shard=2", *extra], capture_output=True,
                          text=True, timeout=600, env=env, cwd=cwd)


def ids(out: Path) -> list[str]:
    return sorted(r["prompt_id"] for split in ("accepted", "rejected")
                  for p in sorted((out / "data" / split).glob("*.parquet")) for r in pq.read_table(p).to_pylist())


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/factory-absolute-name", "..", ".hidden/../x"])
def test_the_recipe_name_cannot_place_the_default_folder_anywhere(tmp_path, name):
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    (work / "r.yaml").write_text(f"extends: tiny\nname: {json.dumps(name)}\n")
    proc = verify(work, str(work / "r.yaml"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = [p for p in (work / "runs").iterdir()]
    assert len(made) == 1 and made[0].parent == work / "runs" and not made[0].name.startswith(".")
    assert ids(made[0]) == sorted(t["id"] for t in TRACES)
    assert not (tmp_path / "a" / "escaped").exists() and not Path("/tmp/factory-absolute-name").exists()


def committed(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    proc = verify(tmp_path, "tiny", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def warnings(proc: subprocess.CompletedProcess) -> list[str]:
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return [e["message"] for e in events if e.get("event") == "warning"]


def test_a_marker_without_its_shard_list_means_the_unit_is_redone(tmp_path):
    out = committed(tmp_path)
    marker = out / ".factory" / "units" / "00001.json"
    data = json.loads(marker.read_text())
    del data["shards"]
    marker.write_text(json.dumps(data))
    (out / "data" / "accepted" / "part-00001.parquet").unlink()  # the shard the marker no longer vouches for
    proc = verify(tmp_path, "tiny", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any("unit 00001 is redone" in w and "lacks its shard list" in w for w in warnings(proc)), warnings(proc)
    assert ids(out) == sorted(t["id"] for t in TRACES)
    assert "shards" in json.loads(marker.read_text())


@pytest.mark.parametrize("content, said", [(b"", "is empty"), (b"{not json", "is not JSON"),
                                           (b'{"unit": 2, "rows": {"accepted": "x"}, "stats": {}}', "row counts")])
def test_an_empty_or_malformed_marker_means_the_unit_is_redone(tmp_path, content, said):
    out = committed(tmp_path)
    (out / ".factory" / "units" / "00002.json").write_bytes(content)
    proc = verify(tmp_path, "tiny", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any("unit 00002 is redone" in w and said in w for w in warnings(proc)), warnings(proc)
    assert ids(out) == sorted(t["id"] for t in TRACES)


@pytest.mark.parametrize("content", [b"", b"{corrupt", b"[]"])
def test_a_damaged_run_json_is_refused_with_a_plain_repair(tmp_path, content):
    out = committed(tmp_path)
    (out / ".factory" / "run.json").write_bytes(content)
    proc = verify(tmp_path, "tiny", "--out", str(out))
    said = proc.stdout + proc.stderr
    assert proc.returncode == 2, said[-2000:]
    assert "run.json" in said and "new --out" in said and "Traceback" not in said
