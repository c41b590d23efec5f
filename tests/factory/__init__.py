"""Tests of the factory package, folders mirroring factory/."""
