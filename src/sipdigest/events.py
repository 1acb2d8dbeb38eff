"""Events: facts the host reports to a machine (past tense).

Small ``__slots__`` classes rather than dataclasses: a proxy builds one per request,
and a frozen dataclass costs several times more to construct. Time arrives as ``now``
(seconds, any monotonic or wall clock the host likes, as long as it is consistent
across the nodes that share a nonce secret).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Union

from .actions import redacted

if TYPE_CHECKING:
    from .actions import CheckReplay, LookupCredentials

__all__ = [
    "Event",
    "Header",
    "RequestReceived",
    "CredentialsFound",
    "CredentialsNotFound",
    "ReplayChecked",
    "RequestPrepared",
    "ResponseReceived",
    "CredentialsProvided",
]

Header = tuple[str, str]
Secret = Union[str, bytes]


class Event:
    __slots__ = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={redacted(getattr(self, n))!r}" for n in self._shown())
        return f"{type(self).__name__}({fields})"

    def _shown(self) -> tuple[str, ...]:
        return tuple(n for c in type(self).__mro__ for n in getattr(c, "__slots__", ()))


# ---- server side -----------------------------------------------------------------------


class RequestReceived(Event):
    """A request arrived. ``headers`` are (name, value) pairs in wire order, any case.

    ``realm`` overrides the server's configured realm (a multi-domain registrar);
    ``source`` ("ip:port" or any stable string) is used for nonce binding when enabled.
    """

    __slots__ = ("method", "uri", "headers", "now", "body", "source", "realm")

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Sequence[Header],
        now: float,
        body: bytes = b"",
        source: Optional[str] = None,
        realm: Optional[str] = None,
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers
        self.now = now
        self.body = body
        self.source = source
        self.realm = realm


class CredentialsFound(Event):
    """The answer to ``LookupCredentials``: a password, or stored HA1s keyed by algorithm.

    ``ha1`` maps algorithm tokens (any case, e.g. ``"MD5"``, ``"SHA-256"``) to hex HA1s;
    the -sess variants use the plain algorithm's HA1. It may also be one hex str: the
    HA1 for the algorithm the look-up names (for a -sess one, the plain algorithm's), so
    a host that keeps one HA1 per user needs no mapping per user. ``ha1b`` holds the
    H(user@domain:realm:password) variants some registrars store (a named quirk).
    ``username`` is the real username the host confirms (needed with a password when the
    look-up was by userhash, RFC 7616 §3.4.4); ``Accept.username`` reports it.
    """

    __slots__ = ("lookup", "password", "ha1", "ha1b", "username")

    def __init__(
        self,
        lookup: LookupCredentials,
        password: Optional[Secret] = None,
        ha1: Union[Mapping[str, str], str, None] = None,
        ha1b: Optional[Mapping[str, str]] = None,
        username: Optional[str] = None,
    ) -> None:
        self.lookup = lookup
        self.password = password
        self.ha1 = ha1
        self.ha1b = ha1b
        self.username = username

    def _shown(self) -> tuple[str, ...]:
        return ("lookup", "username")  # never the secrets


class CredentialsNotFound(Event):
    """The answer to ``LookupCredentials`` when the user does not exist."""

    __slots__ = ("lookup",)

    def __init__(self, lookup: LookupCredentials) -> None:
        self.lookup = lookup


class ReplayChecked(Event):
    """The answer to ``CheckReplay`` from an external replay store (e.g. shared by a farm)."""

    __slots__ = ("check", "fresh")

    def __init__(self, check: CheckReplay, fresh: bool) -> None:
        self.check = check
        self.fresh = fresh


# ---- client side -----------------------------------------------------------------------


class RequestPrepared(Event):
    """The host is about to send a request (a new one, or the ACK for a 2xx).

    For the ACK of a 2xx give the INVITE's ``cseq``: the client copies the INVITE's
    credentials (RFC 3261 §13.2.2.4, §22.1).
    """

    __slots__ = ("method", "uri", "call_id", "cseq", "body")

    def __init__(
        self, method: str, uri: str, call_id: str, cseq: int, body: bytes = b""
    ) -> None:
        self.method = method
        self.uri = uri
        self.call_id = call_id
        self.cseq = cseq
        self.body = body


class ResponseReceived(Event):
    """A final response to ``request`` arrived; ``headers`` in wire order, any case."""

    __slots__ = ("status", "headers", "request", "body")

    def __init__(
        self,
        status: int,
        headers: Sequence[Header],
        request: RequestPrepared,
        body: bytes = b"",
    ) -> None:
        self.status = status
        self.headers = headers
        self.request = request
        self.body = body


class CredentialsProvided(Event):
    """The application's answer to ``NeedCredentials`` for one realm."""

    __slots__ = ("realm", "username", "password", "ha1")

    def __init__(
        self,
        realm: str,
        username: str,
        password: Optional[Secret] = None,
        ha1: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.realm = realm
        self.username = username
        self.password = password
        self.ha1 = ha1

    def _shown(self) -> tuple[str, ...]:
        return ("realm", "username")
