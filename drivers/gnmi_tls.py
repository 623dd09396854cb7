"""TLS trust for the gNMI driver: what a device's certificate is checked against, and why a handshake failed.

pygnmi, given no CA file, downloads the device's certificate and then trusts
exactly that certificate: every device would be believed, a man in the middle
included. So without a CA of its own (``tls.caSecretRef``) a Device is checked
against the system's trusted CAs, as any TLS client does; only
``tls.skipVerify`` lets pygnmi take the device's word.

gRPC reports a failed handshake only as a connection that never became ready.
:func:`handshake_problem` repeats the handshake with Python's ``ssl`` module
and the same trust, so the error can say what went wrong (an unknown CA, a
name mismatch, a device that speaks plaintext) instead of "timed out".
"""

from __future__ import annotations

import os
import socket
import ssl


def system_ca_file() -> str | None:
    """The system's CA bundle (the file OpenSSL trusts by default), if there is one."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get(paths.openssl_cafile_env), paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def handshake_problem(
    address: str,
    port: int,
    ca_file: str | None,
    client_cert: str | None = None,
    client_key: str | None = None,
    timeout: float = 5.0,
) -> str | None:
    """Why a TLS handshake with ``address:port`` trusting ``ca_file`` fails; None if it succeeds (or no TCP)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if client_cert and client_key:
        ctx.load_cert_chain(client_cert, client_key)
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=address):
            return None
    except ssl.SSLCertVerificationError as exc:
        return (f"TLS certificate verification failed: {exc.verify_message} (give the device's CA in "
                "spec.tls.caSecretRef; spec.tls.skipVerify turns verification off)")
    except ssl.SSLError as exc:
        if exc.reason == "WRONG_VERSION_NUMBER":
            return "the device does not speak TLS (for a plaintext gNMI device set spec.insecure: true)"
        return f"TLS handshake failed: {exc.reason or exc}"
    except OSError:
        return None  # not even TCP: the caller's "no connection" says it
