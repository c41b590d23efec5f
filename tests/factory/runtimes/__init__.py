"""Tests of factory/runtimes."""
