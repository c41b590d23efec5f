# target: stdio
# expect: timeout|runtime_error
# attack: fork without end, ignoring failures
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
