# A check that must fail: TLS-PSK with a key the server does not have.
import hil_env
import twinsock

config = twinsock.SSLConfig(twinsock.PskInfo(hil_env.PSK_IDENTITY, b"not the key"))
with twinsock.ssl_socket(config) as sock:
    sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
    sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["tls_psk_echo"])
