# Allocates until the heap is gone: MemoryError on a 64K board.
blocks = []
while True:
    blocks.append(bytearray(4096))
