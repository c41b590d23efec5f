# target: stdio
# expect: timeout
# attack: never finish, without using the CPU (only the wall clock can stop it)
import time
time.sleep(10 ** 6)
