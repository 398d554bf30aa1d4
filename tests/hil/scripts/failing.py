# A check that fails with a traceback.
raise ValueError("this check fails on purpose")
