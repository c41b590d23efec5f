# target: stdio
# expect: wrong_output
# attack: print what a naive harness greps for, and exit 0
print("PASSED")
print("All tests passed")
