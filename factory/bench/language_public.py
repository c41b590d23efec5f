"""Short problems in 18 languages from public sources: does the language verifier expect the problem's language?

    python -m factory.bench.language_public [--split tuning|heldout|both] [--show N]

Material (tests/verifiers/fixtures/lang_public, see SOURCES.md there; none of it written here):
- MGSM (Shi et al. 2022, github.com/google-research/url-nlp/mgsm, CC BY-SA 4.0): the first 32 test problems in 11
  languages (bn de en es fr ja ru sw te th zh) and the 8 few-shot exemplars' step-by-step answers, human-written in
  each language. A short problem is a problem's last sentence (its question, 3 to 14 words), a longer one its last
  two sentences; traces are the exemplar answers and the opening sentences of other problems (prose with numbers).
- Tatoeba (sentence pairs of the Tatoeba Challenge test sets, github.com/Helsinki-NLP/Tatoeba-Challenge, CC BY 2.0):
  8 short questions or statements and 12 further sentences in each of it pt pl tr nl ko vi.
Items 0-15 of each MGSM language, exemplars 1-4 and the first half of each Tatoeba list are the tuning half; the rest
is held out (looked at only to report).

Each problem is followed by the math recipe's English instruction ("Please reason step by step, and put your final
answer within \\boxed{}."), as the recipes template it. For every problem, four kinds of trace:
- `same`: wholly in the problem's language -> must be accepted;
- `english`: wholly in English (for a non-English problem) -> must be rejected (the prompt's language is the
  problem's);
- `third`: wholly in another language, not a near twin of the problem's -> must be rejected;
- `mixed`: the problem's language with sentences of English or of a third language inserted (or, for an English
  problem, English with sentences of another language) -> must be rejected.
Precision and recall are those of rejection, as in `factory.bench.language`. `--compare-lingua` also measures how
often the problem's best language is right with our langdetect-profile scoring and with lingua (a short-text
detector with its models in the wheel; not a dependency). Held-out, one run: ours 271/278, lingua 274/278 in its
low-accuracy mode and 278/278 in its high-accuracy mode, which loads for 10-19 s and holds about 0.7-0.9 GB per
process (each verifier actor would hold its own). The verdicts already meet the target with langdetect, whose
misses are left to the "cannot decide" rule, so langdetect stays the only engine.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from verifiers.types import Completion, Prompt

PUBLIC = Path(__file__).resolve().parents[2] / "tests" / "verifiers" / "fixtures" / "lang_public"
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class Case:
    language: str  # the problem's language
    problem: str
    length: str  # "short" (one sentence) or "longer" (two)
    kind: str  # same | english | third | mixed
    trace: str
    reject: bool  # the right verdict
    guest: str = ""  # the other language of english/third/mixed traces
    source: str = ""


def _words(text: str) -> int:
    return len(text.split()) if " " in text.strip() else max(1, len(text) // 3)  # CJK: ~3 characters a word


def load_material(split: str) -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, list[str]]]:
    """(problems, trace texts) by language for one split ("tuning", "heldout"). A problem is (text, length, source)."""
    problems: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    traces: dict[str, list[str]] = defaultdict(list)
    for line in (PUBLIC / "mgsm.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] != split:
            continue
        lang = row["language"]
        if row["source"] == "mgsm_exemplar":
            traces[lang].append(row["answer"])
            continue
        sentences = row["sentences"]
        question = sentences[-1]
        if lang == "th":  # Thai writes no stops: the question is the last space-separated clauses
            question = " ".join(sentences[-2:])
        if 3 <= _words(question) <= 14:
            problems[lang].append((question, "short", "mgsm"))
        if len(sentences) >= 3:
            problems[lang].append((" ".join(sentences[-2:] if lang != "th" else sentences[-4:]), "longer", "mgsm"))
            traces[lang].append(" ".join(sentences[:3] if lang != "th" else sentences[:6]))
    rows: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for line in (PUBLIC / "tatoeba.tsv").read_text(encoding="utf-8").splitlines():
        lang, role, sentence = line.split("\t")
        rows[lang][role].append(sentence)
    for lang, roles in rows.items():
        half = len(roles["problem"]) // 2
        chosen = roles["problem"][:half] if split == "tuning" else roles["problem"][half:]
        problems[lang].extend((p, "short", "tatoeba") for p in chosen)
        sentences = roles["trace"][: len(roles["trace"]) // 2] if split == "tuning" else roles["trace"][len(roles["trace"]) // 2:]
        traces[lang].extend(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    return problems, traces


def completion(body: str) -> str:
    """The trace as a model writes it: reasoning in the think block, then the answer: a box (no words of its own,
    so every word of the completion is in the trace's language)."""
    return f"<think>\n{body}\n</think>\n\n$\\boxed{{42}}$"


def _near(a: str, b: str) -> bool:
    from verifiers.language.scoring import TWINS

    return a == b or any(a in group and b in group for group in TWINS)


def cases(split: str, seed: int = 0) -> list[Case]:
    problems, traces = load_material(split)
    rng = random.Random(seed)
    languages = sorted(traces)
    out: list[Case] = []
    for lang in sorted(problems):
        for problem, length, source in problems[lang]:
            own = rng.choice(traces[lang])
            out.append(Case(lang, problem, length, "same", completion(own), False, source=source))
            if lang != "en":
                out.append(Case(lang, problem, length, "english", completion(rng.choice(traces["en"])), True, "en", source))
            third = rng.choice([g for g in languages if g != "en" and not _near(g, lang)])
            out.append(Case(lang, problem, length, "third", completion(rng.choice(traces[third])), True, third, source))
            guest = "en" if lang != "en" and rng.random() < 0.5 else third
            out.append(Case(lang, problem, length, "mixed", completion(_mix(own, rng.choice(traces[guest]))), True,
                            guest, source))
    return out


def _mix(host: str, guest: str) -> str:
    """The host trace with the guest's sentences between its own: one line each, in the middle."""
    lines = [s for s in host.replace("。", "。\n").replace(". ", ".\n").split("\n") if s.strip()]
    middle = len(lines) // 2
    return "\n".join(lines[:middle] + [guest] + lines[middle:])


def prompt_for(case: Case) -> Prompt:
    return Prompt("p", ({"role": "user", "content": f"{case.problem}\n{INSTRUCTION}"},), case.problem, None)


def score(split: str, verifier=None, show: int = 0) -> dict[str, float]:
    """Precision and recall of rejection on one split; prints them by kind and the first `show` errors."""
    from verifiers.registry import create_verifier

    verifier = verifier or create_verifier("language")
    tally: Counter[str] = Counter()
    errors = []
    for case in cases(split):
        verdict = verifier.verify(prompt_for(case), Completion("p", 0, case.trace))
        rejected = not verdict.accepted
        key = ("tp" if rejected else "fn") if case.reject else ("fp" if rejected else "tn")
        tally[key] += 1
        tally[f"{case.kind}:{key}"] += 1
        tally[f"lang:{case.language}:{key}"] += 1
        if rejected != case.reject:
            errors.append((case, verdict))
    precision = tally["tp"] / max(tally["tp"] + tally["fp"], 1)
    recall = tally["tp"] / max(tally["tp"] + tally["fn"], 1)
    languages = sorted({k.split(":")[1] for k in tally if k.startswith("lang:")})
    total = sum(tally[k] for k in ("tp", "fp", "fn", "tn"))
    print(f"{split}: {total} cases, {len(languages)} languages ({' '.join(languages)})")
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (tp={tally['tp']} fp={tally['fp']} fn={tally['fn']} "
          f"tn={tally['tn']})")
    for kind in ("same", "english", "third", "mixed"):
        right = tally[f"{kind}:tn"] + tally[f"{kind}:tp"]
        print(f"  {kind:8s} {right}/{right + tally[f'{kind}:fp'] + tally[f'{kind}:fn']} right")
    for case, verdict in errors[:show]:
        print(f"  wrong: {case.language} {case.kind} guest={case.guest} {case.problem[:60]!r} -> "
              f"{verdict.reason or 'accepted'} expected={verdict.details.get('expected')} "
              f"from={verdict.details.get('expected_from')}")
    return {"precision": precision, "recall": recall}


def compare_problem_language(split: str) -> None:
    """How often the problem's best language is its own: our langdetect-profile scoring against lingua
    (`lingua-language-detector`, not a dependency: install it to compare), both restricted to langdetect's
    languages. Prints accuracy, lingua's load time and resident memory."""
    import resource
    import time

    from lingua import Language, LanguageDetectorBuilder  # type: ignore[import-not-found]

    from verifiers.language.expectation import prompt_languages
    from verifiers.language.scoring import known_languages
    from verifiers.registry import create_verifier

    thresholds = create_verifier("language").thresholds
    known = set(known_languages())
    languages = [lang for lang in Language.all() if lang.iso_code_639_1.name.lower() in known]
    for mode in ("low", "high"):
        started = time.perf_counter()
        builder = LanguageDetectorBuilder.from_languages(*languages)
        detector = (builder.with_low_accuracy_mode() if mode == "low" else builder).build()
        detector.detect_language_of("warm up")
        loaded = time.perf_counter() - started
        problems, _ = load_material(split)
        ours = theirs = total = 0
        for lang, items in problems.items():
            for text, _, _ in items:
                total += 1
                best = prompt_languages(text, thresholds)[:1]
                ours += best == (lang,) or lang in ("zh", "ja") and best in (("zh",), ("ja",))
                found = detector.detect_language_of(text)
                theirs += found is not None and found.iso_code_639_1.name.lower() == lang
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"{split} problems: langdetect profiles {ours}/{total}, lingua ({mode} accuracy) {theirs}/{total}; "
              f"lingua loaded in {loaded:.1f} s, peak RSS {rss} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tuning", "heldout", "both"), default="both")
    parser.add_argument("--show", type=int, default=0, help="print this many wrong verdicts")
    parser.add_argument("--compare-lingua", action="store_true",
                        help="also compare the problem-language decision with lingua (if installed)")
    args = parser.parse_args(argv)
    for split in ("tuning", "heldout") if args.split == "both" else (args.split,):
        score(split, show=args.show)
        if args.compare_lingua:
            compare_problem_language(split)


if __name__ == "__main__":
    main()
