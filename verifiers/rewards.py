"""The factory's verifiers as TRL reward functions: the same rules at generation time and at RL time.

Every reward here has TRL's `reward_funcs` signature, `reward(prompts, completions, **columns) -> list[float|None]`,
and works with `trl.GRPOTrainer` as is:

    from verifiers.rewards import format_reward, math_reward
    GRPOTrainer(model=..., reward_funcs=[format_reward, math_reward], train_dataset=ds, ...)  # ds: prompt, gold

A reward is 1.0 when the verifier accepts, 0.0 when it rejects (any reason, `timeout` included) and None when the
sample cannot be judged (`unverifiable`, e.g. a gold answer that does not parse): TRL turns None into NaN and leaves
that reward out for that sample, instead of teaching the model that a broken reference means a wrong answer.

- Completions may be plain strings or lists of messages (TRL's conversational form); a message's separate
  `reasoning_content` / `thinking` field, which TRL fills when the tokenizer has a response schema, is put back
  as the `<think>` block, so the format check sees the whole trace.
- Gold data comes from a dataset column: `gold`, else `answer` for math; `gold`, else `tests` for code (plus an
  optional `entry_point` column). A math or code reward over a dataset with none of them raises, naming the
  columns it saw. `problem`, when present, is the text the language verifier compares against; otherwise the
  last user turn of the prompt is.
- A chat template that opens `<think>` in the generation prompt (R1-distill, Qwen3) makes TRL pass the completion
  without its opening tag. `split_think` reads a text that starts inside the block as well-formed, so accept and
  reject come out right either way; `think_opened=True` (or a string prompt ending in `<think>`) also makes an
  unclosed block read as `unclosed_think`, with no answer to grade, instead of `missing_think`.
- Truncation: TRL does not pass a finish reason. With `eos_token_ids`, a completion whose last token id is not
  one of them is judged as `finish_reason="length"` (the format verifier rejects it as `truncated`).

Time and processes. Each reward builds its verifier once, on first use, and keeps it: the math verifier keeps one
warm child process for sympy, and every comparison in it is bounded in wall-clock time without SIGALRM (from any
thread, in TRL's accelerate or torchrun processes, in Ray workers). A call costs at most about `timeout_s` per
distinct extracted answer (at most 8 per completion), usually one fast-path comparison. Calls on one reward are
serialised by a lock (the verifiers are not written for concurrent use; the math child is serial anyway). After
a fork the child process belongs to the parent, so a reward used in a forked process builds its own verifier.
If the verifier raises (a bug), the reward raises: a training run should stop, not learn from a made-up zero.

An LLM judge beside these rules: `verifiers.judge_reward.JudgeReward(judge)` (the rule first, the judge on what
it cannot read), with a judge client the user builds.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any, Iterable, Mapping, Sequence

from verifiers.base import Verifier
from verifiers.registry import create_verifier
from verifiers.types import THINK_CLOSE, THINK_OPEN, Completion, Prompt, Verdict

# Where each family reads its gold data, first column present wins. Others need no gold.
GOLD_COLUMNS: dict[str, tuple[str, ...]] = {"math": ("gold", "answer"), "code": ("gold", "tests")}
# The module-level rewards use the math recipe's settings (recipes/math.yaml): boxed answers only, 5 s per sympy
# comparison; language and repetition at the verifiers' defaults, which the recipe spells out unchanged.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {"math": {"timeout_s": 5.0, "fallbacks": ()}}
# Keyword arguments TRL adds beside the dataset's columns: never gold, never listed in errors.
_TRL_KWARGS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"})
_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")
_counter = itertools.count()


class VerifierReward:
    """One registered verifier as a TRL reward function (`reward(prompts, completions, **columns)`).

    name / params: the registry name and the recipe's parameters for it (as in a recipe's `verifiers:` list).
    gold_columns: columns holding the gold data, first present wins (default: `GOLD_COLUMNS`, else none needed).
    think_opened: True when the chat template opens `<think>` in the generation prompt; "auto" (default) decides
        from string prompts that end in `<think>`; False never adds the tag.
    eos_token_ids: end-of-sequence ids; when given, a completion not ending in one is judged as truncated.
    reward_name: the name TRL logs it under (default `<name>_reward`).
    lazy: build the verifier on first call (default) or now, so bad parameters fail at once.
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None = None, *,
                 gold_columns: Sequence[str] | None = None, think_opened: bool | str = "auto",
                 eos_token_ids: Iterable[int] | None = None, reward_name: str | None = None,
                 lazy: bool = True) -> None:
        if think_opened not in (True, False, "auto"):
            raise ValueError("think_opened must be True, False or 'auto'")
        self.name = name
        self.params = dict(params or {})
        self.gold_columns = tuple(GOLD_COLUMNS.get(name, ()) if gold_columns is None else gold_columns)
        self.think_opened = think_opened
        self.eos_token_ids = frozenset(eos_token_ids) if eos_token_ids is not None else None
        self.__name__ = reward_name or f"{name}_reward"
        self._lock = threading.Lock()
        self._verifier: Verifier | None = None
        self._pid = os.getpid()
        if not lazy:
            self.verifier  # noqa: B018 - build now: unknown names or parameters raise here

    @property
    def verifier(self) -> Verifier:
        """The verifier, built once per process (a forked process must not share the parent's child)."""
        if self._verifier is None or self._pid != os.getpid():
            self._verifier, self._pid = create_verifier(self.name, self.params), os.getpid()
        return self._verifier

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
        verdicts = self.verdicts(prompts, completions, **columns)
        log_extra = columns.get("log_extra")
        if callable(log_extra):  # the reasons show in TRL's completions table
            log_extra(f"{self.__name__}_reason", [v.reason or v.status for v in verdicts])
        return [reward_of(v) for v in verdicts]

    def verdicts(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[Verdict]:
        """The verifier's verdicts for a TRL batch (what `__call__` turns into rewards)."""
        samples = to_samples(prompts, completions, columns, self.gold_columns, self.think_opened,
                             self.eos_token_ids, self.__name__)
        out: list[Verdict] = []
        with self._lock:
            verifier = self.verifier
            for prompt, group in _runs(samples):  # TRL repeats each prompt num_generations times in a row
                out.extend(verifier.verify_batch(prompt, group))
        return out

    def close(self) -> None:
        """Stop the verifier's child process, if any (it is also stopped when the reward is collected)."""
        with self._lock:
            if self._verifier is not None and self._pid == os.getpid():
                self._verifier.close()
            self._verifier = None

    def __getstate__(self) -> dict[str, Any]:  # pickled (e.g. to a worker): the verifier is rebuilt there
        state = dict(self.__dict__)
        state.update(_verifier=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __repr__(self) -> str:
        return f"VerifierReward({self.name!r}, {self.params!r})"


class ChainReward(VerifierReward):
    """The factory's acceptance rule as one reward: 1.0 when every verifier of the chain accepts, 0.0 when one
    rejects, None when none rejects but one could not judge. Costly verifiers (code) are skipped for samples a
    cheap one already rejected, as in the pipeline."""

    def __init__(self, specs: Sequence[Mapping[str, Any]], *, reward_name: str = "accepted_reward",
                 **options: Any) -> None:
        self.parts = [VerifierReward(s["name"], s.get("params"), lazy=False, **options) for s in specs]
        if not self.parts:
            raise ValueError("a verifier chain needs at least one verifier")
        gold = next((p.gold_columns for p in self.parts if p.gold_columns), ())
        super().__init__(self.parts[0].name, gold_columns=gold, reward_name=reward_name,
                         **{k: v for k, v in options.items() if k != "gold_columns"})

    def verdicts(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[Verdict]:
        per_sample: list[list[Verdict]] = [[] for _ in completions]
        for part in sorted(self.parts, key=lambda p: p.verifier.costly):
            todo = [i for i, vs in enumerate(per_sample) if not (part.verifier.costly and _rejected(vs))]
            if todo:
                pick = lambda seq: [seq[i] for i in todo] if _is_per_sample(seq, completions) else seq  # noqa: E731
                found = part.verdicts([prompts[i] for i in todo], [completions[i] for i in todo],
                                      **{k: pick(v) for k, v in columns.items()})
                for i, verdict in zip(todo, found):
                    per_sample[i].append(verdict)
        return [_combine(self.__name__, vs) for vs in per_sample]

    def close(self) -> None:
        for part in self.parts:
            part.close()


def reward_of(verdict: Verdict) -> float | None:
    """1.0 accepted, 0.0 rejected, None unverifiable or skipped (TRL leaves None out of the sum)."""
    if verdict.status == "accepted":
        return 1.0
    return 0.0 if verdict.status == "rejected" else None


def reward_funcs(specs: Sequence[Mapping[str, Any]], **options: Any) -> list[VerifierReward]:
    """One reward per verifier of a recipe's chain, in order: `specs` is a recipe's `verifiers:` list
    (`[{"name": "format"}, {"name": "math", "params": {...}}]`). Options go to every `VerifierReward`
    (`think_opened`, `eos_token_ids`). Built now, so an unknown name or parameter raises here."""
    return [VerifierReward(s["name"], s.get("params"), lazy=False, **options) for s in specs]


def chain_reward(specs: Sequence[Mapping[str, Any]], **options: Any) -> ChainReward:
    """The whole chain as one reward: 1.0 exactly when the factory would accept the sample (see `ChainReward`)."""
    return ChainReward(specs, **options)


# -- the shared default rewards ------------------------------------------------------------------------------

_defaults: dict[str, VerifierReward] = {}
_defaults_lock = threading.Lock()


def _default(name: str) -> VerifierReward:
    with _defaults_lock:
        if name not in _defaults:
            _defaults[name] = VerifierReward(name, DEFAULT_PARAMS.get(name))
        return _defaults[name]


def math_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
    """1.0 when the last `\\boxed{}` after `</think>` equals the `gold` (or `answer`) column, 0.0 when not or when
    the comparison timed out, None when the gold itself cannot be read. The math recipe's settings."""
    return _default("math")(prompts, completions, **columns)


def format_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
    """1.0 for one non-empty `<think>…</think>` block followed by a non-empty answer, else 0.0."""
    return _default("format")(prompts, completions, **columns)


def language_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
    """1.0 when reasoning and answer are in the prompt's language without mixing, else 0.0."""
    return _default("language")(prompts, completions, **columns)


def code_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
    """1.0 when the answer's last Python block passes the `gold` (or `tests`) column's tests in the sandbox; None
    when the tests cannot be run. The sandbox is checked on first use (it needs bubblewrap)."""
    return _default("code")(prompts, completions, **columns)


def close_default_rewards() -> None:
    """Stop the child processes of the module-level rewards (they also stop when the interpreter exits)."""
    with _defaults_lock:
        for reward in _defaults.values():
            reward.close()


# -- TRL batch -> samples ------------------------------------------------------------------------------------


def to_samples(prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Any],
               gold_columns: Sequence[str] = (), think_opened: bool | str = "auto",
               eos_token_ids: frozenset[int] | None = None, who: str = "reward") -> list[tuple[Prompt, Completion]]:
    """A TRL batch as (Prompt, Completion) pairs: the sample contract the verifiers judge."""
    if len(prompts) != len(completions):
        raise ValueError(f"{who}: {len(prompts)} prompts but {len(completions)} completions")
    golds = _gold_column(columns, gold_columns, len(completions), who)
    problems = columns.get("problem")
    entry_points = columns.get("entry_point")
    ids = columns.get("completion_ids")
    out = []
    for i, (raw_prompt, raw_completion) in enumerate(zip(prompts, completions)):
        messages = _prompt_messages(raw_prompt)
        problem = problems[i] if _is_per_sample(problems, completions) and isinstance(problems[i], str) else (
            _last_user_turn(messages))
        metadata = {"entry_point": entry_points[i]} if _is_per_sample(entry_points, completions) else {}
        prompt = Prompt(f"trl-{next(_counter)}", messages, problem, golds[i], "trl", metadata)
        opened = think_opened is True or (think_opened == "auto" and isinstance(raw_prompt, str)
                                          and raw_prompt.rstrip().endswith(THINK_OPEN))
        text = completion_text(raw_completion, opened)
        truncated = (eos_token_ids is not None and _is_per_sample(ids, completions) and len(ids[i]) > 0
                     and int(ids[i][-1]) not in eos_token_ids)
        n_tokens = len(ids[i]) if _is_per_sample(ids, completions) else 0
        out.append((prompt, Completion(prompt.prompt_id, 0, text, "length" if truncated else "stop", 0, n_tokens)))
    return out


def completion_text(completion: Any, think_opened: bool = False) -> str:
    """The whole assistant text of one TRL completion (a string or a list of messages), think block included."""
    if isinstance(completion, str):
        text = completion
    elif isinstance(completion, Mapping):
        text = _message_text(completion)
    elif isinstance(completion, Sequence):
        text = "".join(_message_text(m) for m in completion if not isinstance(m, Mapping)
                       or m.get("role", "assistant") == "assistant")
    else:
        raise TypeError(f"a completion is a string or a list of messages, not {type(completion).__name__}")
    if think_opened and not text.lstrip().startswith(THINK_OPEN):
        text = THINK_OPEN + "\n" + text  # the template wrote the opening tag; the trace is judged whole
    return text


def _message_text(message: Any) -> str:
    if isinstance(message, str):
        return message
    content = message.get("content") or ""
    if not isinstance(content, str):  # content parts: [{"type": "text", "text": ...}]
        content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    reasoning = next((message[f] for f in _REASONING_FIELDS if isinstance(message.get(f), str) and message[f]), "")
    if reasoning and THINK_CLOSE not in content:  # a response parser split the think block off
        return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n\n{content}"
    return content


def _prompt_messages(prompt: Any) -> tuple[dict[str, str], ...]:
    if isinstance(prompt, str):
        return ({"role": "user", "content": prompt},)
    return tuple({"role": str(m.get("role", "user")), "content": _message_text({"content": m.get("content")})}
                 for m in prompt if isinstance(m, Mapping))


def _last_user_turn(messages: tuple[dict[str, str], ...]) -> str:
    users = [m["content"] for m in messages if m["role"] == "user"]
    return users[-1] if users else (messages[-1]["content"] if messages else "")


def _gold_column(columns: Mapping[str, Any], names: Sequence[str], n: int, who: str) -> list[Any]:
    if not names:
        return [None] * n
    for name in names:
        if name in columns and columns[name] is not None:
            values = list(columns[name])
            if len(values) != n:
                raise ValueError(f"{who}: column '{name}' has {len(values)} values for {n} completions")
            return values
    seen = sorted(k for k in columns if k not in _TRL_KWARGS)
    raise KeyError(f"{who} needs the gold data in a column named {' or '.join(repr(c) for c in names)}; "
                   f"the dataset passed {seen or 'no columns'}")


def _is_per_sample(values: Any, completions: Sequence[Any]) -> bool:
    return isinstance(values, (list, tuple)) and len(values) == len(completions)


def _runs(samples: list[tuple[Prompt, Completion]]):
    """Consecutive samples sharing prompt and gold, as (prompt, completions): one `verify_batch` each."""
    group: list[Completion] = []
    head: Prompt | None = None
    for prompt, completion in samples:
        if head is not None and (prompt.messages, prompt.problem, prompt.gold) == (head.messages, head.problem,
                                                                                   head.gold):
            group.append(completion)
            continue
        if head is not None:
            yield head, group
        head, group = prompt, [completion]
    if head is not None:
        yield head, group


def _rejected(verdicts: list[Verdict]) -> bool:
    return any(v.status == "rejected" for v in verdicts)


def _combine(name: str, verdicts: list[Verdict]) -> Verdict:
    rejected = [v for v in verdicts if v.status == "rejected"]
    if rejected:
        return Verdict.reject(name, f"{rejected[0].name}:{rejected[0].reason}")
    unjudged = [v for v in verdicts if v.status == "unverifiable"]
    if unjudged:
        return Verdict.unverifiable(name, f"{unjudged[0].name}:{unjudged[0].reason}")
    return Verdict.accept(name)
