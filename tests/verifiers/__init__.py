"""Tests of the verifiers package, folders mirroring verifiers/."""
