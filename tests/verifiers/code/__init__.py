"""Tests of verifiers/code."""
