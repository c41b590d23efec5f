"""The `factory` command line: generate, verify, curate, stats, report, push, mix, export, recipes. It parses
arguments, makes the one call each command is, and maps the outcome to an exit code; nothing else happens here.

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
import re
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


class StopRequested(BaseException):
    """SIGTERM or SIGINT arrived: stop, keep what is committed, exit 1. A BaseException, like KeyboardInterrupt, so
    that no `except Exception` on the way (a verifier's, a library's) can take the stop for a fault of its own and
    record it as a verdict."""


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
        "verify", help="verify traces made elsewhere, as given, and write a run folder",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the recipe's verifiers, selection and pairs on traces made elsewhere (an API teacher, an "
                    "old run, a downloaded factory dataset), as given: no prompt filter runs (no benchmark is "
                    "downloaded, no prompt is dropped for being like another). Input rows carry the recipe's "
                    "problem and gold columns and `completion` (a string, or the factory's chat form); the prompt "
                    "id is the recipe's id column (`prompts.columns.id`), else `id`, else `prompt_id`; adjacent "
                    "rows sharing it, or without ids sharing problem and gold, are samples of one prompt. Optional "
                    "`model`, `finish_reason` (`length` marks a truncated trace) and `prompt_tokens` / "
                    "`completion_tokens` are kept. A run folder is read through its committed units only.")
    _add_run_flags(ver)
    ver.add_argument("--input", metavar="FILE|RUN_DIR|HUB_ID",
                     help="JSONL or Parquet file of traces (factory shards too), a run folder, or a Hub dataset id "
                          "(default: the recipe's `prompts` source)")

    cur = commands.add_parser(
        "curate", help="verify like `verify`, after the recipe's prompt filters (decontamination, prompt dedup)",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="`factory verify` plus the recipe's prompt filters: benchmark decontamination and prompt "
                    "dedup from `prompts` run first (the benchmarks may need the network), then the verifiers, "
                    "completion dedup, the pass-rate band and pairs, on a run folder or a JSONL/Parquet corpus of "
                    "traces (input as for `verify`). The output is a new run folder like any other.")
    _add_run_flags(cur)
    cur.add_argument("--input", metavar="FILE|RUN_DIR|HUB_ID",
                     help="a run folder, a JSONL or Parquet file of traces, or a Hub dataset id (default: the "
                          "recipe's `prompts` source)")

    stats = commands.add_parser("stats", help="show the funnel of a finished or running run folder")
    stats.add_argument("run_dir", metavar="DIR", help="a run folder written by generate or verify")
    stats.add_argument("--json", action="store_true", help="print the stats as JSON")
    stats.add_argument("--rows", action="store_true",
                       help="also recount the funnel from the shards themselves (polars scan: rows per split, "
                            "rejection reasons as the rows spell them, accepted rows per source)")

    report = commands.add_parser("report", help="write a run folder's self-contained HTML report",
                                 description="Write one HTML file (data, style and scripts inline: it opens from "
                                             "disk with no network) showing the funnel, the distributions, sampled "
                                             "traces with their verifier's evidence, pairs and throughput.")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by generate, verify or curate")
    report.add_argument("--out", metavar="FILE", help="where to write it (default RUN_DIR/report.html)")
    report.add_argument("--per-reason", type=int, default=20, metavar="K", help="samples shown per reason (20)")
    report.add_argument("--seed", type=int, default=0, help="seed of the sample (0)")
    mixp = commands.add_parser(
        "mix", help="mix run folders and corpora into one SFT corpus (a mixture file)",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Mix several sources (run folders, Parquet or JSONL corpora, Hub datasets), each with a weight "
                    "or a row count, into one SFT corpus: cross-source prompt dedup, decontamination of the union, "
                    "a seeded shuffle, sharded Parquet with a provenance column, and a card with the mixture table. "
                    "The mixture file's keys are documented in factory/mix/settings.py and the README. Resumable: "
                    "rerun the same command after any crash.")
    mixp.add_argument("mixture", metavar="MIXTURE.yaml", help="the mixture file")
    mixp.add_argument("--out", metavar="DIR", help="output folder (default: mixes/<name>-<fingerprint>); rerunning "
                                                   "into it resumes")
    mixp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a top-level mixture key, e.g. --set seed=1 (repeatable; values are YAML)")

    exp = commands.add_parser(
        "export", help="write a run (or mix) folder in the format another trainer reads",
        description="Write the rows of a run folder (split accepted) or a mix folder as JSONL in the format "
                    "LLaMA-Factory, axolotl, OpenRLHF or OpenAI-style fine-tuning reads, with the config each "
                    "needs (dataset_info.json, axolotl.yaml, openrlhf.txt) written beside it.")
    exp.add_argument("run_dir", metavar="DIR", help="a run folder or a mix folder")
    exp.add_argument("--format", required=True, choices=["messages", "sharegpt", "alpaca", "openai"],
                     help="messages: {messages: [...]} (LLaMA-Factory, axolotl chat_template, OpenRLHF, TRL); "
                          "sharegpt: {conversations: [{from, value}]}; alpaca: {instruction, input, output, system, "
                          "history}; openai: OpenAI chat fine-tuning lines (messages only)")
    exp.add_argument("--out", metavar="DIR", help="output folder (default: exports/<folder>-<format>)")
    exp.add_argument("--split", metavar="NAME", help="the split to export (default: accepted; a mix's: train)")
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
        as_file = _looks_like_file(source)
        overrides += ([f"prompts.path={json.dumps(source)}", "prompts.hub_id=null"] if as_file
                      else [f"prompts.hub_id={json.dumps(source)}", "prompts.path=null"])
    return overrides


def _run(args: argparse.Namespace) -> int:
    from factory.run import run
    from factory.stats import format_summary

    recipe = load_recipe(args.recipe, _overrides(args))
    result = run(recipe, mode=args.command, out=args.out, log_json=args.log_json,
                 ray_address=getattr(args, "ray_address", None))
    if args.log_json:
        print(json.dumps({"event": "summary", "time": round(time.time(), 3), "run_dir": str(result.out),
                          **result.summary}, default=str), flush=True)
    else:
        print(format_summary(result.summary))
        print(f"run folder: {result.out}")
        if (result.out / "report.html").is_file():
            print(f"report:     {result.out / 'report.html'}")
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
    # Complete only when the run itself said so at its end (it had read its whole input) and every unit it
    # counted is still committed: a running or stopped run, whose total is not known, is never complete.
    summary["complete"] = bool(known.get("complete")) and len(markers) == known.get("units_total")
    if known.get("engine"):  # the engine's counters (requests, retries, cost) live only in stats.json
        summary["engine"] = known["engine"]
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


def _report(args: argparse.Namespace) -> int:
    from factory.output.report import build_report
    from factory.output.run_folder import is_run_folder

    if not is_run_folder(Path(args.run_dir)):
        print(f"error: {args.run_dir} is not a run folder (no .factory/run.json)", file=sys.stderr)
        return EXIT_USAGE
    path = build_report(args.run_dir, args.out, per_reason=args.per_reason, seed=args.seed)
    print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser, e.g. xdg-open {path}")
    return EXIT_OK


def _mix(args: argparse.Namespace) -> int:
    from factory.mix import load_mixture, mix

    mixture = load_mixture(args.mixture, args.overrides)
    result = mix(mixture, args.out, log=lambda message: print(message, file=sys.stderr, flush=True))
    print(f"{result.rows:,} rows in {result.shards} shards, fingerprint {result.fingerprint}")
    for source in result.sources:
        print(f"  {source['name']:<20} taken {source['taken']:>10,} of {source['available']:,} available"
              + (f" (short by {source['short']:,})" if source["short"] else ""))
    print(f"mix folder: {result.out}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from factory.output.export import export

    result = export(args.run_dir, args.format, args.out, args.split)
    print(f"{result.rows:,} rows exported as {args.format}: {', '.join(result.files)}")
    print(f"export folder: {result.out}")
    return EXIT_OK


def _recipes(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.name:
            print("error: `factory recipes show` needs a recipe name", file=sys.stderr)
            return EXIT_USAGE
        recipe = load_recipe(args.name)
        print(f"# {recipe_path(args.name)}  (settings hash {recipe.fingerprint()}; a run's fingerprint also covers "
              "its input)")
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
    from factory.output.export import ExportError
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
        if args.command == "report":
            return _report(args)
        if args.command == "mix":
            return _mix(args)
        if args.command == "export":
            return _export(args)
        if args.command == "push":
            return push_command(args)
        return _recipes(args)
    except BrokenPipeError:
        # stdout was closed by its reader (`factory verify --log-json | head -1`): end quietly. Committed units are
        # kept; stdout goes to /dev/null so that Python's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INCOMPLETE
    except RunFolderLocked as exc:
        _report_error(args, exc)
        return EXIT_LOCKED
    except (RecipeError, SourceError, RunFolderError, RunInputError, PreflightError, ExportError) as exc:
        _report_error(args, exc)
        return EXIT_USAGE
    except (StopRequested, KeyboardInterrupt) as exc:
        _report_error(args, f"{exc or 'interrupted'}; committed units are kept, rerun the same command to resume")
        return EXIT_INCOMPLETE
    except Exception as exc:  # noqa: BLE001 - a batch job needs a clear last line and a non-zero exit
        stop = _stop_behind(exc)
        if stop is not None:  # the signal landed inside a library call that wrapped it (Ray's SystemError, ...)
            _report_error(args, f"{stop}; committed units are kept, rerun the same command to resume")
            return EXIT_INCOMPLETE
        described = plain_message(exc) if getattr(exc, "cause", None) else plain_message(f"{type(exc).__name__}: {exc}")
        _report_error(args, f"{described}; committed units are kept, rerun to resume")
        if os.environ.get("FACTORY_DEBUG"):
            raise
        return EXIT_INCOMPLETE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_behind(exc: BaseException) -> BaseException | None:
    """The SIGTERM/SIGINT stop that caused `exc`, if any: a stop raised inside a C extension comes back wrapped
    (`SystemError: ... returned a result with an exception set`, its cause the stop)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (StopRequested, KeyboardInterrupt)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain_message(error: object) -> str:
    """What the user reads of an error: a remote (Ray) error reads as its cause, with no traceback and no colour
    codes (`--verbose` shows tracebacks)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and not isinstance(error, str):
        error = f"{type(cause).__name__}: {cause}"
    text = ANSI.sub("", str(error))
    if "Traceback (most recent call last)" in text:  # keep the last line, the exception itself
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else text
    return text


def _report_error(args: argparse.Namespace, error: object) -> None:
    message = plain_message(error)
    if getattr(args, "log_json", False):
        print(json.dumps({"event": "error", "time": round(time.time(), 3), "message": message}), flush=True)
    else:
        print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
