"""Where shipped things are, and how a path or model name in a recipe is resolved. One place for all of it.

Shipped recipes (`recipes/`) and data (`data/`: the tiny teacher, sample prompts) sit at the checkout's root; an
installed wheel carries them inside the package (`factory/recipes`, `factory/data`), so `factory` finds them from
any working directory either way.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """The shipped folder `name` ("recipes" or "data"): inside the installed package, else at the checkout root."""
    inside = Path(__file__).resolve().parent / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


def resolve_data_path(path: str | Path) -> Path:
    """An absolute path for a file named in a recipe or on the command line.

    Tried in order: as given (absolute, or relative to the working folder), then as shipped data (`data/...` in the
    package or the checkout). A path that exists nowhere comes back absolute against the working folder, so the
    caller's "not found" message names a real place.
    """
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    if candidate.exists():
        return candidate.resolve()
    parts = candidate.parts
    if parts and parts[0] == "data":
        packaged = shipped("data").joinpath(*parts[1:])
        if packaged.exists():
            return packaged
    at_root = PROJECT_ROOT / candidate
    return at_root.resolve() if at_root.exists() else (Path.cwd() / candidate).resolve()


def looks_like_hub_id(name: str) -> bool:
    """`org/name` with no path-like prefix: a Hugging Face Hub id rather than a local folder."""
    return not name.startswith((".", "/", "~")) and name.count("/") == 1 and not Path(name).exists()


def resolve_model(model: str) -> str:
    """The model as vLLM should load it: a local folder as an absolute path, a Hub id (`org/name`) unchanged.
    Raises FileNotFoundError for a local-looking name whose folder does not exist."""
    if looks_like_hub_id(model):
        local = resolve_data_path(model)
        return str(local) if local.is_dir() else model
    local = resolve_data_path(model)
    if not local.is_dir():
        raise FileNotFoundError(f"model folder not found: {model} (looked at {local}; a local folder, or a Hub "
                                "id 'org/name')")
    return str(local)
