"""Every error the harness raises, in one place."""


class HilError(Exception):
    """Base of the harness's own errors."""


class BoardUnreachable(HilError):
    """The port cannot be opened, or nothing on it answers like a MicroPython REPL."""


class ReadTimeout(HilError):
    """Expected output did not arrive before its deadline."""

    def __init__(self, message, received=b""):
        super().__init__(message)
        self.received = received


class BoardLost(HilError):
    """The port went away mid-conversation (a native-USB board resetting, a cable)."""


class BoardRebooted(HilError):
    """The board printed a boot banner where it should not have: it crashed or reset."""

    def __init__(self, message, received=b""):
        super().__init__(message)
        self.received = received


class RecoveryFailed(HilError):
    """Interrupt, soft reset and hard reset all failed to bring the REPL back."""


class DeployError(HilError):
    """Compiling or copying the library to the board failed."""


class FlashError(HilError):
    """Writing firmware failed."""
