"""Generation engines behind one interface (`base.Engine`): `vllm_engine.VLLMEngine` (vLLM in this process, the
only module importing vLLM) and `openai_engine.OpenAIEngine` (an OpenAI-compatible HTTP server, the only module
importing httpx). `create_engine` builds the one a recipe names; the runtime never imports either directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.engines.base import Engine


@dataclass
class EngineSpec:
    """Everything an engine actor needs to build its engine (sent to the actor, so plain data)."""

    kind: str
    """vllm | openai"""
    model: str
    """A resolved model folder or Hub id (vllm), or the served model name (openai)."""
    tensor_parallel_size: int = 1
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    http: Any = None
    """`openai_engine.HTTPSettings` (openai only)."""
    journal_dir: Path | None = None
    """Where an HTTP engine journals finished requests (the run folder's .factory/journal)."""


def create_engine(spec: EngineSpec) -> Engine:
    if spec.kind == "openai":
        from factory.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(spec.model, spec.http, spec.journal_dir)
    from factory.engines.vllm_engine import VLLMEngine

    return VLLMEngine(spec.model, tensor_parallel_size=spec.tensor_parallel_size, engine_kwargs=spec.engine_kwargs)
