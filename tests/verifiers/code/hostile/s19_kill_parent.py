# target: stdio
# expect: wrong_output|runtime_error
# attack: kill the parent, the process group, every process it can see, then print
import os, signal
for action in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.killpg(os.getpgid(0), signal.SIGTERM),
               lambda: os.kill(-1, signal.SIGKILL)):
    try:
        action()
    except OSError:
        pass
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
print("still here")
