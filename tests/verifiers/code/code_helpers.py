"""Shared helpers of the code-verifier tests: completions, prompts and a verifier configured for tests."""

from __future__ import annotations

import json
import os

from verifiers.types import Completion, Prompt

TEST_SANDBOX_UID = 2_000_123
"""A uid nothing else on the machine uses, so stray sandbox processes can be counted by uid (when root)."""


def completion(code: str, index: int = 0, prompt_id: str = "p") -> Completion:
    return Completion(prompt_id, index, f"<think>\nLet me write it.\n</think>\n\n```python\n{code}\n```\n")


def prompt(tests, prompt_id: str = "p", problem: str = "Solve the problem.", **metadata) -> Prompt:
    gold = tests if isinstance(tests, str) else json.dumps(tests)
    return Prompt(prompt_id, ({"role": "user", "content": problem},), problem, gold, metadata=metadata)


def verifier_kwargs(**overrides) -> dict:
    kwargs = {"timeout_s": 3.0, "memory_mb": 256, "concurrency": 2, "total_timeout_s": 20.0}
    if os.geteuid() == 0:
        kwargs["sandbox_uid"] = TEST_SANDBOX_UID
    kwargs.update(overrides)
    return kwargs
