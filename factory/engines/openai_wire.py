"""The OpenAI chat-completions wire format: the request body the engine sends and how an answer's body becomes
samples. Pure data work, no HTTP client (the engine in `factory.engines.openai_engine` owns the transport).

Request: `chat_body` builds the JSON body (model, messages, sampling, the recipe's `extra_body`); `sampling_fields`
is the part of it that decides a sample's distribution (the journal key hashes it, not `n`).

Answer: `validate_chat` checks the shape a 200 body must have; `completions` turns its choices into samples
[start, start+want) of one prompt. DeepSeek-style `reasoning_content` (or vLLM's `reasoning`) is put back as
`<think>\\n…\\n</think>\\n\\n` before the answer (`assistant_text`); a request's `completion_tokens` is split over
its choices (`split_tokens`). `retry_after` and `error_detail` read an error answer's headers and body.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

from verifiers.types import THINK_CLOSE, THINK_OPEN, Completion, Prompt

SAMPLE_RANGE_HEADER = "X-Factory-Sample-Range"
"""Sent with every chat request ("a-b": sample indices [a, b)); lets a proxy or server log match requests to rows."""


def chat_body(model: str, prompt: Prompt, temperature: float, top_p: float, max_tokens_field: str, max_tokens: int,
              extra_body: dict[str, Any]) -> dict[str, Any]:
    """The request body for one prompt's samples (without `n`, which each request adds)."""
    return {"model": model, "messages": [dict(m) for m in prompt.messages], "temperature": temperature,
            "top_p": top_p, max_tokens_field: max_tokens, **extra_body}


def completions(prompt: Prompt, start: int, want: int, data: dict[str, Any], opens_think: bool) -> list[Completion]:
    """Samples start.. of `prompt` from a validated chat answer (at most `want`: extras were billed, not kept)."""
    choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
    usage = data.get("usage") or {}
    texts = [assistant_text(c["message"], c.get("finish_reason"), opens_think) for c in choices]
    shares = split_tokens(int(usage.get("completion_tokens") or 0), choices, texts)
    choices = choices[:want]
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    return [Completion(prompt_id=prompt.prompt_id, sample_index=start + k, text=text,
                       finish_reason=str(choice.get("finish_reason") or "stop"), prompt_tokens=prompt_tokens,
                       completion_tokens=share)
            for k, (choice, text, share) in enumerate(zip(choices, texts, shares))]


def sampling_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("model", "messages", "n")}


def validate_chat(data: Any) -> None:
    choices = data["choices"]
    if not isinstance(choices, list) or not choices:
        raise ValueError("no choices")
    for choice in choices:
        message = choice["message"]
        content = message.get("content")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if not isinstance(content, (str, type(None))) or not isinstance(reasoning, (str, type(None))):
            raise TypeError("message content is not text")
        if content is None and reasoning is None:
            raise ValueError("a choice with neither content nor reasoning")


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


def retry_after(response: Any) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date)."""
    milliseconds = response.headers.get("retry-after-ms")
    value = response.headers.get("retry-after")
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


def error_detail(response: Any) -> str:
    """The server's own error message, short (never request headers, so never the key)."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300] or response.reason_phrase
