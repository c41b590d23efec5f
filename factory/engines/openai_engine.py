"""An OpenAI-compatible HTTP teacher: chat completions with retries, bounded concurrency and a request journal.

This is the only module that imports an HTTP client (`httpx`, async). One event loop in a background thread owns
the client; `generate` may be called from several threads at once and each call's requests join the same pool of
at most `max_concurrency` requests in flight, so the next unit's requests start while the last one's finish.

Per prompt the engine asks for the samples not already in the journal, `n` at a time (at most
`max_n_per_request`); when the server returns fewer choices than asked (many APIs ignore `n`), the rest are asked
for with more requests. The k-th choice of a request for sample indices [a, b) becomes sample a+k, so indices do
not depend on timing. DeepSeek-style `reasoning_content` (or vLLM's `reasoning`) is put back as
`<think>\\n…\\n</think>\\n\\n` before the answer; a response cut by `max_tokens` keeps `finish_reason: length`.

Token usage per sample: `prompt_tokens` is the request's prompt size (the same for every sample of a prompt, as
the in-process engine records it). A request's `completion_tokens` is split over its choices: exactly when the
server returns per-choice `token_ids` (vLLM with `extra_body: {return_token_ids: true}`) or there is one choice,
otherwise in proportion to each choice's text length (largest remainder, so the split sums to the billed total).
The counters (`counters()`) are what was billed: prompt tokens once per request, retries and partial answers
included, and the estimated cost from the optional prices.

Faults: 429 (waits `Retry-After` / `retry-after-ms` when given), 408/409, 5xx, connection errors and resets,
timeouts and bodies that are not an answer (not JSON, cut short, no `choices`) are retried with exponential backoff
and jitter, up to `max_retries`; then the request raises `TeacherUnavailableError` (its unit fails; the other
requests of the unit still finish and are journaled, so a rerun only sends what is missing). 400/401/403/404/422
and other 4xx raise `TeacherConfigError` at once: the run must stop before it spends the prompt set on a wrong key,
model or parameter.

What was paid for is kept: a 200 answer is journaled as received (raw bytes) before it is read, and reading it
never fails (`factory.engines.openai_wire`: a choice without text, a non-numeric or out-of-range `usage`, a body
over `max_response_bytes` become samples whose finish_reason says so, rejected as `teacher:<reason>`), so no
answer makes its unit fail and no rerun pays for it again. A body is read in chunks up to `max_response_bytes`
and no further, so an endless stream cannot grow memory.

Secrets: the API key is read from the environment variable named by `api_key_env` and sent only in the
Authorization header. It is replaced by `***` in every answer body before it is journaled, in every sample text
and in every message this module builds, whatever the server echoes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
from pathlib import Path
from typing import Any, Sequence

import httpx

from factory.engines.base import Engine, SamplingConfig
from factory.engines.http_settings import HTTPSettings  # noqa: F401 - part of this module's interface
from factory.engines.journal import RequestJournal, request_key
from factory.engines.openai_wire import (MAX_TOKEN_COUNT, SAMPLE_RANGE_HEADER, answer_samples, chat_body, empty_samples,
                                         error_detail, parse_answer, retry_after, sampling_fields, scrub_body)
from verifiers.types import Completion, Prompt

RETRYABLE_STATUS = {408, 409, 429}


class TeacherConfigError(Exception):
    """The endpoint refuses the run's requests as such (auth, model, parameters): stop at once. Never holds the key."""


class TeacherUnavailableError(Exception):
    """A request kept failing after every retry: its unit fails, a rerun retries it."""


class _Retryable(Exception):
    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class OpenAIEngine(Engine):
    """Chat completions against `settings.base_url`; `model` is the served model name."""

    def __init__(self, model: str, settings: HTTPSettings, journal_dir: Path | None = None) -> None:
        self.model = model
        self.settings = settings.validate()
        self._key = self._read_key()
        self.journal = RequestJournal(journal_dir, self._read_answer) if journal_dir is not None else None
        self._counts = {"requests_sent": 0, "requests_in_flight": 0, "retries": 0, "requests_failed": 0,
                        "prompt_tokens": 0, "completion_tokens": 0, "samples_received": 0, "reused_from_journal": 0}
        self._counts_lock = threading.Lock()
        self._fatal: TeacherConfigError | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-engine-loop", daemon=True)
        self._thread.start()
        self._client: httpx.AsyncClient = self._run(self._open_client())
        self._semaphore: asyncio.Semaphore = self._run(self._make_semaphore())

    # ---- public interface (any thread) ----

    def preflight(self) -> None:
        """GET {base_url}/models: checks the address, the key and that `model` is served (TeacherConfigError)."""
        data = self._run(self._send("GET", "/models", None, "preflight"))
        served = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)] if isinstance(data, dict) else []
        if self.model not in served:
            shown = ", ".join(served[:10]) + (" ..." if len(served) > 10 else "")
            raise TeacherConfigError(f"model {self.model!r} is not served at {self.settings.base_url} "
                                     f"({self.settings.section}.model); it serves: {shown or 'nothing'}")

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig, first_index: int = 0) -> list[Completion]:
        if sampling.n < 1:
            raise ValueError(f"n must be >= 1 (got {sampling.n})")
        if self._fatal is not None:
            raise TeacherConfigError(str(self._fatal))
        return self._run(self._generate(list(prompts), sampling, first_index))

    def counters(self) -> dict[str, Any]:
        """Chat requests sent (attempts, retries included), in flight now, retried, failed after every retry;
        tokens billed (usage of every 200 answer, prompt once per request); samples received and reused from the
        journal; the estimated cost in USD from the recipe's prices (None without prices). Any thread."""
        with self._counts_lock:
            counts: dict[str, Any] = dict(self._counts)
        s = self.settings
        if s.price_input_per_mtok is None and s.price_output_per_mtok is None:
            counts["estimated_cost_usd"] = None
        else:
            counts["estimated_cost_usd"] = round(counts["prompt_tokens"] * (s.price_input_per_mtok or 0) / 1e6
                                                 + counts["completion_tokens"] * (s.price_output_per_mtok or 0) / 1e6, 6)
        return counts

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            try:
                self._run(self._client.aclose())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        self._loop.close()
        if self.journal is not None:
            self.journal.close()

    # ---- plumbing ----

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _read_key(self) -> str | None:
        name = self.settings.api_key_env
        if name is None:
            return None
        key = os.environ.get(name, "").strip()
        if not key:
            raise TeacherConfigError(f"environment variable {name} ({self.settings.section}.api_key_env) is not set or empty")
        return key

    async def _open_client(self) -> httpx.AsyncClient:
        s = self.settings
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        limits = httpx.Limits(max_connections=s.max_concurrency, max_keepalive_connections=s.max_concurrency)
        timeout = httpx.Timeout(s.request_timeout_s, connect=s.connect_timeout_s, pool=None)
        return httpx.AsyncClient(base_url=s.base_url.rstrip("/"), headers=headers, limits=limits, timeout=timeout)

    async def _make_semaphore(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(self.settings.max_concurrency)

    def _count(self, **deltas: int) -> None:
        with self._counts_lock:
            for name, delta in deltas.items():
                self._counts[name] += delta

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    # ---- generation ----

    async def _generate(self, prompts: list[Prompt], sampling: SamplingConfig, first: int = 0) -> list[Completion]:
        done: list[Completion] = []
        jobs = []
        for prompt in prompts:
            body = self._body(prompt, sampling)
            key = request_key(self.model, body["messages"], sampling_fields(body))
            have = self.journal.lookup(prompt.prompt_id, key) if self.journal is not None else {}
            reused = [have[i] for i in range(first, first + sampling.n) if i in have]
            self._count(reused_from_journal=len(reused))
            done.extend(reused)
            for start, stop in _missing_ranges(have.keys(), sampling.n, first):
                jobs.append(self._fill(prompt, key, body, start, stop))
        tasks = [asyncio.ensure_future(job) for job in jobs]
        errors = []
        pending = set(tasks)
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in finished:
                error = task.exception()
                if isinstance(error, TeacherConfigError):
                    for other in pending:
                        other.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    raise error
                if error is not None:
                    errors.append(error)
        if errors:
            raise TeacherUnavailableError(f"{len(errors)} of {len(tasks)} requests failed after retries; "
                                          f"first: {errors[0]}") from errors[0]
        for task in tasks:
            done.extend(task.result())
        order = {prompt.prompt_id: index for index, prompt in enumerate(prompts)}
        return sorted(done, key=lambda c: (order[c.prompt_id], c.sample_index))

    def _body(self, prompt: Prompt, sampling: SamplingConfig) -> dict[str, Any]:
        s = self.settings
        return chat_body(self.model, prompt, sampling.temperature, sampling.top_p, s.max_tokens_field,
                         sampling.max_tokens, s.extra_body)

    async def _fill(self, prompt: Prompt, key: str, body: dict[str, Any], start: int, stop: int) -> list[Completion]:
        """Samples [start, stop) of one prompt, as many requests as the server needs. Each answer is journaled as
        received, before it is read; reading it never fails (see `factory.engines.openai_wire`)."""
        got: list[Completion] = []
        while start < stop:
            want = min(stop - start, self.settings.max_n_per_request)
            request = dict(body, n=want) if want > 1 else dict(body)
            label = f"prompt {prompt.prompt_id} samples {start}-{start + want - 1}"
            answer, error = await self._send("POST", "/chat/completions", request, label,
                                             headers={SAMPLE_RANGE_HEADER: f"{start}-{start + want}"})
            if self.journal is not None:
                completions = await asyncio.to_thread(self.journal.append_answer, key, prompt.prompt_id, start, want,
                                                      answer, error)
            else:
                completions = self._read_answer(prompt.prompt_id, start, want, answer, error)
            self._count(samples_received=len(completions))
            got.extend(completions)
            start += len(completions)
        return got

    def _read_answer(self, prompt_id: str, start: int, want: int, body: bytes | None,
                     error: str | None) -> list[Completion]:
        """The samples of one answer (the journal's `interpret`): never raises, the key never in a text."""
        if body is None:
            return empty_samples(prompt_id, start, want, error or "invalid_answer")
        return answer_samples(prompt_id, start, want, body, self.settings.opens_think, self._key)

    # ---- one request, with retries ----

    async def _send(self, method: str, path: str, body: dict[str, Any] | None, label: str,
                    headers: dict[str, str] | None = None) -> Any:
        s = self.settings
        for attempt in range(s.max_retries + 1):
            if self._fatal is not None:
                raise TeacherConfigError(str(self._fatal))
            try:
                return await self._attempt(method, path, body, headers)
            except _Retryable as retry:
                if attempt == s.max_retries:
                    self._count(requests_failed=1)
                    raise TeacherUnavailableError(
                        f"{method} {s.base_url}{path} ({label}) failed {attempt + 1} times; last: {retry}") from None
                backoff = min(s.backoff_max_s, s.backoff_base_s * 2 ** attempt) * random.uniform(0.5, 1.0)
                wait = backoff if retry.retry_after is None else _honour(retry.retry_after, s.retry_after_max_s)
                self._count(retries=body is not None)
                await asyncio.sleep(wait)
            except TeacherConfigError as error:
                self._fatal = error
                raise
        raise AssertionError("unreachable")

    async def _attempt(self, method: str, path: str, body: dict[str, Any] | None,
                       headers: dict[str, str] | None) -> Any:
        async with self._semaphore:
            chat = body is not None  # the counters are about chat requests, not the preflight
            self._count(requests_sent=chat, requests_in_flight=chat)
            try:
                status, reply_headers, reason, raw = await asyncio.wait_for(
                    self._exchange(method, path, body, headers), self.settings.request_timeout_s)
            except (asyncio.TimeoutError, httpx.TimeoutException):
                raise _Retryable(f"no answer within {self.settings.request_timeout_s:g} s") from None
            except httpx.TransportError as error:  # connection refused / reset / dropped, protocol errors
                raise _Retryable(self._scrub(f"{type(error).__name__}: {error}")) from None
            finally:
                self._count(requests_in_flight=-chat)
        return self._check(status, reply_headers, reason, raw, path)

    async def _exchange(self, method: str, path: str, body: dict[str, Any] | None,
                        headers: dict[str, str] | None) -> tuple[int, Any, str, bytes | None]:
        """One request; the body read up to `max_response_bytes` (None past it: the rest is never read)."""
        limit = self.settings.max_response_bytes
        request = self._client.build_request(method, path, json=body, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    return response.status_code, response.headers, response.reason_phrase, None
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response.status_code, response.headers, response.reason_phrase, b"".join(chunks)

    def _check(self, status: int, headers: Any, reason: str, raw: bytes | None, path: str) -> Any:
        """200 on /chat/completions: (the scrubbed body, None), or (None, "response_too_large"); 200 elsewhere:
        the JSON. Retryable faults raise `_Retryable`, refusals `TeacherConfigError`."""
        chat = path == "/chat/completions"
        if status == 200:
            if raw is None:
                if chat:
                    return None, "response_too_large"
                raise _Retryable(f"answer larger than {self.settings.max_response_bytes} bytes")
            raw = scrub_body(raw, self._key)
            data = parse_answer(raw) if chat else _json(raw)
            if data is None:
                raise _Retryable(f"malformed response body ({len(raw)} bytes, not an answer with choices)")
            if not chat:
                return data
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
            self._count(prompt_tokens=prompt_tokens if _believable(prompt_tokens) else 0,
                        completion_tokens=completion_tokens if _believable(completion_tokens) else 0)
            return raw, None
        detail = self._scrub(error_detail(raw or b"", reason))
        if status in RETRYABLE_STATUS or status >= 500:
            raise _Retryable(f"HTTP {status}: {detail}", retry_after(headers) if status in (429, 503) else None)
        hint = {401: "authentication failed: check the key in the variable named by "
                     f"{self.settings.section}.api_key_env",
                403: "permission denied for this key or model",
                404: f"not found: is {self.settings.section}.model ({self.model!r}) served there, and does "
                     f"{self.settings.section}.base_url ({self.settings.base_url}) end in /v1?",
                }.get(status, f"the server rejects this request: check the {self.settings.section} settings "
                              "(model, max_tokens, extra_body)")
        raise TeacherConfigError(f"{self.settings.base_url}{path} answered HTTP {status}: {hint}; server said: "
                                 f"{detail}")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _believable(count: Any) -> bool:
    return type(count) is int and 0 <= count <= MAX_TOKEN_COUNT


def _missing_ranges(have: Any, n: int, first: int = 0) -> list[tuple[int, int]]:
    """Maximal runs [a, b) of first..first+n-1 not in `have`."""
    ranges, start = [], None
    end = first + n
    for i in range(first, end + 1):
        missing = i < end and i not in have
        if missing and start is None:
            start = i
        elif not missing and start is not None:
            ranges.append((start, i))
            start = None
    return ranges








def _honour(retry_after: float, cap: float) -> float:
    """At least what the server asked (up to `cap`), plus up to 10% so that waiting requests do not return at once."""
    wait = min(cap, retry_after)
    return wait + random.uniform(0, 0.1 * wait)



