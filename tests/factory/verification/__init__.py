"""Tests of factory/verification."""
