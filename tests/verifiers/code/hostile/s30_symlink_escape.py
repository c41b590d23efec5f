# target: stdio
# expect: wrong_output
# attack: reach the host filesystem through /proc/1/root, /proc/self/cwd and symlinks to absolute paths
import os
w = input().strip()
hits = []
os.symlink("/", "rootlink")
for path in ("/proc/1/root/work/main/data/prompts/code-sample.jsonl", "rootlink/work/main/pyproject.toml",
             "/proc/self/root/etc/shadow", "/proc/1/cwd/../../etc/passwd", "__CANARY__/canary.txt"):
    try:
        with open(path) as handle:
            hits.append(handle.read(100))
    except OSError:
        pass
print(("HELLO-" + w[::-1]) if hits else "nothing")
print(len(w) * 7 + 1)
