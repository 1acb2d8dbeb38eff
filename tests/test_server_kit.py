"""Shared helpers for the server tests (no tests here): a client side built only from the
public digest functions, a user table, request builders, and the ``twin`` fixture that
runs a test on each core is conftest.py's ``twin``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sipdigest
from sipdigest import _impl, _pure
from sipdigest.actions import Accept, LookupCredentials, SendChallenge
from sipdigest.events import CredentialsFound, CredentialsNotFound, RequestReceived
from sipdigest.headers import Challenge, Credentials, parse_challenges
from sipdigest.policy import ServerPolicy
from sipdigest.server import Server

from .conftest import FAST, TWIN_FUNCTIONS

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "example.com"
URI = "sip:example.com"
USERS = {"alice": "wonderland", "bob": "builder"}

BASE_HEADERS: list[tuple[str, str]] = [
    ("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds"),
    ("Max-Forwards", "70"),
    ("To", "<sip:alice@example.com>"),
    ("From", '"Alice" <sip:alice@example.com>;tag=1928301774'),
    ("Call-ID", "a84b4c76e66710@pc33.example.com"),
    ("CSeq", "1 REGISTER"),
    ("Contact", "<sip:alice@192.0.2.10>"),
    ("Expires", "3600"),
    ("Content-Length", "0"),
]


@contextlib.contextmanager
def use_core(core: Any) -> Iterator[None]:
    """Route every ``_impl`` call to ``core`` (for Hypothesis tests, which cannot take
    the function-scoped ``twin`` fixture of conftest.py)."""
    saved = {n: getattr(_impl, n) for n in TWIN_FUNCTIONS}
    try:
        for n in TWIN_FUNCTIONS:
            setattr(_impl, n, getattr(core, n))
        yield
    finally:
        for n, f in saved.items():
            setattr(_impl, n, f)


CORES: list[tuple[str, Any]] = [("pure", _pure)] + ([("fast", FAST)] if FAST is not None else [])


class Counter:
    """A deterministic ``entropy``: replays exactly, like an event log."""

    def __init__(self, seed: int = 0) -> None:
        self.n = seed
        self.calls = 0

    def __call__(self, size: int) -> bytes:
        self.calls += 1
        out = bytearray()
        while len(out) < size:
            self.n += 1
            out += self.n.to_bytes(8, "big")
        return bytes(out[:size])


def policy(**kw: Any) -> ServerPolicy:
    kw.setdefault("realm", REALM)
    kw.setdefault("secret", SECRET)
    return ServerPolicy(**kw)


def user_lookup(users: dict[str, str] | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    """A synchronous look-up over a password table."""
    table = USERS if users is None else users

    def lookup(lk: LookupCredentials) -> CredentialsFound | CredentialsNotFound:
        pw = table.get(lk.username)
        if pw is None:
            return CredentialsNotFound(lk)
        return CredentialsFound(lk, password=pw, **extra)

    return lookup


def make_server(lookup: Any = "default", entropy: Any = None, **kw: Any) -> Server:
    if lookup == "default":
        lookup = user_lookup()
    return Server(policy(**kw), lookup=lookup, entropy=entropy)


def request(
    auth: str | list[str] | None = None,
    *,
    method: str = "REGISTER",
    uri: str = URI,
    now: float = 1000.0,
    header: str = "Authorization",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    source: str | None = None,
    realm: str | None = None,
) -> RequestReceived:
    hs = list(BASE_HEADERS if headers is None else headers)
    values = [] if auth is None else [auth] if isinstance(auth, str) else auth
    hs[7:7] = [(header, v) for v in values]
    return RequestReceived(method, uri, hs, now, body, source, realm)


def challenges(action: Any) -> list[Challenge]:
    assert isinstance(action, SendChallenge), action
    out: list[Challenge] = []
    for _, value in action.headers:
        out.extend(parse_challenges(value))
    return out


def pick(action: Any, algorithm: str = "MD5") -> Challenge:
    for ch in challenges(action):
        if ch.algorithm == algorithm:
            return ch
    raise AssertionError(f"no {algorithm} challenge in {action!r}")


def authorize(
    ch: Challenge,
    *,
    username: str = "alice",
    password: str | None = None,
    method: str = "REGISTER",
    uri: str = URI,
    nc: int | str = 1,
    cnonce: str = "0a4f113b",
    qop: str | None = "first",
    body: bytes = b"",
    algorithm: str | None = "same",
    hash_algorithm: str | None = None,
    userhash: bool = False,
    realm: str | None = None,
    **override: Any,
) -> str:
    """The Authorization value a correct client sends for ``ch`` (fields overridable)."""
    if password is None:
        password = USERS.get(username, "nope")
    if qop == "first":
        qop = ch.qop[0] if ch.qop else None
    realm = ch.realm if realm is None else realm
    alg = ch.algorithm if algorithm == "same" else algorithm
    response = sipdigest.compute_response(
        algorithm=hash_algorithm or alg, username=username, realm=realm, password=password,
        method=method, uri=uri, nonce=ch.nonce, nc=nc if qop else None,
        cnonce=cnonce if qop else None, qop=qop, body=body,
    )  # fmt: skip
    fields: dict[str, Any] = dict(
        username=sipdigest.compute_userhash(alg, username, realm) if userhash else username,
        realm=realm, nonce=ch.nonce, uri=uri, response=response, algorithm=alg,
        cnonce=cnonce if qop else None, opaque=ch.opaque, qop=qop, nc=nc if qop else None,
        userhash=userhash,
    )  # fmt: skip
    fields.update(override)
    return Credentials(**fields).render()


def accepted(action: Any) -> Accept:
    assert isinstance(action, Accept), action
    return action


def login(
    srv: Server, *, algorithm: str = "MD5", now: float = 1000.0, **kw: Any
) -> tuple[Any, str]:
    """Challenge, answer, and return (the final action, the credentials value sent)."""
    method = kw.pop("method", "REGISTER")
    hdr = "Proxy-Authorization" if srv.policy.role == "proxy" else "Authorization"
    first = srv.handle(request(method=method, now=now, header=hdr))
    value = authorize(pick(first, algorithm), method=method, **kw)
    return srv.handle(request(value, method=method, now=now + 1, header=hdr)), value
