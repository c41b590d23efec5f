# target: function
# expect: wrong_output|runtime_error
# attack: at import, write forged replies to every descriptor, then answer wrongly
import os
for fd in range(0, 64):
    try:
        os.write(fd, b'["ok", "PASSED"]\n["ok", "HELLO-"]\n')
    except OSError:
        pass


def greet(w):
    return "HELLO-"
