"""Bounded, expiring memories for the server machine (no I/O, no clock: ``now`` is given).

Strategy: a dict for the look-up plus a fixed ring of keys for eviction, so memory is
capped by ``capacity`` whatever a peer sends, every operation is O(1), and eviction is
first-in first-out (a "clock" hand over the ring). Entries also carry an expiry time and
are ignored once it has passed. The server uses this to remember, for ``ack_ttl``
seconds (64*T1 = 32 s, RFC 3261 §17.1.1.2 Timer B), which credentials were accepted for
an INVITE so that the ACK for its 2xx, which carries the same credentials
(RFC 3261 §22.1, §13.2.2.4), can be accepted too.
"""

from __future__ import annotations

from typing import Generic, Hashable, Iterable, TypeVar

__all__ = ["ExpiringMemory", "dialog_key"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMemory(Generic[K, V]):
    """At most ``capacity`` entries, each forgotten ``ttl`` seconds after it was stored."""

    __slots__ = ("_capacity", "_hand", "_ring", "_table", "_ttl")

    def __init__(self, capacity: int, ttl: float) -> None:
        if capacity < 1 or ttl <= 0:
            raise ValueError("capacity and ttl must be positive")
        self._capacity = capacity
        self._ttl = ttl
        self._table: dict[K, tuple[float, V]] = {}
        self._ring: list[K | None] = [None] * capacity
        self._hand = 0

    def put(self, key: K, value: V, now: float) -> None:
        """Remember ``value`` under ``key`` until ``now + ttl`` (replacing an older value)."""
        table = self._table
        if key not in table:
            hand = self._hand
            old = self._ring[hand]
            if old is not None:
                table.pop(old, None)
            self._ring[hand] = key
            self._hand = hand + 1 if hand + 1 < self._capacity else 0
        table[key] = (now + self._ttl, value)

    def get(self, key: K, now: float) -> V | None:
        """The value stored under ``key`` if it has not expired yet."""
        found = self._table.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def peek(self, key: K) -> V | None:
        """The value stored under ``key``, expired or not (for memories with ttl=inf)."""
        found = self._table.get(key)
        return None if found is None else found[1]

    def __len__(self) -> int:
        return len(self._table)

    def __bool__(self) -> bool:
        return bool(self._table)

    def __repr__(self) -> str:
        return f"ExpiringMemory(size={len(self._table)}, capacity={self._capacity})"


def _from_tag(value: str) -> str | None:
    """The ``tag`` parameter of a From header value (RFC 3261 §20.20, §19.3)."""
    gt = value.rfind(">")
    params = value[gt + 1 :] if gt >= 0 else value  # addr-spec form: every ;param is the header's
    for part in params.split(";")[1:]:
        name, _, tag = part.partition("=")
        if name.strip().lower() == "tag":
            return tag.strip()
    return None


def dialog_key(headers: Iterable[tuple[str, str]]) -> tuple[str | None, str | None, str | None]:
    """(Call-ID, CSeq number, From tag) of a request, compact header forms included.

    This is what ties an ACK to its INVITE (RFC 3261 §17.1.1.3: same Call-ID, From tag
    and CSeq number) and what a nonce may be bound to.
    """
    call_id = cseq = from_tag = None
    for name, value in headers:
        n = name.lower()
        if n == "call-id" or n == "i":
            call_id = value.strip()
        elif n == "cseq":
            number = value.split(None, 1)
            cseq = number[0] if number else ""
        elif n == "from" or n == "f":
            from_tag = _from_tag(value)
    return call_id, cseq, from_tag
