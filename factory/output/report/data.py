"""Everything the report shows, gathered from a run folder into one JSON-able dict of bounded size.

Sources, none of them read whole:
- `stats.json` / `manifest.json` / `recipe.resolved.yaml`: the funnel, pass@k, tokens, engine counters, prices, and a
  `judge` / `calibration` section when a judge stage wrote one (shown only if the key exists);
- the unit markers (`.factory/units/*.json`): per-prompt (samples, passed) pairs for the pass-rate histogram and
  pass@k, and per-unit tokens, samples and commit wall time for the throughput chart;
- the shards, through lazy polars scans that read only the columns they need: completion lengths as histograms,
  and a seeded sample of at most `per_reason` rows for each rejection reason (and of accepted rows, and of pairs),
  chosen as the rows with the smallest hash of their id (stable for one polars version and seed), so the report of
  a run of millions of rows holds a few hundred traces, each cut to its evidence (`evidence.segments`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from factory.output.report.evidence import evidence, segments
from factory.output.run_folder import RunFolder
from factory.stats import pass_at_k

PASS_RATE_BINS = ["0%", "1-19%", "20-39%", "40-59%", "60-79%", "80-99%", "100%"]
LENGTH_BINS = 30
TRACE_CHARS = 6000
"""A sampled trace longer than this keeps its head, tail and a window around each piece of evidence."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _shards(root: Path, split: str) -> list[Path]:
    return sorted((root / "data" / split).glob("part-*.parquet"))


def _pass_rate_bin(n: int, c: int) -> int:
    if c == 0:
        return 0
    if c == n:
        return 6
    return 1 + min(4, int(5 * c / n))


def prompt_outcomes(markers: dict[int, dict[str, Any]], adaptive: bool) -> dict[str, Any]:
    """Per-prompt pass rates as a histogram and pass@k for k = 1..n (over prompts with at least k samples)."""
    outcomes: dict[tuple[int, int], int] = {}
    for marker in markers.values():
        for n, c in marker.get("stats", {}).get("per_prompt", []):
            outcomes[(n, c)] = outcomes.get((n, c), 0) + 1
    histogram = [0] * len(PASS_RATE_BINS)
    for (n, c), count in outcomes.items():
        if n:
            histogram[_pass_rate_bin(n, c)] += count
    curve = []
    for k in range(1, max((n for n, _ in outcomes), default=0) + 1):
        usable = {pair: count for pair, count in outcomes.items() if pair[0] >= k}
        prompts = sum(usable.values())
        if prompts and not adaptive:  # adaptive sampling stops on success: pass@k would be biased upwards
            curve.append([k, round(sum(pass_at_k(n, c, k) * m for (n, c), m in usable.items()) / prompts, 4)])
    return {"bins": PASS_RATE_BINS, "prompts": histogram, "pass_at_k": curve, "adaptive": adaptive}


def unit_series(markers: dict[int, dict[str, Any]], prices: tuple[float | None, float | None]) -> list[dict]:
    """One point per committed unit in commit order: tokens, samples, samples/s since the previous commit (the run's
    wall time summed over invocations, as the markers record it), and the cost from the recipe's prices if any."""
    rows, previous, spent = [], 0.0, 0.0
    for marker in sorted(markers.values(), key=lambda m: (m.get("wall_seconds", 0.0), m.get("unit", 0))):
        stats = marker.get("stats", {})
        wall = float(marker.get("wall_seconds", 0.0))
        elapsed = max(wall - previous, 1e-9)
        point = {"unit": marker.get("unit"), "prompt_tokens": stats.get("prompt_tokens", 0),
                 "completion_tokens": stats.get("completion_tokens", 0), "generated": stats.get("generated", 0),
                 "wall_seconds": round(wall, 3),
                 "samples_per_second": round(stats.get("generated", 0) / elapsed, 3) if wall > previous else None}
        if prices[0] is not None or prices[1] is not None:
            cost = (point["prompt_tokens"] * (prices[0] or 0) + point["completion_tokens"] * (prices[1] or 0)) / 1e6
            spent += cost
            point["cost_usd"], point["cumulative_cost_usd"] = round(cost, 6), round(spent, 6)
        rows.append(point)
        previous = max(previous, wall)
    return rows


def _length_expr(use_tokens: bool) -> pl.Expr:
    if use_tokens:
        return pl.col("completion_tokens").cast(pl.Int64)
    return pl.col("completion").list.first().struct.field("content").str.len_chars().cast(pl.Int64)


def lengths(root: Path) -> dict[str, Any]:
    """Completion lengths of accepted against rejected rows as one histogram with shared bins: tokens when the rows
    have token counts, else characters (`factory verify` input carries no token counts)."""
    frames = {split: pl.scan_parquet(files) for split in ("accepted", "rejected") if (files := _shards(root, split))}
    if not frames:
        return {"unit": "tokens", "edges": [], "counts": {}}
    use_tokens = any(frame.select(pl.col("completion_tokens").max()).collect().item() or 0
                     for frame in frames.values())
    column = _length_expr(use_tokens).alias("length")
    highest = max(frame.select(column.max()).collect().item() or 0 for frame in frames.values())
    width = max(1, -(-(highest + 1) // LENGTH_BINS))
    counts, summary = {}, {}
    for split, frame in frames.items():
        binned = (frame.select(column).select((pl.col("length") // width).clip(0, LENGTH_BINS - 1).alias("bin"))
                  .group_by("bin").len().collect())
        histogram = [0] * LENGTH_BINS
        for b, n in zip(binned["bin"].to_list(), binned["len"].to_list()):
            histogram[b] += n
        counts[split] = histogram
        stats = frame.select(column.median().alias("median"), column.mean().alias("mean")).collect().row(0)
        summary[split] = {"median": stats[0], "mean": round(stats[1], 1) if stats[1] is not None else None}
    return {"unit": "tokens" if use_tokens else "characters", "edges": [i * width for i in range(LENGTH_BINS + 1)],
            "counts": counts, "summary": summary}


def _pick(frame: pl.LazyFrame, per_group: int, seed: int, group: str | None) -> dict[str, list[str]]:
    """group value -> up to `per_group` ids: the smallest seeded hashes of the id (a seeded sample, no sort of the
    whole split). `group` names a list column (each row counts in each of its groups) or None (one group)."""
    keyed = frame.select("id", *([group] if group else [])).with_columns(pl.col("id").hash(seed).alias("_h"))
    if group is None:
        ids = keyed.select(pl.col("id").bottom_k_by("_h", per_group)).collect()["id"].to_list()
        return {"": ids}
    picked = (keyed.explode(group).drop_nulls(group).group_by(group)
              .agg(pl.col("id").bottom_k_by("_h", per_group)).collect())
    return dict(zip(picked[group].to_list(), picked["id"].to_list()))


_SAMPLE_COLUMNS = ["id", "prompt_id", "sample_index", "problem", "gold", "completion", "accepted", "rejection_reasons",
                   "verdicts", "finish_reason", "completion_tokens"]


def _fetch(frame: pl.LazyFrame, ids: set[str], columns: list[str]) -> list[dict[str, Any]]:
    return frame.filter(pl.col("id").is_in(sorted(ids))).select(columns).collect().to_dicts() if ids else []


def _sample_row(row: dict[str, Any]) -> dict[str, Any]:
    text = row["completion"][0]["content"] if row.get("completion") else ""
    marks, notes = evidence({**row, "text": text})
    return {"id": row["id"], "prompt_id": row["prompt_id"], "problem": row["problem"][:2000],
            "gold": row["gold"][:2000], "accepted": row["accepted"], "reasons": row["rejection_reasons"] or [],
            "finish_reason": row["finish_reason"], "completion_tokens": row["completion_tokens"],
            "chars": len(text), "notes": notes, "trace": segments(text, marks, TRACE_CHARS),
            "verdicts": [{k: v.get(k) for k in ("name", "status", "reason", "details")}
                         for v in row["verdicts"] or []]}


def samples(root: Path, per_reason: int, seed: int) -> dict[str, Any]:
    """A seeded sample of rows per rejection reason (each row once, listed under each of its reasons) and of
    accepted rows, each with its evidence marked in the trace."""
    by_reason: dict[str, list[str]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for split in ("rejected", "accepted"):
        files = _shards(root, split)
        if not files:
            continue
        frame = pl.scan_parquet(files)
        picked = _pick(frame, per_reason, seed, "rejection_reasons" if split == "rejected" else None)
        if split == "accepted":
            picked = {"accepted": picked[""]}
        for reason, ids in picked.items():
            by_reason[reason] = sorted(ids)
        for row in _fetch(frame, {i for ids in picked.values() for i in ids}, _SAMPLE_COLUMNS):
            rows[row["id"]] = _sample_row(row)
    order = sorted(by_reason, key=lambda r: (r == "accepted", -len(by_reason[r]), r))
    return {"by_reason": {r: by_reason[r] for r in order}, "rows": rows}


def pairs(root: Path, count: int, seed: int) -> list[dict[str, Any]]:
    files = _shards(root, "pairs")
    if not files:
        return []
    frame = pl.scan_parquet(files)
    ids = set(_pick(frame, count, seed, None)[""])
    out = []
    for row in _fetch(frame, ids, ["id", "prompt_id", "problem", "gold", "chosen", "rejected", "rejected_reasons"]):
        out.append({"id": row["id"], "problem": row["problem"][:2000], "gold": row["gold"][:2000],
                    "rejected_reasons": row["rejected_reasons"] or [],
                    "chosen": segments(row["chosen"][0]["content"] if row["chosen"] else "", [], TRACE_CHARS),
                    "rejected": segments(row["rejected"][0]["content"] if row["rejected"] else "", [], TRACE_CHARS)})
    return sorted(out, key=lambda p: p["id"])


def _prices(root: Path) -> tuple[float | None, float | None]:
    try:
        recipe = yaml.safe_load((root / "recipe.resolved.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None, None
    http = ((recipe.get("generation") or {}).get("http") or {})
    return http.get("price_input_per_mtok"), http.get("price_output_per_mtok")


def collect(root: str | Path, *, per_reason: int = 20, pair_count: int = 10, seed: int = 0) -> dict[str, Any]:
    """The report's data for the run folder `root` (finished or still running)."""
    root = Path(root)
    stats, manifest = _read_json(root / "stats.json"), _read_json(root / "manifest.json")
    markers = RunFolder(root).completed_units()
    judge = {key: source[key] for source in (manifest, stats) for key in ("judge", "calibration") if key in source}
    funnel = stats.get("funnel", {})
    per_verifier: dict[str, dict[str, int]] = {}
    for key, count in funnel.get("rejected_by_reason", {}).items():
        name, _, reason = key.partition(":")
        per_verifier.setdefault(name, {})[reason] = count
    return {
        "run": {"folder": root.resolve().name, "recipe": manifest.get("recipe"), "model": manifest.get("model"),
                "fingerprint": manifest.get("run_fingerprint"), "complete": stats.get("complete"),
                "updated": manifest.get("updated"), "sampling": manifest.get("sampling"),
                "versions": manifest.get("versions", {})},
        "stats": {k: stats.get(k) for k in ("units_done", "units_total", "prompts", "skipped_prompts",
                                            "dropped_prompts", "pass_rate", "estimates", "tokens", "wall_seconds",
                                            "samples_per_second", "engine", "adaptive")},
        "funnel": funnel,
        "per_verifier": per_verifier,
        "prompts": prompt_outcomes(markers, bool(stats.get("adaptive"))),
        "lengths": lengths(root),
        "units": unit_series(markers, _prices(root)),
        "samples": samples(root, per_reason, seed),
        "pairs": pairs(root, pair_count, seed),
        "judge": judge,
        "sampling": {"per_reason": per_reason, "pairs": pair_count, "seed": seed, "trace_chars": TRACE_CHARS},
    }
