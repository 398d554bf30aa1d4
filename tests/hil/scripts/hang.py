# Never ends (until interrupted): the harness must time it out and recover.
import time

print("hanging")
while True:
    time.sleep(0.01)
