"""How to reach an OpenAI-compatible endpoint (`HTTPSettings`): plain, validated data, apart from the HTTP client so
that a recipe can be checked without importing it.

The client's settings are the recipe's `generation.http` section (`factory.recipe.sections.HTTPClient`, each field
with its bounds); this adds the endpoint and is checked by the same validator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from factory.recipe import Generation, HTTPClient, Judge, RecipeError
from factory.recipe.fields import bounded, child, validate_section


@dataclass
class HTTPSettings(HTTPClient):
    """The endpoint, plus the client settings of the recipe's `generation.http`. `validate()` checks every field as
    a recipe's are checked and raises ValueError naming the bad one."""

    base_url: str = ""
    """Endpoint root including the version, e.g. http://127.0.0.1:8000/v1 or https://api.deepseek.com/v1."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself); None: no Authorization."""
    max_concurrency: int = bounded(16, 1, 4096)
    """Requests in flight at once per engine. Each request asks for up to `max_n_per_request` samples."""
    section: str = "generation"
    """The recipe section these settings come from (`generation` or `judge`), named in error messages."""

    def check(self, where: str) -> None:
        super().check(where)
        if not self.base_url.startswith(("http://", "https://")):
            raise RecipeError(f"{child(where, 'base_url')}: must start with http:// or https:// (got {self.base_url!r})")
        if self.api_key_env is not None and (not self.api_key_env or not self.api_key_env.replace("_", "").isalnum()):
            raise RecipeError(f"{child(where, 'api_key_env')}: must be the NAME of an environment variable (letters, "
                              f"digits, _) (got {self.api_key_env!r})")

    def validate(self) -> "HTTPSettings":
        return validate_section(self, self.section)

    @classmethod
    def of(cls, generation: Generation | Judge) -> "HTTPSettings":
        """The settings of a recipe's openai engine: its teacher (`generation`) or its judge (`judge`)."""
        client = {f.name: getattr(generation.http, f.name) for f in fields(HTTPClient)}
        section = "judge" if isinstance(generation, Judge) else "generation"
        return cls(base_url=generation.base_url or "", api_key_env=generation.api_key_env,
                   max_concurrency=generation.max_concurrency, section=section, **client).validate()
