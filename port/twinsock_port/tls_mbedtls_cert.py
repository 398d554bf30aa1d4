# The MicroPython TLS engine's certificate setup (CertInfo), loaded with the
# first socket that has one: a PSK client never pays for it.
import tls

from twinsock_port.tls_mbedtls import _rare


def load_certificates(ctx, security, server_side, hostname):
    """Put CertInfo `security` on SSLContext `ctx`: trusted CAs, own
    certificate and key, and whether the peer's certificate is verified."""
    if getattr(security, "crls", ()):
        raise _rare().mbedtls_refusal(1)
    trusted = _der_list(getattr(security, "trusted_certs", ()))
    for cert in trusted:
        ctx.load_verify_locations(cert)
    own_cert = getattr(security, "client_cert", None)
    if own_cert is not None:
        key = getattr(security, "client_key", None)
        if key is None:
            raise _rare().mbedtls_refusal(2)
        ctx.load_cert_chain(_der_list(own_cert)[0], _der_list(key)[0])
    validate = getattr(security, "server_cert_validation", True)
    if server_side:
        ctx.verify_mode = tls.CERT_REQUIRED if validate and trusted else tls.CERT_NONE
    elif validate:
        if not trusted:
            raise _rare().mbedtls_refusal(3)
        if not hostname:
            raise _rare().mbedtls_refusal(4)
        ctx.verify_mode = tls.CERT_REQUIRED
    else:
        ctx.verify_mode = tls.CERT_NONE


def _der_list(blobs):
    """PEM or DER bytes (or a sequence of them) -> a list of DER blobs."""
    if blobs is None:
        return []
    if isinstance(blobs, (bytes, bytearray, memoryview)):
        blobs = (blobs,)
    try:
        from binascii import a2b_base64
    except ImportError:
        from ubinascii import a2b_base64
    out = []
    for blob in blobs:
        blob = bytes(blob)
        if b"-----BEGIN" not in blob:
            out.append(blob)
            continue
        for part in blob.split(b"-----BEGIN")[1:]:
            body = part.split(b"-----", 1)[1].split(b"-----END", 1)[0]
            out.append(a2b_base64(body.replace(b"\r", b"").replace(b"\n", b"")))
    return out
