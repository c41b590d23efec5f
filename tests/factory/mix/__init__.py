"""Tests of factory/mix."""
