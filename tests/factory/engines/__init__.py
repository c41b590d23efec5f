"""Tests of factory/engines."""
