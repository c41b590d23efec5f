# target: stdio
# expect: runtime_error
# attack: crash the interpreter (segfault, core dump)
import ctypes
ctypes.string_at(0)
