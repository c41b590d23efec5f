"""Tests of factory/prompts."""
