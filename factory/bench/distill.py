"""Distillation benchmark: does a student trained on the factory's kept samples beat one trained on everything?

`python -m factory.bench.distill --work DIR` runs, resuming whatever a previous run in DIR finished:
1. prompts: a balanced subset of the training problems (the first `--per-kind` of each of the six kinds; the file
   is sorted by kind, so `--limit` alone would give additions only);
2. generation with the factory CLI, as a user runs it: `factory generate --recipe tiny --prompts SUBSET --n N
   --out DIR/run`, decontaminated against the test problems (`prompts.decontaminate`, 8-gram); the train and test
   files are also disjoint by construction (`factory.tiny_teacher.problems`);
3. per seed, two students from the same initialisation (`distill_train.student_init`), trained with TRL's
   SFTTrainer for the same number of steps: `filtered` on the kept rows (the `accepted` split), `unfiltered` on as
   many rows drawn from everything the teacher wrote (`accepted` + `rejected`);
4. each student evaluated on the held-out test problems with vLLM and the factory's own verifiers
   (`distill_eval`): pass@1, format validity, language mixing, loops;
5. the table: medians over the seeds per arm and metric, and pass@1 per seed (`DIR/results.md`, `results.json`).

Every step that starts vLLM runs as `flock LOCK <command>` when `--vllm-lock LOCK` is given, so it never shares the
machine with another vLLM engine; the lock is held only while an engine runs. This is a benchmark that prints
figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from factory.bench.distill_eval import METRICS
from factory.bench.distill_train import sft_corpora, student_init, train_student

REPO = Path(__file__).resolve().parents[2]
ARMS = ("filtered", "unfiltered")
LABELS = {"pass@1": "pass@1", "format_valid": "format valid", "language_mixing": "language mixing",
          "loop": "loops (repetition)", "truncated": "truncated", "all_verifiers": "passes all verifiers"}


def balanced_prompts(source: Path, out: Path, per_kind: int) -> Path:
    """The first `per_kind` problems of each kind, in the source's order."""
    seen: dict[str, int] = {}
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            kind = json.loads(line)["id"].split("-")[2]
            seen[kind] = seen.get(kind, 0) + 1
            if seen[kind] <= per_kind:
                lines.append(line)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def vllm_command(args: argparse.Namespace, command: list[str]) -> list[str]:
    return (["flock", str(args.vllm_lock)] if args.vllm_lock else []) + command


def generate(args: argparse.Namespace, prompts: Path, run_dir: Path) -> dict[str, Any]:
    stats_file = run_dir / "stats.json"
    if stats_file.exists() and json.loads(stats_file.read_text()).get("complete"):
        return json.loads(stats_file.read_text())
    factory = str(Path(sys.executable).with_name("factory"))
    command = [factory, "generate", "--recipe", "tiny", "--prompts", str(prompts), "--n", str(args.teacher_n),
               "--out", str(run_dir), "--log-json"]
    if args.decontaminate:
        command += ["--set", f"prompts.decontaminate={{against: [{args.test}], ngram: 8}}"]
    print("$", " ".join(command), flush=True)
    with (args.work / "generate.log").open("w") as log:
        code = subprocess.call(vllm_command(args, command), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    if code != 0:
        raise SystemExit(f"factory generate exited with {code}; see {args.work / 'generate.log'}")
    return json.loads(stats_file.read_text())


def evaluate(args: argparse.Namespace, model: Path, out: Path, seed: int) -> dict[str, Any]:
    if out.exists():
        return json.loads(out.read_text())
    command = [sys.executable, "-m", "factory.bench.distill_eval", "--model", str(model), "--out", str(out),
               "--test", str(args.test), "--n", str(args.eval_n), "--per-kind", str(args.eval_per_kind),
               "--seed", str(seed)]
    with (out.parent / "eval.log").open("a") as log:
        code = subprocess.call(vllm_command(args, command), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    if code != 0:
        raise SystemExit(f"evaluation of {model} exited with {code}; see {out.parent / 'eval.log'}")
    return json.loads(out.read_text())


def run(args: argparse.Namespace) -> dict[str, Any]:
    args.work.mkdir(parents=True, exist_ok=True)
    timings_file = args.work / "timings.json"  # a resumed run keeps the times of the steps it did not redo
    timings: dict[str, float] = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    started = time.time()
    prompts = balanced_prompts(args.train, args.work / "train-prompts.jsonl", args.per_kind)
    run_dir = args.work / "run"
    stats = generate(args, prompts, run_dir)
    _timed(timings, "generate", started)
    settings = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "warmup_steps": args.warmup_steps,
                "max_length": args.max_length, "threads": args.threads}
    per_seed: dict[int, dict[str, Any]] = {}
    corpus_info: dict[str, Any] = {}
    for seed in args.seeds:
        filtered, unfiltered, corpus_info = sft_corpora(run_dir, seed)
        seed_dir = args.work / f"seed-{seed}"
        init_dir = student_init(args.teacher, seed_dir / "init", args.init, args.noise, seed)
        per_seed[seed] = {}
        for arm, examples in zip(ARMS, (filtered, unfiltered)):
            t0 = time.time()
            train = train_student(init_dir, args.teacher, examples, seed_dir / arm, seed, settings)
            _timed(timings, f"train_{seed}_{arm}", t0)
            t0 = time.time()
            metrics = evaluate(args, seed_dir / arm, seed_dir / f"eval-{arm}.json", seed)
            _timed(timings, f"eval_{seed}_{arm}", t0)
            per_seed[seed][arm] = {"train": train, "metrics": metrics}
            print(f"seed {seed} {arm}: " + ", ".join(f"{k} {metrics[k]}" for k in METRICS), flush=True)
        if args.eval_init:
            per_seed[seed]["init"] = {"metrics": evaluate(args, init_dir, seed_dir / "eval-init.json", seed)}
    steps_total = sum(v for k, v in timings.items() if k != "total")
    timings["total"] = max(timings.get("total", 0.0), time.time() - started, steps_total)
    timings_file.write_text(json.dumps(timings, indent=1))
    result = summarize(per_seed, stats, corpus_info, args, timings)
    (args.work / "results.json").write_text(json.dumps(result, indent=1, default=str))
    (args.work / "results.md").write_text(markdown(result))
    print(markdown(result))
    return result


def _timed(timings: dict[str, float], key: str, since: float) -> None:
    elapsed = time.time() - since
    if elapsed > 1.0 or key not in timings:  # a step found done (resumed) takes no time: keep its first figure
        timings[key] = elapsed


def summarize(per_seed: dict, stats: dict, corpus: dict, args: argparse.Namespace, timings: dict) -> dict[str, Any]:
    arms = [a for a in (*ARMS, "init") if all(a in per_seed[s] for s in per_seed)]
    medians = {arm: {m: statistics.median(per_seed[s][arm]["metrics"][m] for s in per_seed) for m in METRICS}
               for arm in arms}
    margins = [per_seed[s]["filtered"]["metrics"]["pass@1"] - per_seed[s]["unfiltered"]["metrics"]["pass@1"]
               for s in per_seed]
    funnel = stats.get("funnel", {})
    return {"medians": medians, "per_seed": per_seed, "pass@1_margin_per_seed": margins,
            "pass@1_margin_of_medians": medians["filtered"]["pass@1"] - medians["unfiltered"]["pass@1"],
            "teacher_run": {"prompts": stats.get("prompts"), "generated": funnel.get("generated"),
                            "accepted": funnel.get("accepted"), "pass@1": stats.get("estimates", {}).get("pass@1"),
                            "dropped_prompts": stats.get("dropped_prompts")},
            "corpus": corpus, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "minutes": {k: round(v / 60, 2) for k, v in timings.items()}}


def markdown(result: dict[str, Any]) -> str:
    med, seeds = result["medians"], list(result["per_seed"])
    arms = list(med)
    lines = ["| metric (test problems, median of seeds " + ", ".join(map(str, seeds)) + ") | "
             + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for m in METRICS:
        lines.append(f"| {LABELS[m]} | " + " | ".join(f"{med[a][m]:.3f}" for a in arms) + " |")
    per_seed = "; ".join(f"seed {s}: " + " vs ".join(f"{result['per_seed'][s][a]['metrics']['pass@1']:.3f}"
                                                      for a in ARMS) for s in seeds)
    c, t, s = result["corpus"], result["teacher_run"], result["settings"]
    return "\n".join(lines) + (
        f"\n\npass@1 filtered vs unfiltered per seed: {per_seed} (margin of medians "
        f"{result['pass@1_margin_of_medians']:+.3f}).\n"
        f"Teacher run: {t['prompts']} training prompts x {s['teacher_n']} samples = {t['generated']}, "
        f"{t['accepted']} accepted (pass@1 {t['pass@1']}); each student trains on {c['kept']} examples "
        f"({c['row_form']} rows; the verifiers rejected {c['verifier_rejected_share_of_teacher_samples']:.1%} of "
        f"all teacher samples and {c['verifier_rejected_share_of_unfiltered_corpus']:.1%} of the unfiltered rows "
        f"of seed {s['seeds'][-1]}), {s['steps']} steps of {s['batch_size']}, init `{s['init']}`"
        + (f" (noise {s['noise']})" if s["init"] == "perturbed" else "")
        + f". Wall time {result['minutes']['total']} min.\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True, help="working folder (rerunning resumes what is done)")
    p.add_argument("--teacher", type=Path, default=REPO / "data/models/tiny-r1", help="teacher model folder")
    p.add_argument("--train", type=Path, default=REPO / "data/prompts/arith-train.jsonl", help="training problems")
    p.add_argument("--test", type=Path, default=REPO / "data/prompts/arith-test.jsonl", help="held-out problems")
    p.add_argument("--per-kind", type=int, default=200, help="training problems per kind (six kinds)")
    p.add_argument("--teacher-n", type=int, default=4, help="teacher samples per training problem")
    p.add_argument("--no-decontaminate", dest="decontaminate", action="store_false",
                   help="do not pass prompts.decontaminate (for a factory without it)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one student pair per seed")
    p.add_argument("--init", choices=("perturbed", "scratch"), default="perturbed", help="students' start")
    p.add_argument("--noise", type=float, default=0.3, help="perturbed init: noise / each tensor's std")
    p.add_argument("--steps", type=int, default=120, help="SFT optimizer steps per student")
    p.add_argument("--batch-size", type=int, default=16, help="SFT sequences per step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine schedule)")
    p.add_argument("--warmup-steps", type=int, default=20, help="linear warmup steps")
    p.add_argument("--max-length", type=int, default=512, help="SFT sequence cap in tokens")
    p.add_argument("--threads", type=int, default=2, help="torch threads for training")
    p.add_argument("--eval-n", type=int, default=1, help="samples per test problem")
    p.add_argument("--eval-per-kind", type=int, default=0, help="test problems per kind (0 = all 600)")
    p.add_argument("--eval-init", action="store_true", help="also evaluate the shared initialisation")
    p.add_argument("--vllm-lock", type=Path, help="run every vLLM-starting step as `flock LOCK ...`")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    run(parse_args(argv))


if __name__ == "__main__":
    main()
