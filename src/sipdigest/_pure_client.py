"""The client machine's pure-Python twin functions (their C twins: _fast_client.pxi).

``__all__`` is the list both twins expose; ``_impl`` binds each name from the twin in use.

Both functions serve the client's common case, a first 401/407 answered in one Retry:

* :func:`plain_challenge` reads the one challenge header of a response when its value
  is one Digest challenge of the plain shape (ASCII, SP/HT as white space, no
  quoted-pair, no empty item) and returns only the fields the client uses. Anything
  else gives None and the client reads the response the general way (the tokenizer),
  so every error keeps its general-path description. Within the plain shape the fields
  are exactly the tokenizer's (tests hold them equal).
* :func:`render_answer` computes the request-digest and renders the whole credentials
  value around it in one call, quoting the Request-URI as ``headers._quote`` does.

This module imports nothing from the package (``_pure`` star-imports it at its end).
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import sys
from typing import Callable, Optional, Union

__all__ = ["plain_challenge", "render_answer"]

#: (header kind, realm, nonce, algorithm, qop, opaque, userhash); None when absent.
PlainChallenge = tuple[int, str, str, Optional[str], Optional[str], Optional[str], Optional[str]]

#: At most this many parameters in a plain challenge (the C twin's fixed table).
PLAIN_MAX_PARAMS = 64

_KINDS = {"www-authenticate": 0, "proxy-authenticate": 1}
_LENGTHS = frozenset(map(len, _KINDS))
_TCH = r"[A-Za-z0-9!#$%&'*+\-.^_`|~]"
# a quoted-string of qdtext only, or a non-empty token that does not start with "="
# (a value like "==" could read as token68 in the full grammar)
_VAL = r'(?:"[\t\x20\x21\x23-\x5b\x5d-\x7e]*"|[\x21\x23-\x2b\x2d-\x3c\x3e-\x7e][\x21\x23-\x2b\x2d-\x7e]*)'
_ONE = rf"({_TCH}+)[ \t]*=[ \t]*({_VAL})"
_TCH_LC = r"[a-z0-9!#$%&'*+\-.^_`|~]"
_SEP = r"[ \t]*,[ \t]*"
_HEAD = r"[ \t]*[Dd][Ii][Gg][Ee][Ss][Tt][ \t]+"
#: Up to 8 parameters are captured by one match as (name, value) group pairs (unused
#: trailing pairs are None); a longer challenge is checked whole, then scanned.
_SLOTS = 8
_NESTED = ""
for _ in range(_SLOTS - 1):
    _NESTED = rf"(?:{_SEP}{_ONE}{_NESTED})?"
_SHORT = re.compile(rf"{_HEAD}{_ONE}{_NESTED}[ \t]*")
#: _SHORT for the usual spelling, lower-case names: then the names need no lower() and a
#: duplicate is an exact repeat. Flat optional groups, possessive where the engine has
#: them (3.11): no part of this grammar ever needs to give back what it matched (a name,
#: a token or a quoted-string is followed by none of its own characters, and a matched
#: ", name=value" cannot be the end), so the same matches come with no backtracking state.
_P = "+" if sys.version_info >= (3, 11) else ""
_ONE_LC = (
    rf"({_TCH_LC}+{_P})[ \t]*{_P}=[ \t]*{_P}"
    rf'((?:"[\t\x20\x21\x23-\x5b\x5d-\x7e]*{_P}"|[\x21\x23-\x2b\x2d-\x3c\x3e-\x7e][\x21\x23-\x2b\x2d-\x7e]*{_P}))'
)
_SHORT_LC = re.compile(
    rf"[ \t]*{_P}[Dd][Ii][Gg][Ee][Ss][Tt][ \t]+{_P}{_ONE_LC}"
    + rf"(?:[ \t]*{_P},[ \t]*{_P}{_ONE_LC})?{_P}" * (_SLOTS - 1)
    + rf"[ \t]*{_P}"
)
_LONG = re.compile(rf"{_HEAD}({_TCH}+[ \t]*=[ \t]*{_VAL}(?:{_SEP}{_TCH}+[ \t]*=[ \t]*{_VAL})*)[ \t]*")
_ITEM = re.compile(_ONE)
_QUOTE = itertools.repeat('"')  # str.strip's argument for every value: qdtext has no '"'
_lower = str.lower
_strip = str.strip


def plain_challenge(
    headers: object, max_length: int, max_params: int
) -> Optional[PlainChallenge]:
    """The one Digest challenge of ``headers`` when it has the plain shape, else None.

    ``headers`` must be a list or tuple of (name, value) pairs (any 2-item iterable, as
    ``for name, value in headers`` reads them; a failing one gives None) holding
    exactly one WWW-Authenticate or Proxy-Authenticate field (a str name, any case);
    its str value at most ``max_length`` characters of ``Digest name=value, ...`` with
    realm and nonce, no duplicate name and at most ``max_params`` items (the scheme
    included, as the tokenizer counts them; and at most :data:`PLAIN_MAX_PARAMS`
    parameters).
    """
    if type(max_length) is not int or type(max_params) is not int:
        max_length = operator.index(max_length)  # TypeError as the C twin's
        max_params = operator.index(max_params)
    if type(headers) is not list and type(headers) is not tuple:
        return None
    kind = -1
    value: object = None
    try:
        for name, field in headers:
            if len(name) in _LENGTHS:  # the two names' lengths: most headers stop here
                if type(name) is not str:
                    return None
                found = _KINDS.get(name.lower())
                if found is not None:
                    if kind >= 0:
                        return None
                    kind = found
                    value = field
    except (TypeError, ValueError):
        return None
    if kind < 0 or type(value) is not str or len(value) > max_length:
        return None
    m = _SHORT_LC.fullmatch(value)
    if m is not None:
        # names as written, values with their quotes: only the fields returned are
        # stripped; unused slots add one None key
        groups = m.groups()
        count = m.lastindex >> 1  # type: ignore[operator]  # a match has group 2 at least
        params = dict(zip(groups[0::2], groups[1::2], strict=True))
        if len(params) != (count if count == _SLOTS else count + 1) or count >= max_params:
            return None
        get = params.get
        realm = get("realm")
        nonce = get("nonce")
        if realm is None or nonce is None:
            return None
        label = get("algorithm")
        offered = get("qop")
        opaque = get("opaque")
        userhash = get("userhash")
        return (
            kind, _strip(realm, '"'), _strip(nonce, '"'),
            None if label is None else _strip(label, '"'),
            None if offered is None else _strip(offered, '"'),
            None if opaque is None else _strip(opaque, '"'),
            None if userhash is None else _strip(userhash, '"'),
        )  # fmt: skip
    m = _SHORT.fullmatch(value)
    if m is not None:
        groups = m.groups()
        names = groups[0::2]
        count = names.index(None) if names[-1] is None else _SLOTS
        params = dict(zip(map(_lower, names[:count]), map(_strip, groups[1::2][:count], _QUOTE), strict=True))
    else:
        m = _LONG.fullmatch(value)
        if m is None:
            return None
        found_items = _ITEM.findall(value, m.start(1), m.end(1))
        count = len(found_items)
        params = {name.lower(): val.strip('"') for name, val in found_items}
    if (
        len(params) != count
        or count >= max_params
        or count > PLAIN_MAX_PARAMS
        or "realm" not in params
        or "nonce" not in params
    ):
        return None
    get = params.get
    return (
        kind, params["realm"], params["nonce"], get("algorithm"), get("qop"), get("opaque"),
        get("userhash"),
    )  # fmt: skip


def _sha512_trunc(data: Union[bytes, bytearray]) -> _Trunc:
    return _Trunc(hashlib.sha512(data).hexdigest()[:64])


class _Trunc:
    """SHA-512 cut to 256 bits (the ``truncated_sha512`` quirk), hexdigest only."""

    __slots__ = ("_hex",)

    def __init__(self, hex_: str) -> None:
        self._hex = hex_

    def hexdigest(self) -> str:
        return self._hex


def _sha512_256(data: Union[bytes, bytearray]) -> hashlib._Hash:
    return hashlib.new("sha512_256", data)


_HASHES: tuple[Callable[[Union[bytes, bytearray]], Union[hashlib._Hash, _Trunc]], ...] = (
    hashlib.md5, hashlib.sha256, _sha512_256, _sha512_trunc,
)  # fmt: skip
_TEXT_ARGS = ("ha1", "method", "uri", "nonce", "nc", "cnonce", "start", "mid", "tail", "end")


def render_answer(
    hash_id: int,
    ha1: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: int,
    body: Union[bytes, bytearray],
    start: str,
    mid: str,
    tail: str,
    end: str,
) -> str:
    """``start + quoted uri + ', response="' + digest + '"' + mid + cnonce + tail + nc + end``.

    The digest is ``_pure.response(hash_id, ha1, method, uri, nonce, nc, cnonce, qop,
    body)``; the client passes the rest pre-rendered per cached nonce, so one call makes
    the whole header value. Every text argument must be a str (a subclass is read as
    its characters), the body (read for auth-int only) bytes or bytearray.
    """
    if type(hash_id) is not int or not 0 <= hash_id < 4:
        raise ValueError(f"unknown hash id {hash_id!r}")
    if qop == 2:
        code = 2
    elif qop == 1:
        code = 1
    elif qop == 0:
        code = 0
    else:
        raise ValueError(f"unknown qop code {qop!r}")
    h = _HASHES[hash_id]
    # optimistic: str.join refuses anything but str, and then the arguments are checked
    # one by one in the C twin's order for its message
    try:
        if code == 2:
            if type(body) is not bytes and type(body) is not bytearray:
                raise TypeError("body")
            ha2 = h(":".join((method, uri, h(body).hexdigest())).encode()).hexdigest()
        else:
            ha2 = h(":".join((method, uri)).encode()).hexdigest()
        if code == 0:
            kd = ":".join((ha1, nonce, ha2))
        else:
            kd = ":".join((ha1, nonce, nc, cnonce, "auth-int" if code == 2 else "auth", ha2))
        digest = h(kd.encode()).hexdigest()
        if _contains(uri, '"') or _contains(uri, "\\"):
            uri = _replace(_replace(uri, "\\", "\\\\"), '"', '\\"')
        return "".join((start, '"', uri, '", response="', digest, '"', mid, cnonce, tail, nc, end))
    except TypeError:
        _check_types((ha1, method, uri, nonce, nc, cnonce, start, mid, tail, end), code, body)
        raise  # pragma: no cover - _check_types raised
    except UnicodeEncodeError:
        # a lone surrogate: raise for the first argument that has one, as the C twin does
        # (after its type checks)
        _check_types((ha1, method, uri, nonce, nc, cnonce, start, mid, tail, end), code, body)
        for arg in (ha1, method, uri, nonce, *((nc, cnonce) if code else ())):
            str.encode(arg)
        raise  # pragma: no cover - one of them raised


_contains = str.__contains__
_replace = str.replace


def _check_types(texts: tuple[object, ...], code: int, body: object) -> None:
    for arg_name, arg in zip(_TEXT_ARGS, texts, strict=True):
        if not isinstance(arg, str):
            raise TypeError(f"{arg_name} must be str, not {type(arg).__name__}")
    if code == 2 and type(body) is not bytes and type(body) is not bytearray:
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
