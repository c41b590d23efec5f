# target: stdio
# expect: runtime_error
# attack: write one file far larger than the file-size limit
with open("big.bin", "wb") as handle:
    for _ in range(1024):
        handle.write(b"\0" * (1 << 20))
print("done")
