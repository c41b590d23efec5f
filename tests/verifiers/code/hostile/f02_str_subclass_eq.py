# target: function
# expect: wrong_output
# attack: return a str subclass whose __eq__ is always true (looks like a plain string to isinstance checks)
class Sneaky(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


def greet(w):
    return Sneaky("HELLO-")
