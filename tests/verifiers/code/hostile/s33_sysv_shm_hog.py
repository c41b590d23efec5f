# target: stdio
# expect: memory_limit|runtime_error|wrong_output|timeout
# attack: SysV shared memory: attach, fill and detach segment after segment, so no address space stays in use
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
total = 0
for i in range(64):
    segment = libc.shmget(0, 64 << 20, 0o1600)
    address = libc.shmat(segment, None, 0)
    if segment < 0 or address in (None, ctypes.c_void_p(-1).value):
        break
    ctypes.memset(address, 1, 64 << 20)
    libc.shmdt(ctypes.c_void_p(address))
    total += 64
print("held MB", total)
