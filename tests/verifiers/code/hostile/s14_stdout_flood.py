# target: stdio
# expect: output_limit
# attack: flood stdout without end
import sys
chunk = "HELLO-" * 10000 + "\n"
while True:
    sys.stdout.write(chunk)
