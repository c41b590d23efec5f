"""Evaluation: no input row can stop a run, on a public corpus of hostile JSON (nst/JSONTestSuite's test_parsing).

    git clone https://github.com/nst/JSONTestSuite && python -m factory.bench.row_robustness JSONTestSuite/test_parsing

Each test file becomes two JSONL lines of a `factory verify` input: a valid row that embeds the file's bytes as an
extra field (newlines turned into spaces), and the file's bytes alone. The files are split by sorted name into a
tuning half (even positions) and a held-out half (odd), each verified in its own run. Printed per half: the exit
code, the rows written, the lines skipped (with row and reason), how many lines are accounted for (a row or a skip),
and how many of the rows embedding a must-accept (`y_`) file were kept. Nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

GOOD = "<think>\nWe add the two numbers: 3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}."


def build(files: list[Path], path: Path) -> dict[int, tuple[str, str | None]]:
    """Write the input; line number -> (kind: y/n/i/raw, the embedding row's id)."""
    lines, expect = [], {}
    for source in files:
        raw = source.read_bytes().replace(b"\r", b" ").replace(b"\n", b" ")
        head = json.dumps({"id": source.stem, "problem": f"What is 3 + 4? ({source.stem})", "answer": "7",
                           "completion": GOOD})[:-1]
        lines.append(head.encode() + b', "extra": ' + raw + b"}")
        expect[len(lines)] = (source.stem[0], source.stem)
        lines.append(raw)
        expect[len(lines)] = ("raw", None)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return expect


def score(name: str, files: list[Path], work: Path) -> None:
    inp, out = work / f"{name}.jsonl", work / f"out-{name}"
    expect = build(files, inp)
    proc = subprocess.run([sys.executable, "-m", "factory.cli", "verify", "--recipe", "tiny", "--input", str(inp),
                           "--out", str(out), "--log-json", "--set", "prompts.dedup=null"], capture_output=True,
                          text=True, env={**os.environ}, timeout=1800)
    skipped = set()
    for line in proc.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "skipped" and (m := re.search(r"row (\d+)", event["message"])):
            skipped.add(int(m.group(1)))
    ids = {r["prompt_id"] for split in ("accepted", "rejected") for p in sorted((out / "data" / split).glob("*.parquet"))
           for r in pq.read_table(p).to_pylist()} if out.exists() else set()
    blank = {n for n, line in enumerate(inp.read_bytes().split(b"\n"), start=1) if not line.strip()}
    accounted = sum(n in skipped or n in blank or (stem in ids) for n, (_, stem) in expect.items())
    must = [stem for kind, stem in expect.values() if kind == "y"]
    print(f"{name:9s} files {len(files)}  exit {proc.returncode}  rows {len(ids)}  skipped {len(skipped)}  "
          f"accounted {accounted}/{len(expect)}  y_ kept {sum(s in ids for s in must)}/{len(must)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("test_parsing", type=Path, help="JSONTestSuite's test_parsing folder")
    args = parser.parse_args()
    files = sorted(args.test_parsing.glob("*.json"))
    with tempfile.TemporaryDirectory() as work:
        score("tuning", files[0::2], Path(work))
        score("held-out", files[1::2], Path(work))


if __name__ == "__main__":
    main()
