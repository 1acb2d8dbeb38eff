"""How cheap can a pure-Python challenge with a sealed nonce be? The floor under #6's
"pure twin never slower than the baseline" for ``Server.handle -> SendChallenge``.

The baseline's challenge is an unsigned ``secrets.token_urlsafe`` nonce: a server using
it must remember every nonce it issued, which a flood of unauthenticated requests
fills (the flood target asks that such a flood leave nothing behind). sipdigest seals
its nonce instead (payload + HMAC-SHA-256, nonce.py), so it keeps nothing per
challenge. ``sealed_floor`` below is the least a sealed challenge can do, written flat:
one header loop, one payload, one MAC, base64, one action object; no counters, reasons,
per-realm templates or type checks, which ``Server.handle`` has. ``blake2s_floor`` is
the same with a keyed BLAKE2s in place of HMAC-SHA-256 (the cheapest keyed MAC hashlib
has). Each floor nonce is checked (the HMAC one opens with the pure twin's
``open_nonce``), so the floor does the real work. Run as a script for the four side by
side in interleaved rounds (the only reading a shared machine allows), or under pytest
for pytest-benchmark's table (each timed alone: noisier):

    SIPDIGEST_NO_EXTENSIONS=1 python benchmarks/test_bench_challenge_floor.py

Measured on the shared 2-core EPYC (2026-11-27), against the baseline:

- interleaved medians: HMAC floor 0.86x, BLAKE2s floor 1.00x, ``Server.handle`` on
  the pure twin 0.53x;
- callgrind, instructions per call: baseline 18,400, HMAC floor 27,600, BLAKE2s floor
  22,200, ``Server.handle`` 42,100 (instructions leave out the kernel's ``getrandom``
  behind the baseline's ``token_urlsafe``, so they flatter the baseline).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from typing import Any, Optional

import pytest

from sipdigest import _impl, _pure, _pure_server, bench, nonce

KEY = bytes(range(32))
POOL = os.urandom(4096)
_PACK = nonce._PAYLOAD.pack  # version 1
_B64URL = _pure_server._B64URL
_INNER, _OUTER = _pure_server._pads(KEY)  # HMAC-SHA-256's pads, hashed once
HEAD = f'Digest realm="{bench.REALM}", qop="auth", algorithm=MD5, nonce="'
TAIL = f'", opaque="{bench.OPAQUE}"'


class Challenge:
    __slots__ = ("status", "phrase", "headers")
    status: int
    phrase: str
    headers: tuple[tuple[str, str], ...]


_pos = [0]


def _payload(now: float) -> bytes:
    pos = _pos[0]
    _pos[0] = (pos + 8) & 4095
    return _PACK(1, 1, 1, 0, int(now * 1000), POOL[pos : pos + 8], b"tagtag")


def _action(nonce: str) -> Challenge:
    action = Challenge()
    action.status, action.phrase = 401, "Unauthorized"
    action.headers = (("WWW-Authenticate", f"{HEAD}{nonce}{TAIL}"),)
    return action


def sealed_floor(headers: Sequence[tuple[str, str]], now: float) -> Optional[Challenge]:
    for name, _ in headers:
        if name.lower() == "authorization":
            return None
    payload = _payload(now)
    inner = _INNER.copy()
    inner.update(payload)
    outer = _OUTER.copy()
    outer.update(inner.digest())
    raw = payload + outer.digest()[:16]
    return _action(binascii.b2a_base64(raw, newline=False).translate(_B64URL).decode())


def blake2s_floor(headers: Sequence[tuple[str, str]], now: float) -> Optional[Challenge]:
    for name, _ in headers:
        if name.lower() == "authorization":
            return None
    payload = _payload(now)
    raw = payload + hashlib.blake2s(payload, key=KEY, digest_size=16).digest()
    return _action(binascii.b2a_base64(raw, newline=False).translate(_B64URL).decode())


def _nonce(action: Any) -> str:
    value = action.headers[0][1]
    assert value.startswith(HEAD) and value.endswith(TAIL), value
    return str(value[len(HEAD) : -len(TAIL)])


INP = bench.inputs(bench.MD5_AUTH)
HEADERS = INP.challenge_event.headers


def _baseline() -> tuple[int, list[tuple[str, str]]]:
    v = bench.MD5_AUTH
    return bench.Baseline.server_challenge(
        HEADERS, v.method, v.body, bench.REALM, INP.users, v.algorithm, v.qop, bench.OPAQUE
    )


def _check_hmac(action: Any) -> None:
    assert _pure.open_nonce(KEY, _nonce(action), nonce.PAYLOAD_LEN) is not None


def _check_blake2s(action: Any) -> None:
    text = _nonce(action)
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    good = hashlib.blake2s(raw[:26], key=KEY, digest_size=16).digest()
    assert hmac.compare_digest(raw[26:], good)


CASES: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "baseline": (_baseline, lambda r: None if r[0] == 401 else pytest.fail(repr(r))),
    "sealed-hmac-sha256-floor": (lambda: sealed_floor(HEADERS, 1.7e9), _check_hmac),
    "sealed-blake2s-floor": (lambda: blake2s_floor(HEADERS, 1.7e9), _check_blake2s),
}


@pytest.mark.parametrize("name", list(CASES))
def test_challenge_floor(name: str, benchmark: Any) -> None:
    fn, check = CASES[name]
    check(fn())
    benchmark.group = "challenge floor (MD5 auth, pure Python)"
    check(benchmark(fn))


def test_the_floor_refuses_to_challenge_a_request_with_credentials() -> None:
    with_creds = [*HEADERS, ("authorization", INP.value)]
    assert sealed_floor(with_creds, 1.7e9) is None and blake2s_floor(with_creds, 1.7e9) is None


def _interleaved(rounds: int = 300, calls: int = 200) -> None:
    import statistics
    import time

    from sipdigest.server import Server

    server = Server(INP.policy, entropy=bench._entropy(12))
    fns = {name: fn for name, (fn, _) in CASES.items()}
    fns["Server.handle (this twin)"] = functools.partial(server.handle, INP.challenge_event)
    times: dict[str, list[float]] = {name: [] for name in fns}
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = clock()
            for _ in range(calls):
                fn()
            times[name].append((clock() - t0) / calls)
    base = statistics.median(times["baseline"])
    print(f"sipdigest twin: {_impl.IMPLEMENTATION}")
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"{name:28} {median:8,.0f} ns  {base / median:5.2f}x the baseline")


if __name__ == "__main__":
    _interleaved()
