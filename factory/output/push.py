"""`factory push RUN --repo ID`: upload a run folder to a Hugging Face dataset repository, without `.factory/`.

What goes up is what a reader of the dataset needs: `data/` (the shards of every split and config), `README.md`
(the dataset card: the Hub reads its metadata and `configs`), `stats.json`, `manifest.json`, `recipe.resolved.yaml`
(the recipe as run, so the dataset can be remade) and `report.html` when there is one. `.factory/` (markers, locks,
journals of HTTP answers, logs, temporary files) never does: it is the run's working state, can be large, and its
logs may hold local paths. The selection is an allow-list, and `.factory/*` is also ignored explicitly, so a file
added to the folder later is not published by accident.

The upload is one commit by `huggingface_hub.HfApi.upload_folder` (which hashes and uploads only what the repository
lacks); remote files under `data/` that this run does not have are deleted in the same commit, so the repository's
rows are exactly this run's even when it held another run before. The repository is created if missing
(`--private` makes a new one private; an existing repository's visibility is left as it is). The token is
huggingface_hub's own (`HF_TOKEN` or `hf auth login`); nothing here reads or stores it.

An incomplete run (a unit not committed yet, or a run still being written) is refused unless `--allow-incomplete`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PUBLISHED = ["data/*", "README.md", "stats.json", "manifest.json", "recipe.resolved.yaml", "report.html"]
"""Allow-list of the files uploaded (fnmatch patterns on paths relative to the run folder; `*` crosses `/`)."""
IGNORED = [".factory/*", "*.tmp"]
"""Never uploaded, even if a pattern above would match."""
REPLACED = ["data/*"]
"""Remote files deleted in the upload's commit unless this run uploads them (stale shards of another run)."""
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2  # the codes of every factory command (factory/cli.py)


class PushRefused(ValueError):
    """The folder is not a run folder, or not complete (without --allow-incomplete): nothing was uploaded."""


def add_push_parser(commands: Any) -> None:
    """The `push` subcommand's arguments (`commands`: the CLI's subparsers)."""
    push = commands.add_parser(
        "push", help="upload a finished run folder to a Hugging Face dataset repository (without .factory/)",
        description="Upload a run folder to a Hugging Face dataset repository in one commit: data/, README.md "
                    "(the dataset card), stats.json, manifest.json, recipe.resolved.yaml and report.html; never "
                    ".factory/. Remote files under data/ that this run lacks are deleted. An incomplete run is "
                    "refused unless --allow-incomplete. The token is huggingface_hub's (HF_TOKEN or `hf auth "
                    "login`).")
    push.add_argument("run_dir", metavar="RUN", help="a run folder written by generate, verify or curate")
    push.add_argument("--repo", required=True, metavar="ID", help="the dataset repository, e.g. me/my-traces "
                      "(created if missing)")
    push.add_argument("--private", action="store_true", help="create the repository private (if it is new)")
    push.add_argument("--revision", metavar="R", help="the branch to commit to (default: main)")
    push.add_argument("--allow-incomplete", action="store_true",
                      help="push a run that has not completed (some units not committed yet)")
    push.add_argument("--message", metavar="TEXT", help="the commit message (default: names the run)")


def check_run(root: Path, allow_incomplete: bool) -> dict[str, Any]:
    """The run's stats.json, after checking the folder can be published; raises PushRefused naming the file."""
    if not (root / ".factory" / "run.json").is_file():
        raise PushRefused(f"{root} is not a run folder (no .factory/run.json)")
    if not (root / "README.md").is_file():
        raise PushRefused(f"{root}/README.md is missing: the dataset card declares the splits")
    stats_path = root / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    if not stats.get("complete") and not allow_incomplete:
        done, total = stats.get("units_done", 0), stats.get("units_total", "?")
        raise PushRefused(f"{stats_path}: the run is not complete ({done}/{total} units committed); rerun its "
                          "command to finish it, or push it as it is with --allow-incomplete")
    return stats


def push_run(root: Path, repo_id: str, *, private: bool = False, revision: str | None = None,
             allow_incomplete: bool = False, message: str | None = None, api: Any = None) -> Any:
    """Upload `root` to the dataset repository `repo_id`; returns huggingface_hub's CommitInfo. `api`: an
    `HfApi` (default: a new one, with huggingface_hub's own token lookup)."""
    stats = check_run(root, allow_incomplete)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    accepted = (stats.get("funnel") or {}).get("accepted", "?")
    return api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=str(root), revision=revision,
        commit_message=message or f"r1-distill-factory run {root.name} ({accepted} accepted rows)",
        allow_patterns=PUBLISHED, ignore_patterns=IGNORED, delete_patterns=REPLACED)


def push_command(args: argparse.Namespace) -> int:
    """`factory push`: 0 pushed, 2 refused (nothing uploaded), 1 the upload failed."""
    try:
        info = push_run(Path(args.run_dir), args.repo, private=args.private, revision=args.revision,
                        allow_incomplete=args.allow_incomplete, message=args.message)
    except PushRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - network, auth, permissions: say what failed, exit 1
        print(f"error: upload to {args.repo} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"pushed {args.run_dir} to {getattr(info, 'commit_url', None) or args.repo}")
    return EXIT_OK
