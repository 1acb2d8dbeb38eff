"""Actions: what a machine tells the host to do (imperative), and the typed reasons.

Every ``handle()`` returns exactly one of the classes here, so a host can ``match``
exhaustively. Reasons are a closed ``enum`` so monitoring can count them.
"""

from __future__ import annotations

import enum
from typing import Any, Optional

__all__ = [
    "Reason",
    "Action",
    "SendChallenge",
    "LookupCredentials",
    "CheckReplay",
    "Accept",
    "Exempt",
    "Reject",
    "AttachCredentials",
    "Retry",
    "NeedCredentials",
    "Done",
    "GiveUp",
]

Headers = tuple[tuple[str, str], ...]


class Reason(str, enum.Enum):
    """Why a request was challenged, refused or given up on."""

    # server side
    NO_CREDENTIALS = "no_credentials"
    REALM_MISMATCH = "realm_mismatch"
    BASIC_REFUSED = "basic_refused"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    FORGED_NONCE = "forged_nonce"
    STALE = "stale"
    WRONG_RESPONSE = "wrong_response"
    UNKNOWN_USER = "unknown_user"
    REPLAY = "replay"
    DOWNGRADE = "downgrade"
    BINDING_MISMATCH = "binding_mismatch"
    URI_MISMATCH = "uri_mismatch"
    MALFORMED = "malformed"
    # client side
    CREDENTIALS_REFUSED = "credentials_refused"
    NO_CREDENTIALS_FOR_REALM = "no_credentials_for_realm"
    NO_SUPPORTED_CHALLENGE = "no_supported_challenge"
    TOO_MANY_RETRIES = "too_many_retries"
    RSPAUTH_MISMATCH = "rspauth_mismatch"
    NOT_RETRIED = "not_retried"

    def __str__(self) -> str:
        return self.value


_SENSITIVE = frozenset(
    ("authorization", "proxy-authorization", "authentication-info", "proxy-authentication-info")
)


def redacted(value: object) -> object:
    """``value`` for a repr, with credentials and Authentication-Info header values hidden.

    A response or rspauth is a password oracle (offline guessing), so reprs, which end up
    in logs, never show one.
    """
    if isinstance(value, (tuple, list)) and value and all(
        isinstance(h, tuple) and len(h) == 2 and isinstance(h[0], str) for h in value
    ):
        return type(value)(
            (n, "<redacted>") if n.lower() in _SENSITIVE else (n, v) for n, v in value
        )
    return value


class Action:
    __slots__ = ()

    def __repr__(self) -> str:
        names = [n for c in type(self).__mro__ for n in getattr(c, "__slots__", ())]
        shown = ", ".join(
            f"{n}={redacted(getattr(self, n))!r}" for n in names if not n.startswith("_")
        )
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names = [n for c in type(self).__mro__ for n in getattr(c, "__slots__", ())]
        return all(getattr(self, n) == getattr(other, n) for n in names if not n.startswith("_"))

    __hash__ = None  # type: ignore[assignment]


# ---- server ----------------------------------------------------------------------------


class SendChallenge(Action):
    """Answer with ``status`` (401 or 407) and these challenge headers."""

    __slots__ = ("status", "reason_phrase", "headers", "reason", "stale")

    def __init__(
        self, status: int, reason_phrase: str, headers: Headers, reason: Reason, stale: bool
    ) -> None:
        self.status = status
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.reason = reason
        self.stale = stale


class LookupCredentials(Action):
    """Find the user's secret and answer with ``CredentialsFound``/``CredentialsNotFound``.

    With ``userhash`` true, ``username`` is H(user:realm) and the host looks the user
    up by that hash (RFC 7616 §3.4.4). The rest of the request's state rides along in
    this object, so the server keeps no table of pending look-ups.
    """

    __slots__ = ("realm", "username", "userhash", "algorithm", "_ctx")

    def __init__(
        self, realm: str, username: str, userhash: bool, algorithm: str, _ctx: Any = None
    ) -> None:
        self.realm = realm
        self.username = username
        self.userhash = userhash
        self.algorithm = algorithm
        self._ctx = _ctx


class CheckReplay(Action):
    """Atomically check and record nonce-count ``nc`` for nonce ``key`` in a shared store.

    Answer with ``ReplayChecked(check, fresh)``: fresh means the pair was not seen and is
    now recorded (and within ``window`` of the highest count seen for the key).
    """

    __slots__ = ("key", "nc", "window", "expires", "_ctx")

    def __init__(self, key: bytes, nc: int, window: int, expires: float, _ctx: Any = None) -> None:
        self.key = key
        self.nc = nc
        self.window = window
        self.expires = expires
        self._ctx = _ctx


class Accept(Action):
    """Authenticated. Authorization (may this user do this?) is the host's decision."""

    __slots__ = ("username", "realm", "algorithm", "qop", "headers", "quirks")

    def __init__(
        self,
        username: str,
        realm: str,
        algorithm: str,
        qop: Optional[str],
        headers: Headers = (),
        quirks: tuple[str, ...] = (),
    ) -> None:
        self.username = username
        self.realm = realm
        self.algorithm = algorithm
        self.qop = qop
        self.headers = headers
        self.quirks = quirks


class Exempt(Action):
    """Never challenged (ACK, CANCEL: RFC 3261 §22.1); the host processes it as usual."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method


class Reject(Action):
    """Refuse with ``status`` (400 or 403) and no challenge."""

    __slots__ = ("status", "reason_phrase", "reason", "detail")

    def __init__(self, status: int, reason_phrase: str, reason: Reason, detail: str = "") -> None:
        self.status = status
        self.reason_phrase = reason_phrase
        self.reason = reason
        self.detail = detail


# ---- client ----------------------------------------------------------------------------


class AttachCredentials(Action):
    """Add these headers to the request about to be sent (possibly none)."""

    __slots__ = ("headers",)

    def __init__(self, headers: Headers = ()) -> None:
        self.headers = headers


class Retry(Action):
    """Send the request again with a new CSeq and these authorization headers."""

    __slots__ = ("headers",)

    def __init__(self, headers: Headers) -> None:
        self.headers = headers


class NeedCredentials(Action):
    """Credentials are needed for these realms; answer with ``CredentialsProvided``."""

    __slots__ = ("realms",)

    def __init__(self, realms: tuple[str, ...]) -> None:
        self.realms = realms


class Done(Action):
    """Nothing more to do for this response (success, or a final status not about auth).

    ``mutual`` is true when the server proved it knows the secret (rspauth checked).
    """

    __slots__ = ("status", "mutual", "quirks")

    def __init__(self, status: int, mutual: bool = False, quirks: tuple[str, ...] = ()) -> None:
        self.status = status
        self.mutual = mutual
        self.quirks = quirks


class GiveUp(Action):
    """Authentication cannot succeed; ``realm`` names the realm at fault when there is one."""

    __slots__ = ("reason", "realm", "detail")

    def __init__(self, reason: Reason, realm: Optional[str] = None, detail: str = "") -> None:
        self.reason = reason
        self.realm = realm
        self.detail = detail
