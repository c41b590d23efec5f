"""Tests of verifiers/math."""
