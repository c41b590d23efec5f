# target: stdio
# expect: memory_limit|wrong_output|runtime_error|timeout
# attack: hold memory outside the address-space limit: many memfd files written with write() (never mapped);
# the per-sandbox memory cgroup stops it where one is available, the file-size and open-file limits elsewhere
import os
fds = []
for i in range(60):
    fd = os.memfd_create("hog")
    for _ in range(16):
        os.write(fd, b"\1" * (1 << 20))
    fds.append(fd)
print("held MB", 16 * len(fds))
