"""Shared by the language verifier's tests: one verifier with the default parameters (it holds no state)."""

from __future__ import annotations

import pytest

from verifiers.language import LanguageVerifier


@pytest.fixture(scope="session")
def verifier() -> LanguageVerifier:
    return LanguageVerifier()
