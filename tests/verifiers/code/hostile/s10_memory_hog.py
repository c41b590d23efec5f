# target: stdio
# expect: memory_limit
# attack: eat all the memory
hog = []
while True:
    hog.append(bytearray(10 ** 7))
