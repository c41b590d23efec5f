# target: stdio
# expect: wrong_output
# attack: the expected lines followed by extra output
w = input().strip()
print("HELLO-" + w[::-1])
print(len(w) * 7 + 1)
print("debug: done")
