"""Recipes that cannot be used are refused when they load, through the real CLI: exit 2, the recipe file and the key
named, nothing started. Verifier parameters (every family, one checker) and recipe files that are hostile or broken:
an alias bomb, duplicate keys, an empty file, a null section, a file that is not UTF-8, an endless `extends` chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def factory(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "factory.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd)


def refused(recipe: Path, *args: str) -> str:
    """Run `factory verify` with `recipe` on a one-row input; assert it is refused at load, return the message."""
    rows = recipe.parent / "rows.jsonl"
    rows.write_text('{"id": "a", "problem": "1+1?", "answer": "2", "completion": "<think>x</think> 2"}\n')
    proc = factory("verify", "--recipe", str(recipe), "--input", str(rows), "--out", str(recipe.parent / "out"),
                   *args, cwd=recipe.parent)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert not (recipe.parent / "out").exists()
    return proc.stderr


BAD_PARAMS = [  # (verifier, params, words the message must hold)
    ("format", "{require_think: 'no'}", ["require_think", "true or false"]),
    ("format", "{alow_truncated: true}", ["alow_truncated", "did you mean 'allow_truncated'"]),
    ("repetition", "{max_line_repeats: 0}", ["max_line_repeats", "[1, "]),
    ("repetition", "{max_period_words: 10000}", ["max_period_words", "64"]),
    ("repetition", "{min_word_repeats: ten}", ["min_word_repeats", "an integer"]),
    ("paragraph_length", "{max_paragraph_chars: -5}", ["max_paragraph_chars"]),
    ("paragraph_length", "{max_chars: .inf}", ["max_chars"]),
    ("code_in_answer", "{allowed_languages: python}", ["allowed_languages", "a list of strings"]),
    ("code_in_answer", "{max_code_line: 3}", ["did you mean 'max_code_lines'"]),
    ("trivial_reasoning", "{min_reasoning_chars: 1.5}", ["min_reasoning_chars", "an integer"]),
    ("final_summary", "{min_summary_tokens: true}", ["min_summary_tokens"]),
    ("math", "{timeout: 3}", ["did you mean 'timeout_s'"]),
    ("code", "{timeout: 3}", ["did you mean 'timeout_s'"]),
]


@pytest.mark.parametrize("name, params, words", BAD_PARAMS, ids=[f"{n}-{p}" for n, p, _ in BAD_PARAMS])
def test_bad_verifier_parameters_are_refused_at_load_naming_file_and_key(tmp_path, name, params, words):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(f"extends: tiny\nverifiers:\n  - name: {name}\n    params: {params}\n")
    message = refused(recipe)
    assert str(recipe) in message and "verifiers[0]" in message
    for word in words:
        assert word in message, message


def laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghijk"[:levels - 1]:
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text + f"extends: tiny\ndescription: *{previous}\n"


BAD_FILES = {  # name -> (file bytes, words the message must hold)
    "alias_bomb": (laughs().encode(), ["aliases expand"]),
    "duplicate_key": (b"extends: tiny\ngeneration:\n  n: 2\ngeneration:\n  n: 3\n",
                      ["'generation' is given twice", "lines 2 and 4"]),
    "duplicate_inner_key": (b"extends: tiny\ngeneration: {n: 2, n: 3}\n", ["'n' is given twice"]),
    "empty": (b"", ["is empty"]),
    "comments_only": (b"# nothing here\n", ["is empty"]),
    "null_section": (b"extends: tiny\ngeneration: ~\n", ["'generation'", "null"]),
    "not_utf8": (b"extends: tiny\ndescription: caf\xe9\n", ["not UTF-8"]),
    "deep_nesting": (b"extends: tiny\ndescription: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["nested too deeply"]),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_recipe_file_that_cannot_be_a_recipe_is_refused_fast(tmp_path, name):
    content, words = BAD_FILES[name]
    recipe = tmp_path / "bad.yaml"
    recipe.write_bytes(content)
    message = refused(recipe)
    assert str(recipe) in message
    for word in words:
        assert word in message, message


def test_an_endless_extends_chain_is_refused_naming_the_first_file(tmp_path):
    for i in range(2000):
        (tmp_path / f"r{i}.yaml").write_text(f"extends: r{i + 1}.yaml\n" if i < 1999 else "extends: tiny\n")
    message = refused(tmp_path / "r0.yaml")
    assert str(tmp_path / "r0.yaml") in message and "chain of more than" in message


def test_a_null_section_on_the_command_line_is_refused(tmp_path):
    recipe = tmp_path / "ok.yaml"
    recipe.write_text("extends: tiny\n")
    message = refused(recipe, "--set", "generation=null")
    assert "'generation'" in message and "null" in message


def test_a_good_recipe_with_every_filter_tuned_still_loads(tmp_path):
    recipe = tmp_path / "ok.yaml"
    recipe.write_text("extends: tiny\nverifiers:\n  - name: format\n    params: {allow_truncated: false}\n"
                      "  - name: repetition\n    params: {max_line_repeats: 5, max_chars: 50000}\n"
                      "  - name: code_in_answer\n    params: {allowed_languages: [text]}\n"
                      "  - name: final_summary\n    params: {min_summary_tokens: 0}\n")
    proc = factory("recipes", "show", str(recipe), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "max_line_repeats: 5" in proc.stdout


def test_the_new_limit_keys_leave_shipped_fingerprints_as_they_were():
    from factory.recipe import list_recipes, load_recipe

    # math and deepseek-api read Hub datasets, so their fingerprints do not depend on the checkout's path
    pinned = {"math": "9bc95a45a0ce7649", "deepseek-api": "b142d111f813bc23"}
    for name in list_recipes():
        recipe = load_recipe(name)
        settings = recipe.fingerprinted()
        assert "max_completion_chars" not in settings["selection"]
        assert "max_row_bytes" not in settings["prompts"] and "max_row_depth" not in settings["prompts"]
        if name in pinned:
            assert recipe.fingerprint() == pinned[name], name
        changed = load_recipe(name, ["selection.max_completion_chars=5000", "prompts.max_row_depth=8"])
        assert changed.fingerprint() != recipe.fingerprint()  # a limit that decides rows is part of the identity
