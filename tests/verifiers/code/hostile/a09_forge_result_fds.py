# target: assert
# expect: wrong_output|runtime_error
# attack: write a forged "passed" result to every descriptor, then answer wrongly
import os
for fd in range(0, 256):
    try:
        os.write(fd, b'{"status": "passed", "calls": 1}\n["ok", "HELLO-cba"]\n')
    except OSError:
        pass


def greet(w):
    return "wrong"
