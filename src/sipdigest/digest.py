"""Digest arithmetic: the algorithm registry and the public compute/verify functions.

Everything here is a thin, validating layer over the twin core (``_impl``), which does
the hashing in C when the extension is built. The registry holds exactly the IANA
tokens (RFC 7616 §6.1, RFC 8760 §2); lookup is case-insensitive and an unknown token
raises :class:`UnsupportedAlgorithm` instead of falling back to MD5 (REFERENCE Q8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from . import _impl
from .errors import LocalProtocolError, MalformedHeader, UnsupportedAlgorithm

__all__ = [
    "Algorithm",
    "MD5",
    "MD5_SESS",
    "SHA256",
    "SHA256_SESS",
    "SHA512_256",
    "SHA512_256_SESS",
    "ALGORITHMS",
    "get_algorithm",
    "compute_ha1",
    "compute_response",
    "compute_rspauth",
    "compute_userhash",
    "verify_credentials",
    "qop_code",
]

Text = Union[str, bytes]


@dataclass(frozen=True)
class Algorithm:
    """One registered digest algorithm.

    ``strength`` orders challenges: RFC 8760 §2.4 has a server list its preferred
    (strongest) algorithm first, and a client pick the topmost one it supports.
    """

    token: str
    hash_id: int
    sess: bool
    strength: int
    hex_length: int

    def __str__(self) -> str:
        return self.token


MD5 = Algorithm("MD5", _impl.MD5, False, 1, 32)
MD5_SESS = Algorithm("MD5-sess", _impl.MD5, True, 1, 32)
SHA256 = Algorithm("SHA-256", _impl.SHA256, False, 2, 64)
SHA256_SESS = Algorithm("SHA-256-sess", _impl.SHA256, True, 2, 64)
SHA512_256 = Algorithm("SHA-512-256", _impl.SHA512_256, False, 3, 64)
SHA512_256_SESS = Algorithm("SHA-512-256-sess", _impl.SHA512_256, True, 3, 64)
#: SHA-512 truncated to 256 bits, labelled SHA-512-256: what peers that copied RFC 7616's
#: printed §3.9.2 example compute (erratum 4897). Only reachable through a named quirk.
SHA512_256_TRUNCATED = Algorithm("SHA-512-256", _impl.SHA512_TRUNC, False, 3, 64)

ALGORITHMS: dict[str, Algorithm] = {
    a.token.upper(): a for a in (MD5, MD5_SESS, SHA256, SHA256_SESS, SHA512_256, SHA512_256_SESS)
}


# Exact tokens as hosts and headers spell them (registered and upper-case): the wrappers'
# fast paths look a str up here before anything else.
_BY_TOKEN: dict[str, Algorithm] = {**{a.token: a for a in ALGORITHMS.values()}, **ALGORITHMS}


# the same, as (hash id, -sess, HA1 hex length): what compute_response's fast path needs
_SPECS: dict[str, tuple[int, bool, int]] = {
    token: (a.hash_id, a.sess, a.hex_length) for token, a in _BY_TOKEN.items()
}


def get_algorithm(token: Union[str, Algorithm, None]) -> Algorithm:
    """The registered algorithm for a token; an absent token means MD5 (RFC 7616 §3.3)."""
    if token is None:
        return MD5
    if isinstance(token, Algorithm):
        return token
    found = ALGORITHMS.get(token.upper()) if token.isascii() else None
    if found is None:
        raise UnsupportedAlgorithm(token)
    return found


_QOP_CODES = {"auth": _impl.QOP_AUTH, "auth-int": _impl.QOP_AUTH_INT}


def qop_code(qop: Optional[str]) -> int:
    """Map a message qop to the core's code; an unknown value is malformed input."""
    if qop is None:
        return _impl.QOP_NONE
    code = _QOP_CODES.get(qop) or _QOP_CODES.get(qop.lower())
    if code is None:
        raise MalformedHeader(f"unknown qop value {qop[:32]!r}")
    return code


# nc as clients send it, 8 hex digits, for the first counts of a nonce
_NC_TEXT = tuple(f"{n:08x}" for n in range(256))


def _nc_text(nc: Union[int, str, None]) -> str:
    if nc is None:
        raise LocalProtocolError("nc is required when qop is given")
    if isinstance(nc, int):
        if not 0 < nc <= 0xFFFFFFFF:
            raise LocalProtocolError("nc must be between 1 and 0xffffffff")
        return f"{nc:08x}"
    return nc


def _effective_ha1(
    alg: Algorithm,
    username: Text,
    realm: Text,
    password: Optional[Text],
    ha1: Optional[Text],
    nonce: Text,
    cnonce: Optional[Text],
) -> str:
    if (password is None) == (ha1 is None):
        raise LocalProtocolError("give exactly one of password= and ha1=")
    if ha1 is None:
        assert password is not None
        base = _impl.ha1(alg.hash_id, username, realm, password)
    else:
        base = ha1.decode("ascii") if isinstance(ha1, bytes) else ha1
        if len(base) != alg.hex_length:
            raise LocalProtocolError(f"an HA1 for {alg.token} has {alg.hex_length} hex digits")
        base = base.lower()
    if alg.sess:
        if cnonce is None:
            raise LocalProtocolError(f"{alg.token} needs a cnonce")
        return _impl.ha1_sess(alg.hash_id, base, nonce, cnonce)
    return base


def compute_ha1(
    algorithm: Union[str, Algorithm, None], username: Text, realm: Text, password: Text
) -> str:
    """H(username:realm:password), the form a credential store keeps.

    For a -sess algorithm this is still the stored HA1; the session HA1 also needs the
    nonce and cnonce and is derived inside :func:`compute_response`.
    """
    alg = _BY_TOKEN.get(algorithm) if type(algorithm) is str else None
    if alg is None:
        alg = get_algorithm(algorithm)
    return _impl.ha1(alg.hash_id, username, realm, password)


def compute_userhash(algorithm: Union[str, Algorithm, None], username: Text, realm: Text) -> str:
    """H(username:realm), sent in place of the username when userhash=true (RFC 7616 §3.4.4)."""
    alg = get_algorithm(algorithm)
    data = b"%s:%s" % (_impl.as_bytes(username), _impl.as_bytes(realm))
    return _impl.hexdigest(alg.hash_id, data)


def compute_response(
    *,
    algorithm: Union[str, Algorithm, None],
    username: Text,
    realm: Text,
    password: Optional[Text] = None,
    ha1: Optional[Text] = None,
    method: Text,
    uri: Text,
    nonce: Text,
    nc: Union[int, str, None] = None,
    cnonce: Optional[Text] = None,
    qop: Optional[str] = None,
    body: bytes = b"",
) -> str:
    """The request-digest in lower-case hex (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1).

    Without ``qop`` this is the RFC 2069 form H(HA1:nonce:HA2); ``nc`` may be an int
    (rendered as 8 hex digits) or the exact text sent.
    """
    # The usual call (a registered token, qop auth/auth-int with cnonce and a valid nc,
    # one of ha1= / password=) goes straight to the core: every check below is one the
    # general path makes too, in an order where none of them can raise before the core
    # does, so any other call takes the general path and gets its errors.
    spec = _SPECS.get(algorithm) if type(algorithm) is str else None
    code = _QOP_CODES.get(qop) if type(qop) is str else None
    if spec is not None and code is not None and cnonce is not None:
        hid, sess, hexlen = spec
        if type(nc) is int and 0 < nc <= 0xFFFFFFFF:  # an int first: what clients pass
            nc_text: Optional[str] = _NC_TEXT[nc] if nc < 256 else f"{nc:08x}"
        elif type(nc) is str:
            nc_text = nc
        else:
            nc_text = None
        if nc_text is not None:
            if password is None and type(ha1) is str and len(ha1) == hexlen:
                the_ha1 = ha1.lower()
            elif ha1 is None and password is not None:
                the_ha1 = _impl.ha1(hid, username, realm, password)
            else:
                the_ha1 = ""
            if the_ha1:
                if sess:
                    the_ha1 = _impl.ha1_sess(hid, the_ha1, nonce, cnonce)
                return _impl.response(hid, the_ha1, method, uri, nonce, nc_text, cnonce, code, body)
    alg = get_algorithm(algorithm)
    code = qop_code(qop)
    the_ha1 = _effective_ha1(alg, username, realm, password, ha1, nonce, cnonce)
    if code == _impl.QOP_NONE:
        return _impl.response(alg.hash_id, the_ha1, method, uri, nonce, "", "", code, body)
    if cnonce is None:
        raise LocalProtocolError("cnonce is required when qop is given")
    return _impl.response(
        alg.hash_id, the_ha1, method, uri, nonce, _nc_text(nc), cnonce, code, body
    )


def compute_rspauth(
    *,
    algorithm: Union[str, Algorithm, None],
    username: Text,
    realm: Text,
    password: Optional[Text] = None,
    ha1: Optional[Text] = None,
    uri: Text,
    nonce: Text,
    nc: Union[int, str, None] = None,
    cnonce: Optional[Text] = None,
    qop: Optional[str] = None,
    body: bytes = b"",
) -> str:
    """rspauth for Authentication-Info: the response with an empty method (RFC 7616 §3.5)."""
    return compute_response(
        algorithm=algorithm,
        username=username,
        realm=realm,
        password=password,
        ha1=ha1,
        method="",
        uri=uri,
        nonce=nonce,
        nc=nc,
        cnonce=cnonce,
        qop=qop,
        body=body,
    )


def verify_credentials(
    value: str,
    *,
    method: Text,
    password: Optional[Text] = None,
    ha1: Optional[Text] = None,
    body: bytes = b"",
    username: Optional[str] = None,
) -> bool:
    """Parse an Authorization value, recompute the response, compare in constant time.

    No nonce policy: freshness, replay and realm checks are the server machine's job.
    Malformed values raise :class:`MalformedHeader`, other schemes (Basic)
    :class:`UnsupportedScheme`, unknown algorithms :class:`UnsupportedAlgorithm`.
    With ``userhash=true`` the username in the header is a hash: give ``ha1=`` (found by
    that hash) or the real ``username=`` with the password.
    """
    if (password is None) == (ha1 is None):
        raise LocalProtocolError("give exactly one of password= and ha1=")
    if username is None:
        fast = _impl.verify_fast(value, method, ha1, password, body)
        if fast >= 0:
            return fast == 1
    from .headers import parse_credentials, require_digest  # headers imports this module

    creds = require_digest(parse_credentials(value))
    alg = get_algorithm(creds.algorithm)
    code = qop_code(creds.qop)
    if alg.sess and creds.cnonce is None:
        # the peer's mistake, not the host's (RFC 7616 §3.4.2: -sess hashes the cnonce)
        raise MalformedHeader(f"{alg.token} credentials without cnonce")
    user: str = creds.username
    if username is not None:
        user = username
    elif creds.userhash and ha1 is None:
        raise LocalProtocolError("userhash credentials: pass ha1= or the real username=")
    if ha1 is not None and len(ha1) != alg.hex_length:
        return False  # the peer chose an algorithm this stored HA1 is not for
    the_ha1 = _effective_ha1(alg, user, creds.realm, password, ha1, creds.nonce, creds.cnonce)
    if code == _impl.QOP_NONE:
        nc, cnonce = "", ""
    else:
        nc, cnonce = creds.nc_text(), creds.cnonce or ""
    return _impl.check_response(
        alg.hash_id, the_ha1, method, creds.uri, creds.nonce, nc, cnonce, code, body, creds.response
    )
