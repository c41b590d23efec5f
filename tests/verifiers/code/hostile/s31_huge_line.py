# target: stdio
# expect: output_limit|memory_limit
# attack: one enormous line (no newline until the end)
import sys
sys.stdout.write("HELLO-" * (20 << 20))
