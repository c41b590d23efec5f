"""A wheel built from the checkout and installed outside it finds the shipped recipes and data from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(build), str(PROJECT_ROOT)], check=True, capture_output=True, text=True)
    wheel = next(build.glob("*.whl"))
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:  # what `pip install` unpacks, without touching the test venv
        archive.extractall(target)
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # The installed copy comes first on the path, and the working folder is far from the checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import sys, factory; assert factory.__file__.startswith(sys.argv[1]), factory.__file__; "
            "from factory.cli import main; sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, str(site), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_installed_wheel_lists_and_shows_the_shipped_recipes(installed_wheel, tmp_path):
    listing = run_installed(installed_wheel, tmp_path, "recipes")
    assert listing.returncode == 0, listing.stderr
    for name in ("math", "tiny", "code"):
        assert any(line.startswith(name + " ") for line in listing.stdout.splitlines()), listing.stdout
    shown = run_installed(installed_wheel, tmp_path, "recipes", "show", "tiny")
    assert shown.returncode == 0, shown.stderr
    assert str(installed_wheel / "factory" / "recipes" / "tiny.yaml") in shown.stdout
    assert "data/models/tiny-r1" in shown.stdout


def test_installed_wheel_carries_the_tiny_teacher_and_prompts(installed_wheel, tmp_path):
    code = ("from factory.paths import resolve_data_path, resolve_model; "
            "print(resolve_model('data/models/tiny-r1')); print(resolve_data_path('data/prompts/arith-test.jsonl'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(installed_wheel)}).stdout.split()
    assert out[0].startswith(str(installed_wheel)) and (Path(out[0]) / "model.safetensors").is_file()
    assert out[1].startswith(str(installed_wheel)) and Path(out[1]).is_file()


def test_a_users_recipe_extends_a_shipped_one_from_any_folder(installed_wheel, tmp_path):
    (tmp_path / "mine.yaml").write_text("name: mine\nextends: tiny\ngeneration: {n: 2}\n")
    shown = run_installed(installed_wheel, tmp_path, "recipes", "show", "mine.yaml")
    assert shown.returncode == 0, shown.stderr
    assert "n: 2" in shown.stdout and "temperature: 1.0" in shown.stdout
