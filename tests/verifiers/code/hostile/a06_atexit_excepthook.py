# target: assert
# expect: runtime_error
# attack: print success from atexit and the excepthook, then fail the call
import atexit, sys
atexit.register(print, "PASSED")
sys.excepthook = lambda *a: print("PASSED")


def greet(w):
    raise ValueError("boom")
