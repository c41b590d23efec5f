"""The datasets' own formats, read as their recipes read them: every shipped row of data/prompts/code-<format>.jsonl
(built from each format's public documentation and samples) loads through its recipe's columns, parses into the
expected test form with the dataset's limits, accepts the row's reference solution and rejects a wrong program."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest

from factory.prompts.sources import load_prompts
from factory.recipe import load_recipe
from tests.verifiers.code.code_helpers import completion, prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code.datafields import any_case_answers, decode_lcb_tests, megabytes, seconds
from verifiers.code.formats import parse_tests
from verifiers.code.testcases import MalformedTests

DATA = Path(__file__).resolve().parents[3] / "data" / "prompts"

# recipe -> (id column, how to get the reference solution from a raw row)
RECIPES = {
    "code-livecodebench": ("question_id", lambda r: r["solution"]),
    "code-apps": ("problem_id", lambda r: json.loads(r["solutions"])[0]),
    "code-taco": (None, lambda r: json.loads(r["solutions"])[0]),
    "code-codecontests": ("name", lambda r: r["solutions"]["solution"][0]),
    "code-codeforces": ("id", lambda r: r["solution"]),
    "code-synthetic1": ("problem_id", lambda r: r["gold_standard_solution"].strip("`\n").removeprefix("python\n")),
    "code-humaneval": ("task_id", lambda r: r["prompt"] + r["canonical_solution"]),
    "code-mbpp": ("task_id", lambda r: r["code"]),
    "code-mbpp-sanitized": ("task_id", lambda r: r["code"]),
    "code-kodcode": ("question_id", lambda r: r["solution"]),
}
WRONG = {"stdio": "print(42)", "function": "def nothing():\n    pass", "assert": "x = 1", "pytest": "x = 1"}


def _loaded(name: str):
    recipe = load_recipe(name)
    loaded = load_prompts(recipe.prompts, recipe.template)
    assert not loaded.skipped and len(loaded.prompts) >= 2, (name, loaded.skipped)
    raw = [json.loads(line) for line in (DATA / Path(recipe.prompts.path).name).read_text().splitlines()]
    id_column, reference = RECIPES[name]
    solutions = {str(r[id_column]) if id_column else f"row-{i:06d}": reference(r) for i, r in enumerate(raw, 1)}
    return recipe, loaded.prompts, solutions


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_rows_parse_in_their_own_format(name):
    recipe, prompts, _ = _loaded(name)
    params = next(v.params for v in recipe.verifiers if v.name == "code")
    CodeVerifier.check_params(**params)
    kinds = {parse_tests(p).kind for p in prompts}
    assert kinds <= {"stdio", "function", "assert", "pytest"} and kinds


def test_formats_carry_the_datasets_limits_checkers_and_options():
    _, cf, _ = _loaded("code-codeforces")
    suites = {p.prompt_id: parse_tests(p) for p in cf}
    assert suites["9000/A"].checker and suites["9000/A"].time_limit_s == 1.0 and suites["9000/A"].memory_mb == 256
    assert suites["9000/B"].comparison.case_insensitive and not suites["9000/D"].comparison.case_insensitive
    assert suites["9000/C"].files == ("input.txt", "output.txt") and suites["9000/C"].memory_mb == 64
    _, cc, _ = _loaded("code-codecontests")
    average = parse_tests(cc[0])
    assert len(average.cases) == 3 and average.time_limit_s == 1.0 and average.memory_mb == 244
    _, taco, _ = _loaded("code-taco")
    assert parse_tests(taco[0]).time_limit_s == 1.0 and parse_tests(taco[0]).memory_mb == 256
    assert parse_tests(taco[1]).unwrap and parse_tests(taco[1]).time_limit_s is None
    _, lcb, _ = _loaded("code-livecodebench")
    lcb_suites = [parse_tests(p) for p in lcb]
    assert [len(s.cases) for s in lcb_suites] == [3, 3, 3] and lcb_suites[2].fn_name == "twoSum"
    assert lcb_suites[0].comparison.mode == "lines" and "class ListNode" in lcb_suites[2].prelude


def test_interactive_without_interactor_and_unknown_format_are_unverifiable():
    tests = [{"input": "1\n", "output": "1\n"}]
    with pytest.raises(MalformedTests) as info:
        parse_tests(prompt(tests, interaction_format="Guess the number."))
    assert info.value.reason == "interactive_unsupported"
    cpp = "#include \"testlib.h\"\nint main() {}"
    testlib = parse_tests(prompt(tests, interaction_format="Guess.", interactor=cpp))
    assert testlib.interactor.startswith("#include")  # C++ against testlib.h: compiled when judged
    with pytest.raises(MalformedTests) as info:  # neither Python nor C++
        parse_tests(prompt(tests, interaction_format="Guess.", interactor="Ask at most 10 questions."))
    assert info.value.reason == "interactive_unsupported"
    python = parse_tests(prompt(tests, interaction_format="Guess.", interactor="import sys\nsys.exit(0)\n"))
    assert python.interactor.startswith("import sys")
    with pytest.raises(MalformedTests) as info:
        parse_tests(prompt(tests), "nonsense")
    assert info.value.reason == "unknown_test_type"


class _Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_lcb_private_tests_admit_only_plain_data():
    plain = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    encoded = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(plain)))).decode()
    assert decode_lcb_tests(encoded) == plain
    assert decode_lcb_tests(json.dumps(plain)) == plain
    hostile = base64.b64encode(zlib.compress(pickle.dumps(_Boom()))).decode()
    with pytest.raises(ValueError, match="refused global"):
        decode_lcb_tests(hostile)
    with pytest.raises(MalformedTests):
        parse_tests(prompt(json.dumps(plain), private_test_cases=hostile))


@pytest.mark.parametrize("value,want", [
    (2, 2.0), ("1 second", 1.0), ("2 seconds", 2.0), ("1.5 s", 1.5), ("500 ms", 0.5),
    ({"seconds": 2, "nanos": 500000000}, 2.5), (None, None), ("fast", None), (0, None), (True, None),
])
def test_time_limits_in_every_spelling(value, want):
    assert seconds(value) == want


def test_memory_limits_and_any_case_statements():
    assert megabytes("256 megabytes") == 256 and megabytes(256.0) == 256 and megabytes("1 GB") == 1024
    assert megabytes(None, 268435456) == 256 and megabytes("lots") is None
    assert any_case_answers("You can output the answer in any case (upper or lower).")
    assert any_case_answers('strings "yEs", "yes", "Yes" and "YES" will be recognized as a positive response')
    assert not any_case_answers("Print YES or NO.")


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(timeout_s=5.0, python_time_factor=2.0)) as v:
        yield v


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_reference_solutions_accepted_and_wrong_programs_rejected(verifier, name):
    _, prompts, solutions = _loaded(name)
    for p in prompts:
        kind = parse_tests(p).kind
        good, bad = verifier.verify_batch(p, [completion(solutions[p.prompt_id], 0, p.prompt_id),
                                              completion(WRONG[kind], 1, p.prompt_id)])
        assert good.status == "accepted", (name, p.prompt_id, good.reason, good.details)
        assert bad.status == "rejected", (name, p.prompt_id, bad.status, bad.reason)
