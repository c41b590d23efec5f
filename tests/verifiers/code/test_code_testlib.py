"""C++ testlib checkers and interactors, judged as Codeforces/Polygon judge: testlib's own standard checkers and its
A+B interactor (copied unmodified into testlib_data/, MIT, see its README.md) on cases in both directions, testlib's
own reference verdicts (tests/test-002), the compile cache, FAIL as the problem's fault, and open-r1 codeforces rows
whose checker or interactor is C++ through the real CodeVerifier and sandbox."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.verifiers.code.code_helpers import TEST_SANDBOX_UID, prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code import testlib
from verifiers.code.checker import judge_output
from verifiers.code.formats import parse_tests
from verifiers.code.sandbox import Sandbox
from verifiers.code.testcases import MalformedTests, is_cpp
from verifiers.code.toolchain import compile_cpp
from verifiers.types import Completion

DATA = Path(__file__).with_name("testlib_data")
CASES = json.loads((DATA / "cases.json").read_text())["cases"]
EXIT_TO_STATUS = {0: "passed", 1: "checker_rejected", 2: "checker_rejected", 3: "checker_error"}


def source(name: str) -> str:
    folder = "interactors" if name.startswith("inter") else "checkers"
    return (DATA / folder / f"{name}.cpp").read_text()


@pytest.fixture(scope="module", autouse=True)
def checker_cache(pytestconfig, tmp_path_factory):
    """Compiled checkers persist in pytest's cache folder between runs (each is 4 CPU seconds to build); in a
    fresh folder of this session when the cache plugin is off (`-p no:cacheprovider`)."""
    before = os.environ.get("R1_FACTORY_CHECKER_CACHE")
    cache = getattr(pytestconfig, "cache", None)
    folder = cache.mkdir("testlib-checkers") if cache is not None else tmp_path_factory.mktemp("testlib-checkers")
    os.environ["R1_FACTORY_CHECKER_CACHE"] = str(folder)
    yield
    if before is None:
        os.environ.pop("R1_FACTORY_CHECKER_CACHE", None)
    else:
        os.environ["R1_FACTORY_CHECKER_CACHE"] = before


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(**({"sandbox_uid": TEST_SANDBOX_UID} if os.geteuid() == 0 else {}))
    yield box
    box.kill_all()


def _judge(sandbox, case: dict) -> tuple[str, str, str, str]:
    """(expected status, expected message or "", got status, got message) of one evaluation case."""
    if "ref" in case:  # testlib's own test: its exit code and its checker's exact message
        text = {k: (DATA / "refs" / case[f"{k}_file"]).read_bytes() for k in ("input", "output", "answer")}
        expected = EXIT_TO_STATUS[int((DATA / "refs" / f"{case['ref']}.exit_code").read_text())]
        message = (DATA / "refs" / f"{case['ref']}.stderr").read_text().strip()
    else:
        text = {k: case[k].encode() for k in ("input", "output", "answer")}
        expected, message = case["expect"], ""
    got, why = judge_output(sandbox, source(case["checker"]), text["input"].decode(), text["answer"].decode(),
                            text["output"])
    return expected, message, got, why


@pytest.mark.parametrize("split", ["tuning", "heldout"])
def test_testlib_standard_checkers_judge_as_testlib_does(sandbox, split):
    cases = [c for c in CASES if c["split"] == split]
    wrong = []
    for case in cases:
        expected, message, got, why = _judge(sandbox, case)
        if got != expected or (message and got != "passed" and why != message):  # an accept keeps no message
            wrong.append((case["id"], case["what"], expected, got, why))
    agree = len(cases) - len(wrong)
    print(f"\n{split}: {agree}/{len(cases)} verdicts agree with testlib's")
    assert not wrong, wrong
    assert {c["checker"] for c in cases} >= {"wcmp", "ncmp", "rcmp6", "yesno", "fcmp", "hcmp"}


def test_the_language_of_a_judge():
    assert is_cpp(source("wcmp")) and is_cpp("#include <bits/stdc++.h>\nint main() { return 0; }\n")
    assert not is_cpp("# include <stdio.h> is only a comment here\nimport sys\nprint(1)\n")
    assert not is_cpp("print('int main() {')\n")
    with pytest.raises(MalformedTests) as info:  # neither Python nor C++
        parse_tests(prompt({"type": "stdio", "checker": "if x = 1 { fail }", "cases": [{"input": "", "output": ""}]}))
    assert info.value.reason == "checker_syntax_error"


def test_compiled_once_per_source_and_cached_on_disk(tmp_path, monkeypatch, sandbox):
    monkeypatch.setenv("R1_FACTORY_CHECKER_CACHE", str(tmp_path))
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return compile_cpp(*args, **kwargs)

    monkeypatch.setattr(testlib, "compile_cpp", counting)
    monkeypatch.setattr(testlib, "CACHE", testlib._Cache())
    code = source("icmp")
    results = []
    threads = [threading.Thread(target=lambda: results.append(testlib.compiled(sandbox, code))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and all(r[0] and r == results[0] for r in results)  # three workers, one compilation
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"{testlib.cache_key(code)}.bin"]  # the renamed binary, no temporary file left behind
    testlib.CACHE.forget()  # a new process: the binary comes from disk
    assert testlib.compiled(sandbox, code)[0] == results[0][0] and len(calls) == 1
    assert testlib.cache_key(code) != testlib.cache_key(code + "\n// another checker\n")
    broken, messages = testlib.compiled(sandbox, "#include \"testlib.h\"\nint main() { undefined_call(); }\n")
    assert broken is None and "undefined_call" in messages


def _cpp(code: str, index: int = 0) -> Completion:
    return Completion("p", index, f"<think>\nok\n</think>\n\n```cpp\n{code}\n```\n")


def _py(code: str, index: int = 0) -> Completion:
    return Completion("p", index, f"<think>\nok\n</think>\n\n```python\n{code}\n```\n")


SPLIT_CHECKER = r"""#include "testlib.h"
int main(int argc, char* argv[]) {
    registerTestlibCmd(argc, argv);
    int n = inf.readInt();
    ans.readInt(); ans.readInt();  // the jury's answer must be readable (else FAIL)
    int a = ouf.readInt(1, n, "a"), b = ouf.readInt(1, n, "b");
    if (a + b != n) quitf(_wa, "%d + %d != %d", a, b, n);
    quitf(_ok, "n = %d", n);
}
"""
SPLIT_ROW = {"id": "9100/A", "contest_id": "9100", "index": "A", "title": "Split", "time_limit": 1.0,
             "memory_limit": 256.0, "description": "Given n >= 2 print positive a and b with a + b = n; any answer.",
             "input_format": "One integer n.", "output_format": "Two integers.", "interaction_format": None,
             "examples": [{"input": "5\n", "output": "1 4\n"}], "input_mode": "stdio",
             "official_tests": [{"input": "5\n", "output": "1 4\n"}, {"input": "2\n", "output": "1 1\n"},
                                {"input": "1000\n", "output": "500 500\n"}],
             "official_tests_complete": True, "generated_checker": SPLIT_CHECKER}


def _row_prompt(row: dict):
    meta = {k: v for k, v in row.items() if k not in ("official_tests", "description")}
    return prompt(row["official_tests"], problem=row["description"], **meta)


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(languages=("python", "cpp"), tests_format="codeforces")) as v:
        yield v


def test_a_codeforces_row_with_a_testlib_checker_through_the_verifier(verifier):
    right_cpp = "#include <cstdio>\nint main() { int n; scanf(\"%d\", &n); printf(\"%d 1\\n\", n - 1); }"
    wrong_cpp = "#include <cstdio>\nint main() { int n; scanf(\"%d\", &n); printf(\"%d %d\\n\", n, 1); }"
    verdicts = verifier.verify_batch(_row_prompt(SPLIT_ROW), [
        _cpp(right_cpp, 0), _cpp(wrong_cpp, 1), _py("n = int(input())\nprint(1, n - 1)", 2),
        _py("n = int(input())\nprint(0, n)", 3), _py("print('one four')", 4)])
    assert [v.status for v in verdicts] == ["accepted", "rejected", "accepted", "rejected", "rejected"]
    assert verdicts[1].reason == "checker_rejected" and "!= 5" in verdicts[1].details["tests"][0]["message"]
    assert verdicts[3].reason == "checker_rejected" and "a" in verdicts[3].details["tests"][0]["message"]
    assert verdicts[4].reason == "checker_rejected"  # PE: not an integer
    assert verdicts[0].details["language"] == "cpp" and verdicts[2].details["language"] == "python"


def test_a_broken_checker_is_the_problems_fault_never_a_rejection(verifier):
    right = _py("n = int(input())\nprint(1, n - 1)")
    bad_answer = {**SPLIT_ROW, "official_tests": [{"input": "5\n", "output": "one four\n"}]}  # FAIL reading ans
    failed = verifier.verify(_row_prompt(bad_answer), right)
    assert (failed.status, failed.reason) == ("unverifiable", "checker_error")
    assert "FAIL" in failed.details["tests"][0]["message"]
    no_build = {**SPLIT_ROW, "generated_checker": SPLIT_CHECKER.replace("quitf(_ok", "quitf(_okay")}
    broken = verifier.verify(_row_prompt(no_build), right)
    assert (broken.status, broken.reason) == ("unverifiable", "checker_error") and "_okay" in broken.details["message"]
    python_checker = {**SPLIT_ROW, "generated_checker": "import sys\nraise SystemExit(3)\n"}  # Python: unchanged
    assert verifier.verify(_row_prompt(python_checker), right).reason == "checker_rejected"


AB_ROW = {**SPLIT_ROW, "id": "9100/B", "title": "A+B, interactively", "generated_checker": source("ncmp"),
          "interaction_format": "The interactor sends pairs; print each sum and flush.",
          "interactor": source("interactor-a-plus-b"),
          "official_tests": [{"input": (DATA / "refs/test-006/input.01").read_text(), "output": "3\n7\n-2\n"},
                             {"input": "2\n100 -1\n0 0\n", "output": "99\n0\n"}]}


def test_a_testlib_interactor_and_its_output_file_judged_by_the_checker(verifier):
    suite = parse_tests(_row_prompt(AB_ROW), "codeforces")
    assert is_cpp(suite.interactor) and is_cpp(suite.checker)
    participant = (DATA / "refs/test-006/participant.01").read_text()  # testlib's test: 5 6 7, accepted by the
    verdicts = verifier.verify_batch(_row_prompt(AB_ROW), [  # interactor, wrong for the checker
        _cpp((DATA / "interactors/interactive-a-plus-b.cpp").read_text(), 0),
        _py("import sys\nfor line in sys.stdin:\n    a, b = map(int, line.split())\n    print(a + b, flush=True)", 1),
        _py(f"print({participant!r}, flush=True)", 2),
        _py("a, b = map(int, input().split())\nprint(a + b, flush=True)", 3)])
    assert [v.status for v in verdicts] == ["accepted", "accepted", "rejected", "rejected"]
    assert verdicts[2].reason == "checker_rejected" and "expected: '3', found: '5'" in \
        verdicts[2].details["tests"][0]["message"]
    assert verdicts[3].reason == "wrong_output"  # stopped after one query: the interactor's unexpected EOF (PE)
    broken_input = {**AB_ROW, "official_tests": [{"input": "x\n", "output": "0\n"}]}
    failed = verifier.verify(_row_prompt(broken_input), _py("print(0)"))
    assert (failed.status, failed.reason) == ("unverifiable", "checker_error") and "interactor" in \
        failed.details["tests"][0]["message"]


def test_the_candidate_never_sees_the_checker_or_the_answer(verifier):
    """The candidate's sandbox holds its own program only; the checker's (answer, binary) is another sandbox."""
    row = {**SPLIT_ROW, "generated_checker": source("wcmp"),
           "official_tests": [{"input": "5\n", "output": "main.py\n"}]}
    look = "import os\nprint(*sorted(os.listdir('.')))\nprint(*[p for p in ('answer.txt', 'output.txt', 'main') " \
           "if os.path.exists('/tmp/' + p)])"
    assert verifier.verify(_row_prompt(row), _py(look)).accepted
    garbage = "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 4000)"  # hostile bytes for the checker
    flooded = verifier.verify(_row_prompt(SPLIT_ROW), _py(garbage))
    assert (flooded.status, flooded.reason) == ("rejected", "checker_rejected")
