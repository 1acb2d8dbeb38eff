"""Stateless, signed nonces: everything the server needs to know about a nonce is in it.

Strategy (REFERENCE gap 4). A nonce is ``base64url(payload || MAC)`` made by
``_impl.mint_nonce`` (HMAC-SHA-256 under the host's secret, cut to 128 bits) over a
fixed 26-byte payload::

    version   1 byte   (1)
    algorithm 1 byte   index into ALGORITHM_CODES: the algorithm this nonce was offered for
    qop       1 byte   bit 0 auth, bit 1 auth-int (0: RFC 2069 form, no qop offered)
    flags     1 byte   bit 0 Call-ID, bit 1 From tag, bit 2 source address are bound
    issued    8 bytes  issue time, milliseconds of the host's clock, signed big-endian
    id        8 bytes  random, from the injected ``entropy``: the replay-store key
    tag       6 bytes  binding tag: HMAC(secret, realm [, Call-ID] [, From tag] [, source])

So a challenge costs no server memory (an unauthenticated flood cannot grow state), and
any node holding the same secret accepts a nonce another node issued (a farm behind a
load balancer). During a secret rotation, nonces under ``old_secrets`` are genuine but
stale: the client is told ``stale=true`` and moves to a nonce under the new secret.
Expiry is decided from ``issued`` and the ``now`` of the request, never from a clock.
The nonce is 56 characters of ``[A-Za-z0-9_-]``, so it never needs quoting or escaping.
"""

from __future__ import annotations

import struct
from typing import Callable

from . import _impl
from .digest import (
    MD5,
    MD5_SESS,
    SHA256,
    SHA256_SESS,
    SHA512_256,
    SHA512_256_SESS,
    Algorithm,
)
from .errors import LocalProtocolError

__all__ = [
    "VERSION",
    "PAYLOAD_LEN",
    "ALGORITHM_CODES",
    "QOP_AUTH",
    "QOP_AUTH_INT",
    "BIND_CALL_ID",
    "BIND_FROM_TAG",
    "BIND_SOURCE",
    "NonceBox",
    "qop_bits",
]

VERSION = 1
_PAYLOAD = struct.Struct(">BBBBq8s6s")
PAYLOAD_LEN = _PAYLOAD.size  # 26: with the 16-byte MAC, 42 bytes = 56 base64 characters
ID_LEN = 8
TAG_LEN = 6

#: Algorithm codes in the nonce payload. Append only: the index is on the wire.
ALGORITHM_CODES: tuple[Algorithm, ...] = (
    MD5,
    MD5_SESS,
    SHA256,
    SHA256_SESS,
    SHA512_256,
    SHA512_256_SESS,
)
ALGORITHM_CODE = {a.token: i for i, a in enumerate(ALGORITHM_CODES)}

QOP_AUTH = 1
QOP_AUTH_INT = 2
BIND_CALL_ID = 1
BIND_FROM_TAG = 2
BIND_SOURCE = 4

POOL_SIZE = 64 * ID_LEN  # random ids are drawn from entropy() in batches of 64
_TAG_CACHE_SIZE = 256
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1

Opened = tuple[int, int, int, int, bytes, bytes, int]
"""(algorithm code, qop bits, flags, issued ms, id, tag, secret index; 0 = current)."""


def qop_bits(qop: tuple[str, ...]) -> int:
    """The payload's qop byte for a configured qop tuple."""
    bits = 0
    for q in qop:
        bits |= QOP_AUTH if q == "auth" else QOP_AUTH_INT
    return bits


def now_ms(now: float) -> int:
    """The event time in whole milliseconds; a host clock that is not a finite number is misuse."""
    try:
        ms = int(now * 1000)
    except (TypeError, ValueError, OverflowError):
        raise LocalProtocolError("now must be a finite number of seconds") from None
    if not _I64_MIN <= ms <= _I64_MAX:
        raise LocalProtocolError("now is out of range")
    return ms


def _field(value: str | None) -> bytes:
    raw = b"" if value is None else value.encode("utf-8", "surrogatepass")
    return len(raw).to_bytes(4, "big") + raw


class NonceBox:
    """Mints and opens nonces under one current secret and any number of old ones."""

    __slots__ = ("_entropy", "_pool", "_pos", "_secret", "_secrets", "_tags")

    def __init__(
        self,
        secret: bytes,
        old_secrets: tuple[bytes, ...] = (),
        entropy: Callable[[int], bytes] | None = None,
    ) -> None:
        if entropy is None:
            import secrets

            entropy = secrets.token_bytes
        self._secret = secret
        self._secrets = (secret, *old_secrets)
        self._entropy = entropy
        self._pool = b""
        self._pos = POOL_SIZE  # empty: the first id draws a batch
        self._tags: dict[str, bytes] = {}

    def random_id(self) -> bytes:
        """8 fresh bytes from ``entropy``, drawn in batches (one call per 64 nonces)."""
        pos = self._pos
        if pos == POOL_SIZE:
            pos = self.refill()
        self._pos = pos + ID_LEN
        return self._pool[pos : pos + ID_LEN]

    def refill(self) -> int:
        """Draw the next batch of ids; the position of the first one (the server's
        challenge path reads ``_pool``/``_pos`` directly, as ``random_id`` does)."""
        pool = self._entropy(POOL_SIZE)
        if type(pool) is not bytes or len(pool) != POOL_SIZE:
            raise LocalProtocolError(f"entropy({POOL_SIZE}) must return {POOL_SIZE} bytes")
        self._pool = pool
        self._pos = 0
        return 0

    def tag(
        self,
        realm: str,
        call_id: str | None = None,
        from_tag: str | None = None,
        source: str | None = None,
        secret_index: int = 0,
    ) -> bytes:
        """The binding tag: a MAC of the realm and of whatever else the nonce is bound to."""
        if call_id is None and from_tag is None and source is None and secret_index == 0:
            found = self._tags.get(realm)
            if found is not None:
                return found
        data = b"sipdigest-bind\x00" + _field(realm)
        data += _field(call_id) + _field(from_tag) + _field(source)
        tag: bytes = _impl.hmac_sha256(self._secrets[secret_index], data)[:TAG_LEN]
        if call_id is None and from_tag is None and source is None and secret_index == 0:
            if len(self._tags) < _TAG_CACHE_SIZE:
                self._tags[realm] = tag
        return tag

    def mint(self, alg_code: int, qop: int, flags: int, issued_ms: int, tag: bytes) -> str:
        payload = _PAYLOAD.pack(VERSION, alg_code, qop, flags, issued_ms, self.random_id(), tag)
        nonce: str = _impl.mint_nonce(self._secret, payload)
        return nonce

    def open(self, nonce: str) -> Opened | None:
        """What a nonce says, if one of our secrets made it; None for anything else."""
        secrets = self._secrets
        payload = _impl.open_nonce(secrets[0], nonce, PAYLOAD_LEN)
        index = 0
        if payload is None:
            for index in range(1, len(secrets)):
                payload = _impl.open_nonce(secrets[index], nonce, PAYLOAD_LEN)
                if payload is not None:
                    break
            else:
                return None
        version, alg, qop, flags, issued, rid, tag = _PAYLOAD.unpack(payload)
        if version != VERSION or alg >= len(ALGORITHM_CODES):
            return None  # pragma: no cover - only a future version could sign these
        return alg, qop, flags, issued, rid, tag, index

    def __repr__(self) -> str:
        return f"NonceBox(secrets={len(self._secrets)}, secret=<redacted>)"
