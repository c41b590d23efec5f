"""The OpenAI chat-completions wire format: the request body the engine sends and how an answer's body becomes
samples. Pure data work, no HTTP client (the engine in `factory.engines.openai_engine` owns the transport).

Request: `chat_body` builds the JSON body (model, messages, sampling, the recipe's `extra_body`); `sampling_fields`
is the part of it that decides a sample's distribution (the journal key hashes it, not `n`).

Answer: a 200 body is an *answer* when it is a JSON object with a non-empty `choices` list (`parse_answer`);
anything else (not JSON, cut short, no choices) is a fault the engine retries. An answer is journaled as received
(its raw bytes, the API key scrubbed: `scrub_body`) and only then turned into samples by `answer_samples`, a total
function: it never raises, whatever the body holds, so a paid answer is never lost to a bug in reading it and a
rerun reads the journal the same way. Its rules:
- The k-th choice becomes sample start+k: choices are ordered by `index` when every one is an integer, else kept in
  the order received. Choices beyond the `want` asked for were billed, not kept.
- DeepSeek-style `reasoning_content` (or vLLM's `reasoning`) is put back as `<think>\\n…\\n</think>\\n\\n` before the
  answer (`assistant_text`); a choice whose message is not text (no message, non-string content, neither content
  nor reasoning, a non-string finish_reason) becomes an empty sample whose finish_reason is `invalid_answer`.
- `usage` counts must be integers in [0, 2**31 - 1] (they are stored as int32) or absent; otherwise every sample
  of the answer keeps its text and gets finish_reason `invalid_usage`, with token counts 0.
- A body over the size bound is never read to its end: the asked-for samples become empty ones with finish_reason
  `response_too_large` (`empty_samples`).
These finish_reasons (`ANSWER_FAULTS`) are rejected by verification before any verifier, as `teacher:<reason>`.
Text that holds a lone surrogate is kept as is; verification leaves it out as `factory:unwritable_text`. Every text
has the API key replaced by `***`, whatever the server echoed.

A request's `completion_tokens` is split over its choices (`split_tokens`). `retry_after` and `error_detail` read an
error answer's headers and body.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

from factory.engines.base import ANSWER_FAULTS  # noqa: F401 - the reasons this module gives
from verifiers.types import THINK_CLOSE, THINK_OPEN, Completion, Prompt

MAX_TOKEN_COUNT = 2**31 - 1
SAMPLE_RANGE_HEADER = "X-Factory-Sample-Range"
"""Sent with every chat request ("a-b": sample indices [a, b)); lets a proxy or server log match requests to rows."""


def chat_body(model: str, prompt: Prompt, temperature: float, top_p: float, max_tokens_field: str, max_tokens: int,
              extra_body: dict[str, Any]) -> dict[str, Any]:
    """The request body for one prompt's samples (without `n`, which each request adds)."""
    return {"model": model, "messages": [dict(m) for m in prompt.messages], "temperature": temperature,
            "top_p": top_p, max_tokens_field: max_tokens, **extra_body}


def parse_answer(body: bytes) -> dict[str, Any] | None:
    """The JSON object of a 200 body if it is an answer (a non-empty `choices` list), else None (retry it)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        return None
    return data


def scrub_body(body: bytes, secret: str | None) -> bytes:
    """`body` with `secret` replaced by `***`, also where it was echoed inside a JSON string in escaped form."""
    if not secret:
        return body
    body = body.replace(secret.encode("utf-8"), b"***")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if secret not in json.dumps(data, ensure_ascii=False):
        return body
    return json.dumps(_scrub_tree(data, secret), ensure_ascii=True).encode("ascii")


def _scrub_tree(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, "***")
    if isinstance(value, list):
        return [_scrub_tree(v, secret) for v in value]
    if isinstance(value, dict):
        return {_scrub_tree(k, secret): _scrub_tree(v, secret) for k, v in value.items()}
    return value


def answer_samples(prompt_id: str, start: int, want: int, body: bytes, opens_think: bool,
                   secret: str | None = None) -> list[Completion]:
    """The samples start.. of one answer (at most `want`), by the rules of the module docstring. Never raises."""
    data = parse_answer(body)
    if data is None:  # journaled only when it parsed; kept total for a journal edited by hand
        return empty_samples(prompt_id, start, want, "invalid_answer")
    choices = [c for c in data["choices"]]
    if all(isinstance(c, dict) and isinstance(c.get("index"), int) and not isinstance(c["index"], bool)
           for c in choices):
        choices.sort(key=lambda c: c["index"])
    texts = [_choice_text(c, opens_think) for c in choices]
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {} if usage is None else None
    prompt_tokens = _count(usage.get("prompt_tokens")) if usage is not None else None
    total = _count(usage.get("completion_tokens")) if usage is not None else None
    believable = prompt_tokens is not None and total is not None
    shares = split_tokens(total or 0, [c if isinstance(c, dict) else {} for c in choices],
                          [t or "" for t in texts]) if believable else [0] * len(choices)
    out = []
    for k, (choice, text, share) in enumerate(zip(choices[:want], texts, shares)):
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        if text is None or not isinstance(finish, (str, type(None))):
            text, finish = "", "invalid_answer"
        elif not believable:
            finish = "invalid_usage"
        text = text.replace(secret, "***") if secret else text
        out.append(Completion(prompt_id=prompt_id, sample_index=start + k, text=text, finish_reason=finish or "stop",
                              prompt_tokens=(prompt_tokens or 0) if believable else 0,
                              completion_tokens=min(share, MAX_TOKEN_COUNT) if believable else 0))
    return out


def empty_samples(prompt_id: str, start: int, want: int, reason: str) -> list[Completion]:
    """`want` empty samples marked with `reason` (an answer whose body could not be read)."""
    return [Completion(prompt_id=prompt_id, sample_index=start + k, text="", finish_reason=reason)
            for k in range(want)]


def _count(value: Any) -> int | None:
    """A token count or index as stored (int32), None when absent; None also when it is not one."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKEN_COUNT:
        return None
    return value


def _choice_text(choice: Any, opens_think: bool) -> str | None:
    """The assistant text of one choice, or None when it holds no text."""
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        return None
    message = choice["message"]
    content = message.get("content")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if not isinstance(content, (str, type(None))) or not isinstance(reasoning, (str, type(None))):
        return None
    if content is None and reasoning is None:
        return None
    return assistant_text(message, choice.get("finish_reason"), opens_think)


def sampling_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("model", "messages", "n")}


def assistant_text(message: dict[str, Any], finish_reason: str | None, opens_think: bool) -> str:
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        if finish_reason == "length" and not content:
            return f"{THINK_OPEN}\n{reasoning.strip()}"  # cut inside the reasoning: stays an unclosed think
        return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{content.lstrip()}"
    if THINK_OPEN not in content and (opens_think or THINK_CLOSE in content):
        return f"{THINK_OPEN}\n{content}"
    return content


def split_tokens(total: int, choices: list[dict[str, Any]], texts: list[str]) -> list[int]:
    """A request's completion tokens per choice (see the module docstring); sums to `total` unless exact."""
    ids = [c.get("token_ids") for c in choices]
    if all(isinstance(t, list) for t in ids):
        return [len(t) for t in ids]
    if len(choices) == 1:
        return [total]
    weights = [max(1, len(text)) for text in texts]
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    for k in sorted(range(len(exact)), key=lambda k: exact[k] - shares[k], reverse=True)[:total - sum(shares)]:
        shares[k] += 1
    return shares


def retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date); `headers` a mapping."""
    milliseconds = headers.get("retry-after-ms")
    value = headers.get("retry-after")
    try:
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        if value is not None:
            return max(0.0, float(value))
    except ValueError:
        pass
    if value:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None


def error_detail(body: bytes, reason_phrase: str) -> str:
    """The server's own error message, short (never request headers, so never the key)."""
    try:
        error = json.loads(body).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:300]
    except (ValueError, AttributeError, RecursionError):
        pass
    return body[:300].decode("utf-8", "replace") or reason_phrase
