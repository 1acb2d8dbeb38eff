"""The library's exception hierarchy.

Two branches, after h11: a :class:`RemoteProtocolError` means the peer sent something
we will not accept (a host answers it with a 4xx or gives up); a
:class:`LocalProtocolError` means the host itself misused the API. The state machines
turn remote errors into ``Reject``/``GiveUp`` actions; only local errors escape
``handle()``.
"""

from __future__ import annotations

__all__ = [
    "SipDigestError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "MalformedHeader",
    "UnsupportedAlgorithm",
    "UnsupportedScheme",
]


class SipDigestError(Exception):
    """Base class of every exception the library raises on purpose."""


class LocalProtocolError(SipDigestError):
    """The host called the library in a way that cannot work (a bug in the host)."""


class RemoteProtocolError(SipDigestError):
    """The peer sent something malformed or unacceptable."""


class MalformedHeader(RemoteProtocolError, ValueError):
    """A header value does not follow the grammar.

    ``position`` is the index (in code points) in the value where the problem was
    found, or the length of the value when it ended too early; both implementations of
    the parser agree on it, which the tests hold them to.
    """

    def __init__(self, message: str, position: int = -1) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position >= 0:
            return f"{self.message} (at position {self.position})"
        return self.message


class UnsupportedAlgorithm(RemoteProtocolError, ValueError):
    """An algorithm token that is not in the registry (never silently treated as MD5)."""

    def __init__(self, token: str) -> None:
        super().__init__(f"unsupported digest algorithm {token[:64]!r}")
        self.token = token


class UnsupportedScheme(RemoteProtocolError, ValueError):
    """An authentication scheme other than Digest (``Basic`` in particular)."""

    def __init__(self, scheme: str) -> None:
        super().__init__(f"authentication scheme {scheme[:64]!r} is not accepted")
        self.scheme = scheme
