# target: function
# expect: runtime_error
# attack: hard-exit with status 0 from inside the call
import os


def greet(w):
    os._exit(0)
