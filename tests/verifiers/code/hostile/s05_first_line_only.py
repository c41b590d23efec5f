# target: stdio
# expect: wrong_output
# attack: only the first of the expected lines
w = input().strip()
print("HELLO-" + w[::-1])
