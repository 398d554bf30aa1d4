"""Run-time control of a relay over TCP, one JSON object per line each way, so a bench
or a soak run can change faults while a test runs (`--control 127.0.0.1:0`):

    {"cmd": "stats"}                                  -> {"ok": true, "stats": {...}}
    {"cmd": "configure", "dir": "down", "loss": 1.0}  ("dir" absent or null: both)
    {"cmd": "freeze"} / {"cmd": "freeze", "on": false}   (TCP: stop/resume forwarding)
    {"cmd": "reset_all"}                              (TCP: RST every connection)
    {"cmd": "rebind"}                                 (UDP: new upstream source ports)
    {"cmd": "stop"}                                   (the proxy exits)

Every reply is {"ok": true, ...} or {"ok": false, "error": "..."}.
"""

import json
import socket
import threading

from tools.proxy.common import family_of


class ControlServer:
    def __init__(self, relay, listen, on_stop=None):
        self.relay = relay
        self.on_stop = on_stop
        self._sock = socket.socket(family_of(listen[0]), socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(listen)
        self._sock.listen(4)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="proxy-control", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(0.2)
        pending = b""
        with conn:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        reply = self.handle(line)
                        try:
                            conn.sendall((json.dumps(reply) + "\n").encode())
                        except OSError:
                            return

    def handle(self, line):
        try:
            request = json.loads(line)
            command = request.pop("cmd")
            if command == "stats":
                return {"ok": True, "stats": self.relay.stats()}
            if command == "configure":
                self.relay.configure(request.pop("dir", None), **request)
            elif command == "freeze":
                self.relay.freeze(request.get("on", True))
            elif command == "reset_all":
                self.relay.reset_all()
            elif command == "rebind":
                self.relay.rebind()
            elif command == "stop":
                if self.on_stop:
                    self.on_stop()
            else:
                raise ValueError("unknown command %r" % command)
        except AttributeError as e:
            return {"ok": False, "error": "not for a %s relay: %s" % (self.relay.proto, e)}
        except (ValueError, TypeError, KeyError) as e:
            return {"ok": False, "error": str(e)}
        return {"ok": True}
