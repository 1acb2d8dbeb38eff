"""Value objects for the three digest headers, parsed tolerantly and rendered strictly.

Parsing goes through the twin tokenizer (any case, token or quoted values, folded
lines, unknown parameters kept). Rendering follows the grammar exactly (RFC 3261
§25.1, RFC 7616 §3.3-3.5): quoted-string with quoted-pair for ``"`` and ``\\``, the
qop list quoted in challenges and a bare token in credentials, ``nc`` as 8 hex digits.
For every object, ``parse(render(x)) == x``. Constructors validate what a host gives
them, so a value can never smuggle a CR/LF or a quote into a header.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional, Union
from urllib.parse import quote as _pct_quote
from urllib.parse import unquote_to_bytes as _pct_unquote

from . import _impl
from .errors import LocalProtocolError, MalformedHeader, UnsupportedScheme

__all__ = [
    "Challenge",
    "Credentials",
    "AuthenticationInfo",
    "parse_challenges",
    "parse_challenge_headers",
    "parse_credentials",
    "parse_authentication_info",
    "MAX_HEADER_LENGTH",
    "MAX_PARAMS",
]

#: Longest header value the parsers look at; longer ones are refused before any work.
MAX_HEADER_LENGTH = 8192
#: Most items (schemes plus parameters) in one header value.
MAX_PARAMS = 64

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
_BAD_TEXT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_EXT_VALUE = re.compile(r"([A-Za-z0-9!#$%&+\-^_`{}~]+)'([A-Za-z0-9\-]*)'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)")


def _check_token(name: str, value: str) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise LocalProtocolError(f"{name} must be a token, got {value!r:.40}")
    return value


def _check_text(name: str, value: str) -> str:
    if not isinstance(value, str) or _BAD_TEXT.search(value):
        raise LocalProtocolError(f"{name} must be text without control characters")
    return value


# Values that are tokens, seen in nearly every header: a set look-up spares the regex.
_COMMON_TOKENS = frozenset(
    ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess",
     "md5", "md5-sess", "sha-256", "sha-256-sess", "sha-512-256", "sha-512-256-sess",
     "MD5-SESS", "SHA-256-SESS", "SHA-512-256-SESS", "auth", "auth-int", "UTF-8")
)  # fmt: skip


def _token_field(name: str, value: Optional[str]) -> Optional[str]:
    """A parsed field that is rendered bare must be a token, or it could inject parameters."""
    if value is None or value in _COMMON_TOKENS or (value.isalnum() and value.isascii()):
        return value  # ASCII letters and digits (an nc) are token characters
    if not _TOKEN.fullmatch(value):
        raise MalformedHeader(f"{name} is not a token: {value[:40]!r}")
    return value


def _quote(value: str) -> str:
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def _bool_param(value: Optional[str]) -> bool:
    # RFC 2617 §3.2.1: anything other than TRUE (any case) is false
    return value is not None and value.lower() == "true"


def _canonical_scheme(scheme: str) -> str:
    return "Digest" if scheme.lower() == "digest" else scheme


def _render_extra(parts: list[str], extra: Mapping[str, str]) -> None:
    for name, value in extra.items():
        parts.append(f"{name}={_quote(value)}")


def _check_extra(extra: Optional[Mapping[str, str]], known: frozenset[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (extra or {}).items():
        lname = _check_token("parameter name", name).lower()
        if lname in known or lname in out:
            raise LocalProtocolError(f"parameter {lname!r} is not an extra parameter")
        out[lname] = _check_text(lname, value)
    return out


# The qop lists servers send, already split (Challenge._from_item's reading of them).
_QOP_LISTS = {
    "auth": ("auth",),
    "auth-int": ("auth-int",),
    "auth,auth-int": ("auth", "auth-int"),
    "auth-int,auth": ("auth-int", "auth"),
    "auth, auth-int": ("auth", "auth-int"),
}


class Challenge:
    """One challenge from WWW-Authenticate or Proxy-Authenticate."""

    __slots__ = (
        "scheme", "realm", "nonce", "algorithm", "qop", "opaque", "stale",
        "domain", "userhash", "charset", "token68", "extra",
    )  # fmt: skip
    _KNOWN = frozenset(
        ("realm", "nonce", "algorithm", "qop", "opaque", "stale", "domain", "userhash", "charset")
    )

    scheme: str
    realm: Optional[str]
    nonce: Optional[str]
    algorithm: Optional[str]
    qop: tuple[str, ...]
    opaque: Optional[str]
    stale: bool
    domain: Optional[str]
    userhash: bool
    charset: Optional[str]
    token68: Optional[str]
    extra: dict[str, str]

    def __init__(
        self,
        *,
        realm: Optional[str],
        nonce: Optional[str],
        scheme: str = "Digest",
        algorithm: Optional[str] = None,
        qop: Iterable[str] = (),
        opaque: Optional[str] = None,
        stale: bool = False,
        domain: Optional[str] = None,
        userhash: bool = False,
        charset: Optional[str] = None,
        token68: Optional[str] = None,
        extra: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.scheme = _canonical_scheme(_check_token("scheme", scheme))
        self.realm = None if realm is None else _check_text("realm", realm)
        self.nonce = None if nonce is None else _check_text("nonce", nonce)
        self.algorithm = None if algorithm is None else _check_token("algorithm", algorithm)
        self.qop = tuple(_check_token("qop", q).lower() for q in qop)
        self.opaque = None if opaque is None else _check_text("opaque", opaque)
        self.stale = bool(stale)
        self.domain = None if domain is None else _check_text("domain", domain)
        self.userhash = bool(userhash)
        self.charset = None if charset is None else _check_token("charset", charset)
        if token68 is not None and not re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", token68):
            raise LocalProtocolError("token68 has characters outside its grammar")
        self.token68 = token68
        self.extra = _check_extra(extra, self._KNOWN)
        if self.scheme == "Digest" and (self.realm is None or self.nonce is None):
            raise LocalProtocolError("a Digest challenge needs realm and nonce")

    @classmethod
    def _from_item(cls, scheme: str, token68: Optional[str], params: dict[str, str]) -> Challenge:
        # runs once per parsed challenge: local names, inlined helpers, no regex for the
        # usual algorithm and qop values
        self = cls.__new__(cls)
        self.scheme = scheme = "Digest" if scheme == "Digest" else _canonical_scheme(scheme)
        self.token68 = token68
        pop = params.pop
        self.realm = realm = pop("realm", None)
        self.nonce = nonce = pop("nonce", None)
        algorithm = pop("algorithm", None)
        if algorithm is not None and algorithm not in _COMMON_TOKENS:
            _token_field("algorithm", algorithm)
        self.algorithm = algorithm
        qop = pop("qop", None)
        if not qop:
            self.qop = ()
        else:
            found = _QOP_LISTS.get(qop)
            if found is None:
                found = tuple(q.strip(" \t").lower() for q in qop.split(",") if q.strip(" \t"))
                for q in found:
                    _token_field("qop", q)
            self.qop = found
        self.opaque = pop("opaque", None)
        stale = pop("stale", None)
        self.stale = stale is not None and stale.lower() == "true"
        self.domain = pop("domain", None)
        userhash = pop("userhash", None)
        self.userhash = userhash is not None and userhash.lower() == "true"
        self.charset = _token_field("charset", pop("charset", None))
        self.extra = params
        if scheme == "Digest":
            if token68 is not None:
                raise MalformedHeader("a Digest challenge takes parameters, not token68")
            if realm is None:
                raise MalformedHeader("Digest challenge without realm")
            if nonce is None:
                raise MalformedHeader("Digest challenge without nonce")
        return self

    @property
    def is_digest(self) -> bool:
        return self.scheme == "Digest"

    def render(self) -> str:
        """The header value, strictly per RFC 7616 §3.3."""
        if self.token68 is not None:
            return f"{self.scheme} {self.token68}"
        parts: list[str] = []
        if self.realm is not None:
            parts.append(f"realm={_quote(self.realm)}")
        if self.domain is not None:
            parts.append(f"domain={_quote(self.domain)}")
        if self.qop:
            parts.append(f'qop="{",".join(self.qop)}"')
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.nonce is not None:
            parts.append(f"nonce={_quote(self.nonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        if self.charset is not None:
            parts.append(f"charset={self.charset}")
        if self.userhash:
            parts.append("userhash=true")
        _render_extra(parts, self.extra)
        return f"{self.scheme} {', '.join(parts)}" if parts else self.scheme

    __str__ = render

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is Challenge and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Challenge(scheme={self.scheme!r}, realm={self.realm!r}, "
            f"algorithm={self.algorithm!r}, qop={self.qop!r}, stale={self.stale!r})"
        )


def _decode_ext_value(value: str) -> str:
    """RFC 5987 ext-value (charset'language'pct-encoded), as RFC 7616 §3.4.4 uses it."""
    m = _EXT_VALUE.fullmatch(value)
    if m is None:
        raise MalformedHeader("username* is not an RFC 5987 ext-value")
    charset = m.group(1).lower()
    if charset not in ("utf-8", "iso-8859-1"):
        raise MalformedHeader(f"username* charset {m.group(1)[:32]!r} is not supported")
    try:
        text = _pct_unquote(m.group(3)).decode(charset)
    except UnicodeDecodeError:
        raise MalformedHeader("username* is not valid UTF-8") from None
    if _BAD_TEXT.search(text):
        raise MalformedHeader("username* decodes to control characters")
    return text


def _encode_ext_value(text: str) -> str:
    return "UTF-8''" + _pct_quote(text.encode("utf-8"), safe="!#$&+-.^_`|~")


class Credentials:
    """Authorization / Proxy-Authorization contents.

    ``username`` is the real username (decoded from ``username*`` when that was sent) or,
    with ``userhash``, the hash the client sent. ``nc`` keeps the exact text received so
    a server can apply its own strictness; :meth:`nc_count` reads it strictly.
    """

    __slots__ = (
        "scheme", "username", "realm", "nonce", "uri", "response", "algorithm", "cnonce",
        "opaque", "qop", "nc", "userhash", "username_star", "token68", "extra",
    )  # fmt: skip
    _KNOWN = frozenset(
        ("username", "username*", "realm", "nonce", "uri", "response", "algorithm", "cnonce",
         "opaque", "qop", "nc", "userhash")
    )  # fmt: skip

    scheme: str
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: Optional[str]
    cnonce: Optional[str]
    opaque: Optional[str]
    qop: Optional[str]
    nc: Optional[str]
    userhash: bool
    username_star: bool
    token68: Optional[str]
    extra: dict[str, str]

    def __init__(
        self,
        *,
        username: str,
        realm: str,
        nonce: str,
        uri: str,
        response: str,
        algorithm: Optional[str] = None,
        cnonce: Optional[str] = None,
        opaque: Optional[str] = None,
        qop: Optional[str] = None,
        nc: Union[int, str, None] = None,
        userhash: bool = False,
        username_star: Optional[bool] = None,
        extra: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.scheme = "Digest"
        self.token68 = None
        self.username = _check_text("username", username)
        self.realm = _check_text("realm", realm)
        self.nonce = _check_text("nonce", nonce)
        self.uri = _check_text("uri", uri)
        self.response = _check_text("response", response)
        self.algorithm = None if algorithm is None else _check_token("algorithm", algorithm)
        self.cnonce = None if cnonce is None else _check_text("cnonce", cnonce)
        self.opaque = None if opaque is None else _check_text("opaque", opaque)
        self.qop = None if qop is None else _check_token("qop", qop)
        if isinstance(nc, int):
            if not 0 <= nc <= 0xFFFFFFFF:
                raise LocalProtocolError("nc must fit in 32 bits")
            nc = f"{nc:08x}"
        self.nc = None if nc is None else _check_token("nc", nc)
        self.userhash = bool(userhash)
        self.username_star = (not username.isascii()) if username_star is None else username_star
        self.extra = _check_extra(extra, self._KNOWN)
        if self.qop is not None and (self.nc is None or self.cnonce is None):
            raise LocalProtocolError("credentials with qop need nc and cnonce")

    @classmethod
    def _from_item(cls, scheme: str, token68: Optional[str], params: dict[str, str]) -> Credentials:
        # runs once per parsed request: local names, inlined helpers, no regex for the
        # usual algorithm, qop and nc values
        self = cls.__new__(cls)
        self.scheme = scheme = "Digest" if scheme == "Digest" else _canonical_scheme(scheme)
        self.token68 = token68
        if scheme != "Digest":
            for name in cls.__slots__[1:-2]:
                setattr(self, name, None)
            self.userhash = self.username_star = False
            self.extra = params
            return self
        if token68 is not None:
            raise MalformedHeader("Digest credentials take parameters, not token68")
        pop = params.pop
        username = pop("username", None)
        star = pop("username*", None)
        if star is not None:
            if username is not None:
                raise MalformedHeader("both username and username* (RFC 7616 §3.4.4)")
            username = _decode_ext_value(star)
        self.username_star = star is not None
        realm = pop("realm", None)
        nonce = pop("nonce", None)
        uri = pop("uri", None)
        response = pop("response", None)
        if username is None or realm is None or nonce is None or uri is None or response is None:
            missing = [
                n
                for n, v in (("username", username), ("realm", realm), ("nonce", nonce),
                             ("uri", uri), ("response", response))
                if v is None
            ]  # fmt: skip
            raise MalformedHeader(f"Digest credentials without {', '.join(missing)}")
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        algorithm = pop("algorithm", None)
        if algorithm is not None and algorithm not in _COMMON_TOKENS:
            _token_field("algorithm", algorithm)
        self.algorithm = algorithm
        self.cnonce = cnonce = pop("cnonce", None)
        self.opaque = pop("opaque", None)
        qop = pop("qop", None)
        if qop is not None and qop not in _COMMON_TOKENS:
            _token_field("qop", qop)
        self.qop = qop
        self.nc = nc = _token_field("nc", pop("nc", None))
        userhash = pop("userhash", None)
        self.userhash = userhash is not None and userhash.lower() == "true"
        self.extra = params
        if qop is not None:
            # RFC 7616 §3.4: cnonce and nc MUST be sent when qop is
            if nc is None:
                raise MalformedHeader("qop without nc")
            if cnonce is None:
                raise MalformedHeader("qop without cnonce")
        return self

    @property
    def is_digest(self) -> bool:
        return self.scheme == "Digest"

    def nc_text(self) -> str:
        """The nonce-count exactly as sent, refused unless it is 8 hex digits."""
        nc = self.nc
        if nc is None or len(nc) != 8 or not _HEX8.fullmatch(nc):
            raise MalformedHeader(f"nc must be 8 hex digits, got {(nc or '')[:16]!r}")
        return nc

    def nc_count(self) -> int:
        """The nonce-count as a number (RFC 7616 §3.4: 8LHEX)."""
        return int(self.nc_text(), 16)

    def render(self) -> str:
        """The header value, strictly per RFC 7616 §3.4 / RFC 3261 §25.1."""
        if self.scheme != "Digest":
            if self.token68 is not None:
                return f"{self.scheme} {self.token68}"
            parts = [f"{n}={_quote(v)}" for n, v in self.extra.items()]
            return f"{self.scheme} {', '.join(parts)}" if parts else self.scheme
        if self.username_star:
            parts = [f"username*={_encode_ext_value(self.username)}"]
        else:
            parts = [f"username={_quote(self.username)}"]
        parts.append(f"realm={_quote(self.realm)}")
        parts.append(f"nonce={_quote(self.nonce)}")
        parts.append(f"uri={_quote(self.uri)}")
        parts.append(f"response={_quote(self.response)}")
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        if self.userhash:
            parts.append("userhash=true")
        _render_extra(parts, self.extra)
        return "Digest " + ", ".join(parts)

    __str__ = render

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is Credentials and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # the response is a password oracle (offline guessing): never shown
        return (
            f"Credentials(scheme={self.scheme!r}, username={self.username!r}, "
            f"realm={self.realm!r}, algorithm={self.algorithm!r}, qop={self.qop!r}, "
            f"nc={self.nc!r}, response=<redacted>)"
        )


class AuthenticationInfo:
    """Authentication-Info contents (RFC 7616 §3.5, RFC 3261 §20.6)."""

    __slots__ = ("nextnonce", "qop", "rspauth", "cnonce", "nc", "extra")
    _KNOWN = frozenset(("nextnonce", "qop", "rspauth", "cnonce", "nc"))

    nextnonce: Optional[str]
    qop: Optional[str]
    rspauth: Optional[str]
    cnonce: Optional[str]
    nc: Optional[str]
    extra: dict[str, str]

    def __init__(
        self,
        *,
        nextnonce: Optional[str] = None,
        qop: Optional[str] = None,
        rspauth: Optional[str] = None,
        cnonce: Optional[str] = None,
        nc: Union[int, str, None] = None,
        extra: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.nextnonce = None if nextnonce is None else _check_text("nextnonce", nextnonce)
        self.qop = None if qop is None else _check_token("qop", qop)
        self.rspauth = None if rspauth is None else _check_text("rspauth", rspauth)
        self.cnonce = None if cnonce is None else _check_text("cnonce", cnonce)
        if isinstance(nc, int):
            nc = f"{nc:08x}"
        self.nc = None if nc is None else _check_token("nc", nc)
        self.extra = _check_extra(extra, self._KNOWN)

    def render(self) -> str:
        parts: list[str] = []
        if self.nextnonce is not None:
            parts.append(f"nextnonce={_quote(self.nextnonce)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.rspauth is not None:
            parts.append(f"rspauth={_quote(self.rspauth)}")
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        _render_extra(parts, self.extra)
        return ", ".join(parts)

    __str__ = render

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is AuthenticationInfo and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AuthenticationInfo(qop={self.qop!r}, nc={self.nc!r}, rspauth=<redacted>)"


def parse_challenges(value: str, *, max_length: int = MAX_HEADER_LENGTH) -> list[Challenge]:
    """Every challenge in one WWW-Authenticate / Proxy-Authenticate value, in order."""
    return [Challenge._from_item(*item) for item in _impl.tokenize(value, max_length, MAX_PARAMS)]


def parse_challenge_headers(
    values: Iterable[str], *, max_length: int = MAX_HEADER_LENGTH
) -> list[Challenge]:
    """Every challenge of every header line of one kind, in message order."""
    out: list[Challenge] = []
    for value in values:
        out.extend(parse_challenges(value, max_length=max_length))
    return out


_new_object = object.__new__


def parse_credentials(value: str, *, max_length: int = MAX_HEADER_LENGTH) -> Credentials:
    """One Authorization / Proxy-Authorization value (exactly one credentials item).

    A Basic (or other non-Digest) value parses to an object whose ``is_digest`` is false,
    so a server can refuse it by name; use :func:`require_digest` to raise instead.
    """
    fields = _impl.credential_fields(value, max_length)
    if fields is not None:
        # the plain shape (see _pure.credential_fields): the fields _from_item would give
        self = _new_object(Credentials)
        (self.username, self.realm, self.nonce, self.uri, self.response, self.algorithm,
         self.cnonce, self.opaque, self.qop, self.nc, self.userhash) = fields  # fmt: skip
        self.scheme = "Digest"
        self.token68 = None
        self.username_star = False
        self.extra = {}
        return self
    items = _impl.tokenize(value, max_length, MAX_PARAMS)
    if len(items) != 1:
        raise MalformedHeader("one header value holds one set of credentials")
    return Credentials._from_item(*items[0])


def require_digest(creds: Credentials) -> Credentials:
    """``creds`` if it is Digest; :class:`UnsupportedScheme` (Basic is never accepted)."""
    if creds.scheme != "Digest":
        raise UnsupportedScheme(creds.scheme)
    return creds


def parse_authentication_info(
    value: str, *, max_length: int = MAX_HEADER_LENGTH
) -> AuthenticationInfo:
    """An Authentication-Info value (a bare parameter list)."""
    params = _impl.tokenize_params(value, max_length, MAX_PARAMS)
    self = AuthenticationInfo.__new__(AuthenticationInfo)
    self.nextnonce = params.pop("nextnonce", None)
    self.qop = _token_field("qop", params.pop("qop", None))
    self.rspauth = params.pop("rspauth", None)
    self.cnonce = params.pop("cnonce", None)
    self.nc = _token_field("nc", params.pop("nc", None))
    self.extra = params
    return self
