"""Tests of factory/recipe."""
