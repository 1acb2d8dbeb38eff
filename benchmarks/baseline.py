"""Hand-written pure-Python baselines, measured in the same run as sipdigest.

What a competent engineer writes in an afternoon: a regex parse, hashlib, and
``hmac.compare_digest``. No nonce checks, no replay window, no validation beyond what
the arithmetic needs. Ratios in the README are against these.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse(value: str) -> dict[str, str]:
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError("not digest")
    return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}


def verify(value: str, method: str, ha1: str) -> bool:
    p = parse(value)
    ha2 = hashlib.md5(f"{method}:{p['uri']}".encode()).hexdigest()
    if "qop" in p:
        kd = f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}"
    else:
        kd = f"{ha1}:{p['nonce']}:{ha2}"
    return hmac.compare_digest(hashlib.md5(kd.encode()).hexdigest(), p["response"])


def answer_401(www_authenticate: str, method: str, uri: str, username: str, password: str) -> str:
    """A minimal client: parse one MD5 challenge, build the Authorization value."""
    p = parse(www_authenticate)
    realm, nonce = p["realm"], p["nonce"]
    cnonce = os.urandom(8).hex()
    ha1 = hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    nc = "00000001"
    resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    opaque = f', opaque="{p["opaque"]}"' if "opaque" in p else ""
    return (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={nc}{opaque}'
    )
