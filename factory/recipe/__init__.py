"""Recipes: declarative YAML (recipes/<name>.yaml) loaded into typed, validated settings, plus their fingerprint.

A recipe may `extends:` another by name (a shipped recipe) or by path (relative to the recipe's own folder); keys
are deep-merged, the child winning. Command-line overrides (`--set generation.temperature=0.7`) are applied last,
parsed as YAML. Every value is checked where it is declared: each field's type and bounds sit beside it
(`bounded(...)`), and each verifier's parameters are checked by the verifier's own constructor when the recipe loads.
Every error names the recipe file and the dotted key. The fingerprint hashes exactly the settings that change which
rows a run writes (prompts, template, generation, verifiers, selection, output, limit), not the resources, so a run
can be resumed on more GPUs; a local prompt path enters it resolved, so `a.jsonl` and `/abs/a.jsonl` are one run.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from factory.paths import resolve_data_path
from factory.recipe.fields import RecipeError, bounded, build_section, checked_limit
from factory.recipe.files import apply_overrides, list_recipes, raw_recipe, recipe_path, recipes_dir

__all__ = ["Generation", "Output", "PromptSource", "Recipe", "RecipeError", "Resources", "Selection", "Template",
           "VerifierSpec", "apply_overrides", "fingerprint_diff", "http_settings", "list_recipes", "load_recipe",
           "recipe_path", "recipes_dir"]

R1_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


TRANSPORT_KEYS = ("base_url", "api_key_env", "max_concurrency")
HTTP_TRANSPORT_KEYS = ("request_timeout_s", "connect_timeout_s", "max_retries", "backoff_base_s", "backoff_max_s",
                       "max_n_per_request", "price_input_per_mtok", "price_output_per_mtok")


@dataclass
class PromptSource:
    path: str | None = None
    """Local JSONL or Parquet file (relative paths: the working folder first, then the project root)."""
    hub_id: str | None = None
    """A Hugging Face dataset id, read with `datasets.load_dataset(hub_id, config, split=split)` (needs a network)."""
    config: str | None = None
    """The Hub dataset's configuration name, if it has several."""
    split: str = "train"
    """The Hub dataset's split."""
    revision: str | None = None
    """The Hub dataset's revision (a commit or tag); recorded in the run's identity (default: what the Hub serves)."""
    columns: dict[str, str] = field(default_factory=lambda: {"id": "id", "problem": "problem", "gold": "answer"})
    """Our field -> the dataset's column: `problem` and `gold` required, `id` optional (row numbers are used when it
    is absent), `language` optional (a per-prompt language code for the language verifier)."""
    keep_columns: list[str] = field(default_factory=list)
    """Further source columns copied into each output row's `metadata` (nothing else of the source is kept)."""
    decontaminate: dict[str, Any] | None = None
    """Drop prompts that share a word n-gram with a benchmark, before any generation:
    `{against: [FILE | HUB_ID | {path|hub_id, column, config, split, name}], ngram: 8}` (see factory/prompts/curation)."""
    dedup: dict[str, Any] | None = None
    """Drop duplicate prompts before generation: `{exact: true, near: false, threshold: 0.8, num_perm: 128}`
    (exact after normalisation; near = MinHash LSH at that Jaccard threshold)."""
    max_row_bytes: int = bounded(16 * 2**20, 1024, 2**30)
    """A JSONL row (line) longer than this many bytes is skipped, read in pieces and never held whole."""
    max_row_depth: int = bounded(64, 1, 500)
    """A row whose values nest lists and objects deeper than this is skipped (the JSON parser's own limit is ~1000)."""


@dataclass
class Template:
    system_prompt: str | None = None
    """System turn; R1 recommends none (all instructions in the user turn)."""
    user_template: str = "{problem}"
    """The user turn, `str.format`-ed with `problem` (write literal braces as `{{}}`)."""


@dataclass
class Generation:
    engine: str = "vllm"
    """vllm: vLLM engines in Ray actors (`resources`); openai: an OpenAI-compatible HTTP server (`base_url`)."""
    model: str = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    """Hub id or local folder of the teacher (vllm), or the served model name (openai)."""
    base_url: str | None = None
    """openai: the endpoint root with its version, e.g. http://127.0.0.1:8000/v1 (also `--base-url`)."""
    api_key_env: str | None = None
    """openai: the NAME of the environment variable holding the API key (the key is never written anywhere)."""
    max_concurrency: int = bounded(16, 1, 4096)
    """openai: requests in flight at once per engine actor."""
    http: dict[str, Any] = field(default_factory=dict)
    """openai: further client settings (see `factory.engines.openai_engine.HTTPSettings`): request_timeout_s,
    connect_timeout_s, max_retries, backoff_base_s, backoff_max_s, max_n_per_request, max_tokens_field,
    opens_think, extra_body, price_input_per_mtok, price_output_per_mtok."""
    n: int = bounded(8, 1, 100_000)
    """Samples per prompt (one request with SamplingParams(n=...))."""
    temperature: float = bounded(0.6, 0, 2)
    """R1 recommends 0.5-0.7 (0.6) to avoid endless repetition or incoherent output."""
    top_p: float = bounded(0.95, 0, 1, lo_open=True)
    """R1's recommended nucleus sampling."""
    max_tokens: int = bounded(32768, 1, 10_000_000)
    """Per sample; R1's evaluations used 32,768. Samples that hit it are rejected as `truncated`."""
    adaptive: dict[str, int] | None = None
    """Sample in rounds instead of n at once: `{target_accepted: K, round_n: R}` gives every prompt R samples per
    round until K of them passed every verifier or it has `n` (the cap) in all (see factory/runtimes/adaptive.py)."""


@dataclass
class VerifierSpec:
    name: str
    """A name from the verifier registry (`factory recipes` lists them)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the verifier's constructor."""


@dataclass
class Selection:
    max_accepted_per_prompt: int = bounded(4, 1, 100_000)
    """Keep at most this many accepted samples per prompt (the rest go to `rejected` as `not_selected`)."""
    strategy: str = "first"
    """Which accepted samples to keep: first (by sample index), shortest (fewest completion tokens), random (seeded)."""
    dedup_completions: bool = True
    """Exact-duplicate passed completions of one prompt collapse to the first (`selection:duplicate_completion`)."""
    pass_rate: dict[str, float] | None = None
    """The difficulty band `{min: .., max: ..}` (inclusive) on a prompt's verified pass rate over its samples:
    prompts outside it keep nothing (`selection:outside_pass_rate_band`). "Neither never nor always solved" at
    n <= 100: `{min: 0.01, max: 0.99}`."""
    max_completion_chars: int = bounded(1_000_000, 1, 100_000_000)
    """A completion longer than this (in characters) is rejected as `factory:completion_too_large` before any
    verifier scans it: the bound on every verifier's input. 1,000,000 is about 250k tokens, 8x R1's 32k budget."""


@dataclass
class Output:
    prompts_per_shard: int = bounded(64, 1, 1_000_000)
    """Prompts per work unit; one Parquet shard per split per unit. The unit of scheduling and of resume."""
    keep_rejected: bool = True
    """Write rejected samples to data/rejected (raw material for audits and preference pairs)."""
    pairs: dict[str, Any] | None = None
    """Preference pairs for DPO in data/pairs (`load_dataset(run, "pairs")`): `true`, or options `{per_prompt: 1,
    rejected_reasons: [wrong_answer, wrong_output, runtime_error]}` (which reasons make a sample the rejected
    side; `not_selected` samples are right answers and never are)."""

    def pair_settings(self) -> Any:
        """`factory.verification.selection.PairSettings` for the recipe's `pairs`, or None when pairs are off."""
        if self.pairs is None:
            return None
        from factory.verification.selection import PairSettings

        return PairSettings(**self.pairs)


@dataclass
class Resources:
    engine_actors: int = bounded(1, 1, 10_000)
    """Ray actors that each own one vLLM engine."""
    gpus_per_actor: float = bounded(1, 0, 64)
    """GPUs reserved per engine actor (0 on CPU machines; set to tensor_parallel_size for TP > 1)."""
    cpus_per_actor: float = bounded(1, 0, 1024)
    """CPUs reserved per engine actor in Ray's accounting."""
    tensor_parallel_size: int = bounded(1, 1, 64)
    """vLLM tensor parallelism inside one engine."""
    verify_cpus: int = bounded(1, 1, 10_000)
    """Concurrent verification tasks (each a Ray actor with one CPU)."""
    wait_timeout_s: float = bounded(1800, 0, 7 * 24 * 3600, lo_open=True)
    """How long to wait for the engine actors to get their resources on a cluster before giving up (a local
    instance that can never provide them fails at once)."""
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra `vllm.LLM(...)` arguments (dtype, max_model_len, enforce_eager, gpu_memory_utilization, ...)."""
    engine_resources: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources each engine actor reserves, e.g. `{engine: 1}`: only nodes started with them
    (`ray start --resources='{"engine": 1}'`) get engines, so a head started without them keeps the driver and the
    verifiers. Amounts must be positive (checked before the run starts). A local instance is given them."""
    units_per_engine: int = bounded(2, 1, 64)
    """Units queued on one engine at once (run together in its batch); a unit goes to whichever engine has a free
    slot, so a slow engine holds at most this many."""


@dataclass
class Recipe:
    name: str
    description: str = ""
    prompts: PromptSource = field(default_factory=PromptSource)
    template: Template = field(default_factory=Template)
    generation: Generation = field(default_factory=Generation)
    verifiers: list[VerifierSpec] = field(default_factory=list)
    selection: Selection = field(default_factory=Selection)
    output: Output = field(default_factory=Output)
    resources: Resources = field(default_factory=Resources)
    limit: int | None = bounded(None, 1, None)
    """Use only the first `limit` prompts of the source."""
    source_file: str = ""
    """The YAML file this recipe came from (not part of the fingerprint)."""

    def fingerprinted(self) -> dict[str, Any]:
        """The settings that decide which rows a run writes, as plain data (a local prompt path resolved). How a
        teacher is reached (its address, key, concurrency, timeouts, retries, prices) is not among them."""
        data = dataclasses.asdict(self)
        if data["prompts"]["path"]:
            data["prompts"]["path"] = str(resolve_data_path(data["prompts"]["path"]))
        for key in TRANSPORT_KEYS:
            data["generation"].pop(key, None)
        data["generation"]["http"] = {k: v for k, v in data["generation"]["http"].items()
                                      if k not in HTTP_TRANSPORT_KEYS}
        for (section, key), default in _LATER_KEYS.items():
            if data[section].get(key) == default:
                del data[section][key]
        return {k: data[k] for k in ("prompts", "template", "generation", "verifiers", "selection", "output", "limit")}

    def fingerprint(self) -> str:
        blob = json.dumps(self.fingerprinted(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("source_file")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_SECTIONS = {"prompts": PromptSource, "template": Template, "generation": Generation, "selection": Selection,
             "output": Output, "resources": Resources}
_TOP_KEYS = {"name", "description", "extends", "verifiers", "limit", *_SECTIONS}


# Keys added after run folders existed: left out of the fingerprint while at their default, so those folders resume.
_LATER_KEYS = {("selection", "max_completion_chars"): 1_000_000, ("prompts", "max_row_bytes"): 16 * 2**20,
               ("prompts", "max_row_depth"): 64}


def _build_verifiers(data: Any, origin: str) -> list[VerifierSpec]:
    from verifiers.registry import UnknownVerifierError, verifier_class

    if not isinstance(data, list):
        raise RecipeError(f"{origin}: key 'verifiers' must be a list of {{name, params}}")
    specs = []
    for i, item in enumerate(data):
        where = f"{origin}: key 'verifiers[{i}]'"
        item = {"name": item} if isinstance(item, str) else item
        spec = build_section(VerifierSpec, item, where)
        try:
            cls = verifier_class(spec.name)
        except UnknownVerifierError as exc:
            raise RecipeError(f"{where}.name: {exc}") from exc
        try:
            cls.check_params(**spec.params)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{where}.params: {exc} (see `{cls.__module__}.{cls.__name__}`)") from exc
        specs.append(spec)
    return specs


def _validate(recipe: Recipe, origin: str) -> None:
    columns = recipe.prompts.columns
    checks = [
        (recipe.generation.engine in ("vllm", "openai"), "generation.engine must be vllm or openai"),
        (recipe.generation.engine != "openai" or bool(recipe.generation.base_url),
         "generation.base_url is required with generation.engine: openai (or give --base-url)"),
        (recipe.selection.strategy in ("first", "shortest", "random"),
         "selection.strategy must be one of first, shortest, random"),
        (bool(recipe.prompts.path) != bool(recipe.prompts.hub_id), "prompts: set exactly one of 'path' and 'hub_id'"),
        ("problem" in columns and "gold" in columns, "prompts.columns must map 'problem' and 'gold'"),
        (not set(columns) - {"id", "problem", "gold", "language"},
         f"prompts.columns: unknown field(s) {sorted(set(columns) - {'id', 'problem', 'gold', 'language'})} "
         "(map id, problem, gold, language; copy other columns with prompts.keep_columns)"),
        (len({v.name for v in recipe.verifiers}) == len(recipe.verifiers), "verifiers: a verifier is listed twice"),
    ]
    for ok, message in checks:
        if not ok:
            raise RecipeError(f"{origin}: {message}")
    _validate_selection(recipe, origin)
    adaptive = recipe.generation.adaptive
    if adaptive is not None:
        ok = set(adaptive) == {"target_accepted", "round_n"} and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in adaptive.values())
        if not ok or adaptive["round_n"] > recipe.generation.n:
            raise RecipeError(f"{origin}: key 'generation.adaptive': must be {{target_accepted: K, round_n: R}} with "
                              f"integers K >= 1 and 1 <= R <= generation.n ({recipe.generation.n}), got {adaptive!r}")
    if recipe.generation.engine == "openai":
        try:
            http_settings(recipe.generation)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{origin}: key 'generation': {exc}") from exc
    if recipe.prompts.decontaminate is not None or recipe.prompts.dedup is not None:
        from factory.prompts.curation.settings import parse_decontaminate, parse_dedup

        for key, parse in (("decontaminate", parse_decontaminate), ("dedup", parse_dedup)):
            try:
                parse(getattr(recipe.prompts, key), f"prompts.{key}")
            except (TypeError, ValueError) as exc:
                raise RecipeError(f"{origin}: key 'prompts.{key}': {exc}") from exc
    try:
        recipe.template.user_template.format(problem="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise RecipeError(f"{origin}: template.user_template: must use only {{problem}} ({exc!r}); "
                          "write literal braces as {{}}") from exc


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Load, merge `extends`, apply overrides, and validate a recipe. Raises RecipeError naming file and key."""
    path = recipe_path(name_or_path)
    origin = str(path)
    data = apply_overrides(raw_recipe(path), overrides or [], origin)
    for key in data:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(key, sorted(_TOP_KEYS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise RecipeError(f"{origin}: unknown key '{key}'{hint}")
    output = data.get("output")
    if isinstance(output, dict) and isinstance(output.get("pairs"), bool):
        data["output"] = {**output, "pairs": {} if output["pairs"] else None}
    sections = {k: build_section(cls, data.get(k, {}) or {}, f"{origin}: key '{k}'") for k, cls in _SECTIONS.items()}
    recipe = Recipe(
        name=str(data.get("name") or path.stem),
        description=str(data.get("description") or ""),
        verifiers=_build_verifiers(data.get("verifiers", []), origin),
        limit=checked_limit(data.get("limit"), origin),
        source_file=origin,
        **sections,
    )
    _validate(recipe, origin)
    return recipe


def http_settings(generation: Generation) -> Any:
    """`factory.engines.openai_engine.HTTPSettings` of an openai-engine recipe, validated."""
    from factory.engines.http_settings import HTTPSettings

    known = set(HTTPSettings.field_names()) - {"base_url", "api_key_env", "max_concurrency"}
    unknown = sorted(set(generation.http) - known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"http: unknown key '{unknown[0]}'{hint}")
    return HTTPSettings(base_url=generation.base_url or "", api_key_env=generation.api_key_env,
                        max_concurrency=generation.max_concurrency, **generation.http).validate()


def _validate_selection(recipe: Recipe, origin: str) -> None:
    band = recipe.selection.pass_rate
    if band is not None:
        unknown = set(band) - {"min", "max"}
        lo, hi = band.get("min", 0.0), band.get("max", 1.0)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi))
        if unknown or not numbers or not 0 <= lo <= hi <= 1:
            raise RecipeError(f"{origin}: key 'selection.pass_rate': must be {{min: .., max: ..}} with "
                              f"0 <= min <= max <= 1, got {band!r}")
    pairs = recipe.output.pairs
    if pairs is not None:
        known = {"per_prompt", "rejected_reasons"}
        if set(pairs) - known:
            close = difflib.get_close_matches(sorted(set(pairs) - known)[0], sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise RecipeError(f"{origin}: key 'output.pairs': unknown key '{sorted(set(pairs) - known)[0]}'{hint}")
        per_prompt = pairs.get("per_prompt", 1)
        if not isinstance(per_prompt, int) or isinstance(per_prompt, bool) or not 1 <= per_prompt <= 1000:
            raise RecipeError(f"{origin}: key 'output.pairs.per_prompt': must be an integer in [1, 1000]")
        reasons = pairs.get("rejected_reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons) or \
                any(r.split(":")[-1] in ("not_selected", "duplicate_completion", "outside_pass_rate_band")
                    for r in reasons):
            raise RecipeError(f"{origin}: key 'output.pairs.rejected_reasons': must be a list of verifier reasons "
                              "(selection reasons mark right answers and cannot make a sample 'rejected')")


def fingerprint_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two `Recipe.fingerprinted()` dicts ("generation.n: 4 -> 8")."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            lines += fingerprint_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix}{key}: {json.dumps(a, default=str)} (in the folder) -> {json.dumps(b, default=str)} (now)")
    return lines
