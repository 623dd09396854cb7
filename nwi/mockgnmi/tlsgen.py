"""Certificates for the mock server's TLS mode, generated on the spot.

A throw-away CA signs a server certificate (valid for 127.0.0.1, ::1 and
localhost, plus any extra names) and a client certificate (for mutual TLS), so
a test or a CI job can verify the server properly instead of skipping
verification. Keys are EC P-256: generating them takes milliseconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes of a CA, a server and a client certificate, and where they were written."""

    ca_cert: bytes
    server_cert: bytes
    server_key: bytes = field(repr=False)
    client_cert: bytes
    client_key: bytes = field(repr=False)
    directory: Path | None = None

    def file(self, name: str) -> Path:
        """Path of ``ca.pem``, ``server.pem``, ``server-key.pem``, ``client.pem`` or ``client-key.pem``."""
        if self.directory is None:
            raise ValueError("these certificates were not written to disk")
        return self.directory / name


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nwi mock gNMI"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def generate(directory: Path | None = None, hosts: Iterable[str] = DEFAULT_HOSTS, days: int = 30) -> TlsMaterial:
    """Create a CA, a server and a client certificate; write them to ``directory`` when given."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew
    until = now + dt.timedelta(days=days)
    ca_key = _key()
    ca_name = _name("nwi mock gNMI CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: x509.SubjectAlternativeName | None) -> tuple[bytes, bytes]:
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    hosts = tuple(hosts)
    server_cert, server_key = leaf(hosts[0] if hosts else "localhost", ExtendedKeyUsageOID.SERVER_AUTH, _san(hosts))
    client_cert, client_key = leaf("nwi-client", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    material = TlsMaterial(
        ca_cert=ca.public_bytes(serialization.Encoding.PEM),
        server_cert=server_cert,
        server_key=server_key,
        client_cert=client_cert,
        client_key=client_key,
        directory=directory,
    )
    if directory is not None:
        write(material, directory)
    return material


def write(material: TlsMaterial, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "ca.pem": (material.ca_cert, 0o644),
        "server.pem": (material.server_cert, 0o644),
        "server-key.pem": (material.server_key, 0o600),
        "client.pem": (material.client_cert, 0o644),
        "client-key.pem": (material.client_key, 0o600),
    }
    for name, (data, mode) in files.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
