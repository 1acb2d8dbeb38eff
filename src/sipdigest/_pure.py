"""Pure-Python twin of the ``_fast`` extension.

This module is the reference: ``_fast.pyx`` mirrors every function here with the same
signature, the same results and the same exceptions (class, message and position).
The tokenizer has two tiers: an anchored regular expression reads the common shape
(challenges or credentials of name=value pairs with plain quoted strings) one challenge
at a time, and everything else, including every error, goes through a character-level
state machine that the C code copies step by step. ``verify_fast`` is the C scanner's
conditions as regular expressions, so both twins short-cut the same values. ``ha1`` and
``response`` hash plain str arguments directly (CPython's built-in MD5, and SHA-256 for
one block, avoid OpenSSL's per-call set-up). Text arguments are ``str`` (encoded UTF-8)
or ``bytes``; hash ids follow ``_sdhash.h``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import re
from typing import Callable, Union, cast

from .errors import MalformedHeader

Text = Union[str, bytes]
Params = dict[str, str]
Item = tuple[str, Union[str, None], Params]

MD5, SHA256, SHA512_256, SHA512_TRUNC = 0, 1, 2, 3
QOP_NONE, QOP_AUTH, QOP_AUTH_INT = 0, 1, 2
MAC_LEN = 16


def _sha512_trunc(data: bytes = b"") -> "_Truncated":
    return _Truncated(hashlib.sha512(data))


class _Truncated:
    """SHA-512 cut to 256 bits: only for peers that copied RFC 7616's printed example."""

    def __init__(self, h: "hashlib._Hash") -> None:
        self._h = h

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()[:64]


# hashlib.new() looks the name up on every call; copying a fresh object is cheaper
_SHA512_256_EMPTY = hashlib.new("sha512_256")


def _sha512_256(data: bytes = b"") -> "hashlib._Hash":
    h = _SHA512_256_EMPTY.copy()
    h.update(data)
    return h


# CPython's built-in hashes skip OpenSSL's EVP context set-up and copy: MD5 is faster
# at any length, SHA-256 only for one block (OpenSSL's then wins with the CPU's SHA
# instructions). They are optional in a build, hence the fallback.
def _builtin(
    module: str, name: str, fallback: Callable[..., "hashlib._Hash"]
) -> Callable[..., "hashlib._Hash"]:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # pragma: no cover - depends on the build
        return fallback
    return cast(Callable[..., "hashlib._Hash"], found)


_md5 = _builtin("_md5", "md5", hashlib.md5)

_CONSTRUCTORS: tuple[Callable[..., "hashlib._Hash | _Truncated"], ...] = (
    _md5,
    hashlib.sha256,
    _sha512_256,
    _sha512_trunc,
)


# hash id -> constructor, for the fast paths (which check the id's type themselves),
# and the one for inputs shorter than 56 bytes (one block after padding)
_BY_ID: dict[int, Callable[..., "hashlib._Hash | _Truncated"]] = dict(enumerate(_CONSTRUCTORS))
_ONE_BLOCK: dict[int, Callable[..., "hashlib._Hash | _Truncated"]] = {
    **_BY_ID,
    SHA256: _builtin("_sha256", "sha256", hashlib.sha256),
}


def _b(text: Text) -> bytes:
    if type(text) is bytes:
        return text
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, bytes):
        return bytes(text)
    raise TypeError(f"expected str or bytes, not {type(text).__name__}")


def _ctor(hash_id: int) -> Callable[..., "hashlib._Hash | _Truncated"]:
    if type(hash_id) is not int or not 0 <= hash_id < len(_CONSTRUCTORS):
        raise ValueError(f"unknown hash id {hash_id!r}")
    return _CONSTRUCTORS[hash_id]


def hexdigest(hash_id: int, data: bytes) -> str:
    """H(data) in lower-case hex."""
    return _ctor(hash_id)(_b(data)).hexdigest()


def ha1(hash_id: int, username: Text, realm: Text, password: Text) -> str:
    """H(username ":" realm ":" password) (RFC 7616 §3.4.2)."""
    if type(username) is str and type(realm) is str and type(password) is str:
        # the usual call: one join, one encode; a lone surrogate takes the general path,
        # which raises with the position in the argument rather than in the join
        h = _BY_ID.get(hash_id) if type(hash_id) is int else None
        if h is not None:
            try:
                data = f"{username}:{realm}:{password}".encode()
            except UnicodeEncodeError:
                pass
            else:
                return (_ONE_BLOCK[hash_id] if len(data) < 56 else h)(data).hexdigest()
    return _ctor(hash_id)(b"%s:%s:%s" % (_b(username), _b(realm), _b(password))).hexdigest()


def ha1_sess(hash_id: int, ha1: Text, nonce: Text, cnonce: Text) -> str:
    """H(HA1 ":" nonce ":" cnonce) for the -sess algorithms (RFC 7616 §3.4.2)."""
    return _ctor(hash_id)(b"%s:%s:%s" % (_b(ha1), _b(nonce), _b(cnonce))).hexdigest()


# HA2 = H(method ":" uri [":" H(body)]) repeats from request to request (every REGISTER
# a registrar checks has the same Request-URI; auth-int requests without a body), so the
# fast path memoises it on those parts: per hash id, method -> uri [":" H(body)] -> HA2,
# nested so that a hit is two look-ups of strings the caller mostly already has. Short
# inputs only, at most _HA2_METHODS methods of _HA2_SLOTS entries per hash id, each map
# emptied when full. Only public request data and digests of it are kept.
_HA2: tuple[dict[str, dict[str, str]], ...] = tuple({} for _ in _CONSTRUCTORS)
_HA2_SLOTS = 64
_HA2_METHODS = 16
_HA2_MAX_INPUT = 256


def _ha2(hash_id: int, method: str, key: str) -> str:
    """H(method ":" key), memoised; ``key`` is the uri, or uri ":" H(body) for auth-int
    (the key alone decides the hashed text, so the two kinds can share a map)."""
    by_method = _HA2[hash_id]
    by_uri = by_method.get(method)
    if by_uri is not None:
        found = by_uri.get(key)
        if found is not None:
            return found
    a2 = f"{method}:{key}".encode()
    found = (_ONE_BLOCK[hash_id] if len(a2) < 56 else _BY_ID[hash_id])(a2).hexdigest()
    if len(a2) <= _HA2_MAX_INPUT:
        if by_uri is None:
            if len(by_method) >= _HA2_METHODS:
                by_method.clear()
            by_uri = by_method[method] = {}
        elif len(by_uri) >= _HA2_SLOTS:
            by_uri.clear()
        by_uri[key] = found
    return found


def response(
    hash_id: int,
    ha1: Text,
    method: Text,
    uri: Text,
    nonce: Text,
    nc: Text,
    cnonce: Text,
    qop: int,
    body: bytes,
) -> str:
    """The request-digest (RFC 7616 §3.4.1; RFC 2069 form when ``qop`` is QOP_NONE)."""
    if (
        type(ha1) is str
        and type(method) is str
        and type(uri) is str
        and type(nonce) is str
        and type(hash_id) is int
        and type(qop) is int
    ):
        # the usual call, all text: f-strings encoded once each (the general path below
        # decides every error, a lone surrogate's included). The HA2 memo's hit path
        # is _ha2's own look-up, inlined in both qop branches: a call per hit would cost
        # a frame on every request; _ha2 itself fills the memo on a miss.
        h = _BY_ID.get(hash_id)
        try:
            if h is None:
                pass
            elif qop == QOP_AUTH:
                if type(nc) is str and type(cnonce) is str:
                    by_uri = _HA2[hash_id].get(method)
                    h2 = by_uri.get(uri) if by_uri is not None else None
                    if h2 is None:
                        h2 = _ha2(hash_id, method, uri)
                    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{h2}".encode()).hexdigest()
            elif qop == QOP_AUTH_INT:
                if type(nc) is str and type(cnonce) is str and type(body) is bytes:
                    key = f"{uri}:{h(body).hexdigest()}"
                    by_uri = _HA2[hash_id].get(method)
                    h2 = by_uri.get(key) if by_uri is not None else None
                    if h2 is None:
                        h2 = _ha2(hash_id, method, key)
                    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth-int:{h2}".encode()).hexdigest()
            elif qop == QOP_NONE:
                h2 = _ha2(hash_id, method, uri)
                return h(f"{ha1}:{nonce}:{h2}".encode()).hexdigest()
        except UnicodeEncodeError:
            pass
    h = _ctor(hash_id)
    if qop == QOP_AUTH_INT:
        a2 = b"%s:%s:%s" % (_b(method), _b(uri), h(_b(body)).hexdigest().encode())
    elif qop == QOP_AUTH or qop == QOP_NONE:
        a2 = b"%s:%s" % (_b(method), _b(uri))
    else:
        raise ValueError(f"unknown qop code {qop!r}")
    ha2 = h(a2).hexdigest().encode()
    if qop == QOP_NONE:
        return h(b"%s:%s:%s" % (_b(ha1), _b(nonce), ha2)).hexdigest()
    qop_b = b"auth-int" if qop == QOP_AUTH_INT else b"auth"
    kd = b"%s:%s:%s:%s:%s:%s" % (_b(ha1), _b(nonce), _b(nc), _b(cnonce), qop_b, ha2)
    return h(kd).hexdigest()


def check_response(
    hash_id: int,
    ha1: Text,
    method: Text,
    uri: Text,
    nonce: Text,
    nc: Text,
    cnonce: Text,
    qop: int,
    body: bytes,
    received: str,
) -> bool:
    """Recompute the request-digest and compare it with ``received`` in constant time."""
    expected = response(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body)
    if type(received) is not str:
        raise TypeError("received response must be str")
    if not received.isascii():
        return False
    return hmac.compare_digest(expected, received)


# The host's secrets are few and long-lived: an HMAC object per key, with its pads
# already hashed, is kept (a small bounded cache keyed by the key bytes) and copied.
_HMAC_KEYS: dict[bytes, "hmac.HMAC"] = {}
_HMAC_CACHE_SIZE = 8


def _mac(key: bytes, data: bytes) -> bytes:
    base = _HMAC_KEYS.get(key)
    if base is None:
        base = hmac.new(key, digestmod=hashlib.sha256)
        if len(_HMAC_KEYS) >= _HMAC_CACHE_SIZE:
            _HMAC_KEYS.clear()
        _HMAC_KEYS[key] = base
    h = base.copy()
    h.update(data)
    return h.digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-256 (RFC 2104); used for nonce MACs and binding tags."""
    return _mac(_b(key), _b(data))


def mint_nonce(key: bytes, payload: bytes) -> str:
    """base64url(payload || HMAC-SHA-256(key, payload)[:16]) without padding."""
    payload = _b(payload)
    mac = _mac(_b(key), payload)[:MAC_LEN]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def open_nonce(key: bytes, nonce: str, payload_len: int) -> Union[bytes, None]:
    """The payload of a nonce minted with ``key``, or None if it is not one of ours."""
    if type(nonce) is not str:
        raise TypeError("nonce must be str")
    raw_len = payload_len + MAC_LEN
    if len(nonce) != (raw_len * 4 + 2) // 3 or not _B64URL.fullmatch(nonce):
        return None
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the regex already refused
        return None
    if len(raw) != raw_len:  # pragma: no cover - the length check already refused
        return None
    payload, mac = raw[:payload_len], raw[payload_len:]
    good = _mac(_b(key), payload)[:MAC_LEN]
    if not hmac.compare_digest(good, mac):
        return None
    if mint_nonce(key, payload) != nonce:  # non-canonical trailing bits
        return None
    return payload


# verify_fast's scanner, the C twin's (``_fast._verify``) as regular expressions: SP/HT
# only as white space, "Digest", then name=value items separated by single commas; a
# quoted value is plain qdtext (no quoted-pair, CR, LF or other control), a bare one is
# non-empty and does not start with "=" (token68 look-alike). ASCII is checked first.
_V_TCH = r"[A-Za-z0-9!#$%&'*+\-.^_`|~]"
_V_QUOTED = r"[\t\x20\x21\x23-\x5b\x5d-\x7e]*"
_V_BARE = r"[\x21\x23-\x2b\x2d-\x3c\x3e-\x7e][\x21\x23-\x2b\x2d-\x7e]*"
_V_PARAM = re.compile(rf'({_V_TCH}+)[ \t]*=[ \t]*(?:"({_V_QUOTED})"|({_V_BARE}))')
_V_ITEM = rf'{_V_TCH}+[ \t]*=[ \t]*(?:"{_V_QUOTED}"|{_V_BARE})'
_V_CREDENTIALS = re.compile(rf"[ \t]*(?i:digest)[ \t]+({_V_ITEM}(?:[ \t]*,[ \t]*{_V_ITEM})*)[ \t]*")
_V_MAX_LENGTH = 8192  # headers.MAX_HEADER_LENGTH
_V_MAX_ITEMS = 64  # headers.MAX_PARAMS
# lower-cased algorithm token -> (hash id, -sess): digest.ALGORITHMS
_V_ALGORITHMS = {
    "md5": (MD5, False),
    "md5-sess": (MD5, True),
    "sha-256": (SHA256, False),
    "sha-256-sess": (SHA256, True),
    "sha-512-256": (SHA512_256, False),
    "sha-512-256-sess": (SHA512_256, True),
}
_V_HEX = "0123456789abcdefABCDEF"


def _v_bytes(o: object) -> Union[bytes, None]:
    """_fast._plain_text: exact bytes, or exact str as UTF-8; None otherwise."""
    if type(o) is bytes:
        return o
    if type(o) is str:
        try:
            return o.encode()
        except UnicodeEncodeError:
            return None  # lone surrogate: the general path raises, so do not answer
    return None


def verify_fast(value: str, method: Text, ha1: object, password: object, body: bytes) -> int:
    """1 / 0 for plain well-formed Digest credentials, -1 for everything else.

    The C twin's short cut, condition for condition, so that both twins answer the same
    (-1 lets ``digest.verify_credentials`` decide). Never raises for a str value.
    """
    if type(value) is not str:
        raise TypeError("header value must be str")
    if len(value) > _V_MAX_LENGTH or not value.isascii():
        return -1
    m = _V_CREDENTIALS.fullmatch(value)
    if m is None:
        return -1
    pairs = _V_PARAM.findall(value, m.start(1), m.end(1))
    # findall gives "" for the branch not taken; a bare value is never empty
    p = {name.lower(): bare or quoted for name, quoted, bare in pairs}
    if len(p) != len(pairs) or len(pairs) >= _V_MAX_ITEMS:
        return -1  # a duplicate (the tokenizer raises) or too many items
    if "username*" in p:
        return -1
    username = p.get("username")
    realm = p.get("realm")
    nonce = p.get("nonce")
    uri = p.get("uri")
    received = p.get("response")
    if username is None or realm is None or nonce is None or uri is None or received is None:
        return -1
    userhash = p.get("userhash")
    if userhash is not None and userhash.lower() != "false":
        return -1
    algorithm = p.get("algorithm")
    if algorithm is None:
        hash_id, sess = MD5, False
    else:
        hash_id, sess = _V_ALGORITHMS.get(algorithm.lower(), (-1, False))
    if hash_id < 0:
        return -1
    qop = p.get("qop")
    nc = p.get("nc")
    cnonce = p.get("cnonce")
    if qop is not None:
        if qop != "auth" and qop != "auth-int":
            return -1
        if nc is None or cnonce is None:
            return -1
    if nc is not None and (len(nc) != 8 or nc.strip(_V_HEX)):
        return -1  # headers.Credentials refuses a non-token nc even without qop
    if sess and cnonce is None:
        return -1
    hexlen = 32 if hash_id == MD5 else 64
    # the stored HA1 (ASCII, right length, lower-cased) or H(username:realm:password)
    if (ha1 is None) == (password is None):
        return -1
    h = _CONSTRUCTORS[hash_id]
    if ha1 is not None:
        if type(ha1) is str:
            if len(ha1) != hexlen or not ha1.isascii():
                return -1
            the_ha1 = ha1.lower()
        elif type(ha1) is bytes:
            if len(ha1) != hexlen or not ha1.isascii():
                return -1
            the_ha1 = ha1.lower().decode()
        else:
            return -1
    else:
        secret = _v_bytes(password)
        if secret is None:
            return -1
        the_ha1 = h(b"%s:%s:%s" % (username.encode(), realm.encode(), secret)).hexdigest()
    if sess:
        the_ha1 = h(f"{the_ha1}:{nonce}:{cnonce}".encode()).hexdigest()
    raw_method = _v_bytes(method)
    if raw_method is None:
        return -1
    if qop == "auth-int":
        raw_body = _v_bytes(body)
        if raw_body is None:
            return -1  # the body is read only for auth-int, as in the C twin
        a2 = b"%s:%s:%s" % (raw_method, uri.encode(), h(raw_body).hexdigest().encode())
    else:
        a2 = b"%s:%s" % (raw_method, uri.encode())
    ha2 = h(a2).hexdigest()
    if qop is None:  # RFC 2069 form: nc and cnonce, sent or not, are not hashed
        expected = h(f"{the_ha1}:{nonce}:{ha2}".encode()).hexdigest()
    else:
        expected = h(f"{the_ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode()).hexdigest()
    if len(received) != hexlen:
        return 0
    return 1 if hmac.compare_digest(expected, received) else 0


# credential_fields: headers.parse_credentials' short cut, on verify_fast's scanner. Only
# Credentials' own lower-case names count (any other name, username* included, or any
# upper case makes the answer None), each once.
_CF_NAMES = frozenset(
    ("username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop",
     "nc", "userhash")
)  # fmt: skip
#: credential_fields' answer: username, realm, nonce, uri, response, algorithm, cnonce,
#: opaque, qop, nc, userhash
CredentialFields = tuple[
    str, str, str, str, str, Union[str, None], Union[str, None], Union[str, None],
    Union[str, None], Union[str, None], bool,
]  # fmt: skip


def credential_fields(value: str, max_length: int) -> Union[CredentialFields, None]:
    """The fields of one plain Digest credentials value, or None.

    The order is Credentials': username, realm, nonce, uri, response, algorithm, cnonce,
    opaque, qop, nc (None when absent) and userhash (true when sent as "true", any case).
    Plain means: no longer than ``max_length``, ASCII, SP/HT as the only white space,
    ``Digest`` (any case), then name=value items with single commas between them, only
    the names above, each once; quoted values without quoted-pair, CR/LF or another
    control character; username, realm, nonce, uri and response present; algorithm absent
    or a registered token (any case); qop absent or exactly ``auth`` / ``auth-int``, and
    then nc and cnonce present; nc, when sent, 8 hex digits. Anything else is None: the
    tokenizer and ``Credentials._from_item`` decide it, errors included, and read every
    plain value to the same fields.
    """
    if type(value) is not str:
        raise TypeError("header value must be str")
    if len(value) > max_length or not value.isascii():
        return None
    m = _V_CREDENTIALS.fullmatch(value)
    if m is None:
        return None
    pairs = _V_PARAM.findall(value, m.start(1), m.end(1))
    # findall gives "" for the branch not taken; a bare value is never empty
    p = {name: bare or quoted for name, quoted, bare in pairs}
    if len(p) != len(pairs) or not _CF_NAMES.issuperset(p):
        return None
    get = p.get
    username = get("username")
    realm = get("realm")
    nonce = get("nonce")
    uri = get("uri")
    response = get("response")
    if username is None or realm is None or nonce is None or uri is None or response is None:
        return None
    algorithm = get("algorithm")
    if algorithm is not None and algorithm.lower() not in _V_ALGORITHMS:
        return None
    qop = get("qop")
    nc = get("nc")
    cnonce = get("cnonce")
    if qop is not None and (nc is None or cnonce is None or (qop != "auth" and qop != "auth-int")):
        return None
    if nc is not None and (len(nc) != 8 or nc.strip(_V_HEX)):
        return None
    userhash = get("userhash")
    return (username, realm, nonce, uri, response, algorithm, cnonce, get("opaque"), qop, nc,
            userhash is not None and userhash.lower() == "true")  # fmt: skip


# --------------------------------------------------------------------------------------
# Tokenizer (RFC 7235 §2.1 challenge/credentials grammar, RFC 3261 §25.1 LWS/quoting)
#
# A value is a comma-separated list of items; an item is either "scheme [token68]" or
# "scheme name=value" followed by more "name=value" items. A bare token after a comma
# that is not followed by "=" starts a new challenge. CR, LF, SP and HT are all white
# space (folded lines unfold; a stray line break is tolerated). Inside quotes, CR and LF
# are dropped and quoted-pair is unescaped; other control characters and lone
# surrogates are refused.

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_T68 = frozenset("-._~+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WS = frozenset(" \t\r\n")
_WS_COMMA = frozenset(" \t\r\n,")


def _qd_ok(c: str) -> bool:
    o = ord(c)
    if o < 0x20:
        return o == 0x09
    if o == 0x7F or c == '"' or c == "\\":
        return False
    return not 0xD800 <= o <= 0xDFFF


def _qp_ok(c: str) -> bool:
    o = ord(c)
    if o < 0x20:
        return o == 0x09
    if o == 0x7F:
        return False
    return not 0xD800 <= o <= 0xDFFF


def _unquoted_ok(c: str) -> bool:
    return "\x21" <= c <= "\x7e" and c != '"' and c != ","


def _params(
    value: str, i: int, params: Params, items: int, max_params: int, after_comma: bool, bare: bool
) -> tuple[int, int]:
    """Read name=value items from ``i``; return (items, start of the next scheme or -1)."""
    n = len(value)
    while i < n:
        s = i
        while i < n and value[i] in _TCHAR:
            i += 1
        if i == s:
            raise MalformedHeader("expected a parameter name", i)
        k = i
        while k < n and value[k] in _WS:
            k += 1
        if k == n or value[k] != "=":
            if after_comma and not bare:
                return items, s
            raise MalformedHeader("expected '=' after a parameter name", k)
        name = value[s:i].lower()
        k += 1
        while k < n and value[k] in _WS:
            k += 1
        if k < n and value[k] == '"':
            k += 1
            chunks: list[str] = []
            while True:
                if k == n:
                    raise MalformedHeader("unterminated quoted string", n)
                c = value[k]
                if c == '"':
                    k += 1
                    break
                if c == "\\":
                    if k + 1 == n:
                        raise MalformedHeader("unterminated quoted string", n)
                    d = value[k + 1]
                    if not _qp_ok(d):
                        raise MalformedHeader("invalid character after backslash", k + 1)
                    chunks.append(d)
                    k += 2
                    continue
                if c == "\r" or c == "\n":
                    k += 1
                    continue
                if not _qd_ok(c):
                    raise MalformedHeader("invalid character in quoted string", k)
                chunks.append(c)
                k += 1
            val = "".join(chunks)
        else:
            e = k
            while e < n and _unquoted_ok(value[e]):
                e += 1
            val = value[k:e]
            k = e
        if name in params:
            raise MalformedHeader(f"duplicate parameter '{name}'", s)
        items += 1
        if items > max_params:
            raise MalformedHeader("too many items in header value", s)
        params[name] = val
        i = k
        while i < n and value[i] in _WS:
            i += 1
        if i == n:
            break
        if value[i] != ",":
            raise MalformedHeader("expected ',' after a parameter value", i)
        while i < n and value[i] in _WS_COMMA:
            i += 1
        after_comma = True
    return items, -1


def _tokenize_slow(value: str, max_params: int) -> list[Item]:
    n = len(value)
    out: list[Item] = []
    items = 0
    i = 0
    while i < n and value[i] in _WS_COMMA:
        i += 1
    if i == n:
        raise MalformedHeader("empty header value", n)
    while True:
        start = i
        while i < n and value[i] in _TCHAR:
            i += 1
        if i == start:
            raise MalformedHeader("expected an authentication scheme", i)
        items += 1
        if items > max_params:
            raise MalformedHeader("too many items in header value", start)
        scheme = value[start:i]
        params: Params = {}
        token68: Union[str, None] = None
        after_comma = False
        j = i
        while j < n and value[j] in _WS:
            j += 1
        if j < n and value[j] != ",":
            if j == i:
                raise MalformedHeader("expected whitespace after the scheme", i)
            t = j
            while t < n and value[t] in _T68:
                t += 1
            if t > j:
                while t < n and value[t] == "=":
                    t += 1
                k = t
                while k < n and value[k] in _WS:
                    k += 1
                if k == n or value[k] == ",":
                    token68 = value[j:t]
                    j = k
        i = j
        if i < n and value[i] == ",":
            while i < n and value[i] in _WS_COMMA:
                i += 1
            after_comma = True
        if token68 is not None and i < n:
            # after a token68 only a new challenge may follow
            s = i
            while i < n and value[i] in _TCHAR:
                i += 1
            k = i
            while k < n and value[k] in _WS:
                k += 1
            if i > s and k < n and value[k] == "=":
                raise MalformedHeader("expected a new challenge after token68", s)
            i = s
            next_scheme = s
        else:
            items, next_scheme = _params(value, i, params, items, max_params, after_comma, False)
        out.append((scheme, token68, params))
        if next_scheme < 0:
            return out
        i = next_scheme


def tokenize_params(value: str, max_length: int, max_params: int) -> Params:
    """Split a bare auth-param list (Authentication-Info) into {lower-case name: value}."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    if len(value) > max_length:
        raise MalformedHeader(f"header value longer than {max_length} characters", max_length)
    n = len(value)
    i = 0
    while i < n and value[i] in _WS_COMMA:
        i += 1
    params: Params = {}
    _params(value, i, params, 0, max_params, False, True)
    return params


_TCH = r"[A-Za-z0-9!#$%&'*+\-.^_`|~]"
_W = r"[ \t\r\n]"
_QCHARS = r'[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\ud7ff\ue000-\U0010ffff]*'
_UNQ = r"[\x21\x23-\x2b\x2d-\x7e]+"
_PARAM_SRC = rf'{_TCH}+{_W}*={_W}*(?:"{_QCHARS}"|{_UNQ})'
_SEP = rf"{_W}*,[ \t\r\n,]*"
# The regex tier matches one challenge at a time: "scheme name=value, ..." with plain
# quoted strings (no quoted-pair, no CR/LF inside quotes), the state machine's
# separators, and then either the end or a separator before the next "scheme name=".
# The grammar is unambiguous (a token then white space then a token starts a challenge,
# a token then "=" is a parameter), so a match reads exactly as the state machine
# would, except for the cases ``tokenize`` hands back to it.
_CHALLENGE = re.compile(
    rf"[ \t\r\n,]*({_TCH}+){_W}+({_PARAM_SRC}(?:{_SEP}{_PARAM_SRC})*)"
    rf"(?:{_SEP}(?={_TCH}+{_W}+{_TCH}+{_W}*=)|{_W}*(?:,[ \t\r\n,]*)?\Z)"
)
_PARAM = re.compile(rf'({_TCH}+){_W}*={_W}*(?:"({_QCHARS})"|({_UNQ}))')


def tokenize(value: str, max_length: int, max_params: int) -> list[Item]:
    """Split a header value into (scheme, token68 or None, {lower-case name: value})."""
    if type(value) is not str:
        raise TypeError("header value must be str")
    if len(value) > max_length:
        raise MalformedHeader(f"header value longer than {max_length} characters", max_length)
    m = _CHALLENGE.match(value)
    if m is None:
        return _tokenize_slow(value, max_params)
    out: list[Item] = []
    items = 0
    n = len(value)
    while True:
        # findall gives "" for the branch not taken; a bare value is never empty
        pairs = _PARAM.findall(value, m.start(2), m.end(2))
        bare = pairs[0][2]
        if bare and not bare.strip("="):
            # "scheme name==" reads as token68 in the full grammar
            return _tokenize_slow(value, max_params)
        params = {name.lower(): bare or quoted for name, quoted, bare in pairs}
        items += 1 + len(pairs)
        if len(params) != len(pairs) or items > max_params:
            # a duplicate name or too many items: the state machine raises the error
            return _tokenize_slow(value, max_params)
        out.append((m.group(1), None, params))
        end = m.end()
        if end == n:
            return out
        m = _CHALLENGE.match(value, end)
        if m is None:
            return _tokenize_slow(value, max_params)


# The machines' twin functions live in their own modules; re-exported so that both twins
# expose the same names (their C twins are included into _fast.pyx).
from ._pure_client import *  # noqa: E402, F403
from ._pure_server import *  # noqa: E402, F403
