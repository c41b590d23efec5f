"""The import direction of DESIGN.md, checked on the source.

Every module's imports are read with `ast` (function-level ones too): the sample contract imports nothing of ours,
`verifiers/` never imports `factory/`, no two modules import each other in a circle, and each heavy dependency
sits behind one module.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("factory", "verifiers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str] | None = None) -> set[str]:
    """Every module `path` imports, at any depth in the file. `from a import b` counts as `a.b` when that is one
    of our modules (a submodule), else as `a`. Relative imports are resolved against the file's package."""
    names = set()
    inside = ROOT in path.resolve().parents
    own = module_name(path) if inside else path.stem
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.add(full if known and full in known else base)
    return names


def ours(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    known = set(modules)
    return {name: {n for n in ours(imports_of(path, known)) if n in known and n != name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_sample_contract_imports_nothing_of_ours():
    assert not ours(imports_of(ROOT / "verifiers" / "types.py"))


def test_verifiers_never_import_the_factory():
    for path in (ROOT / "verifiers").rglob("*.py"):
        bad = {n for n in imports_of(path) if n.split(".")[0] == "factory"}
        assert not bad, (str(path.relative_to(ROOT)), bad)


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_function_level_imports_are_seen(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from factory.output.rows import build_row\n    import verifiers.base\n")
    assert {"factory.output.rows", "verifiers.base"} <= imports_of(module)


# factory/'s folders in the order of the flow (DESIGN.md): a folder imports only folders before it. The root modules
# paths, stats and progress are leaves; run composes the folders; cli only maps flags onto run.
FLOW = ["factory", "factory.paths", "factory.stats", "factory.progress", "factory.logs", "factory.recipe",
        "factory.prompts", "factory.engines", "factory.output", "factory.verification", "factory.runtimes", "factory.run", "factory.mix",
        "factory.cli"]
TOOLS = ("factory.bench", "factory.tiny_teacher", "factory.tiny_judge", "factory.setup_venv")


def folder_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "factory" or module.startswith(TOOLS):
        return None
    return ".".join(parts[:2])


def folder_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imports in import_graph().items():
        source = folder_of(module)
        if source is None:
            continue
        graph.setdefault(source, set())
        graph[source] |= {f for f in map(folder_of, imports) if f is not None and f != source}
    return graph


def test_factory_folders_follow_the_flow():
    """Every folder (and root module) is placed in the flow, and no folder imports one that comes after it: no
    upward arrow, so no circle at folder level either."""
    graph = folder_graph()
    unplaced = sorted(set(graph) - set(FLOW))
    assert not unplaced, f"place these in FLOW (tests/factory/test_layout.py): {unplaced}"
    upward = sorted((a, b) for a, targets in graph.items() for b in targets if FLOW.index(b) > FLOW.index(a))
    assert not upward, f"imports against the flow: {upward}"


def test_the_recipe_imports_no_feature_module():
    """Settings are declared in factory/recipe; the features read them, never the other way round."""
    graph = folder_graph()
    assert graph["factory.recipe"] <= {"factory", "factory.paths"}, graph["factory.recipe"]


def test_heavy_dependencies_sit_behind_one_module():
    owners = {"vllm": {"factory/engines/vllm_engine.py"}, "ray": {"factory/runtimes/ray_runtime.py"},
              "httpx": {"factory/engines/openai_engine.py"}, "sympy": None, "langdetect": {"verifiers/language/scoring.py"},
              "polars": None, "datasketch": None}
    for path in list((ROOT / "factory").rglob("*.py")) + list((ROOT / "verifiers").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel.startswith(("factory/bench/", "factory/tiny_teacher/", "factory/tiny_judge/")):
            continue  # tools, not part of the pipeline
        for dep, allowed in owners.items():
            if allowed is None:
                continue
            if any(n == dep or n.startswith(dep + ".") for n in imports_of(path)):
                assert rel in allowed, f"{rel} imports {dep}"


def test_import_factory_stays_light():
    code = ("import sys, factory, factory.output.rows, factory.recipe, verifiers, verifiers.types, verifiers.registry; "
            "print(sorted(m for m in ('vllm', 'ray', 'sympy', 'torch', 'langdetect', 'polars', 'httpx', 'datasets',"
            " 'datasketch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
