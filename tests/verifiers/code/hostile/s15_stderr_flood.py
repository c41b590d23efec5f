# target: stdio
# expect: timeout
# attack: flood stderr without end (stderr is drained and capped, never fatal: the flood runs until its time is up)
import os
while True:
    os.write(2, b"E" * 65536)
