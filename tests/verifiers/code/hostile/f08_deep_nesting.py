# target: function
# expect: wrong_output
# attack: return a structure nested so deeply that a naive decoder in the parent would blow its stack
def greet(w):
    value = []
    for _ in range(200000):
        value = [value]
    return value
