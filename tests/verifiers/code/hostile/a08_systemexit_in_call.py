# target: assert
# expect: runtime_error
# attack: raise SystemExit(0) when the check calls the function
def greet(w):
    raise SystemExit(0)
