# target: assert
# expect: wrong_output
# attack: drop modules named like the harness's imports into the working folder and next to itself
import os
fake = "import builtins\nbuiltins.AssertionError = KeyboardInterrupt\nPASSED = True\n"
for name in ("json", "traceback", "os", "sys", "builtins", "sitecustomize", "usercustomize", "unittest",
             "check", "resource", "types"):
    for folder in (os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        try:
            with open(os.path.join(folder, name + ".py"), "w") as handle:
                handle.write(fake)
        except OSError:
            pass


def greet(w):
    return "wrong"
