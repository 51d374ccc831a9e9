"""HTTPS with optional client certificates.

uvicorn does not pass the peer certificate to the application, so a small
subclass of its h11 protocol records each TLS connection's client-certificate
fingerprint, keyed by the peer address the ASGI scope carries as `client`.
The entry lives exactly as long as the connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from uvicorn.protocols.http.h11_impl import H11Protocol

from domain.errors import InvalidInput

_PEERS: dict[tuple[str, int], str] = {}


def fingerprint_of_der(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def fingerprint_for(client: Any) -> str | None:
    if not client:
        return None
    return _PEERS.get((str(client[0]), int(client[1])))


class CertificateAwareH11(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        peer = transport.get_extra_info("peername")
        self._dibao_peer = (str(peer[0]), int(peer[1])) if peer else None
        if ssl_object is not None and self._dibao_peer is not None:
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                _PEERS[self._dibao_peer] = fingerprint_of_der(der)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._dibao_peer is not None:
            _PEERS.pop(self._dibao_peer, None)
        super().connection_lost(exc)


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 of a PEM certificate's DER form, as the server computes it for a peer."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise InvalidInput("client-cert: not a PEM certificate", field="client_cert") from None
    return fingerprint_of_der(certificate.public_bytes(Encoding.DER))
