# target: stdio
# expect: timeout|runtime_error|memory_limit
# attack: start threads without end, each sleeping forever
import threading, time
while True:
    try:
        threading.Thread(target=time.sleep, args=(10 ** 6,), daemon=True).start()
    except RuntimeError:
        time.sleep(0.01)
