# target: stdio
# expect: wrong_output
# attack: replace the process with a shell that prints a success message
import os
os.execv("/bin/sh", ["sh", "-c", "echo PASSED; echo ok"])
