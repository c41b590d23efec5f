"""The judge's client: one-word judgments (or 1-10 scores) from any engine, journaled, bounded in concurrency, failing per request.

The engine is one of the factory's (`factory.engines`): a vLLM engine (in this process, or a proxy to its own Ray
actor) gets all of a call's requests in one batch; an OpenAI-compatible endpoint gets one request per judgment,
at most `max_concurrency` at once, each with the engine's retries and backoff. Engine-specific parts stay in the
engines: structured output is `SamplingConfig.choices` for vLLM and a request field (`extra_body`) for HTTP.

Every reply that parses is journaled (`RequestJournal`, fsynced before it counts) under the hash of the model, the
messages and the sampling settings, so after a crash or `kill -9` a rerun asks only what is missing, whatever the
engine. A request that fails after the engine's retries, or a reply that does not parse, is returned as an error
(the stage turns it into `judge_error`) and is not journaled: a rerun asks again. An endpoint that refuses the
requests as such (HTTP 401/403/404/400: a wrong key, model or parameter) raises instead: every judgment would fail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from factory.engines import EngineSpec, create_engine
from factory.engines.base import ANSWER_FAULTS, Engine, SamplingConfig
from factory.engines.journal import RequestJournal, request_key
from factory.recipe import Judge
from factory.verification.judge_template import CHOICES, SCORES, parse_choice, parse_score
from verifiers.types import Completion, Prompt

JSON_FORMAT = {"response_format": {"type": "json_object"}}


def replies_of(settings: Judge) -> tuple[str, ...]:
    """What the judge may answer: `equivalent` / `different`, or a score 1-10 in rubric mode."""
    return SCORES if settings.mode == "rubric" else CHOICES


@dataclass(frozen=True)
class Reply:
    """One judgment: `choice` (equivalent | different) or `error`; `text` is the raw reply (for the details).
    `sent`: a request went out for it (else it came from the journal: `reused`); `failed`: the request itself
    failed (else an error is a reply that does not parse); `tokens`: (prompt, completion) it cost."""

    choice: str | None
    text: str = ""
    error: str = ""
    reused: bool = False
    sent: bool = False
    failed: bool = False
    tokens: tuple[int, int] = (0, 0)


def judge_engine_spec(settings: Judge) -> EngineSpec:
    """The engine a judge section names (plain data: it may travel to a Ray actor)."""
    if settings.engine == "openai":
        from factory.engines.http_settings import HTTPSettings

        http = HTTPSettings.of(settings)
        structured = {"choice": {"structured_outputs": {"choice": list(replies_of(settings))}},
                      "json": JSON_FORMAT}.get(settings.structured, {})
        return EngineSpec("openai", settings.model, http=replace(http, extra_body={**http.extra_body, **structured}))
    from factory.paths import resolve_model

    return EngineSpec("vllm", resolve_model(settings.model), engine_kwargs=dict(settings.engine_kwargs))


class JudgeUnavailableError(RuntimeError):
    """The judge can never answer as configured (a model folder that does not exist, an endpoint that refuses the
    address, key or model): found before any folder is touched."""


def check_judge(settings: Judge) -> None:
    """The judge's preflight: a vLLM judge's local model folder exists; an HTTP judge is asked for its models
    once (address, key, model name). Raises JudgeUnavailableError; nothing to do when the judge is off."""
    if settings.engine == "vllm":
        from factory.paths import resolve_model

        try:
            resolve_model(settings.model)
        except FileNotFoundError as exc:
            raise JudgeUnavailableError(f"judge.model: {exc}") from None
    elif settings.engine == "openai":
        from factory.engines.openai_engine import OpenAIEngine, TeacherConfigError, TeacherUnavailableError

        engine = None
        try:
            engine = OpenAIEngine(settings.model, judge_engine_spec(settings).http, None)
            engine.preflight()
        except (TeacherConfigError, TeacherUnavailableError) as exc:
            raise JudgeUnavailableError(f"judge at {settings.base_url}: {exc}") from None
        finally:
            if engine is not None:
                engine.close()


def _journaled_reply(prompt_id: str, start: int, want: int, body: bytes | None, error: str | None) -> list[Completion]:
    """A journaled judge reply read back: its text, as one sample (the journal's `interpret`)."""
    text = "" if body is None else body.decode("utf-8", "surrogateescape")
    return [Completion(prompt_id, 0, text, "stop")]


class JudgeClient:
    """Asks `engine` for judgments. `batched`: send a call's requests together (vLLM) instead of one by one.
    Safe to call from several threads (the replay runtime's workers share one client and one engine)."""

    def __init__(self, engine: Engine, settings: Judge, journal_dir: Path | None, *, batched: bool) -> None:
        self.engine, self.settings, self.batched = engine, settings, batched
        self.journal = RequestJournal(journal_dir, _journaled_reply) if journal_dir is not None else None
        self.parse = parse_score if settings.mode == "rubric" else parse_choice
        choices = replies_of(settings) if settings.structured == "choice" and batched else ()
        self.sampling = SamplingConfig(n=1, temperature=settings.temperature, top_p=1.0,
                                       max_tokens=settings.max_tokens, choices=choices)
        self._fields = {"temperature": settings.temperature, "max_tokens": settings.max_tokens,
                        "structured": settings.structured}

    @classmethod
    def build(cls, settings: Judge, journal_dir: Path | None, engine: Engine | None = None) -> "JudgeClient":
        """The client for a judge section, with its own engine in this process unless `engine` is given."""
        spec = judge_engine_spec(settings)
        return cls(engine or create_engine(spec), settings, journal_dir, batched=spec.kind != "openai")

    def ask(self, chats: Sequence[tuple[dict[str, str], ...]]) -> list[Reply]:
        """One reply per chat, in order; never raises for a failed request (a refused configuration does)."""
        keys = [self.key_of(chat) for chat in chats]
        replies: list[Reply | None] = [self._journaled(key) for key in keys]
        todo = [i for i, reply in enumerate(replies) if reply is None]
        if todo and self.batched:
            fresh = self._generate([(keys[i], chats[i]) for i in todo])
        elif todo:
            with ThreadPoolExecutor(max_workers=min(len(todo), self.settings.max_concurrency)) as pool:
                fresh = [r for batch in pool.map(lambda i: self._generate([(keys[i], chats[i])]), todo) for r in batch]
        else:
            fresh = []
        for i, reply in zip(todo, fresh):
            replies[i] = reply
        return [r for r in replies if r is not None]

    def key_of(self, chat: Sequence[dict[str, str]]) -> str:
        """The journal key of one judgment: model, messages and the sampling settings."""
        return request_key(self.engine.model, chat, self._fields)

    def _journaled(self, key: str) -> Reply | None:
        if self.journal is None:
            return None
        have = self.journal.lookup(key, key)
        if 0 not in have:
            return None
        return Reply(self.parse(have[0].text), have[0].text[:200], reused=True)

    def _generate(self, items: list[tuple[str, tuple[dict[str, str], ...]]]) -> list[Reply]:
        prompts = [Prompt(key, tuple(chat), "", None) for key, chat in items]
        try:
            completions = self.engine.generate(prompts, self.sampling)
        except Exception as exc:  # noqa: BLE001 - any engine failure is a judge error, never a verdict
            if type(exc).__name__ == "TeacherConfigError":  # a wrong key, model or parameter: stop the run
                raise
            why = f"{type(exc).__name__}: {exc}"[:300]
            return [Reply(None, error=why, sent=True, failed=True) for _ in items]
        by_id = {c.prompt_id: c for c in completions}
        replies = []
        for key, _ in items:
            completion = by_id.get(key)
            if completion is None or completion.finish_reason in ANSWER_FAULTS:
                why = "the engine returned no reply" if completion is None else completion.finish_reason
                replies.append(Reply(None, error=why, sent=True, failed=True))
                continue
            tokens = (completion.prompt_tokens, completion.completion_tokens)
            choice = self.parse(completion.text)
            if choice is None:
                replies.append(Reply(None, completion.text[:200], error="reply is not one of " + "/".join(
                    replies_of(self.settings)),
                                     sent=True, tokens=tokens))
                continue
            if self.journal is not None:  # on disk before it counts: a rerun never pays for it again
                self.journal.append_answer(key, key, 0, 1, completion.text.encode("utf-8", "surrogateescape"))
            replies.append(Reply(choice, completion.text[:200], sent=True, tokens=tokens))
        return replies

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The estimated cost of these tokens at the section's prices (0 without prices)."""
        http = self.settings.http
        return (prompt_tokens * (http.price_input_per_mtok or 0) + completion_tokens
                * (http.price_output_per_mtok or 0)) / 1e6

    def close(self) -> None:
        self.engine.close()
        if self.journal is not None:
            self.journal.close()
