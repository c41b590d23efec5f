"""The `factory` command line: generate, verify, curate, stats, push, recipes. It parses arguments, makes the one
`run()` call, and maps the outcome to an exit code; nothing else happens here.

Exit codes (the same table is in `--help` and the README):
  0  the run completed (every unit committed)
  1  the run stopped before completing: a fault, SIGTERM or SIGINT (Ctrl-C); what was committed is kept, rerun the
     same command to resume. With --log-json the last line is an `error` event.
  2  bad usage or input (recipe, prompt file, output folder that is not a run folder or belongs to another run):
     nothing started, and no folder was left behind
  3  another factory process holds the run folder's lock
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from factory.recipe import RecipeError, list_recipes, load_recipe, recipe_path
from factory.logs import library_logs
from factory.output.push import add_push_parser, push_command
from factory.output.run_folder import RunFolderError, RunFolderLocked
from factory.prompts.sources import FILE_TYPES, SourceError

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  complete: every unit committed
  1  stopped before completing (a fault, SIGTERM, SIGINT): committed units are kept; rerun the same command
  2  bad usage or input: nothing started, no folder left behind
  3  another factory process holds this run folder"""


class StopRequested(Exception):
    """SIGTERM or SIGINT arrived: stop, keep what is committed, exit 1."""


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", required=True, metavar="NAME|PATH",
                        help="a shipped recipe name (see `factory recipes`) or a path to a recipe YAML file")
    parser.add_argument("--out", metavar="DIR",
                        help="run folder (default: runs/<recipe>-<fingerprint>); rerunning into it resumes. A "
                             "non-empty folder that is not a run folder is refused")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any recipe key, e.g. --set generation.temperature=0.7 (repeatable; values "
                             "are YAML: --set 'prompts.columns={id: uuid, problem: problem, gold: answer}')")
    parser.add_argument("--limit", type=int, metavar="K", help="use only the first K prompts of the source")
    parser.add_argument("--verbose", action="store_true",
                        help="show other libraries' log lines (Ray, vLLM, torch, warnings) on the terminal; by "
                             "default they go to RUN/.factory/logs/libraries.log")
    parser.add_argument("--log-json", action="store_true",
                        help="print JSON lines (start, engines_ready, skipped, dropped, unit, summary, error) "
                             "instead of a progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factory", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Rejection-sampling dataset factory: a teacher writes reasoning traces, verifiers keep the "
                    "good ones, the result is a sharded Parquet corpus that TRL trains on as is.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser(
        "generate", help="generate traces with the recipe's teacher, verify them, write a run folder",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Generate n traces per prompt with the recipe's teacher (vLLM engines in Ray actors, or an "
                    "OpenAI-compatible HTTP server), verify them, and write accepted/rejected Parquet shards. "
                    "Resumable: rerun the same command after any crash.")
    _add_run_flags(gen)
    gen.add_argument("--model", metavar="M", help="teacher: a Hub model id or a local folder (generation.model)")
    gen.add_argument("--prompts", metavar="FILE|HUB_ID",
                     help="prompt source: a local .jsonl/.parquet file, or a Hub dataset id (prompts.path/hub_id)")
    gen.add_argument("--n", type=int, metavar="N", help="samples per prompt (generation.n)")
    gen.add_argument("--base-url", metavar="URL",
                     help="an OpenAI-compatible server to use as the teacher, e.g. http://127.0.0.1:8000/v1 "
                          "(sets generation.engine=openai and generation.base_url)")
    gen.add_argument("--ray-address", metavar="ADDR",
                     help="Ray cluster to join (default: $RAY_ADDRESS, else start a local instance)")

    ver = commands.add_parser(
        "verify", help="verify traces made elsewhere and write a run folder",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify traces made elsewhere (an API teacher, an old run). Input rows carry the recipe's "
                    "problem and gold columns, `completion`, an optional `id` (rows sharing it are samples of "
                    "one prompt) and an optional `model`.")
    _add_run_flags(ver)
    ver.add_argument("--input", required=True, metavar="FILE|RUN_DIR",
                     help="JSONL or Parquet file of traces (or a run folder)")

    cur = commands.add_parser(
        "curate", help="apply the recipe's filters to a finished run folder or any corpus of traces",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Apply the recipe's filters (benchmark decontamination and prompt dedup from `prompts`, "
                    "completion dedup and the pass-rate band from `selection`, pairs from `output`) and its "
                    "verifiers to an existing run folder or a JSONL/Parquet corpus of traces (e.g. a Hub dataset "
                    "downloaded elsewhere: the recipe's problem and gold columns, `completion`, optional `id` and "
                    "`model`). The output is a new run folder like any other.")
    _add_run_flags(cur)
    cur.add_argument("--input", required=True, metavar="FILE|RUN_DIR",
                     help="a run folder, or a JSONL or Parquet file of traces")

    stats = commands.add_parser("stats", help="show the funnel of a finished or running run folder")
    stats.add_argument("run_dir", metavar="DIR", help="a run folder written by generate or verify")
    stats.add_argument("--json", action="store_true", help="print the stats as JSON")
    stats.add_argument("--rows", action="store_true",
                       help="also recount the funnel from the shards themselves (polars scan: rows per split, "
                            "rejection reasons as the rows spell them, accepted rows per source)")

    add_push_parser(commands)

    recipes = commands.add_parser("recipes", help="list recipes, or show one resolved")
    recipes.add_argument("action", nargs="?", choices=["list", "show"], default="list", help="list (default) or show")
    recipes.add_argument("name", nargs="?", metavar="NAME|PATH", help="the recipe to show")
    return parser


def _looks_like_file(name: str) -> bool:
    path = Path(name).expanduser()
    return path.suffix in FILE_TYPES or path.exists() or name.startswith((".", "/", "~"))


def _overrides(args: argparse.Namespace) -> list[str]:
    overrides = list(args.overrides)
    if getattr(args, "model", None):
        overrides.append(f"generation.model={json.dumps(args.model)}")
    if getattr(args, "n", None) is not None:
        overrides.append(f"generation.n={args.n}")
    if getattr(args, "base_url", None):
        overrides += ["generation.engine=openai", f"generation.base_url={json.dumps(args.base_url)}"]
    if args.limit is not None:
        overrides.append(f"limit={args.limit}")
    source = getattr(args, "prompts", None) or getattr(args, "input", None)
    if source:
        as_file = args.command in ("verify", "curate") or _looks_like_file(source)
        overrides += ([f"prompts.path={json.dumps(source)}", "prompts.hub_id=null"] if as_file
                      else [f"prompts.hub_id={json.dumps(source)}", "prompts.path=null"])
    return overrides


def _run(args: argparse.Namespace) -> int:
    from factory.run import run
    from factory.prompts.sources import PromptStream
    from factory.stats import format_summary

    recipe = load_recipe(args.recipe, _overrides(args))
    traces = args.command in ("verify", "curate")
    source = PromptStream(recipe.prompts, recipe.template, limit=recipe.limit, traces=traces)
    if traces:
        from factory.runtimes.replay import ReplayRuntime

        runtime: Any = ReplayRuntime(source.first_model() or "external")
    else:
        from factory.runtimes.ray_runtime import RayRuntime

        runtime = RayRuntime(args.ray_address)
    result = run(recipe, source, runtime, args.out, log_json=args.log_json)
    if args.log_json:
        print(json.dumps({"event": "summary", "time": round(time.time(), 3), "run_dir": str(result.out),
                          **result.summary}, default=str), flush=True)
    else:
        print(format_summary(result.summary))
        print(f"run folder: {result.out}")
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


def _stats(args: argparse.Namespace) -> int:
    from factory.output.run_folder import RunFolder, is_run_folder
    from factory.stats import format_summary, summarize, totals_of

    root = Path(args.run_dir)
    if not is_run_folder(root):
        print(f"error: {args.run_dir} is not a run folder (no .factory/run.json)", file=sys.stderr)
        return EXIT_USAGE
    markers = RunFolder(root).completed_units()
    stats_path = root / "stats.json"
    known = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    summary = summarize(totals_of(m["stats"] for m in markers.values()), units_done=len(markers),
                        units_total=known.get("units_total", len(markers)),
                        skipped_prompts=known.get("skipped_prompts", 0),
                        dropped_prompts=known.get("dropped_prompts", {}),
                        wall_seconds=known.get("wall_seconds"))
    if args.rows:
        from factory.output.shard_scan import recount

        summary["rows"] = recount(root)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
        if args.rows:
            rows = summary["rows"]
            print("rows       " + ", ".join(f"{split} {count}" for split, count in rows["rows"].items()))
            for reason, count in rows["rejection_reasons"].items():
                print(f"  - {reason:<34} {count}")
    return EXIT_OK


def _recipes(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.name:
            print("error: `factory recipes show` needs a recipe name", file=sys.stderr)
            return EXIT_USAGE
        recipe = load_recipe(args.name)
        print(f"# {recipe_path(args.name)}  (recipe fingerprint {recipe.fingerprint()})")
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


def _on_signal(signum: int, frame: Any) -> None:
    raise StopRequested(f"stopped by {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from factory.run import RunInputError
    from factory.runtimes.base import PreflightError

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, _on_signal)
    try:
        if args.command in ("generate", "verify", "curate"):
            with library_logs(verbose=args.verbose):
                return _run(args)
        if args.command == "stats":
            return _stats(args)
        if args.command == "push":
            return push_command(args)
        return _recipes(args)
    except RunFolderLocked as exc:
        _report_error(args, exc)
        return EXIT_LOCKED
    except (RecipeError, SourceError, RunFolderError, RunInputError, PreflightError) as exc:
        _report_error(args, exc)
        return EXIT_USAGE
    except (StopRequested, KeyboardInterrupt) as exc:
        _report_error(args, f"{exc or 'interrupted'}; committed units are kept, rerun the same command to resume")
        return EXIT_INCOMPLETE
    except Exception as exc:  # noqa: BLE001 - a batch job needs a clear last line and a non-zero exit
        _report_error(args, f"{type(exc).__name__}: {exc}; committed units are kept, rerun to resume")
        if os.environ.get("FACTORY_DEBUG"):
            raise
        return EXIT_INCOMPLETE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report_error(args: argparse.Namespace, error: object) -> None:
    if getattr(args, "log_json", False):
        print(json.dumps({"event": "error", "time": round(time.time(), 3), "message": str(error)}), flush=True)
    else:
        print(f"error: {error}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
