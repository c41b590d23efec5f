"""VLLMEngine on the real vLLM CPU build with the shipped tiny teacher: calls from two threads share one batch."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from factory.engines.base import SamplingConfig
from factory.recipe import load_recipe
from factory.prompts.sources import load_prompts

MODEL = Path(__file__).resolve().parents[3] / "data" / "models" / "tiny-r1"


@pytest.mark.slow
def test_concurrent_generate_calls_each_get_exactly_their_own_samples():
    from factory.engines.vllm_engine import VLLMEngine

    recipe = load_recipe("tiny", [])
    prompts = load_prompts(recipe.prompts, recipe.template, limit=24).prompts
    units = [prompts[0:5], prompts[5:17], prompts[17:24]]  # unequal sizes: they finish at different times
    sampling = SamplingConfig(n=3, temperature=1.0, top_p=1.0, max_tokens=448)
    engine = VLLMEngine(str(MODEL), engine_kwargs=recipe.resources.engine_kwargs)
    try:
        with ThreadPoolExecutor(max_workers=len(units)) as pool:
            results = list(pool.map(lambda unit: engine.generate(unit, sampling), units))
        alone = engine.generate(units[0], sampling)  # a call after the concurrent ones still works
        assert not engine._finished  # nothing parked for a caller that has gone
        # A prompt longer than the engine's context (1,024 tokens here) is never sent: its samples come back empty
        # and named, and the call's other prompts are generated as usual (vLLM would refuse the whole call).
        huge = dataclasses.replace(units[0][0], prompt_id="huge", messages=[
            {"role": "user", "content": " ".join(["What is 2 + 2?"] * 800)}])
        mixed = engine.generate([huge, units[0][1]], sampling)
    finally:
        engine.close()
    refused = [c for c in mixed if c.prompt_id == "huge"]
    assert [c.finish_reason for c in refused] == ["prompt_too_long"] * sampling.n and refused[0].prompt_tokens > 1024
    assert all(c.text == "" for c in refused)
    assert [c.prompt_id for c in mixed if c.prompt_id != "huge"] == [units[0][1].prompt_id] * sampling.n
    for unit, completions in zip(units + [units[0]], results + [alone]):
        expected = [(p.prompt_id, i) for p in unit for i in range(sampling.n)]
        assert [(c.prompt_id, c.sample_index) for c in completions] == expected
        assert all(c.text.startswith("<think>") and c.completion_tokens > 0 for c in completions)


def test_cpu_kv_cache_is_sized_to_the_model_and_settings():
    from factory.engines.vllm_engine import MAX_KV_BYTES, MIN_KV_BYTES, cpu_kv_cache_bytes

    # tiny-r1: 4 layers x 3 kv heads x 64 x float32, K and V = 6,144 bytes per token
    tiny = cpu_kv_cache_bytes(str(MODEL), {"max_model_len": 1024, "dtype": "float32"})
    assert tiny == 6144 * 1024 * 256
    assert cpu_kv_cache_bytes(str(MODEL), {"max_model_len": 1024, "max_num_seqs": 4}) == MIN_KV_BYTES
    assert cpu_kv_cache_bytes(str(MODEL), {"max_model_len": 10**7}) == MAX_KV_BYTES
    assert tiny < 2 << 30  # two tiny engines fit beside each other on a machine with a few GiB free
