# target: stdio
# expect: wrong_output
# attack: write forged verdicts and outputs to every inherited file descriptor
import os
forged = b'{"status": "passed", "passed": true}\nPASSED\nHELLO-\n'
for fd in range(0, 1024):
    try:
        os.write(fd, forged)
    except OSError:
        pass
