# target: function
# expect: runtime_error
# attack: raise SystemExit(0) from inside the call, hoping the harness exits "successfully"
def greet(w):
    raise SystemExit(0)
