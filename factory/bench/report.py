"""How long the HTML report of a large run takes to build, and how big it is: `python -m factory.bench.report`.

Builds a synthetic run folder of `--rows` samples (default 1,000,000) laid out exactly as a run writes it: one
accepted, rejected and pairs shard per unit of 256 prompts x 8 samples with the real Arrow schemas, unit markers
with their stats, stats.json, manifest.json and recipe.resolved.yaml. Rows are drawn from a pool of real verdicts
(the real verifiers judged a handful of traces of 0.2 to 15 KB) so every reason's evidence is there to find; each
row's text is made unique (its id appended), so the shards hold as many distinct bytes as real traces would. Then
`build_report` runs on it `--repeats` times and the median build time, the page's size and the peak memory are
printed. Figures go here, never into tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory.output.report import build_report
from factory.output.rows import build_pair, build_row, rows_to_table
from factory.stats import summarize, totals_of
from verifiers.registry import create_verifier
from verifiers.types import Completion, Prompt

PROMPTS_PER_UNIT, N = 256, 8
VERIFIERS = ["format", "language", "repetition", "final_summary", "math"]


def pool() -> list[tuple[str, int]]:
    """(completion text, completion tokens) of varied kinds and lengths: right, wrong, mixed, looping, cut short."""
    step = "We add the tens and then the units, carrying when the sum passes nine. "
    texts = []
    for length in (2, 20, 200):
        body = step * length
        texts += [f"<think>\n{body}\n</think>\n\nSo the answer is \\boxed{{7}}.",
                  f"<think>\n{body}\n</think>\n\nSo the answer is \\boxed{{8}}.",
                  f"<think>\n{body} 我们需要把这两个数相加，然后检查结果是否正确。\n</think>\n\nSo the answer is \\boxed{{7}}.",
                  f"<think>\n{body}\n" + "Let me check the sum once more.\n" * 12 + "</think>\n\nThe answer is \\boxed{7}.",
                  f"<think>\n{body} and so on"]
    return [(t, len(t) // 4) for t in texts]


def template_rows() -> tuple[list[dict], list[dict]]:
    """Each pool trace judged by the real verifiers and stored as a row, once accepted-style, once rejected-style."""
    checks = [create_verifier(name) for name in VERIFIERS]
    prompt = Prompt("t", ({"role": "user", "content": "What is 3 + 4?"},), "What is 3 + 4?", "7")
    accepted, rejected = [], []
    try:
        for index, (text, tokens) in enumerate(pool()):
            finish = "length" if text.endswith("and so on") else "stop"
            completion = Completion("t", index, text, finish_reason=finish, completion_tokens=tokens,
                                    prompt_tokens=20)
            verdicts = [check.verify(prompt, completion) for check in checks]
            ok = all(v.status == "accepted" for v in verdicts)
            (accepted if ok else rejected).append(build_row(prompt, completion, verdicts, accepted=ok,
                                                            run_info={"model": "synthetic", "recipe": "bench"}))
    finally:
        for check in checks:
            check.close()
    return accepted, rejected


def unique_texts(completion: pa.ListArray, ids: pa.Array) -> pa.ListArray:
    """Each row's completion ends with its id, so no two rows share a text: Parquet cannot dictionary-encode the
    column away, and the scan decodes as many bytes as a real run's unique traces would make it."""
    messages = completion.flatten()
    content = pc.binary_join_element_wise(messages.field("content"), ids, "\n")
    return pa.ListArray.from_arrays(completion.offsets, pa.StructArray.from_arrays(
        [messages.field("role"), content], fields=list(messages.type)))


def write_unit(root: Path, unit: int, accepted: pa.Table, rejected: pa.Table, pair: dict) -> dict:
    """One unit's shards and marker; rows cycle through the templates with their ids rewritten."""
    rows = {"accepted": [], "rejected": []}
    per_prompt, reasons = [], {}
    for p in range(PROMPTS_PER_UNIT):
        prompt_id = f"u{unit:05d}p{p:03d}"
        passed = (unit * 7 + p) % (N + 1)
        per_prompt.append([N, passed])
        for s in range(N):
            split = "accepted" if s < passed else "rejected"
            rows[split].append((f"{prompt_id}#{s}", prompt_id, s, (unit + p + s)))
    stats = {"prompts": PROMPTS_PER_UNIT, "generated": PROMPTS_PER_UNIT * N, "passed": len(rows["accepted"]),
             "accepted": len(rows["accepted"]), "rejected": len(rows["rejected"]), "unverifiable": 0,
             "pairs": PROMPTS_PER_UNIT, "prompt_tokens": 0, "completion_tokens": 0, "fixed_n_samples": 0,
             "reasons": reasons, "per_prompt": per_prompt}
    counts = {}
    for split, items in rows.items():
        templates = accepted if split == "accepted" else rejected
        picks = pa.array([k % templates.num_rows for *_, k in items])
        table = templates.take(picks)
        for name, values in (("id", pa.array([i[0] for i in items])), ("prompt_id", pa.array([i[1] for i in items])),
                             ("sample_index", pa.array([i[2] for i in items], pa.int32()))):
            table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), values)
        table = table.set_column(table.schema.get_field_index("completion"), table.schema.field("completion"),
                                 unique_texts(table["completion"].combine_chunks(), table["id"].combine_chunks()))
        stats["completion_tokens"] += pc.sum(table["completion_tokens"]).as_py() or 0
        stats["prompt_tokens"] += pc.sum(table["prompt_tokens"]).as_py() or 0
        if split == "rejected":
            for reason_list in table["rejection_reasons"].to_pylist():
                for reason in reason_list:
                    reasons[reason] = reasons.get(reason, 0) + 1
        pq.write_table(table, root / "data" / split / f"part-{unit:05d}.parquet")
        counts[split] = table.num_rows
    pairs = rows_to_table([{**pair, "id": f"u{unit:05d}p{p:03d}#0>7", "prompt_id": f"u{unit:05d}p{p:03d}"}
                           for p in range(PROMPTS_PER_UNIT)], "pairs")
    pq.write_table(pairs, root / "data" / "pairs" / f"part-{unit:05d}.parquet")
    counts["pairs"] = pairs.num_rows
    return {"unit": unit, "rows": counts, "stats": stats, "seconds": {"generate": 30.0, "verify": 2.0},
            "wall_seconds": 32.0 * (unit + 1), "unwritable": []}


def build_folder(root: Path, rows: int) -> None:
    accepted_rows, rejected_rows = template_rows()
    accepted, rejected = rows_to_table(accepted_rows), rows_to_table(rejected_rows, "rejected")
    prompt = Prompt("t", ({"role": "user", "content": "What is 3 + 4?"},), "What is 3 + 4?", "7")
    pair = build_pair(prompt, Completion("t", 0, accepted_rows[0]["completion"][0]["content"]),
                      Completion("t", 7, rejected_rows[0]["completion"][0]["content"]),
                      rejected_rows[0]["rejection_reasons"], {"model": "synthetic"})
    for split in ("accepted", "rejected", "pairs"):
        (root / "data" / split).mkdir(parents=True, exist_ok=True)
    (root / ".factory" / "units").mkdir(parents=True, exist_ok=True)
    (root / ".factory" / "run.json").write_text(json.dumps({"fingerprint": "bench"}))
    units = max(1, rows // (PROMPTS_PER_UNIT * N))
    markers = []
    for unit in range(units):
        marker = write_unit(root, unit, accepted, rejected, pair)
        (root / ".factory" / "units" / f"{unit:05d}.json").write_text(json.dumps(marker))
        markers.append(marker)
    summary = summarize(totals_of(m["stats"] for m in markers), wall_seconds=32.0 * units, units_done=units,
                        units_total=units)
    (root / "stats.json").write_text(json.dumps(summary))
    (root / "manifest.json").write_text(json.dumps({"recipe": "bench", "model": "synthetic",
                                                    "run_fingerprint": "bench", "complete": True}))
    (root / "recipe.resolved.yaml").write_text("generation:\n  http: {price_input_per_mtok: 0.55, "
                                               "price_output_per_mtok: 2.19}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m factory.bench.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="samples in the synthetic run (1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="report builds to take the median of (3)")
    parser.add_argument("--work", type=Path, help="keep the synthetic run here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        root = args.work or Path(tmp) / "run"
        started = time.monotonic()
        made = not (root / "stats.json").is_file()
        if made:
            build_folder(root, args.rows)
        shards = sum(p.stat().st_size for p in (root / "data").rglob("*.parquet"))
        print(f"run folder: {root} ({args.rows:,} rows asked, {shards / 2**20:.0f} MiB of shards, "
              f"made in {time.monotonic() - started:.1f} s)")
        times = []
        for _ in range(args.repeats):
            started = time.monotonic()
            page = build_report(root, Path(tmp) / "report.html")
            times.append(time.monotonic() - started)
        generated = json.loads((root / "stats.json").read_text())["funnel"]["generated"]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rows: {generated:,}; report build: median {statistics.median(times):.2f} s of {args.repeats} "
              f"({', '.join(f'{t:.2f}' for t in times)}); report size {page.stat().st_size / 2**20:.2f} MiB; "
              f"peak RSS {peak:.0f} MiB" + (" (folder making included)" if made else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
