# target: stdio
# expect: empty_output
# attack: exit with status 0 before producing anything
import sys
sys.exit(0)
