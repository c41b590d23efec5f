# target: assert
# expect: wrong_output
# attack: define its own `check` and `candidate`, hoping the harness runs those instead of the real test
def check(candidate):
    return True


candidate = lambda *a: True


def greet(w):
    return "wrong"
