# target: stdio
# expect: wrong_output|runtime_error
# attack: fill every writable in-memory filesystem with many files, then fill /dev/shm
import os
written = 0
for folder in (os.getcwd(), "/tmp", "/dev/shm", "/run", "/var/tmp"):
    for i in range(100000):
        try:
            with open(os.path.join(folder, f"fill-__MARKER__-{i}"), "wb") as handle:
                handle.write(b"\0" * (4 << 20))
            written += 1
        except OSError:
            break
print("wrote", written)
