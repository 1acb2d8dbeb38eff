"""Nonce-count replay protection: a sliding window per nonce, in bounded memory.

Strategy. For each nonce the store keeps the highest nonce-count seen and a bitmask of
the ``window`` counts below it (bit *i* set = count ``high - i`` was used), and the
nonce's expiry, keyed by the nonce's 8-byte random id (``_impl.ReplayWindows``: flat C
arrays and an open-addressing index in the compiled twin, so that a check reads one
index line and one entry line whatever the table's size; a dict of packed ints in the
pure one). A
count above the highest slides the window; a count inside it is accepted once
(reordering, e.g. parallel transactions on one flow); a repeat or a count older than the
window is refused (RFC 7616 §3.3: the server "SHOULD check that the nonce-count ...
[is] not a repeat"; REFERENCE gap 5).

Memory is fixed: a ring of ``capacity`` keys (in C, the entry array itself) evicts the oldest entry first (a clock
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

from typing import Callable, Protocol, runtime_checkable

from . import _impl

__all__ = ["ReplayStore", "MemoryReplayStore"]


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


class MemoryReplayStore:
    """The default :class:`ReplayStore`: in this process, at most ``capacity`` nonces.

    Keys are the server's 8-byte nonce ids; ``max_window`` bounds the ``window`` a call
    may ask for (the server passes its policy's ``replay_window``). The table is
    ``_impl.ReplayWindows``: C arrays in the compiled twin (about 43 bytes a nonce
    with a 128-count window: a 32-byte entry, half a cache line, and its index word),
    the same algorithm in Python otherwise.
    """

    __slots__ = ("_windows", "check_and_record")

    def __init__(self, capacity: int = 65536, max_window: int = 128) -> None:
        if type(capacity) is not int or capacity < 1:
            raise ValueError("capacity must be a positive int")
        self._windows = _impl.ReplayWindows(capacity, max_window)
        # the table's own bound method: a call costs no Python frame here
        self.check_and_record: Callable[[bytes, int, int, float, float], bool] = (
            self._windows.check_and_record
        )

    def __len__(self) -> int:
        return len(self._windows)

    @property
    def capacity(self) -> int:
        return self._windows.capacity

    @property
    def max_window(self) -> int:
        return self._windows.max_window

    def __repr__(self) -> str:
        return f"MemoryReplayStore(size={len(self)}, capacity={self.capacity})"
