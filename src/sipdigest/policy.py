"""Policies: what a server offers and accepts, what a client answers.

Strict by default. Interoperability with broken peers is a set of *named* quirks
(REFERENCE §2): each is off unless the host names it, and an ``Accept``/``Done`` lists
the quirks that were actually needed, so operators can see which peers are broken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from .digest import ALGORITHMS, Algorithm, get_algorithm
from .errors import LocalProtocolError

__all__ = ["ServerPolicy", "ClientPolicy", "SERVER_QUIRKS", "CLIENT_QUIRKS"]

#: Server quirks, by name.
SERVER_QUIRKS = frozenset(
    {
        "uppercase_hex",  # accept a response in upper-case hex (Q18)
        "decimal_nc",  # accept nc that is not 8 hex digits, read as decimal (Q20)
        "uri_loose",  # digest-uri may differ from the Request-URI in parameters (Q12)
        "uri_off",  # do not compare digest-uri with the Request-URI at all (Q12)
        "realm_prefix",  # accept "sip.example.com" for realm "example.com" (Q11)
        "ha1b",  # also try H(user@domain:realm:pw) from CredentialsFound.ha1b (Q10)
        "truncated_sha512",  # SHA-512-256 computed as truncated SHA-512 (Q9)
        "no_qop",  # accept the RFC 2069 form even when qop was offered (legacy peers)
    }
)

#: Client quirks, by name.
CLIENT_QUIRKS = frozenset(
    {
        "truncated_sha512",  # answer SHA-512-256 with truncated SHA-512 (Q9)
        "algorithm_aliases",  # read "SHA"/"SHA-512"/"md5" style tokens as registry ones (Q7)
    }
)

Role = Literal["registrar", "proxy"]
UriCheck = Literal["exact", "loose", "off"]


def _algorithms(tokens: tuple[str, ...]) -> tuple[Algorithm, ...]:
    algs = tuple(get_algorithm(t) for t in tokens)
    if len({a.token for a in algs}) != len(algs):
        raise LocalProtocolError("an algorithm is listed twice")
    return algs


def _check_quirks(quirks: frozenset[str], known: frozenset[str]) -> None:
    unknown = set(quirks) - known
    if unknown:
        raise LocalProtocolError(f"unknown quirk(s): {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class ServerPolicy:
    """Configuration of a :class:`~sipdigest.server.Server`.

    ``secret`` keys the nonce MAC: every node of a farm that shares it accepts the
    others' nonces; ``old_secrets`` are still accepted (as stale) during a rotation.
    ``algorithms`` are offered as one challenge each, strongest first (RFC 8760 §2.4),
    whatever order they are given in. ``qop`` empty means the RFC 2069 form only.
    """

    realm: str
    secret: bytes = field(repr=False)
    role: Role = "registrar"
    algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    qop: tuple[str, ...] = ("auth",)
    nonce_ttl: float = 300.0
    opaque: Optional[str] = None
    userhash: bool = False
    auth_info: bool = False
    nextnonce: bool = False
    one_time_nonce: bool = False
    replay_window: int = 128
    replay_capacity: int = 65536
    external_replay: bool = False
    bind_call_id: bool = False
    bind_from_tag: bool = False
    bind_source: bool = False
    uri_check: UriCheck = "exact"
    reject_wrong_credentials: bool = False
    ack_capacity: int = 4096
    ack_ttl: float = 32.0
    exempt_methods: tuple[str, ...] = ("ACK", "CANCEL")
    old_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    quirks: frozenset[str] = frozenset()
    #: with the ``realm_prefix`` quirk, credentials for ``realm_prefix + realm`` count as ours
    realm_prefix: str = "sip."
    #: how many verified nonces keep their decoded payload, so that a reused nonce skips
    #: the MAC (0: always check the MAC); entries are added only after a digest verified
    nonce_cache: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise LocalProtocolError("the nonce secret must be at least 16 bytes")
        if self.role not in ("registrar", "proxy"):
            raise LocalProtocolError("role is 'registrar' or 'proxy'")
        if not self.algorithms:
            raise LocalProtocolError("offer at least one algorithm")
        _algorithms(self.algorithms)
        for q in self.qop:
            if q not in ("auth", "auth-int"):
                raise LocalProtocolError(f"unknown qop {q!r}")
        if self.uri_check not in ("exact", "loose", "off"):
            raise LocalProtocolError("uri_check is 'exact', 'loose' or 'off'")
        if self.nonce_ttl <= 0 or self.replay_window < 1 or self.replay_capacity < 1:
            raise LocalProtocolError("nonce_ttl, replay_window and replay_capacity must be > 0")
        object.__setattr__(self, "quirks", frozenset(self.quirks))
        _check_quirks(self.quirks, SERVER_QUIRKS)

    @property
    def offered(self) -> tuple[Algorithm, ...]:
        """The algorithms in the order they are offered: strongest first."""
        algs = _algorithms(self.algorithms)
        return tuple(sorted(algs, key=lambda a: -a.strength))


@dataclass(frozen=True)
class ClientPolicy:
    """Configuration of a :class:`~sipdigest.client.Client`.

    ``algorithms`` lists the algorithms the client will answer, in no particular order
    (the server's order decides, RFC 8760 §2.4); ``algorithm_floor`` refuses anything
    weaker (e.g. "SHA-256" refuses MD5).
    """

    algorithms: tuple[str, ...] = tuple(a.token for a in ALGORITHMS.values())
    algorithm_floor: Optional[str] = None
    prefer_auth_int: bool = False
    max_retries: int = 4
    stale_without_flag: bool = True
    require_rspauth: bool = False
    nonce_cache_size: int = 16
    cnonce_length: int = 16
    quirks: frozenset[str] = frozenset()
    #: a challenge from a realm without credentials gives ``NeedCredentials`` (True) or
    #: ``GiveUp(NO_CREDENTIALS_FOR_REALM)`` (False, for hosts with nobody to ask)
    ask_for_credentials: bool = True
    #: how many requests' state (retry chains, INVITE credentials kept for the 2xx ACK,
    #: refused realms) the client keeps; the oldest is forgotten first
    request_memory: int = 256

    def __post_init__(self) -> None:
        _algorithms(self.algorithms)
        if self.algorithm_floor is not None:
            get_algorithm(self.algorithm_floor)
        if self.max_retries < 1 or self.nonce_cache_size < 1 or self.request_memory < 1:
            raise LocalProtocolError(
                "max_retries, nonce_cache_size and request_memory must be >= 1"
            )
        if self.cnonce_length < 11:
            raise LocalProtocolError("a cnonce needs at least 11 characters (64 bits)")
        object.__setattr__(self, "quirks", frozenset(self.quirks))
        _check_quirks(self.quirks, CLIENT_QUIRKS)

    def allows(self, algorithm: Algorithm) -> bool:
        if algorithm.token not in {get_algorithm(t).token for t in self.algorithms}:
            return False
        floor = self.algorithm_floor
        return floor is None or algorithm.strength >= get_algorithm(floor).strength
