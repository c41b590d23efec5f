# target: assert
# expect: runtime_error
# attack: exit with status 0 as soon as the module is loaded
import sys
sys.exit(0)
