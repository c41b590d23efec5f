"""Every recipe section, declared once: each field with its type, default, bounds and meaning beside it.

The pipeline's modules read these objects; none of them parses YAML. Nested sections (`prompts.decontaminate`,
`generation.http`, `selection.pass_rate`, `output.pairs`, ...) are declared the same way and built by the same
validator (`factory.recipe.fields.build_section`). Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.paths import resolve_data_path
from factory.recipe.fields import GIVEN, REQUIRED, RecipeError, bounded, child, choice

BENCHMARK_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
SELECTION_REASONS = ("not_selected", "duplicate_completion", "outside_pass_rate_band")
"""Reasons selection gives to samples that passed every verifier (right answers, never a pair's rejected side)."""
DEFAULT_PAIR_REASONS = ("wrong_answer", "wrong_output", "runtime_error")


def section_default(cls: type) -> Any:
    """A default-valued nested section, recorded as given empty (so it adds nothing to a fingerprint)."""
    def make() -> Any:
        instance = cls()
        object.__setattr__(instance, GIVEN, {})
        return instance
    return field(default_factory=make)


def looks_like_file(text: str) -> bool:
    """A plain benchmark string names a file if it has a benchmark file suffix or exists on disk."""
    return text.lower().endswith(BENCHMARK_SUFFIXES) or Path(text).is_file()


@dataclass
class BenchmarkRef:
    """One entry of `prompts.decontaminate.against`: a local file or a Hub dataset. Exactly one of `path`, `hub_id`.
    A plain string is a path if it ends in .jsonl/.json/.parquet/.csv or names an existing file, else a Hub id or a
    known short name (`MATH-500`, `AIME-2024`, ...)."""

    path: str | None = None
    """A local .jsonl, .json (a list of records), .parquet or .csv file; relative paths are resolved against the
    working folder, then the project root."""
    hub_id: str | None = None
    """A Hugging Face dataset id, read with `datasets.load_dataset` (needs a network or the local Hub cache). The ids
    in `factory.prompts.curation.benchmarks.KNOWN_BENCHMARKS` (and their short names) bring their column, config
    and split."""
    config: str | None = None
    """The Hub dataset's configuration (e.g. `gpqa_diamond`; LiveCodeBench's version tag); default from the
    known-benchmark table, else none."""
    split: str | None = None
    """The Hub dataset's split; default from the known-benchmark table, else `test`."""
    column: str | None = None
    """The column holding the problem text; default from the known-benchmark table, else `problem`."""
    name: str | None = None
    """The name shown in manifest.json and the funnel; default: the known benchmark's name, else the file's stem or
    the last part of the Hub id."""

    @staticmethod
    def coerce(data: Any, where: str) -> Any:
        if isinstance(data, str):
            if not data.strip():
                raise RecipeError(f"{where}: an empty benchmark name")
            return {"path": data} if looks_like_file(data) else {"hub_id": data}
        return data

    def check(self, where: str) -> None:
        if (self.path is None) == (self.hub_id is None):
            raise RecipeError(f"{where}: give exactly one of 'path' and 'hub_id'")


@dataclass
class Decontaminate:
    """Drop prompts that share a normalised word n-gram with a benchmark problem, before any generation."""

    against: list[BenchmarkRef] = field(default_factory=list)
    """The benchmarks, at least one (a single entry may be given without the list)."""
    ngram: int = bounded(8, 1, 64)
    """Word n-gram length. A text shorter than `ngram` words is compared whole (equal after normalisation). 8 is a
    common choice (13 in GPT-3's report): shorter catches more rewording but also shared boilerplate."""

    @staticmethod
    def coerce(data: Any, where: str) -> Any:
        if isinstance(data, dict) and isinstance(data.get("against"), (str, dict)):
            return {**data, "against": [data["against"]]}
        return data

    def check(self, where: str) -> None:
        if not self.against:
            raise RecipeError(f"{child(where, 'against')}: must be a non-empty list of benchmark files or Hub ids")


@dataclass
class Dedup:
    """Drop repeated prompts, before any generation; the first prompt of each group (source order) is kept."""

    exact: bool = True
    """Drop prompts whose normalised text equals an earlier prompt's."""
    near: bool = False
    """Also drop near-duplicates: MinHash LSH over word shingles (datasketch), estimated Jaccard >= `threshold`."""
    threshold: float = bounded(0.8, 0, 1, lo_open=True)
    """Jaccard similarity of the shingle sets at which two prompts are near-duplicates."""
    num_perm: int = bounded(128, 16, 1024)
    """MinHash permutations: more is a finer Jaccard estimate (standard error about sqrt(J(1-J)/num_perm), 0.03 at
    128) and a slower index."""
    shingle: int = bounded(3, 1, 16)
    """Word shingle size. With 3, one changed word in a 40-word problem leaves a Jaccard of about 0.85; with 5
    about 0.76. A text shorter than this is one shingle."""


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
    """Our field -> the dataset's column: `problem` required; `gold` (left out for gold-less prompts: general
    data); `id` optional (row numbers are used when it is absent); `language` optional (a per-prompt language code
    for the language verifier)."""
    keep_columns: list[str] = field(default_factory=list)
    """Further source columns copied into each output row's `metadata` (nothing else of the source is kept)."""
    decontaminate: Decontaminate | None = None
    """Drop prompts that share a word n-gram with a benchmark, before any generation (see `Decontaminate`)."""
    dedup: Dedup | None = None
    """Drop duplicate prompts before generation (see `Dedup`)."""
    max_row_bytes: int = bounded(16 * 2**20, 1024, 2**30, added_later=True)
    """A JSONL row (line) longer than this many bytes is skipped, read in pieces and never held whole."""
    max_row_depth: int = bounded(64, 1, 500, added_later=True)
    """A row whose values nest lists and objects deeper than this is skipped (the JSON parser's own limit is ~1000)."""

    def check(self, where: str) -> None:
        if bool(self.path) == bool(self.hub_id):
            raise RecipeError(f"{where}: set exactly one of 'path' and 'hub_id'")
        known = {"id", "problem", "gold", "language"}
        if "problem" not in self.columns:
            raise RecipeError(f"{child(where, 'columns')}: must map 'problem' (and 'gold', unless the prompts have "
                              "none)")
        if set(self.columns) - known:
            raise RecipeError(f"{child(where, 'columns')}: unknown field(s) {sorted(set(self.columns) - known)} (map id, "
                              "problem, gold, language; copy other columns with prompts.keep_columns)")


@dataclass
class Template:
    system_prompt: str | None = None
    """System turn; R1 recommends none (all instructions in the user turn)."""
    user_template: str = "{problem}"
    """The user turn, `str.format`-ed with `problem` (write literal braces as `{{}}`)."""

    def check(self, where: str) -> None:
        try:
            self.user_template.format(problem="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise RecipeError(f"{child(where, 'user_template')}: must use only {{problem}} ({exc!r}); write literal braces "
                              "as {{}}") from exc


@dataclass
class HTTPClient:
    """How the OpenAI-compatible client behaves (`generation.http`); the endpoint itself is in `generation`."""

    request_timeout_s: float = bounded(600.0, 0, None, lo_open=True)
    """Whole-request deadline in seconds; a long reasoning trace without streaming needs minutes."""
    connect_timeout_s: float = bounded(10.0, 0, None, lo_open=True)
    """TCP/TLS connect timeout in seconds."""
    max_retries: int = bounded(6, 0, 100)
    """Retries after the first attempt of one request; then the request fails its unit."""
    backoff_base_s: float = bounded(1.0, 0)
    """First retry waits 0.5-1x this, doubling each retry."""
    backoff_max_s: float = bounded(60.0, 0)
    """Cap on one backoff wait (>= backoff_base_s)."""
    retry_after_max_s: float = bounded(600.0, 0)
    """Longest `Retry-After` honoured; a server asking for more waits this long, then retries."""
    max_n_per_request: int = bounded(16, 1, 1024)
    """Largest `n` sent in one request; 1 never sends `n` (for servers that reject it)."""
    max_tokens_field: str = choice("max_tokens", ("max_tokens", "max_completion_tokens"))
    """Request field for the token budget: max_tokens, or max_completion_tokens (newer OpenAI models)."""
    opens_think: bool = False
    """True when the teacher's chat template opens the think block (R1 distills end the prompt with "<think>\\n"):
    "<think>\\n" is put before every completion that lacks it. When False it is still put back before a completion
    that closes a think block it never opened."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    """Extra request fields sent as is (e.g. vLLM's top_k or return_token_ids); part of the journal key."""
    max_response_bytes: int = bounded(64 * 2**20, 1024, 2**30)
    """Largest response body read, in bytes: a longer one is cut off there, never held whole in memory; a chat
    answer over it is journaled and its samples rejected as `teacher:response_too_large`."""
    price_input_per_mtok: float | None = bounded(None, 0)
    """USD per million prompt tokens, for estimated_cost_usd; None: no estimate."""
    price_output_per_mtok: float | None = bounded(None, 0)
    """USD per million completion tokens."""

    def check(self, where: str) -> None:
        if self.backoff_max_s < self.backoff_base_s:
            raise RecipeError(f"{child(where, 'backoff_max_s')}: must be >= backoff_base_s ({self.backoff_base_s}), got "
                              f"{self.backoff_max_s!r}")


HTTP_TRANSPORT_KEYS = ("request_timeout_s", "connect_timeout_s", "max_retries", "backoff_base_s", "backoff_max_s",
                       "max_n_per_request", "price_input_per_mtok", "price_output_per_mtok", "max_response_bytes")
"""How a teacher is reached, not what it writes: left out of the run's fingerprint. (`retry_after_max_s` is too,
in truth, but it has been part of fingerprints since it was added: leaving it out now would orphan run folders.)"""


@dataclass
class Adaptive:
    """Sample in rounds: every prompt gets `round_n` samples per round until `target_accepted` distinct samples
    passed every verifier or it has `generation.n` (the cap) in all (see factory/runtimes/adaptive.py)."""

    target_accepted: int = bounded(REQUIRED, 1, None)
    """Distinct passing samples a prompt needs before it stops."""
    round_n: int = bounded(REQUIRED, 1, None)
    """Samples per prompt per round (at most `generation.n`)."""


@dataclass
class Generation:
    engine: str = choice("vllm", ("vllm", "openai"))
    """vllm: vLLM engines in Ray actors (`resources`); openai: an OpenAI-compatible HTTP server (`base_url`)."""
    model: str = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    """Hub id or local folder of the teacher (vllm), or the served model name (openai)."""
    base_url: str | None = None
    """openai: the endpoint root with its version, e.g. http://127.0.0.1:8000/v1 (also `--base-url`)."""
    api_key_env: str | None = None
    """openai: the NAME of the environment variable holding the API key (the key is never written anywhere)."""
    max_concurrency: int = bounded(16, 1, 4096)
    """openai: requests in flight at once per engine actor."""
    http: HTTPClient = section_default(HTTPClient)
    """openai: the client's further settings (see `HTTPClient`)."""
    n: int = bounded(8, 1, 100_000)
    """Samples per prompt (one request with SamplingParams(n=...))."""
    temperature: float = bounded(0.6, 0, 2)
    """R1 recommends 0.5-0.7 (0.6) to avoid endless repetition or incoherent output."""
    top_p: float = bounded(0.95, 0, 1, lo_open=True)
    """R1's recommended nucleus sampling."""
    max_tokens: int = bounded(32768, 1, 10_000_000)
    """Per sample; R1's evaluations used 32,768. Samples that hit it are rejected as `truncated`."""
    adaptive: Adaptive | None = None
    """Sample in rounds instead of n at once (see `Adaptive`); null: n samples at once."""

    def check(self, where: str) -> None:
        if self.engine == "openai":
            if not self.base_url or not self.base_url.startswith(("http://", "https://")):
                raise RecipeError(f"{child(where, 'base_url')}: required with engine openai, an http:// or https:// URL (or "
                                  f"give --base-url), got {self.base_url!r}")
            if self.api_key_env is not None and not self.api_key_env.replace("_", "").isalnum():
                raise RecipeError(f"{child(where, 'api_key_env')}: must be the NAME of an environment variable (letters, "
                                  f"digits, _), got {self.api_key_env!r}")
        if self.adaptive is not None and self.adaptive.round_n > self.n:
            raise RecipeError(f"{child(where, 'adaptive.round_n')}: must be <= generation.n ({self.n}), got "
                              f"{self.adaptive.round_n}")


@dataclass
class VerifierSpec:
    name: str
    """A name from the verifier registry (`factory recipes` lists them)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the verifier's constructor, checked by the verifier family when the recipe loads."""

    @staticmethod
    def coerce(data: Any, where: str) -> Any:
        return {"name": data} if isinstance(data, str) else data


@dataclass
class PassRateBand:
    """The difficulty band on a prompt's verified pass rate (inclusive)."""

    min: float = bounded(0.0, 0, 1)
    max: float = bounded(1.0, 0, 1)

    def check(self, where: str) -> None:
        if self.min > self.max:
            raise RecipeError(f"{where}: min ({self.min}) must be <= max ({self.max})")


@dataclass
class Selection:
    max_accepted_per_prompt: int = bounded(4, 1, 100_000)
    """Keep at most this many accepted samples per prompt (the rest go to `rejected` as `not_selected`)."""
    strategy: str = choice("first", ("first", "shortest", "random"))
    """Which accepted samples to keep: first (by sample index), shortest (fewest completion tokens), random (seeded)."""
    dedup_completions: bool = True
    """Exact-duplicate passed completions of one prompt collapse to the first (`selection:duplicate_completion`)."""
    pass_rate: PassRateBand | None = None
    """The difficulty band `{min: .., max: ..}`: prompts outside it keep nothing
    (`selection:outside_pass_rate_band`). "Neither never nor always solved" at n <= 100: `{min: 0.01, max: 0.99}`."""
    max_completion_chars: int = bounded(1_000_000, 1, 100_000_000, added_later=True)
    """A completion longer than this (in characters) is rejected as `factory:completion_too_large` before any
    verifier scans it: the bound on every verifier's input. 1,000,000 is about 250k tokens, 8x R1's 32k budget."""
    suspect_gold_share: float | None = bounded(0.5, 0, 1, lo_open=True)
    """List a prompt as gold-suspect (stats.json, manifest.json, the card) when at least this share of its samples
    (and 2) agree on one answer the rules call wrong; verdicts stay as they are. null: no listing. Not part of the
    fingerprint (it decides no row)."""


@dataclass
class Pairs:
    """Preference pairs for DPO in data/pairs (`load_dataset(run, "pairs")`)."""

    per_prompt: int = bounded(1, 1, 1000)
    """Pairs per prompt at most (each rejected sample is used once; chosen samples are reused in turn)."""
    rejected_reasons: list[str] = field(default_factory=lambda: list(DEFAULT_PAIR_REASONS))
    """Reasons (`wrong_answer`, or qualified `math:wrong_answer`) that make a sample the rejected side
    (`not_selected` samples are right answers and never are)."""

    def check(self, where: str) -> None:
        if any(r.split(":")[-1] in SELECTION_REASONS for r in self.rejected_reasons):
            raise RecipeError(f"{child(where, 'rejected_reasons')}: must be a list of verifier reasons (selection reasons "
                              "mark right answers and cannot make a sample 'rejected')")


@dataclass
class Output:
    prompts_per_shard: int = bounded(64, 1, 1_000_000)
    """Prompts per work unit; one Parquet shard per split per unit. The unit of scheduling and of resume."""
    keep_rejected: bool = True
    """Write rejected samples to data/rejected (raw material for audits and preference pairs)."""
    pairs: Pairs | None = None
    """Preference pairs: `true` (the defaults of `Pairs`), a mapping of `Pairs` keys, or null (none)."""
    license: str = "unknown"
    """The dataset card's `license`: a Hub license id (apache-2.0, mit, cc-by-4.0, other, ...; see the Hub's
    repositories-licenses page). The rows hold the prompts' text and the teacher's output, so set what both allow;
    the default `unknown` claims nothing. The shipped recipes set their prompt source's. Not in the fingerprint."""

    def check(self, where: str) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", self.license):
            raise RecipeError(f"{child(where, 'license')}: must be a Hub license id such as apache-2.0, got "
                              f"{self.license!r}")

    @staticmethod
    def coerce(data: Any, where: str) -> Any:
        if isinstance(data, dict) and isinstance(data.get("pairs"), bool):
            return {**data, "pairs": {} if data["pairs"] else None}
        return data


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


JUDGE_TEMPLATES = {"equivalence": "data/judge/equivalence.txt", "rubric": "data/judge/rubric.txt"}
"""Shipped judge prompts by name: `equivalence` compares a sample's final answer with the gold; `rubric` scores an
answer from 1 to 10 against the recipe's rubric."""
JUDGE_FIELDS = {"equivalence": ("first", "second"), "rubric": ("answer",)}
"""The fields a judge template of each mode must hold; `{problem}` (and `{rubric}` in rubric mode) are optional."""
JUDGE_TRANSPORT_KEYS = ("base_url", "api_key_env", "max_concurrency", "engine_kwargs")
"""How the judge is reached, not what it decides: left out of the fingerprint (with HTTP_TRANSPORT_KEYS)."""


@dataclass
class Judge:
    """The LLM judge after the rule verifiers (`factory.verification.judge`): which samples it sees, which model
    answers, how it is reached. Off unless `engine` is vllm or openai. When on, what decides rows (the model, the
    template's text, the reasons sent, sampling, structured output, calibration share) enters the fingerprint; how
    the judge is reached (address, key, concurrency, engine arguments, timeouts, retries, prices) does not."""

    engine: str = choice("none", ("none", "vllm", "openai"))
    """none (no judge), vllm (a vLLM engine: its own Ray actor under `factory generate`, in process under
    `factory verify`), or openai (any OpenAI-compatible endpoint at `base_url`)."""
    mode: str = choice("equivalence", ("equivalence", "rubric"))
    """equivalence: the sample's final answer against the gold, for samples the rules cannot read (math, multiple
    choice, free-form golds); rubric: every sample that passed the rules is scored 1-10 against `rubric` and kept
    when the score is at least `threshold` (general data, which has no gold): its own verdict `judge`, rejected
    as `below_threshold`."""
    rubric: str = ("The answer does what the request asks; it is correct, complete and clearly written; it is in the "
                   "language of the request; it contains no reasoning notes, no repetition and no filler.")
    """rubric mode: the quality criteria put into the template's `{rubric}`."""
    threshold: int = bounded(7, 1, 10)
    """rubric mode: the lowest score kept."""
    model: str = ""
    """A local folder or Hub id (vllm; `data/models/tiny-judge` is shipped), or the served model name (openai)."""
    base_url: str | None = None
    """openai: the endpoint root with its version, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1."""
    api_key_env: str | None = None
    """openai: the NAME of the environment variable holding the key (the key is never written anywhere)."""
    max_concurrency: int = bounded(8, 1, 4096)
    """openai: judge requests in flight at once (per verification worker)."""
    http: HTTPClient = section_default(HTTPClient)
    """openai: the client's further settings, as `generation.http` (timeouts, retries, prices, extra_body)."""
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    """vllm: extra `vllm.LLM(...)` arguments for the judge's engine (max_model_len, dtype, kv_cache_memory_bytes)."""
    template: str | None = None
    """A shipped prompt's name (`equivalence`, `rubric`) or a template file; default the shipped one of the mode.
    equivalence: {first} and {second} (the two answers, put in both orders), optionally {problem}; rubric:
    {answer}, optionally {problem} and {rubric}. Its text, not its name, is part of the fingerprint."""
    reasons: list[str] = field(default_factory=lambda: ["unparseable_answer", "no_answer"])
    """Rule rejection reasons whose samples go to the judge (bare `no_answer` or qualified `math:no_answer`). A
    sample is sent only when every verdict that failed it has one of these reasons."""
    uncovered: bool = True
    """Also judge samples of prompts no rule covers: an answer verifier found the gold unverifiable
    (`unverifiable_gold`, a free-form reference)."""
    include_trace: bool = False
    """Show the judge the whole completion instead of the sample's final answer."""
    max_answer_chars: int = bounded(2000, 16, 1_000_000)
    """Longest answer (or trace) shown to the judge; longer ones are cut to their last characters."""
    structured: str = choice("choice", ("choice", "json", "none"))
    """choice: the server must choose between `equivalent` and `different` (vLLM's structured outputs, in process
    or over HTTP); json: `response_format: json_object` with `{"verdict": ...}` (DeepSeek's API, OpenAI); none:
    strict parsing of free text (after a think block, if any). A reply that does not parse is a judge error."""
    max_tokens: int = bounded(16, 1, 100_000)
    """Tokens per judge reply (a judge that reasons before its verdict needs more)."""
    temperature: float = bounded(0.0, 0, 2)
    """0 for a deterministic judge."""
    calibration_share: float = bounded(0.05, 0, 1)
    """Share of rule-decided samples (accepted or `wrong_answer`, by a verifier that read an answer) also sent to
    the judge, verdicts unchanged: the card's 2x2 agreement table of rule and judge. Chosen by a hash of the
    sample's id, so the same samples calibrate on every rerun."""

    @property
    def enabled(self) -> bool:
        return self.engine != "none"

    def check(self, where: str) -> None:
        if not self.enabled:
            return
        if not self.model:
            raise RecipeError(f"{child(where, 'model')}: required when judge.engine is {self.engine}")
        if self.engine == "openai" and not (self.base_url or "").startswith(("http://", "https://")):
            raise RecipeError(f"{child(where, 'base_url')}: required with engine openai, an http:// or https:// URL, "
                              f"got {self.base_url!r}")
        if not self.reasons and not self.uncovered:
            raise RecipeError(f"{where}: neither reasons nor uncovered: the judge would see nothing")
        self.template_text(where)

    def template_text(self, where: str = "judge") -> str:
        """The prompt template's text, checked: the mode's fields (`JUDGE_FIELDS`) required, `{problem}` optional
        (a small judge of bare values needs none), no other field."""
        name = self.template or self.mode
        path = resolve_data_path(JUDGE_TEMPLATES.get(name, name))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            known = ", ".join(JUDGE_TEMPLATES)
            raise RecipeError(f"{child(where, 'template')}: cannot read {path} ({exc.strerror}); give a file or one "
                              f"of: {known}") from exc
        fields = JUDGE_FIELDS[self.mode]
        for field_name in fields:
            if "{" + field_name + "}" not in text:
                raise RecipeError(f"{child(where, 'template')}: {path} lacks the field {{{field_name}}} (judge.mode "
                                  f"{self.mode})")
        allowed = ("problem", *fields, *(("rubric",) if self.mode == "rubric" else ()))
        try:
            text.format(**{f: "" for f in allowed})
        except (KeyError, IndexError, ValueError) as exc:
            names = ", ".join("{" + f + "}" for f in allowed)
            raise RecipeError(f"{child(where, 'template')}: {path} may use only {names} in judge.mode {self.mode} "
                              f"(write literal braces as {{{{ }}}}): {exc!r}") from exc
        return text
