"""Benchmark of the language verifier: cost per ~4,000-character trace, and precision/recall on mixed traces.

    python -m factory.bench.language [--fixtures DIR ...] [--runs 7] [--seed 0]

Traces are built from the hand-written multilingual fixtures (tests/verifiers/fixtures/lang/*.txt, and the short
problems of tests/verifiers/fixtures/lang_short/*.txt: a dozen words in 15 Latin-script languages). Each prompt is
templated the way the recipes do it: the problem followed by the English instruction "Please reason step by step,
and put your final answer within \\boxed{}." Printed:

- the median milliseconds per trace of `LanguageVerifier.verify` and of langdetect run once (seeded) on the whole
  trace, on one core (the process is pinned to one CPU where the OS allows it), on traces whose reasoning is
  repeated to about 4,000 characters;
- precision and recall of rejection (`language_mixing` or `language_mismatch`) on a labelled set. Positives: sentences
  of another language's fixture inserted at random sentence boundaries until 10%, 15% or 30% of the letters are
  foreign, and traces with one foreign sentence (20 letters or more) inserted in the reasoning, in the fixture as
  written and in its 4,000-character form. Negatives: every clean trace (both lengths) under three prompt forms:
  the problem and its templated turn, the instruction baked into the problem text, and the templated turn alone.
  A near twin of the host language (Spanish and Portuguese, Dutch and Afrikaans, ...) is not used as a guest.

The share is measured here independently of the verifier: letters (`str.isalpha`) of the inserted sentences over
all letters of the trace's reasoning and answer, LaTeX included, so it slightly understates the share of prose.
The fixtures are also the tests' data, so these figures are not a held-out evaluation.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from verifiers.types import THINK_CLOSE, Completion, Prompt, split_think
from verifiers.registry import create_verifier

_FIXTURE_ROOT = Path(__file__).resolve().parents[2] / "tests" / "verifiers" / "fixtures"
DEFAULT_FIXTURES = _FIXTURE_ROOT / "lang"
SHORT_FIXTURES = _FIXTURE_ROOT / "lang_short"
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]+|[^.!?。！？\n]+$", re.M)


@dataclass(frozen=True)
class Fixture:
    language: str  # file stem: "en", "zh", "en_math", ...
    problem: str
    completion: str


def load_fixtures(directory: Path = DEFAULT_FIXTURES) -> list[Fixture]:
    """The `=== problem ===` / `=== completion ===` files of `directory`, sorted by name."""
    fixtures = []
    for path in sorted(directory.glob("*.txt")):
        head, completion = path.read_text(encoding="utf-8").split("=== completion ===\n", 1)
        fixtures.append(Fixture(path.stem, head.replace("=== problem ===\n", "").strip(), completion))
    return fixtures


def language_of(fixture: Fixture) -> str:
    return fixture.language.split("_")[0]


def near(a: str, b: str) -> bool:
    """Whether two languages are the same or near twins (too close for one sentence to tell: the verifier's list)."""
    from verifiers.language.scoring import TWINS

    return a == b or any(a in group and b in group for group in TWINS)


def templated(problem: str, form: str = "template", prompt_id: str = "p") -> Prompt:
    """The prompt as a recipe makes it ("template"), with the instruction baked into the problem text ("baked"),
    or with only the templated turn and no problem text ("turn")."""
    turn = f"{problem}\n{INSTRUCTION}"
    text = {"template": problem, "baked": turn, "turn": ""}[form]
    return Prompt(prompt_id, ({"role": "user", "content": turn},), text, None)


def prose_sentences(completion: str, min_letters: int = 12) -> list[str]:
    """Sentences of a completion's reasoning with at least `min_letters` letters (what a model would switch)."""
    reasoning = split_think(completion).reasoning
    found = (m.group(0).strip() for m in _SENTENCE.finditer(reasoning))
    return [s for s in found if sum(c.isalpha() for c in s) >= min_letters]


_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\$[^$]*\$|\\[A-Za-z]+", re.S)
_MATH_SPAN = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\$[^$]*\$", re.S)


def sentence_ends(text: str) -> list[int]:
    """Ends of the sentences of `text` that are not inside a formula (an insert there would be part of it)."""
    inside = [(m.start(), m.end()) for m in _MATH_SPAN.finditer(text)]
    ends = [m.end() for m in _SENTENCE.finditer(text)]
    return [e for e in ends if not any(a < e < b for a, b in inside)] or ends


def letters(text: str) -> int:
    """Letters of the prose, with the marks that Indic and Arabic words carry; LaTeX is not counted."""
    return sum(unicodedata.category(c)[0] in "LM" for c in _MATH.sub(" ", text))


def long_trace(completion: str, target_chars: int = 4000) -> str:
    """The completion with its reasoning paragraphs repeated until the whole is about `target_chars` long."""
    split = split_think(completion)
    paragraphs = [p for p in split.reasoning.split("\n\n") if p.strip()]
    body: list[str] = []
    while sum(len(p) + 2 for p in body) + len(split.answer) < target_chars:
        body.append(paragraphs[len(body) % len(paragraphs)])
    return f"<think>\n{chr(10).join(p + chr(10) for p in body)}{THINK_CLOSE}\n\n{split.answer}"


def mix(completion: str, guest: list[str], share: float, rng: random.Random, reach: bool) -> tuple[str, float]:
    """Insert consecutive `guest` sentences at random sentence ends of the reasoning.

    With `reach`, insert until the foreign share of letters is at least `share`; without, only while it stays
    at most `share`. Returns the new completion and its actual foreign share.
    """
    split = split_think(completion)
    total = letters(split.reasoning) + letters(split.answer)
    ends = sentence_ends(split.reasoning)
    inserts: list[tuple[int, str]] = []
    foreign, start = 0, rng.randrange(len(guest))
    for k in range(4 * len(guest) + 400):
        sentence = guest[(start + k) % len(guest)]
        new_share = (foreign + letters(sentence)) / (total + foreign + letters(sentence))
        if foreign / max(total + foreign, 1) >= share if reach else new_share > share:
            break
        inserts.append((rng.choice(ends), sentence))
        foreign += letters(sentence)
    reasoning = split.reasoning
    for position, sentence in sorted(inserts, key=lambda pair: -pair[0]):
        reasoning = f"{reasoning[:position]} {sentence}{reasoning[position:]}"
    text = f"<think>\n{reasoning}\n{THINK_CLOSE}\n\n{split.answer}"
    return text, foreign / max(total + foreign, 1)


def insert_sentence(completion: str, sentence: str, rng: random.Random) -> tuple[str, float]:
    """`sentence` inserted at one random sentence end of the reasoning; the new completion and its foreign share."""
    split = split_think(completion)
    ends = sentence_ends(split.reasoning)
    at = rng.choice(ends[:-1] or ends)
    reasoning = f"{split.reasoning[:at]} {sentence}{split.reasoning[at:]}"
    total = letters(split.reasoning) + letters(split.answer) + letters(sentence)
    return f"<think>\n{reasoning}\n{THINK_CLOSE}\n\n{split.answer}", letters(sentence) / total


Case = tuple[Fixture, Prompt, str, bool, float, str, str]  # host, prompt, text, mixed, share, guest, kind


def labelled_set(fixtures: list[Fixture], seed: int) -> list[Case]:
    """Mixed and clean cases for every host, guest and share (see the module docstring)."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for host in fixtures:
        prompt = templated(host.problem, prompt_id=host.language)
        for length in ("short", "long"):
            base = host.completion if length == "short" else long_trace(host.completion)
            for form in ("template", "baked", "turn"):
                cases.append((host, templated(host.problem, form, host.language), base, False, 0.0, "-", "clean"))
            for guest in fixtures:
                if near(language_of(guest), language_of(host)):
                    continue
                sentences = prose_sentences(guest.completion)
                for target in (0.10, 0.15, 0.3):
                    text, share = mix(base, sentences, target, rng, reach=True)
                    cases.append((host, prompt, text, True, share, guest.language, "share"))
                long_ones = prose_sentences(guest.completion, min_letters=20)
                if long_ones:
                    text, share = insert_sentence(base, rng.choice(long_ones), rng)
                    cases.append((host, prompt, text, True, share, guest.language, "one_sentence"))
    return cases


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def time_per_trace(fn, traces: list[tuple[Prompt, str]], runs: int) -> float:
    """Median over `runs` passes of the mean milliseconds per trace."""
    per_run = []
    for _ in range(runs):
        start = time.perf_counter()
        for prompt, text in traces:
            fn(prompt, text)
        per_run.append((time.perf_counter() - start) * 1000 / len(traces))
    return statistics.median(per_run)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, nargs="+", default=[DEFAULT_FIXTURES, SHORT_FIXTURES],
                        help="folders of fixture .txt files")
    parser.add_argument("--runs", type=int, default=7, help="timing passes over all traces (median reported)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mixing (which sentences, where)")
    args = parser.parse_args(argv)

    from verifiers.language import langdetect_whole_text

    print(pin_one_core(), f"| os.cpu_count()={os.cpu_count()}")
    fixtures = [f for folder in args.fixtures for f in load_fixtures(folder)]
    verifier = create_verifier("language")
    prompts = {f.language: templated(f.problem, prompt_id=f.language) for f in fixtures}
    langdetect_whole_text("warm up the profiles")
    verifier.verify(prompts[fixtures[0].language], Completion("p", 0, fixtures[0].completion))

    rng = random.Random(args.seed)
    traces = []
    for host in fixtures:
        guests = [g for g in fixtures if not near(language_of(g), language_of(host))]
        text = long_trace(host.completion)
        traces.append((prompts[host.language], text))
        traces.append((prompts[host.language], mix(text, prose_sentences(rng.choice(guests).completion), 0.1, rng, True)[0]))
    mean_chars = statistics.mean(len(t) for _, t in traces)
    ms_verifier = time_per_trace(lambda p, t: verifier.verify(p, Completion(p.prompt_id, 0, t)), traces, args.runs)
    ms_langdetect = time_per_trace(lambda p, t: langdetect_whole_text(t), traces, args.runs)
    print(f"{len(traces)} traces, mean {mean_chars:.0f} characters, {args.runs} runs, median ms per trace:")
    print(f"  LanguageVerifier.verify        {ms_verifier:7.2f} ms")
    print(f"  langdetect once on whole trace {ms_langdetect:7.2f} ms")

    outcomes = []
    for host, prompt, text, mixed, share, guest, kind in labelled_set(fixtures, args.seed):
        verdict = verifier.verify(prompt, Completion(prompt.prompt_id, 0, text))
        outcomes.append((mixed, not verdict.accepted, host.language, guest, share, kind, prompt, verdict))
    _report("all", outcomes)
    for kind in ("share", "one_sentence"):
        _report(f"{kind} mixes vs all clean", [o for o in outcomes if o[5] in (kind, "clean")])
    for mixed, rejected, host, guest, share, kind, prompt, verdict in outcomes:
        if mixed != rejected:
            what = "missed" if mixed else f"false alarm ({'problem' if prompt.problem else 'turn only'})"
            print(f"  {what}: host={host} guest={guest} kind={kind} share={share:.3f} -> {verdict.reason or 'accepted'}"
                  f" expected={verdict.details.get('expected')} other_share={verdict.details.get('other_share')}")


def _report(title: str, outcomes: list) -> None:
    tp = sum(m and r for m, r, *_ in outcomes)
    fp = sum(r and not m for m, r, *_ in outcomes)
    fn = sum(m and not r for m, r, *_ in outcomes)
    positives, negatives = sum(m for m, *_ in outcomes), sum(not m for m, *_ in outcomes)
    print(f"{title}: {positives} mixed, {negatives} clean")
    print(f"  precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  (tp={tp} fp={fp} fn={fn})")


if __name__ == "__main__":
    main()
