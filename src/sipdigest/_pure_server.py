"""The server machine's pure-Python twin functions (their C twins: _fast_server.pxi).

``__all__`` is the list both twins expose; ``_impl`` binds each name from the twin in use.

* ``scan_credentials`` reads the common shape of one Digest credentials value for a
  given realm into a fixed-order tuple, with no dict and no name strings. It answers
  None for everything else, so the server's general path (tokenizer, dict) decides
  every unusual value and every error exactly as before: None is always a safe answer.
* ``find_credentials`` finds the first credentials header of a request and scans it,
  so that the usual request costs one call instead of a Python loop over its headers.
* ``ReplayWindows`` is the table behind ``replay.MemoryReplayStore`` (sliding window
  per nonce, ring eviction with a watermark; see ``replay.py``).
* ``mint_challenges`` makes a challenge's headers: each template around a freshly
  minted nonce (``nonce.py``), in one call.
"""

from __future__ import annotations

import binascii
import hashlib
import math
import re
import struct
import sys

from . import _pure

__all__: list[str] = [
    "find_credentials",
    "scan_credentials",
    "ReplayWindows",
    "mint_challenges",
]

# ---- scan_credentials ----------------------------------------------------------------

# The names the server reads, in the order of their capture groups in _SCAN: name i has
# group 2i+1 (a quoted value, without its quotes) and 2i+2 (an unquoted one).
_NAMES = ("username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque",
          "qop", "nc", "userhash")  # fmt: skip
# qdtext without quoted-pair, CR/LF or other controls; an unquoted value is a non-empty
# run of visible ASCII but '"' and ',' that does not start with '=' (which could read as
# token68 in the full grammar)
_QUOTED = r"[\t !#-\[\]-~]*"
_BARE = r"[!#-+\--<>-~][!#-+\--~]*"
# One parameter: a name, refused when its groups are already set (a name repeated),
# then its value, quoted or not. The conditionals refer to groups by number: the groups
# of this item are its own, later in the text.
_ALTERNATIVES = "|".join(
    rf'{name}(?({2 * i + 1})(?!))(?({2 * i + 2})(?!))[ \t]*=[ \t]*(?:"({_QUOTED})"|({_BARE}))'
    for i, name in enumerate(_NAMES)
)
_ITEM = f"(?:{_ALTERNATIVES})"
# The whole value in one match: "Digest", then items separated by commas (SP/HT around
# them), each name at most once; the groups hold the values, so no second pass
# splits the pairs. An item is followed by a comma and another item, or by the end.
# Possessive where the engine has it (3.11): no item's end can move (a value stops where
# the grammar says), so there is nothing to backtrack into, and the match keeps no state
# per item; 3.10 gets the same matches, keeping that state.
_REPEAT = "++" if sys.version_info >= (3, 11) else "+"
_SCAN = re.compile(
    rf"[Dd][Ii][Gg][Ee][Ss][Tt][ \t]+(?:{_ITEM}(?:[ \t]*,[ \t]*(?=[a-z])|[ \t]*\Z)){_REPEAT}",
    re.ASCII,
).fullmatch
_ALGORITHMS = {
    t.lower(): i
    for i, t in enumerate(
        ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")
    )
}  # the index is nonce.ALGORITHM_CODES's
_QOPS = {"auth": 1, "auth-int": 2}  # _impl.QOP_AUTH, QOP_AUTH_INT
_NC8 = re.compile(r"[0-9a-fA-F]{8}", re.ASCII).fullmatch
_SMALL_NC = {f"{i:08x}": i for i in range(1, 1025)}

Scanned = tuple[str, str, str, str, int, int, str, str, int, bool, "str | None"]
"""(username, nonce, uri, response, algorithm code, qop code, nc, cnonce, count,
userhash, opaque or None)."""


def scan_credentials(value: str, realm: str, max_length: int) -> Scanned | None:
    """The fields of one plain Digest credentials value for ``realm``, or None.

    Plain means: ASCII, ``Digest`` (any case), then only the lower-case parameters the
    server reads, each once, no quoted-pair or CR/LF, SP/HT as the only white space,
    ``realm`` equal to ours, username, nonce, uri and response present, a registered
    algorithm (absent: MD5), qop ``auth`` or ``auth-int`` with nc (8 hex digits) and
    cnonce. Anything else is None: the general path reads it.
    """
    if type(value) is not str or not isinstance(realm, str):
        raise TypeError("header value and realm must be str")
    if len(value) > max_length:
        return None
    m = _SCAN(value)
    if m is None:
        return None
    (username, username_, crealm, crealm_, nonce, nonce_, uri, uri_, response, response_,
     algorithm, algorithm_, cnonce, cnonce_, opaque, opaque_, qop, qop_, nc, nc_,
     userhash, userhash_) = m.groups()  # fmt: skip
    if crealm is None:
        crealm = crealm_
    if crealm != realm:
        return None
    if username is None:
        username = username_
    if nonce is None:
        nonce = nonce_
    if uri is None:
        uri = uri_
    if response is None:
        response = response_
    if qop is None:
        qop = qop_
    if nc is None:
        nc = nc_
    if cnonce is None:
        cnonce = cnonce_
    if username is None or nonce is None or uri is None or response is None:
        return None
    if nc is None or cnonce is None:
        return None
    qcode = _QOPS.get(qop)
    if qcode is None:
        return None
    if algorithm is None:
        algorithm = algorithm_
    code = 0 if algorithm is None else _ALGORITHMS.get(algorithm.lower())
    if code is None:
        return None
    count = _SMALL_NC.get(nc)  # the usual counts, without a regex
    if count is None:
        if _NC8(nc) is None:
            return None
        count = int(nc, 16)
    if userhash is None:
        userhash = userhash_
    if opaque is None:
        opaque = opaque_
    return (username, nonce, uri, response, code, qcode, nc, cnonce, count,
            userhash is not None and userhash.lower() == "true", opaque)  # fmt: skip


# ---- find_credentials ----------------------------------------------------------------

# Header names that are certainly not credentials: the pure loop skips them with one
# set look-up (an optimisation only; the result is the same without it).
COMMON_NAMES = frozenset(
    n
    for base in (
        "Via From To Call-ID CSeq Contact Max-Forwards Expires Content-Length Content-Type "
        "User-Agent Allow Supported Route Record-Route Require Accept Server Date Event Subject"
    ).split()
    for n in (base, base.lower(), base.upper())
)
_MISSING = (-1, None, None)


def find_credentials(
    headers: object, lname: str, realm: str, start: int, max_length: int
) -> tuple[int, str | None, Scanned | None] | None:
    """(index, value, ``scan_credentials(value, realm, max_length)``) of the first header
    from ``start`` on named ``lname`` (lower-case; ASCII case-insensitive match), or
    (-1, None, None) if there is none. None when ``headers`` is not a list or tuple of
    (str, object) tuples up to that header, or its value is not a str: the caller's
    general loop then reads the headers (and raises what it raises)."""
    if type(lname) is not str or type(start) is not int:
        raise TypeError("lname must be str and start an int")
    if type(headers) is not list and type(headers) is not tuple:
        return None
    common = COMMON_NAMES
    # One unpacking per header (a pair that is not a tuple, or of another length, is
    # left to the general loop); the index is counted only once the header is found.
    try:
        for h in headers[start:] if start > 0 else headers:
            if type(h) is not tuple:
                return None
            n, value = h
            if type(n) is not str:
                return None
            if n in common or not n.isascii() or n.lower() != lname:
                continue
            if type(value) is not str:
                return None
            break
        else:
            return _MISSING
    except ValueError:  # a tuple that is not a pair
        return None
    # the first item equal to ``h`` from ``start`` on is ``h`` itself: an equal one before
    # it would have been found (or refused) first
    i = headers.index(h, start if start > 0 else 0)
    return i, value, scan_credentials(value, realm, max_length)


# ---- ReplayWindows -------------------------------------------------------------------

_NC_MAX = 0xFFFFFFFF
_EXP_MAX = (1 << 48) - 1  # expiry, whole seconds rounded up, clamped to [0, 2**48)
_HIGH_BITS, _EXP_BITS = 32, 48
_MASK_SHIFT = _HIGH_BITS + _EXP_BITS


def _expiry(expires: float) -> int:
    """The stored expiry: an upper bound in whole seconds (it can only refuse more)."""
    if type(expires) is not float and type(expires) is not int:
        raise TypeError("expires must be a number")
    if expires != expires or expires == -math.inf:  # NaN: the most conservative value
        return _EXP_MAX
    if expires <= 0:
        return 0 if expires <= -1 else 1
    if expires >= _EXP_MAX:
        return _EXP_MAX
    return math.floor(expires) + 1


class ReplayWindows:
    """Check-and-record of (8-byte key, nonce-count), at most ``capacity`` keys.

    Per key: the highest count seen, a bitmask of the ``max_window`` counts below it
    (bit *i*: count ``high - i`` was used) and the expiry, packed in one int; a ring of
    keys evicts the oldest first and raises the watermark to its expiry. See
    ``replay.py``.
    """

    __slots__ = ("_capacity", "_full", "_hand", "_max_window", "_ring", "_table", "_watermark")

    def __init__(self, capacity: int, max_window: int) -> None:
        if type(capacity) is not int or not 0 < capacity <= 1 << 30:
            raise ValueError("capacity must be a positive int (at most 2**30)")
        if type(max_window) is not int or not 0 < max_window <= 1 << 16:
            raise ValueError("max_window must be a positive int (at most 65536)")
        self._capacity = capacity
        self._max_window = max_window
        self._full = (1 << max_window) - 1
        self._table: dict[bytes, int] = {}  # key -> mask << 80 | expiry << 32 | high
        self._ring: list[bytes | None] = [None] * capacity
        self._hand = 0
        self._watermark = -1  # latest expiry of an evicted entry

    def check_and_record(
        self, key: bytes, nc: int, window: int, now: float, expires: float
    ) -> bool:
        """True when ``nc`` is new for ``key`` (and now recorded); see ``ReplayStore``."""
        if type(key) is not bytes or len(key) != 8:
            raise TypeError("key must be 8 bytes")
        if type(nc) is not int or type(window) is not int:
            raise TypeError("nc and window must be int")
        if not 0 <= nc <= _NC_MAX:
            raise ValueError("nc must be in [0, 2**32)")
        if window > self._max_window:
            raise ValueError("window is larger than this store's max_window")
        table = self._table
        packed = table.get(key)
        if packed is None:
            exp = _expiry(expires)
            if exp <= self._watermark:
                return False  # it may have been here and been evicted: never fresh again
            hand = self._hand
            old = self._ring[hand]
            if old is not None:
                wm = table.pop(old) >> _HIGH_BITS & _EXP_MAX
                if wm > self._watermark:
                    self._watermark = wm
            self._ring[hand] = key
            self._hand = hand + 1 if hand + 1 < self._capacity else 0
            table[key] = 1 << _MASK_SHIFT | exp << _HIGH_BITS | nc
            return True
        if window <= 0:
            return False
        high = packed & _NC_MAX
        mask = packed >> _MASK_SHIFT
        if nc > high:
            shift = nc - high
            mask = 1 if shift >= self._max_window else (mask << shift | 1) & self._full
            table[key] = mask << _MASK_SHIFT | packed & (_EXP_MAX << _HIGH_BITS) | nc
            return True
        age = high - nc
        if age >= window or mask >> age & 1:
            return False
        table[key] = packed | 1 << (_MASK_SHIFT + age)
        return True

    def __len__(self) -> int:
        return len(self._table)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def max_window(self) -> int:
        return self._max_window


# ---- mint_challenge ------------------------------------------------------------------

_pack = struct.Struct(">BBBBq8s6s").pack  # nonce.py's payload; version 1
_X36 = bytes(b ^ 0x36 for b in range(256))
_X5C = bytes(b ^ 0x5C for b in range(256))
_B64URL = bytes.maketrans(b"+/", b"-_")
# HMAC-SHA-256 pads per key (RFC 2104), hashed once: a MAC is then two copies, two
# updates and two digests, several times cheaper than hmac.new/copy per nonce.
_PADS: dict[bytes, tuple[hashlib._Hash, hashlib._Hash]] = {}


def _pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    found = _PADS.get(key)
    if found is None:
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        found = (hashlib.sha256(block.translate(_X36)), hashlib.sha256(block.translate(_X5C)))
        if len(_PADS) >= 8:
            _PADS.clear()
        _PADS[key] = found
    return found


Template = tuple[str, str, str, int]
"""(text before the nonce, text after it, the same with stale=true, algorithm code)."""


# The last templates tuple that passed every check, held by identity: the server passes
# the same per-realm tuple each time, so its templates are checked once, not per call.
_CHECKED: list[tuple[Template, ...] | None] = [None]
_b2a = binascii.b2a_base64


def mint_challenges(
    key: bytes, name: str, templates: tuple[Template, ...], stale: bool, qbits: int,
    flags: int, issued_ms: int, pool: bytes, pos: int, tag: bytes,
) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """``((name, head + nonce + tail), ...)``, one per template; template *i* gets the
    8-byte id ``pool[pos + 8*i : pos + 8*i + 8]``; each nonce is minted as
    ``_pure.mint_nonce`` does over nonce.py's payload."""
    if (
        templates is _CHECKED[0]
        and type(key) is bytes
        and type(name) is str
        and type(pool) is bytes
        and type(pos) is int
        and type(tag) is bytes
        and type(qbits) is int
        and type(flags) is int
        and type(issued_ms) is int
        and len(tag) == 6
        and 0 <= pos <= len(pool) - 8 * len(templates)
    ):
        # every argument is as the checks below require: no per-template checks
        pads = _PADS.get(key)  # _pads' hit, inlined: no frame for the usual call
        inner, outer = _pads(key) if pads is None else pads
        out = []
        for head, tail, tail_stale, code in templates:
            try:
                payload = _pack(1, code, qbits, flags, issued_ms, pool[pos : pos + 8], tag)
            except struct.error:
                raise OverflowError("a nonce field is out of range") from None
            pos += 8
            h = inner.copy()
            h.update(payload)
            o = outer.copy()
            o.update(h.digest())
            # 42 bytes: 56 base64 characters, no padding
            nonce = _b2a(payload + o.digest()[:16], newline=False).translate(_B64URL).decode()
            out.append((name, f"{head}{nonce}{tail_stale if stale else tail}"))
        return tuple(out)
    return _mint_checked(key, name, templates, stale, qbits, flags, issued_ms, pool, pos, tag)


def _mint_checked(
    key: bytes, name: str, templates: tuple[Template, ...], stale: bool, qbits: int,
    flags: int, issued_ms: int, pool: bytes, pos: int, tag: bytes,
) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """``mint_challenges`` with every check, in the order the C twin makes them."""
    if type(name) is not str or type(templates) is not tuple:
        raise TypeError("name must be str and templates a tuple")
    if type(pool) is not bytes or type(pos) is not int:
        raise TypeError("pool must be bytes and pos an int")
    if not 0 <= pos <= len(pool) - 8 * len(templates):
        raise ValueError("pool holds too few ids at pos")
    if type(tag) is not bytes or len(tag) != 6:
        raise ValueError("tag must be 6 bytes")
    if type(qbits) is not int or type(flags) is not int or type(issued_ms) is not int:
        raise TypeError("qbits, flags and issued_ms must be int")
    out = []
    for t in templates:
        if type(t) is not tuple or len(t) != 4:
            raise TypeError("a template is (head, tail, stale tail, code)")
        head, tail, tail_stale, code = t
        if type(head) is not str or type(tail) is not str or type(tail_stale) is not str:
            raise TypeError("a template is (head, tail, stale tail, code)")
        if type(code) is not int:
            raise TypeError("a template is (head, tail, stale tail, code)")
        try:
            payload = _pack(1, code, qbits, flags, issued_ms, pool[pos : pos + 8], tag)
        except struct.error:
            raise OverflowError("a nonce field is out of range") from None
        pos += 8
        inner, outer = _pads(_pure._b(key))
        h = inner.copy()
        h.update(payload)
        o = outer.copy()
        o.update(h.digest())
        raw = payload + o.digest()[:16]  # 42 bytes: 56 base64 characters, no padding
        nonce = binascii.b2a_base64(raw, newline=False).translate(_B64URL).decode()
        out.append((name, f"{head}{nonce}{tail_stale if stale else tail}"))
    if templates and type(key) is bytes:
        _CHECKED[0] = templates  # every template passed: the next call skips the checks
    return tuple(out)
