import pytest

from verifiers.types import Completion, Prompt, chat
from verifiers.registry import create_verifier

PROMPT = Prompt("p", chat(None, "q"), "q", "1")


@pytest.mark.parametrize("text,finish,reason", [
    ("<think>\nwork\n</think>\n\n\\boxed{1}", "stop", ""),
    ("<think>\nwork\n</think>\n\n\\boxed{1}", "length", "truncated"),
    ("no tags \\boxed{1}", "stop", "missing_think"),
    ("<think>\nwork and work", "stop", "unclosed_think"),
    ("<think>a</think><think>b</think>\\boxed{1}", "stop", "multiple_think"),
    ("preamble <think>a</think>\\boxed{1}", "stop", "text_before_think"),
    ("<think>\n \n</think>\n\\boxed{1}", "stop", "empty_reasoning"),
    ("<think>\nwork\n</think>\n  ", "stop", "empty_answer"),
])
def test_format_reasons(text, finish, reason):
    verdict = create_verifier("format").verify(PROMPT, Completion("p", 0, text, finish))
    assert verdict.reason == reason
    assert verdict.accepted == (reason == "")


def test_format_without_required_think():
    verifier = create_verifier("format", {"require_think": False})
    assert verifier.verify(PROMPT, Completion("p", 0, "\\boxed{1}")).accepted
    assert verifier.verify(PROMPT, Completion("p", 0, "<think>x")).reason == "unclosed_think"


@pytest.mark.parametrize("think,text,reason", [
    ("required", "Paris is the capital of France.", "missing_think"),
    ("allowed", "Paris is the capital of France.", ""),
    ("allowed", "<think>\nThe capital of France.\n</think>\n\nParis.", ""),
    ("allowed", "<think>\nThe capital of France.", "unclosed_think"),
    ("allowed", "   ", "empty_answer"),
    ("forbidden", "Paris is the capital of France.", ""),
    ("forbidden", "<think>\nThe capital of France.\n</think>\n\nParis.", "think_forbidden"),
    ("forbidden", "Paris.</think>", "think_forbidden"),
])
def test_think_required_allowed_forbidden(think, text, reason):
    verdict = create_verifier("format", {"think": think}).verify(PROMPT, Completion("p", 0, text))
    assert verdict.reason == reason and verdict.accepted == (reason == "")


def test_think_setting_is_checked():
    with pytest.raises(ValueError, match=r"parameter 'think' must be a string from \['required', 'allowed', 'forbidden'\]"):
        create_verifier("format", {"think": "sometimes"})
