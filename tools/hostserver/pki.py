"""Certificates and a PSK for the host server's TLS/DTLS services, made per run.

``Pki.create(directory, addresses)`` writes, as PEM and DER:

- ``ca``: the CA the checks trust;
- ``server`` (+ key): signed by ``ca``, valid now, for "localhost" and every address
  the server listens on (so a board may connect by numeric address or by name);
- ``expired`` (+ key): the same names, signed by ``ca``, no longer valid;
- ``untrusted`` (+ key): the same names, valid, signed by ``other_ca`` (not trusted);
- ``client`` (+ key): a client certificate signed by ``ca``.

``Pki.load(directory)`` reads an existing set back. Keys are P-256 (fast to make,
and in every mbedTLS build a board has)."""

import datetime
import ipaddress
import json
import os

NAMES = ("ca", "other_ca", "server", "expired", "untrusted", "client")
KEYED = ("server", "expired", "untrusted", "client")
DEFAULT_PSK_IDENTITY = b"twinsock-hil"


def _is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class Pki:
    def __init__(self, directory):
        self.dir = directory

    def path(self, name, suffix=".pem"):
        return os.path.join(self.dir, name + suffix)

    def read(self, name, suffix=".pem"):
        with open(self.path(name, suffix), "rb") as blob:
            return blob.read()

    @property
    def addresses(self):
        with open(self.path("names", ".json")) as names:
            return json.load(names)

    @classmethod
    def load(cls, directory):
        pki = cls(directory)
        for name in NAMES:
            if not os.path.exists(pki.path(name)):
                raise FileNotFoundError(pki.path(name))
        return pki

    @classmethod
    def create(cls, directory, addresses=("127.0.0.1",)):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        os.makedirs(directory, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)

        def name(common_name):
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

        def make_ca(common_name):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name(common_name))
                .issuer_name(name(common_name))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - 2 * day)
                .not_valid_after(now + 30 * day)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            return key, cert

        alt_names = [x509.DNSName("localhost")]
        for address in addresses:
            if _is_address(address):
                alt_names.append(x509.IPAddress(ipaddress.ip_address(address)))
            elif address != "localhost":
                alt_names.append(x509.DNSName(address))

        def make_leaf(common_name, issuer, issuer_key, not_before, not_after, server=True):
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder()
                .subject_name(name(common_name))
                .issuer_name(issuer.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(not_before)
                .not_valid_after(not_after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            )
            if server:
                builder = builder.add_extension(
                    x509.SubjectAlternativeName(alt_names), critical=False
                )
            return key, builder.sign(issuer_key, hashes.SHA256())

        ca_key, ca = make_ca("twinsock HIL CA")
        other_key, other_ca = make_ca("twinsock HIL untrusted CA")
        made = {"ca": (ca_key, ca), "other_ca": (other_key, other_ca)}
        made["server"] = make_leaf("localhost", ca, ca_key, now - day, now + 30 * day)
        made["expired"] = make_leaf("localhost", ca, ca_key, now - 60 * day, now - 30 * day)
        made["untrusted"] = make_leaf("localhost", other_ca, other_key, now - day, now + 30 * day)
        made["client"] = make_leaf(
            "twinsock client", ca, ca_key, now - day, now + 30 * day, server=False
        )
        pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
        pkcs8, plain = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        pki = cls(directory)
        for label, (key, cert) in made.items():
            with open(pki.path(label), "wb") as out:
                out.write(cert.public_bytes(pem))
            with open(pki.path(label, ".der"), "wb") as out:
                out.write(cert.public_bytes(der))
            if label in KEYED:
                with open(pki.path(label + "_key"), "wb") as out:
                    out.write(key.private_bytes(pem, pkcs8, plain))
                with open(pki.path(label + "_key", ".der"), "wb") as out:
                    out.write(key.private_bytes(der, pkcs8, plain))
        with open(pki.path("names", ".json"), "w") as out:
            json.dump(sorted(set(addresses) | {"localhost"}), out)
        return pki

    @classmethod
    def load_or_create(cls, directory, addresses=("127.0.0.1",)):
        try:
            return cls.load(directory)
        except FileNotFoundError:
            return cls.create(directory, addresses)


def new_psk():
    """(identity, key): a fresh 16-byte key per run."""
    return DEFAULT_PSK_IDENTITY, os.urandom(16)
