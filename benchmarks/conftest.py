"""Realistic inputs shared by the benchmarks: a ~250-byte Authorization value with ten
parameters, a base64 nonce and a ``sip:`` URI with parameters."""

from __future__ import annotations

import sipdigest

USER, REALM, PASSWORD = "alice", "example.com", "correct horse battery staple"
URI = "sip:example.com;transport=tcp"
NONCE = "Z2qKx1M/7ypfxlj9XXw+fDPE"
CNONCE = "0a4f113b9c8d7e6f"
OPAQUE = "5ccc069c403ebaf9f0171e9517f40e41"


def authorization(algorithm: str = "MD5", qop: str = "auth", body: bytes = b"") -> str:
    resp = sipdigest.compute_response(
        algorithm=algorithm, username=USER, realm=REALM, password=PASSWORD, method="REGISTER",
        uri=URI, nonce=NONCE, nc=1, cnonce=CNONCE, qop=qop, body=body,
    )
    return sipdigest.Credentials(
        username=USER, realm=REALM, nonce=NONCE, uri=URI, response=resp, algorithm=algorithm,
        cnonce=CNONCE, opaque=OPAQUE, qop=qop, nc=1,
    ).render()


def ha1(algorithm: str = "MD5") -> str:
    return sipdigest.compute_ha1(algorithm, USER, REALM, PASSWORD)
