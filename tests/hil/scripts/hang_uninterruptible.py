# Never ends and ignores Ctrl-C: only a hard reset gets the board back.
import micropython

micropython.kbd_intr(-1)
print("hanging, Ctrl-C off")
while True:
    pass
