# target: stdio
# expect: wrong_output
# attack: double-fork a daemon in a new session that outlives the program and keeps working
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(0, 3):
            os.close(fd)
        while True:
            time.sleep(0.05)
            with open("/tmp/daemon-__MARKER__", "w") as handle:
                handle.write(str(time.time()))
    os._exit(0)
print("parent done")
