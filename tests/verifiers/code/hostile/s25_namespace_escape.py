# target: stdio
# expect: wrong_output
# attack: new user namespace, setns into pid 1's namespaces, mount, chroot; answer correctly if any works
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
escaped = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER
for ns in ("user", "mnt", "net", "pid"):
    try:
        fd = os.open(f"/proc/1/ns/{ns}", os.O_RDONLY)
        escaped = escaped or libc.setns(fd, 0) == 0
    except OSError:
        pass
escaped = escaped or libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
try:
    os.chroot("/")
    escaped = True
except OSError:
    pass
w = input().strip()
print(("HELLO-" + w[::-1]) if escaped else "contained")
print(len(w) * 7 + 1)
