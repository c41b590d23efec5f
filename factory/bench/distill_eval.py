"""Evaluate one model for the distillation benchmark: vLLM samples on the test problems, the factory's verifiers judge.

`python -m factory.bench.distill_eval --model DIR --out FILE.json` (one vLLM engine; the benchmark runs it as a
subprocess under the vLLM lock) samples `n` completions per test problem with `LLM.chat` at the tiny recipe's
sampling (temperature 1.0, top_p 1.0, 448 tokens; user turn = the recipe's template) and judges every sample with
the verifiers of the recipe's chain, built by `verifiers.registry.create_verifier` with the recipe's parameters.

Metrics, each a share of all samples: `pass@1` (the `math` verifier accepts: the last `\\boxed{}` after `</think>`
equals the gold; the mean over problems of c/n, the unbiased pass@1), `format_valid` (`format` accepts: one closed,
non-empty think block, an answer, not truncated), `language_mixing` (`language` rejects), `loop` (`repetition`
rejects), `truncated` (hit the token limit), `all_verifiers` (the whole chain accepts: what the factory would keep).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
METRICS = ("pass@1", "format_valid", "language_mixing", "loop", "truncated", "all_verifiers")


def test_rows(path: Path, per_kind: int) -> list[dict[str, Any]]:
    """The test problems, or the first `per_kind` of each kind (ids `arith-<split>-<kind>-<nnnnn>`)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if per_kind <= 0:
        return rows
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        kind = row["id"].split("-")[2]
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= per_kind:
            kept.append(row)
    return kept


def sample(model: Path, rows: list[dict], recipe, n: int, seed: int) -> list[list[tuple[str, str]]]:
    """(text, finish_reason) per sample, per problem."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams

    from factory.engines.vllm_engine import shutdown_llm

    gen = recipe.generation
    llm = LLM(model=str(model), enforce_eager=True, dtype="float32", seed=seed, max_model_len=1024)
    params = SamplingParams(n=n, temperature=gen.temperature, top_p=gen.top_p, max_tokens=gen.max_tokens)
    chats = [[{"role": "user", "content": recipe.template.user_template.format(problem=row["problem"])}]
             for row in rows]
    try:
        outputs = llm.chat(chats, params, use_tqdm=False)
    finally:
        shutdown_llm(llm)
    return [[(o.text, o.finish_reason) for o in out.outputs] for out in outputs]


def judge(rows: list[dict], samples: list[list[tuple[str, str]]], recipe) -> dict[str, Any]:
    """The metrics of `METRICS` from the recipe's own verifiers."""
    from verifiers.registry import create_verifier
    from verifiers.types import Completion, Prompt, chat

    verifiers = [create_verifier(spec.name, spec.params) for spec in recipe.verifiers]
    by_name: dict[str, list[Any]] = {v.name: [] for v in verifiers}
    chain_ok: list[bool] = []
    truncated: list[bool] = []
    try:
        for row, outs in zip(rows, samples):
            user = recipe.template.user_template.format(problem=row["problem"])
            prompt = Prompt(row["id"], chat(recipe.template.system_prompt, user), row["problem"], row["answer"])
            completions = [Completion(row["id"], i, text, reason) for i, (text, reason) in enumerate(outs)]
            verdicts = {v.name: v.verify_batch(prompt, completions) for v in verifiers}
            for name, vs in verdicts.items():
                by_name[name].extend(vs)
            chain_ok.extend(all(verdicts[name][i].accepted for name in verdicts) for i in range(len(outs)))
            truncated.extend(reason == "length" for _, reason in outs)
    finally:
        for v in verifiers:
            v.close()
    total = len(chain_ok)

    def share(name: str, status: str) -> float:
        return round(sum(v.status == status for v in by_name[name]) / total, 4)

    reasons: dict[str, int] = {}
    for name, vs in by_name.items():
        for v in vs:
            if v.status == "rejected":
                reasons[f"{name}:{v.reason}"] = reasons.get(f"{name}:{v.reason}", 0) + 1
    return {"pass@1": share("math", "accepted"), "format_valid": share("format", "accepted"),
            "language_mixing": share("language", "rejected"), "loop": share("repetition", "rejected"),
            "truncated": round(sum(truncated) / total, 4), "all_verifiers": round(sum(chain_ok) / total, 4),
            "samples": total, "rejections": dict(sorted(reasons.items(), key=lambda kv: -kv[1]))}


def evaluate(model: Path, test_file: Path, out: Path, recipe_name: str, n: int, per_kind: int, seed: int) -> dict:
    from factory.recipe import load_recipe

    recipe = load_recipe(recipe_name)
    rows = test_rows(test_file, per_kind)
    started = time.time()
    samples = sample(model, rows, recipe, n, seed)
    sampled = time.time()
    result = judge(rows, samples, recipe)
    result.update(model=str(model), problems=len(rows), n=n, seed=seed, sample_minutes=round((sampled - started) / 60, 2),
                  judge_minutes=round((time.time() - sampled) / 60, 2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    examples = [{"id": r["id"], "text": s[0][0], "finish_reason": s[0][1]} for r, s in zip(rows[::50], samples[::50])]
    out.with_suffix(".samples.json").write_text(json.dumps(examples, ensure_ascii=False, indent=1))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model folder (Hugging Face format)")
    parser.add_argument("--out", type=Path, required=True, help="where the metrics are written (JSON)")
    parser.add_argument("--test", type=Path, default=REPO / "data/prompts/arith-test.jsonl", help="test problems")
    parser.add_argument("--recipe", default="tiny", help="recipe whose sampling, template and verifiers are used")
    parser.add_argument("--n", type=int, default=1, help="samples per test problem")
    parser.add_argument("--per-kind", type=int, default=0, help="only the first K problems of each kind (0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="vLLM engine seed")
    args = parser.parse_args(argv)
    result = evaluate(args.model, args.test, args.out, args.recipe, args.n, args.per_kind, args.seed)
    print(json.dumps({k: result[k] for k in METRICS}))


if __name__ == "__main__":
    main()
