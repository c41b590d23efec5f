"""Tests of verifiers/language."""
