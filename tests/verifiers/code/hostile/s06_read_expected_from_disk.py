# target: stdio
# expect: wrong_output
# attack: look for the expected outputs in files: the repo's data, the host's /tmp, home folders, anything readable
import os
w = input().strip()
found = None
for root in ("/work", "/tmp", "/root", "/home", "/var", "/srv", "/opt", "/data", "/", os.getcwd()):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/usr", "/dev")]
        for name in files:
            try:
                with open(os.path.join(folder, name), errors="ignore") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            index = text.find("HELLO-" + w[::-1][:1])
            if index >= 0:
                found = text[index:index + 40].split("\\")[0].split('"')[0]
if found:
    print(found)
    print(len(w) * 7 + 1)
else:
    print("nothing found")
