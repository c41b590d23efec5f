# target: stdio
# expect: wrong_output
# attack: become root (setuid, setgid, setgroups) and read /etc/shadow; answer correctly if it works
import os
became = False
for attempt in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0])):
    try:
        attempt()
        became = True
    except OSError:
        pass
try:
    open("/etc/shadow").read()
    became = True
except OSError:
    pass
w = input().strip()
print(("HELLO-" + w[::-1]) if became else "user")
print(len(w) * 7 + 1)
