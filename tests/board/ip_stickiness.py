# IP stickiness: a ResolvedEndpoint given as SocketConfig.preferred_endpoint is filled
# with the address a connect used, comes first in resolve(), and is used again on
# reconnect. Where the server is on loopback the name "localhost" (often several
# addresses: ::1 and 127.0.0.1) is used; on a board the server's address.
import hil_env
import twinsock
from hilcheck import ensure, report


def whoami_local(sock):
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.receive(64)
        ensure(chunk, "EOF in the whoami line")
        line += chunk
    peer_host, peer_port, local_host, local_port = line.decode().split()
    return local_host, int(local_port)


def main():
    host = hil_env.SERVER_HOST
    port = hil_env.PORTS["tcp_whoami"]
    name = "localhost" if host.startswith("127.") else host
    endpoint = twinsock.ResolvedEndpoint()
    config = twinsock.SocketConfig(preferred_endpoint=endpoint)
    with twinsock.tcp_socket(config) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        sock.connect(name, port)
        first = endpoint.get_host_port()
        report("sticky_endpoint", first)
        ensure(first == (host, port), "endpoint %r after connecting to %s" % (first, name))
        ensure(whoami_local(sock) == (host, port), "server saw another local address")
        ensure(sock.get_remote_host() == host, "remote host %r" % sock.get_remote_host())
        sock.close()
        resolved = twinsock.resolve(name, port, socktype="tcp", preferred_endpoint=endpoint)
        report("resolved", [ep.get_host_port() for ep in resolved])
        ensure(resolved[0].get_host_port() == first, "preferred endpoint not first")
        sock.connect(name, port)  # the closed socket connects again, preferred first
        ensure(endpoint.get_host_port() == first, "endpoint changed on reconnect")
        ensure(whoami_local(sock) == first, "reconnect went elsewhere")


main()
