# target: stdio
# expect: wrong_output|timeout
# attack: ptrace the parent and pid 1, read their memory with process_vm_readv (attaching to the sandbox's
# own pid 1 stops it, so the sandbox only ends at the time limit)
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
results = []
for pid in {os.getppid(), 1}:
    results.append(libc.ptrace(16, pid, None, None))  # PTRACE_ATTACH
    buffer = ctypes.create_string_buffer(64)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 64)
    remote = (ctypes.c_void_p * 2)(0x400000, 64)
    results.append(libc.process_vm_readv(pid, local, 1, remote, 1, 0))
print("ptrace", results)
