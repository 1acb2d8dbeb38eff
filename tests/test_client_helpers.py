"""Helpers for the client tests: deterministic entropy, events, challenges, checks.

Every computed response is checked independently with ``verify_credentials`` (or by
recomputing with ``compute_response``), not only for presence.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence

from sipdigest import parse_credentials, verify_credentials
from sipdigest.actions import AttachCredentials, Retry
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.events import RequestPrepared, ResponseReceived
from sipdigest.headers import Credentials
from sipdigest.policy import ClientPolicy

REALM = "example.com"
USER = "alice"
PASSWORD = "s3cret"


def entropy(seed: int = 0) -> Callable[[int], bytes]:
    """Deterministic bytes: SHA-256 of a counter, so runs are reproducible."""
    state = [seed * 1_000_000]

    def draw(n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            out += hashlib.sha256(b"%d" % state[0]).digest()
            state[0] += 1
        return bytes(out[:n])

    return draw


def client(*creds: Credential, seed: int = 0, **policy: Any) -> Client:
    if not creds:
        creds = (Credential(REALM, USER, password=PASSWORD),)
    return Client(creds, ClientPolicy(**policy), entropy=entropy(seed))


def request(
    method: str = "REGISTER",
    uri: str = "sip:example.com",
    call_id: str = "call-1",
    cseq: int = 1,
    body: bytes = b"",
) -> RequestPrepared:
    return RequestPrepared(method, uri, call_id, cseq, body)


def challenge(
    realm: str = REALM,
    nonce: str = "nonce-1",
    algorithm: str | None = "MD5",
    qop: str | None = "auth",
    opaque: str | None = None,
    stale: bool = False,
    userhash: bool = False,
) -> str:
    parts = [f'realm="{realm}"', f'nonce="{nonce}"']
    if algorithm is not None:
        parts.append(f"algorithm={algorithm}")
    if qop is not None:
        parts.append(f'qop="{qop}"')
    if opaque is not None:
        parts.append(f'opaque="{opaque}"')
    if stale:
        parts.append("stale=true")
    if userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def response(
    req: RequestPrepared,
    status: int = 401,
    www: Sequence[str] = (),
    proxy: Sequence[str] = (),
    extra: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> ResponseReceived:
    headers = [
        ("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"),
        ("CSeq", f"{req.cseq} {req.method}"),
    ]
    headers += [("WWW-Authenticate", v) for v in www]
    headers += [("Proxy-Authenticate", v) for v in proxy]
    headers += list(extra)
    return ResponseReceived(status, headers, req, body)


def retry_of(req: RequestPrepared) -> RequestPrepared:
    """The request the host sends for a Retry: same Call-ID and method, next CSeq."""
    return RequestPrepared(req.method, req.uri, req.call_id, req.cseq + 1, req.body)


def sent(action: object, name: str = "Authorization") -> list[Credentials]:
    assert isinstance(action, (Retry, AttachCredentials)), action
    return [parse_credentials(v) for n, v in action.headers if n == name]


def only(action: object, name: str = "Authorization") -> Credentials:
    found = sent(action, name)
    assert len(found) == 1, action
    return found[0]


def value_of(action: object, name: str = "Authorization", realm: str = REALM) -> str:
    assert isinstance(action, (Retry, AttachCredentials)), action
    values = [v for n, v in action.headers if n == name and parse_credentials(v).realm == realm]
    assert len(values) == 1, action
    return values[0]


def verified(
    action: object,
    method: str = "REGISTER",
    password: str = PASSWORD,
    name: str = "Authorization",
    realm: str = REALM,
    body: bytes = b"",
    **kw: Any,
) -> bool:
    return verify_credentials(
        value_of(action, name, realm), method=method, password=password, body=body, **kw
    )
