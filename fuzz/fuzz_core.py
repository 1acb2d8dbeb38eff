"""Differential fuzzing of the twin arithmetic: nonces, HA1, response, comparisons.

Input: fields separated by 0xFF (a byte UTF-8 never uses); each field is used as
bytes and as text (lone surrogates included). Oracle: ``_fast`` and ``_pure`` agree
(result, or exception class and message) on ``hexdigest``, ``ha1``, ``ha1_sess``,
``response``, ``check_response``, ``hmac_sha256``, ``mint_nonce`` and ``open_nonce``;
hashes equal hashlib's; ``open_nonce`` returns a payload only for a value that
``mint_nonce`` gives back exactly (nothing forged opens); a minted nonce opens to its
payload; ``check_response`` is true for the response it recomputes, false otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cores, instrumented, outcome, run, text

with instrumented(__name__, python_coverage=False):
    import sipdigest  # noqa: F401  (instrumented with the rest of the package)

PURE, FAST = cores()
KEY = b"0123456789abcdef0123456789abcdef"
_HASHLIB = (hashlib.md5, hashlib.sha256, lambda b: hashlib.new("sha512_256", b),
            lambda b: hashlib.sha512(b))  # fmt: skip


def _both(fn: str, *args: object) -> tuple[str, object]:
    p = outcome(lambda: getattr(PURE, fn)(*args))
    if FAST is not None:
        f = outcome(lambda: getattr(FAST, fn)(*args))
        assert p == f, f"twins differ on {fn}{args!r}:\n pure {p}\n fast {f}"
    return p


def TestOneInput(data: bytes) -> None:
    raw = data.split(b"\xff")
    raw += [b""] * (8 - len(raw))
    txt = [text(r) for r in raw]
    sel = raw[0][:1]
    hid = sel[0] % 5 if sel else 0  # 4 is not a hash id: both twins must refuse it alike
    qop = (sel[0] // 5) % 4 if sel else 1  # 3 is not a qop code

    # hashing, on bytes and on text
    for arg in (raw[1], txt[1]):
        r = _both("hexdigest", hid, arg)
        if r[0] == "ok" and isinstance(arg, bytes):
            want = _HASHLIB[hid](arg).hexdigest()
            assert r[1] == (want[:64] if hid == 3 else want), (hid, arg)
    _both("ha1", hid, txt[1], raw[2], txt[3])
    _both("ha1_sess", hid, raw[1], txt[2], txt[3])
    args = (hid, txt[1], txt[2], raw[3], txt[4], txt[5], raw[6], qop, raw[7])
    r = _both("response", *args)
    if r[0] == "ok":
        good = _both("check_response", *args, r[1])
        assert good == ("ok", True), (args, good)
        flipped = r[1][:-1] + ("0" if r[1][-1] != "0" else "1")
        assert _both("check_response", *args, flipped) == ("ok", False), args
        assert _both("check_response", *args, r[1].upper()) == (
            "ok", r[1] == r[1].upper()), args  # fmt: skip
    _both("check_response", *args, txt[0])

    # HMAC and nonces
    mac = _both("hmac_sha256", raw[1], raw[2])
    assert mac == ("ok", hmac.new(raw[1], raw[2], hashlib.sha256).digest())
    minted = _both("mint_nonce", KEY, raw[2])
    assert minted[0] == "ok"
    assert _both("open_nonce", KEY, minted[1], len(raw[2])) == ("ok", raw[2])
    for plen in (26, len(raw[2]), len(raw[3]) % 40 - 16):
        opened = _both("open_nonce", KEY, txt[3], plen)
        if opened[0] == "ok" and opened[1] is not None:
            # nothing opens unless it is exactly what mint_nonce makes for that payload
            assert _both("mint_nonce", KEY, opened[1]) == ("ok", txt[3]), (txt[3], plen)
        _both("open_nonce", raw[1], txt[3], plen)


if __name__ == "__main__":
    run(TestOneInput)
