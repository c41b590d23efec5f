"""Benchmark of the language verifier: cost per ~4,000-character trace, and precision/recall on mixed traces.

    python -m factory.bench.language [--fixtures DIR] [--runs 7] [--seed 0]

Traces are built from the hand-written multilingual fixtures (tests/verifiers/fixtures/lang/*.txt): each host
trace's reasoning is repeated to about 4,000 characters, then sentences of another language's fixture are inserted
at random sentence boundaries until a target share of the letters is foreign. Printed:

- the median milliseconds per trace of `LanguageVerifier.verify` and of langdetect run once (seeded) on the whole
  trace, on one core (the process is pinned to one CPU where the OS allows it);
- precision and recall of rejection (`language_mixing` or `language_mismatch`) on a labelled set: positives carry
  10% or more foreign letters, negatives none or at most 4%.

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

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "verifiers" / "fixtures" / "lang"
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


def prose_sentences(completion: str, min_letters: int = 12) -> list[str]:
    """Sentences of a completion's reasoning with at least `min_letters` letters (what a model would switch)."""
    reasoning = split_think(completion).reasoning
    found = (m.group(0).strip() for m in _SENTENCE.finditer(reasoning))
    return [s for s in found if sum(c.isalpha() for c in s) >= min_letters]


_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\$[^$]*\$|\\[A-Za-z]+", re.S)


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
    ends = [m.end() for m in _SENTENCE.finditer(split.reasoning)]
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


def labelled_set(fixtures: list[Fixture], seed: int) -> list[tuple[Fixture, str, bool, float, str]]:
    """(host fixture, completion, is_mixed, foreign share, guest language) for every host/guest pair and share."""
    rng = random.Random(seed)
    cases = []
    for host in fixtures:
        for length in ("short", "long"):
            base = host.completion if length == "short" else long_trace(host.completion)
            cases.append((host, base, False, 0.0, "-"))
            for guest in fixtures:
                if language_of(guest) == language_of(host):
                    continue
                sentences = prose_sentences(guest.completion)
                for target in (0.10, 0.15, 0.3):
                    text, share = mix(base, sentences, target, rng, reach=True)
                    cases.append((host, text, True, share, guest.language))
                if length == "long":
                    text, share = mix(base, sentences, 0.04, rng, reach=False)
                    cases.append((host, text, False, share, guest.language))
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
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="folder of fixture .txt files")
    parser.add_argument("--runs", type=int, default=7, help="timing passes over all traces (median reported)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mixing (which sentences, where)")
    args = parser.parse_args(argv)

    from verifiers.language import langdetect_whole_text

    print(pin_one_core(), f"| os.cpu_count()={os.cpu_count()}")
    fixtures = load_fixtures(args.fixtures)
    verifier = create_verifier("language")
    prompts = {f.language: Prompt(f.language, (), f.problem, None) for f in fixtures}
    langdetect_whole_text("warm up the profiles")
    verifier.verify(prompts["en"], Completion("en", 0, fixtures[0].completion))

    rng = random.Random(args.seed)
    traces = []
    for host in fixtures:
        guests = [g for g in fixtures if language_of(g) != language_of(host)]
        text = long_trace(host.completion)
        traces.append((prompts[host.language], text))
        traces.append((prompts[host.language], mix(text, prose_sentences(rng.choice(guests).completion), 0.1, rng, True)[0]))
    mean_chars = statistics.mean(len(t) for _, t in traces)
    ms_verifier = time_per_trace(lambda p, t: verifier.verify(p, Completion(p.prompt_id, 0, t)), traces, args.runs)
    ms_langdetect = time_per_trace(lambda p, t: langdetect_whole_text(t), traces, args.runs)
    print(f"{len(traces)} traces, mean {mean_chars:.0f} characters, {args.runs} runs, median ms per trace:")
    print(f"  LanguageVerifier.verify        {ms_verifier:7.2f} ms")
    print(f"  langdetect once on whole trace {ms_langdetect:7.2f} ms")

    cases = labelled_set(fixtures, args.seed)
    outcomes = []
    for host, text, mixed, share, guest in cases:
        verdict = verifier.verify(prompts[host.language], Completion(host.language, 0, text))
        outcomes.append((mixed, not verdict.accepted, host.language, guest, share, verdict))
    tp = sum(m and r for m, r, *_ in outcomes)
    fp = sum(r and not m for m, r, *_ in outcomes)
    fn = sum(m and not r for m, r, *_ in outcomes)
    positives, negatives = sum(m for m, *_ in outcomes), sum(not m for m, *_ in outcomes)
    print(f"labelled set: {positives} mixed (share >= 10%), {negatives} clean (share <= 4%)")
    print(f"  precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  (tp={tp} fp={fp} fn={fn})")
    for mixed, rejected, host, guest, share, verdict in outcomes:
        if mixed != rejected:
            kind = "missed" if mixed else "false alarm"
            print(f"  {kind}: host={host} guest={guest} share={share:.3f} -> {verdict.reason or 'accepted'}"
                  f" other_share={verdict.details.get('other_share')}")


if __name__ == "__main__":
    main()
