"""Factory throughput against plain `vllm.LLM.chat` on the same prompts and sampling parameters.

    python -m factory.bench.throughput [--recipe tiny] [--prompts 256] [--per-unit 64] [--n 8] [--runs 3]

Plain vLLM: one engine in this process, `LLM.chat` on all prompts at once (one request per prompt with
SamplingParams(n)), timed after the engine is up; median of --runs calls. Factory: `factory generate` in a
subprocess per run (fresh output folder, its own local Ray), timed from its `engines_ready` event to its last
committed unit, so both figures are steady-state generation (+ verification and writing, for the factory). The
end-to-end wall time of the factory run, start-up included, is printed too. Prints samples/s and the ratio.

Unit size matters: each unit is one engine call, and a call ends with a tail in which only its longest samples
are still decoding. The generation actor runs its two queued units in one batch to overlap those tails; on a 2-core
CPU with the tiny teacher the ratio was 1.02 at 64 prompts per unit (the tiny recipe's unit size, the default here)
and 0.88 at 16.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def plain_vllm(recipe_name: str, limit: int, n: int, runs: int) -> list[float]:
    from factory.engines.vllm_engine import VLLMEngine
    from factory.engines.base import SamplingConfig
    from factory.paths import resolve_model
    from factory.recipe import load_recipe
    from factory.prompts.sources import load_prompts

    recipe = load_recipe(recipe_name, [f"generation.n={n}", f"limit={limit}"])
    prompts = load_prompts(recipe.prompts, recipe.template, limit=limit).prompts
    model = resolve_model(recipe.generation.model)
    engine = VLLMEngine(model, engine_kwargs=recipe.resources.engine_kwargs)
    rates = []
    try:
        for _ in range(runs):
            started = time.monotonic()
            completions = engine.generate(prompts, SamplingConfig.of(recipe.generation))
            rates.append(len(completions) / (time.monotonic() - started))
    finally:
        engine.close()
    return rates


def factory_run(recipe_name: str, limit: int, n: int, per_unit: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "factory.cli", "generate", "--recipe", recipe_name, "--limit", str(limit),
             "--n", str(n), "--set", f"output.prompts_per_shard={per_unit}", "--out", str(Path(tmp) / "run"),
             "--log-json"], capture_output=True, text=True)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"factory run failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        ready = next(e["time"] for e in events if e["event"] == "engines_ready")
        units = [e for e in events if e["event"] == "unit"]
        samples = sum(e["samples"] for e in units)
        return samples / (units[-1]["time"] - ready), samples / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tiny", help="recipe whose model, prompts and sampling are used")
    parser.add_argument("--prompts", type=int, default=256, help="number of prompts")
    parser.add_argument("--n", type=int, default=8, help="samples per prompt")
    parser.add_argument("--per-unit", type=int, default=64,
                        help="prompts per work unit in the factory runs (the tiny recipe's prompts_per_shard)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement (median reported)")
    args = parser.parse_args()
    plain = plain_vllm(args.recipe, args.prompts, args.n, args.runs)
    steady, end_to_end = zip(*(factory_run(args.recipe, args.prompts, args.n, args.per_unit)
                               for _ in range(args.runs)))
    print(f"prompts={args.prompts} n={args.n} per_unit={args.per_unit} runs={args.runs}")
    print(f"plain vllm.LLM.chat      samples/s: median {statistics.median(plain):8.2f}  runs {[round(r, 2) for r in plain]}")
    print(f"factory (steady state)   samples/s: median {statistics.median(steady):8.2f}  runs {[round(r, 2) for r in steady]}")
    print(f"factory (end to end)     samples/s: median {statistics.median(end_to_end):8.2f}  (Ray + engine start-up included)")
    print(f"ratio factory/plain (steady state): {statistics.median(steady) / statistics.median(plain):.3f}")


if __name__ == "__main__":
    main()
