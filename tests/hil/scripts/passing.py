# A check that passes.
print("sum", 1 + 2)
