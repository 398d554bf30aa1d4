"""A minimal RFC 2217 server (what ser2net is on a bench) in front of a local port,
so the harness's rfc2217:// path is tested with real pyserial on both ends."""

import select
import socket
import threading

import serial
import serial.rfc2217

ACCEPT_POLL_S = 0.1


class PtyPort(serial.Serial):
    """A pty has no modem lines: DTR/RTS/BREAK requests from the client are dropped."""

    def _update_dtr_state(self):
        pass

    def _update_rts_state(self):
        pass

    def _update_break_state(self):
        pass

    cts = dsr = ri = cd = False


class SocketWriter:
    """PortManager sends its telnet replies through .write()."""

    def __init__(self, connection):
        self.write = connection.sendall


class Rfc2217Bridge:
    def __init__(self, device):
        self.device = device
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(ACCEPT_POLL_S)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    @property
    def url(self):
        return "rfc2217://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            with connection, PtyPort(self.device, timeout=0, exclusive=True) as port:
                self.pump(connection, port)

    def pump(self, connection, port):
        manager = serial.rfc2217.PortManager(port, SocketWriter(connection))
        while not self.stopping.is_set():
            readable, _, _ = select.select([connection, port.fileno()], [], [], ACCEPT_POLL_S)
            if connection in readable:
                data = connection.recv(4096)
                if not data:
                    return
                port.write(b"".join(manager.filter(data)))
            if port.fileno() in readable:
                connection.sendall(b"".join(manager.escape(port.read(4096))))
