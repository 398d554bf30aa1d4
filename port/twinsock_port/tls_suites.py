# The one ciphersuite table, IANA id -> (IANA name, OpenSSL name, mbedTLS name),
# the TLS alert names, and the pick of a config's `ciphersuites` from the table.
# Loaded only when needed (a configured `ciphersuites`, twinsock.ciphersuites(),
# an alert to name): a board pays heap for the tables.
SUITES = {
    0x1301: ("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "TLS1-3-AES-128-GCM-SHA256"),
    0x1302: ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", "TLS1-3-AES-256-GCM-SHA384"),
    0x1303: (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS1-3-CHACHA20-POLY1305-SHA256",
    ),
    0x1304: ("TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256", "TLS1-3-AES-128-CCM-SHA256"),
    0x1305: ("TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", "TLS1-3-AES-128-CCM-8-SHA256"),
    0x008C: ("TLS_PSK_WITH_AES_128_CBC_SHA", "PSK-AES128-CBC-SHA", "TLS-PSK-WITH-AES-128-CBC-SHA"),
    0x008D: ("TLS_PSK_WITH_AES_256_CBC_SHA", "PSK-AES256-CBC-SHA", "TLS-PSK-WITH-AES-256-CBC-SHA"),
    0x00A8: (
        "TLS_PSK_WITH_AES_128_GCM_SHA256",
        "PSK-AES128-GCM-SHA256",
        "TLS-PSK-WITH-AES-128-GCM-SHA256",
    ),
    0x00A9: (
        "TLS_PSK_WITH_AES_256_GCM_SHA384",
        "PSK-AES256-GCM-SHA384",
        "TLS-PSK-WITH-AES-256-GCM-SHA384",
    ),
    0x00AE: (
        "TLS_PSK_WITH_AES_128_CBC_SHA256",
        "PSK-AES128-CBC-SHA256",
        "TLS-PSK-WITH-AES-128-CBC-SHA256",
    ),
    0x00AF: (
        "TLS_PSK_WITH_AES_256_CBC_SHA384",
        "PSK-AES256-CBC-SHA384",
        "TLS-PSK-WITH-AES-256-CBC-SHA384",
    ),
    0xC0A4: ("TLS_PSK_WITH_AES_128_CCM", "PSK-AES128-CCM", "TLS-PSK-WITH-AES-128-CCM"),
    0xC0A5: ("TLS_PSK_WITH_AES_256_CCM", "PSK-AES256-CCM", "TLS-PSK-WITH-AES-256-CCM"),
    0xC0A8: ("TLS_PSK_WITH_AES_128_CCM_8", "PSK-AES128-CCM8", "TLS-PSK-WITH-AES-128-CCM-8"),
    0xC0A9: ("TLS_PSK_WITH_AES_256_CCM_8", "PSK-AES256-CCM8", "TLS-PSK-WITH-AES-256-CCM-8"),
    0xC037: (
        "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
        "ECDHE-PSK-AES128-CBC-SHA256",
        "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256",
    ),
    0xC02B: (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    ),
    0xC02C: (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    ),
    0xC02F: (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
    ),
    0xC030: (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    ),
    0xC023: (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256",
    ),
    0xC027: (
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-RSA-AES128-SHA256",
        "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256",
    ),
    0xC0AC: (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
        "ECDHE-ECDSA-AES128-CCM",
        "TLS-ECDHE-ECDSA-WITH-AES-128-CCM",
    ),
    0xC0AE: (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        "ECDHE-ECDSA-AES128-CCM8",
        "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",
    ),
    0xCCA8: (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
    ),
    0xCCA9: (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
    ),
}

# TLS alert descriptions (RFC 8446 6.2 plus the TLS 1.2 ones still seen).
ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}


def pick_suites(ids, column, available, library):
    """The names (column 1: OpenSSL, 2: mbedTLS) of the configured suites
    `ids` that `available` holds; ENOTSUP naming them all when none is."""
    from twinsock.errors import unsupported

    names = [SUITES[i][column] for i in ids if i in SUITES and SUITES[i][column] in available]
    if not names:
        raise unsupported(
            "none of the configured ciphersuites is built into %s: %s"
            % (library, ", ".join(SUITES[i][0] if i in SUITES else "0x%04X" % i for i in ids)),
        )
    return names
