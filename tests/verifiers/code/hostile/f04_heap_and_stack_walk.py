# target: function
# expect: wrong_output
# attack: walk the call stack and the whole heap for an expected value, and return it
import gc, sys


def greet(w):
    frame, seen = sys._getframe(1), []
    while frame is not None:
        seen.extend(frame.f_locals.values())
        seen.extend(frame.f_globals.values())
        frame = frame.f_back
    seen.extend(gc.get_objects())
    for obj in seen:
        for value in (obj if isinstance(obj, (list, tuple, dict, set)) else [obj]):
            if isinstance(value, str) and value.startswith("HELLO-") and len(value) > 6:
                return value
    return "HELLO-?"
