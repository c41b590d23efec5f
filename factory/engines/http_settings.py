"""How to reach an OpenAI-compatible endpoint (`HTTPSettings`): plain, validated data, apart from the HTTP client so
that a recipe can be checked without importing it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class HTTPSettings:
    """How to reach an OpenAI-compatible endpoint. `validate()` raises ValueError naming the bad field."""

    base_url: str
    """Endpoint root including the version, e.g. http://127.0.0.1:8000/v1 or https://api.deepseek.com/v1
    (http:// or https://)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself); None: no Authorization."""
    max_concurrency: int = 16
    """Requests in flight at once per engine, 1-4096. Each request asks for up to `max_n_per_request` samples."""
    request_timeout_s: float = 600.0
    """Whole-request deadline in seconds (> 0); a long reasoning trace without streaming needs minutes."""
    connect_timeout_s: float = 10.0
    """TCP/TLS connect timeout in seconds (> 0)."""
    max_retries: int = 6
    """Retries after the first attempt of one request, 0-100; then the request fails its unit."""
    backoff_base_s: float = 1.0
    """First retry waits 0.5-1x this, doubling each retry (>= 0)."""
    backoff_max_s: float = 60.0
    """Cap on one backoff wait (>= backoff_base_s)."""
    retry_after_max_s: float = 600.0
    """Longest `Retry-After` honoured (>= 0); a server asking for more waits this long, then retries."""
    max_n_per_request: int = 16
    """Largest `n` sent in one request, 1-1024; 1 never sends `n` (for servers that reject it)."""
    max_tokens_field: str = "max_tokens"
    """Request field for the token budget: max_tokens, or max_completion_tokens (newer OpenAI models)."""
    opens_think: bool = False
    """True when the teacher's chat template opens the think block (R1 distills end the prompt with "<think>\\n"):
    "<think>\\n" is put before every completion that lacks it. When False it is still put back before a completion
    that closes a think block it never opened."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    """Extra request fields sent as is (e.g. vLLM's top_k or return_token_ids); part of the journal key."""
    max_response_bytes: int = 64 * 2**20
    """Largest response body read, in bytes (1 KiB - 1 GiB): a longer one is cut off there, never held whole in
    memory; a chat answer over it is journaled and its samples rejected as `teacher:response_too_large`."""
    price_input_per_mtok: float | None = None
    """USD per million prompt tokens (>= 0), for estimated_cost_usd; None: no estimate."""
    price_output_per_mtok: float | None = None
    """USD per million completion tokens (>= 0)."""

    def validate(self) -> "HTTPSettings":
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"generation.{name}: {why} (got {getattr(self, name)!r})")

        if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
            raise bad("base_url", "must start with http:// or https://")
        if self.api_key_env is not None and (not self.api_key_env or not self.api_key_env.replace("_", "").isalnum()):
            raise bad("api_key_env", "must be the NAME of an environment variable (letters, digits, _)")
        for name, low, high in (("max_concurrency", 1, 4096), ("max_retries", 0, 100), ("max_n_per_request", 1, 1024),
                                ("max_response_bytes", 1024, 2**30)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise bad(name, f"must be an integer in [{low}, {high}]")
        for name in ("request_timeout_s", "connect_timeout_s"):
            if not _number(getattr(self, name)) or getattr(self, name) <= 0:
                raise bad(name, "must be a number > 0")
        for name in ("backoff_base_s", "backoff_max_s", "retry_after_max_s", "price_input_per_mtok", "price_output_per_mtok"):
            value = getattr(self, name)
            if (value is not None or not name.startswith("price")) and (not _number(value) or value < 0):
                raise bad(name, "must be a number >= 0")
        if self.backoff_max_s < self.backoff_base_s:
            raise bad("backoff_max_s", f"must be >= backoff_base_s ({self.backoff_base_s})")
        if self.max_tokens_field not in ("max_tokens", "max_completion_tokens"):
            raise bad("max_tokens_field", "must be max_tokens or max_completion_tokens")
        if not isinstance(self.extra_body, dict):
            raise bad("extra_body", "must be a mapping")
        return self

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
