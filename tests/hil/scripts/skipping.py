# A check that declares itself skipped.
print("RESULT skip nothing to do here")
