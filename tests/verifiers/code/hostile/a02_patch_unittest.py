# target: assert
# expect: wrong_output
# attack: neuter unittest's and pytest-style assertion helpers
import unittest
for name in dir(unittest.TestCase):
    if name.startswith("assert"):
        setattr(unittest.TestCase, name, lambda *a, **k: None)


def greet(w):
    return "wrong"
