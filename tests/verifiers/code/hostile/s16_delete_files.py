# target: stdio
# expect: wrong_output
# attack: delete files outside the sandbox (the canary folder and its parent, the host /tmp)
import os, shutil
for path in ("__CANARY__", "__CANARY__/.."):
    shutil.rmtree(path, ignore_errors=True)
for path in ("__CANARY__/canary.txt",):
    try:
        os.remove(path)
    except OSError:
        pass
print("deleted?", os.path.exists("__CANARY__/canary.txt"))
