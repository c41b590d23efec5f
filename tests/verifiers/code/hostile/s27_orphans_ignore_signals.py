# target: stdio
# expect: wrong_output
# attack: leave orphans that ignore every catchable signal, then exit normally
import os, signal, time
for _ in range(5):
    if os.fork() == 0:
        for number in range(1, 32):
            try:
                signal.signal(number, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
        time.sleep(10 ** 6)
print("bye")
