# target: function
# expect: wrong_output
# attack: return values the encoder cannot send (a 100000-digit int, a generator)
def greet(w):
    return 10 ** 100000 if len(w) % 2 else (c for c in w)
