# target: assert
# expect: wrong_output
# attack: return an object equal to everything, against an `assert candidate(x) == expected` test
class Anything:
    def __eq__(self, other):
        return True


def greet(w):
    return Anything()
