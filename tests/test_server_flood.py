"""Rule 8: challenging keeps no per-request state, so an unauthenticated flood leaves
memory flat. Set SIPDIGEST_SLOW=1 for the million-request variant."""

from __future__ import annotations

import gc
import os
import tracemalloc

import pytest

from sipdigest.actions import SendChallenge
from sipdigest.events import RequestReceived

from .test_server_kit import BASE_HEADERS, URI, authorize, make_server, pick


def _flood(count: int, **policy: object) -> int:
    srv = make_server(**policy)
    hs = list(BASE_HEADERS)
    forged = authorize(pick(make_server(secret=b"another secret, 32 bytes long!!").handle(
        RequestReceived("REGISTER", URI, hs, 0.0))))  # fmt: skip
    bad = [*hs, ("Authorization", forged)]
    # warm up: every cache (challenge templates, realm tag, counters) is filled once
    for i in range(2_000):
        srv.handle(RequestReceived("REGISTER", URI, bad if i % 2 else hs, float(i)))
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for i in range(count):
            action = srv.handle(RequestReceived("REGISTER", URI, bad if i % 2 else hs, 2_000.0 + i))
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(action, SendChallenge)
    assert srv.counters()["challenge"] == count + 2_000
    return end - start


def test_challenging_keeps_no_per_request_state() -> None:
    grown = _flood(200_000)
    assert grown < 16_384, f"{grown} bytes retained after 200000 challenges"


def test_challenging_with_binding_keeps_no_per_request_state() -> None:
    grown = _flood(20_000, bind_call_id=True, bind_from_tag=True, bind_source=True)
    assert grown < 16_384, f"{grown} bytes retained after 20000 bound challenges"


@pytest.mark.skipif(not os.environ.get("SIPDIGEST_SLOW"), reason="slow: set SIPDIGEST_SLOW=1")
def test_a_million_challenges_keep_memory_flat() -> None:
    grown = _flood(1_000_000)
    assert grown < 16_384, f"{grown} bytes retained after 1000000 challenges"
