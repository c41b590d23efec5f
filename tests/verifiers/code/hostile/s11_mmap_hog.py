# target: stdio
# expect: memory_limit|runtime_error
# attack: map and touch a huge anonymous region, then fork copies of it
import mmap, os
region = mmap.mmap(-1, 8 << 30)
for offset in range(0, len(region), 4096):
    region[offset] = 1
os.fork()
