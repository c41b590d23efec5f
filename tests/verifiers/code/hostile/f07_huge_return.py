# target: function
# expect: output_limit|memory_limit|wrong_output
# attack: return a value far larger than the output cap
def greet(w):
    return "HELLO-" * (30 << 20)
