"""Differential fuzzing of ``verify_credentials`` (and so of the C ``verify_fast`` scanner).

Each twin answers plain credentials in its own scanner (``verify_fast``: C in
``_fast``, regular expressions in ``_pure``) and hands everything else to the general
path. Oracle: both twins give the same bool or raise the same exception (class and
message); the exceptions are the ``RemoteProtocolError`` family only, except the
documented host-side ``LocalProtocolError`` for userhash credentials verified with a
password and no ``username=``; and ``True`` only when the response is the one an
independent hashlib computation gives for the value's own fields.

Input: an Authorization value; ``$RESPONSE`` in it is replaced by the right response
for the value's own fields and alice's password, so the fuzzer reaches ``True`` too.
F2 (tests/test_fuzz_regressions.py, found in review, fixed): a -sess algorithm
without cnonce raised LocalProtocolError ("... needs a cnonce") for remote input.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (
    cores,
    instrumented,
    outcome,
    ref_hash,
    ref_response,
    run,
    text,
    use_core,
)

with instrumented(__name__, python_coverage=False):
    from sipdigest import verify_credentials
    from sipdigest.errors import RemoteProtocolError

PURE, FAST = cores()
PASSWORD = "wonderland"  # noqa: S105 - the test user's, public
METHOD = "REGISTER"
_ALLOWED_LOCAL = ("userhash credentials: pass ha1= or the real username=",)


def _fields(value: str) -> dict[str, str] | None:
    try:
        items = PURE.tokenize(value, 8192, 64)
    except Exception:
        return None
    if len(items) != 1 or items[0][0].lower() != "digest" or items[0][1] is not None:
        return None
    return items[0][2]


def _expected(p: dict[str, str] | None) -> str | None:
    if p is None or None in (p.get("username"), p.get("realm"), p.get("nonce"), p.get("uri")):
        return None
    return ref_response(
        algorithm=p.get("algorithm"), username=p["username"], realm=p["realm"],
        password=PASSWORD, method=METHOD, uri=p["uri"], nonce=p["nonce"], nc=p.get("nc"),
        cnonce=p.get("cnonce"), qop=p.get("qop"),
    )  # fmt: skip


def _substitute(value: str) -> str:
    if "$RESPONSE" not in value:
        return value
    right = _expected(_fields(value.replace("$RESPONSE", "0")))
    return value.replace("$RESPONSE", right or "0" * 32)


def _ha1_for(p: dict[str, str] | None) -> str:
    try:
        alg = (p or {}).get("algorithm") or "MD5"
        return ref_hash(alg, f"{p['username']}:{p['realm']}:{PASSWORD}".encode())  # type: ignore[index]
    except Exception:
        return "0" * 32


def _check(value: str, kwargs: dict[str, object]) -> None:
    with use_core(PURE):
        p = outcome(lambda: verify_credentials(value, method=METHOD, **kwargs))
    if FAST is not None:
        with use_core(FAST):
            f = outcome(lambda: verify_credentials(value, method=METHOD, **kwargs))
        assert p == f, f"twins differ on {value!r} {list(kwargs)}:\n pure {p}\n fast {f}"
    if p[0] == "raise":
        name, message, _ = p[1]
        remote = {c.__name__ for c in (RemoteProtocolError, *_subclasses(RemoteProtocolError))}
        ok = name in remote or (name == "LocalProtocolError" and message in _ALLOWED_LOCAL)
        assert ok, f"verify_credentials({value!r}) raised {p[1]}"
    elif p[1]:
        fields = _fields(value)
        assert fields is not None and fields.get("response") == _expected(fields), value


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def TestOneInput(data: bytes) -> None:
    value = _substitute(text(data))
    _check(value, {"password": PASSWORD})
    _check(value, {"ha1": _ha1_for(_fields(value))})


if __name__ == "__main__":
    run(TestOneInput)
