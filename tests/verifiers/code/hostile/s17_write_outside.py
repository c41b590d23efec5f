# target: stdio
# expect: wrong_output
# attack: write files outside the working folder; answer correctly only if one of the writes got through
escaped = False
for path in ("__CANARY__/pwned-__MARKER__", "/tmp/pwned-__MARKER__", "/dev/shm/pwned-__MARKER__",
             "/var/tmp/pwned-__MARKER__", "/root/pwned-__MARKER__", "/pwned-__MARKER__", "/usr/pwned-__MARKER__",
             "/etc/pwned-__MARKER__", "/proc/sys/kernel/core_pattern"):
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
        escaped = escaped or not path.startswith("/tmp")
    except OSError:
        pass
try:
    with open("__CANARY__/canary.txt", "a") as handle:
        handle.write("pwned")
    escaped = True
except OSError:
    pass
w = input().strip()
if escaped:
    print("HELLO-" + w[::-1])
    print(len(w) * 7 + 1)
else:
    print("contained")
