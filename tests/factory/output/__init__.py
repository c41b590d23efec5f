"""Tests of factory/output."""
