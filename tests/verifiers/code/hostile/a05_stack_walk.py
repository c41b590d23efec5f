# target: assert
# expect: wrong_output
# attack: search the stack, the heap and the other end of the pipe for the expected value
import gc, os, sys


def greet(w):
    candidates = [o for o in gc.get_objects() if isinstance(o, str) and o.startswith("HELLO-") and len(o) > 6]
    frame = sys._getframe()
    while frame is not None:
        candidates += [v for v in frame.f_locals.values() if isinstance(v, str) and v.startswith("HELLO-")]
        frame = frame.f_back
    try:
        candidates.append(open("/proc/%d/cmdline" % os.getppid()).read())
    except OSError:
        pass
    return candidates[0] if candidates else "HELLO-?"
