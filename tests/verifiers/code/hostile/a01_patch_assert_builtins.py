# target: assert
# expect: wrong_output|runtime_error
# attack: monkeypatch AssertionError and builtins so failed asserts look like passes
import builtins


class NotAnError(BaseException):
    pass


builtins.AssertionError = NotAnError
builtins.isinstance = lambda *a: True
builtins.len = lambda *a: 0


def greet(w):
    return "wrong"
