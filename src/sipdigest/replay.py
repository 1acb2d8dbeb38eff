"""Nonce-count replay protection: a sliding window per nonce, in bounded memory.

Strategy. For each nonce the store keeps the highest nonce-count seen and a bitmask of
the ``window`` counts below it (bit *i* set = count ``high - i`` was used), packed with
the nonce's expiry into one Python int, in a dict keyed by the nonce's random id. A
count above the highest slides the window; a count inside it is accepted once
(reordering, e.g. parallel transactions on one flow); a repeat or a count older than the
window is refused (RFC 7616 §3.3: the server "SHOULD check that the nonce-count ...
[is] not a repeat"; REFERENCE gap 5).

Memory is fixed: a ring of ``capacity`` keys evicts the oldest entry first (a clock
hand; O(1), unlike ``next(iter(dict))``). An evicted nonce must never look unused
again, or eviction would re-open a replay, so the store keeps a watermark: the latest
expiry of any evicted entry. A nonce that is not in the table and expires no later than
the watermark is refused (the server answers stale=true and the client simply gets a
new nonce). Size the table at least (requests per second) x ``nonce_ttl``.

``window == 0`` means one use only (one-time nonces, and the RFC 2069 form, which has
no nonce-count).

The :class:`ReplayStore` protocol is the plug for a shared store (e.g. Redis for a farm
of proxies). With ``ServerPolicy.external_replay`` the server does not call a store at
all: it returns a ``CheckReplay`` action with the same arguments and continues on
``ReplayChecked``, so the machine itself never does I/O.
"""

from __future__ import annotations

import math
from typing import Hashable, Protocol, runtime_checkable

__all__ = ["ReplayStore", "MemoryReplayStore"]

_NC_BITS = 32
_NC_MASK = (1 << _NC_BITS) - 1
_EXP_BITS = 48  # expiry, whole seconds rounded up, clamped to [0, 2**48)
_EXP_MAX = (1 << _EXP_BITS) - 1
_WIN_SHIFT = _NC_BITS + _EXP_BITS
_EXP_FIELD = _EXP_MAX << _NC_BITS


@runtime_checkable
class ReplayStore(Protocol):
    """Check-and-record of (nonce key, nonce-count) pairs, atomically.

    Return True when ``nc`` was not seen for ``key`` and is now recorded, False for a
    repeat, a count older than ``window`` below the highest seen, a second use when
    ``window`` is 0, or a key the store can no longer vouch for (evicted). ``expires``
    (same clock as ``now``) is when the nonce goes stale anyway: the store may forget
    the key after it.
    """

    def check_and_record(
        self, key: bytes, nc: int, window: int, now: float, expires: float
    ) -> bool: ...


def _exp_bits(expires: float) -> int:
    if expires != expires:  # NaN: the most conservative value
        return _EXP_MAX
    if expires <= 0:
        return 0
    if expires >= _EXP_MAX:
        return _EXP_MAX
    return math.ceil(expires)


class MemoryReplayStore:
    """The default :class:`ReplayStore`: in this process, at most ``capacity`` nonces."""

    __slots__ = ("_capacity", "_hand", "_ring", "_table", "_watermark")

    def __init__(self, capacity: int = 65536) -> None:
        if type(capacity) is not int or capacity < 1:
            raise ValueError("capacity must be a positive int")
        self._capacity = capacity
        self._table: dict[Hashable, int] = {}
        self._ring: list[Hashable | None] = [None] * capacity
        self._hand = 0
        self._watermark = -1  # latest expiry (whole seconds) of an evicted entry

    def check_and_record(
        self, key: Hashable, nc: int, window: int, now: float, expires: float
    ) -> bool:
        table = self._table
        packed = table.get(key)
        if packed is None:
            try:
                exp = int(expires) + 1  # an upper bound is safe: it can only refuse more
            except (ValueError, OverflowError):  # NaN, infinity
                exp = _EXP_MAX
            if not 0 < exp <= _EXP_MAX:
                exp = _exp_bits(expires)
            if exp <= self._watermark:
                return False  # it may have been here and been evicted: never fresh again
            hand = self._hand
            old = self._ring[hand]
            if old is not None:
                evicted = table.pop(old, None)
                if evicted is not None:
                    wm = (evicted >> _NC_BITS) & _EXP_MAX
                    if wm > self._watermark:
                        self._watermark = wm
            self._ring[hand] = key
            self._hand = hand + 1 if hand + 1 < self._capacity else 0
            table[key] = (1 << _WIN_SHIFT) | (exp << _NC_BITS) | (nc & _NC_MASK)
            return True
        if window <= 0:
            return False
        high = packed & _NC_MASK
        if nc > high:
            shift = nc - high
            if shift >= window:
                mask = 1
            else:
                mask = (((packed >> _WIN_SHIFT) << shift) | 1) & ((1 << window) - 1)
            table[key] = (mask << _WIN_SHIFT) | (packed & _EXP_FIELD) | nc
            return True
        age = high - nc
        if age >= window:
            return False
        bit = 1 << (_WIN_SHIFT + age)
        if packed & bit:
            return False
        table[key] = packed | bit
        return True

    def __len__(self) -> int:
        return len(self._table)

    @property
    def capacity(self) -> int:
        return self._capacity

    def __repr__(self) -> str:
        return f"MemoryReplayStore(size={len(self._table)}, capacity={self._capacity})"
