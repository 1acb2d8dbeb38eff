"""Replay protection (rule 5): the nc window, one-time nonces, bounded memory, eviction,
and the external store (CheckReplay / ReplayChecked)."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from sipdigest import _pure_server
from sipdigest.actions import Accept, CheckReplay, LookupCredentials, Reason, SendChallenge
from sipdigest.errors import LocalProtocolError
from sipdigest.events import CredentialsFound, ReplayChecked
from sipdigest.replay import MemoryReplayStore, ReplayStore
from sipdigest.server import Server

from .test_server_kit import accepted, authorize, make_server, pick, policy, request, user_lookup

pytestmark = pytest.mark.usefixtures("twin")


def _replayed(action: object) -> bool:
    return isinstance(action, SendChallenge) and action.reason is Reason.REPLAY and action.stale


def test_replayed_nc_is_refused() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    value = authorize(ch, nc=1)
    assert accepted(srv.handle(request(value)))
    assert _replayed(srv.handle(request(value)))
    # the same nc with a new cnonce (a new, valid digest) is still a repeated nc
    assert _replayed(srv.handle(request(authorize(ch, nc=1, cnonce="fresh"))))


def test_same_authorized_request_sent_twice_is_never_accepted_twice() -> None:
    for kw in ({}, {"qop": ()}, {"one_time_nonce": True}, {"replay_capacity": 1}):
        srv = make_server(**kw)
        value = authorize(pick(srv.handle(request())))
        outcomes = [type(srv.handle(request(value, now=1000 + i))) for i in range(5)]
        assert outcomes.count(Accept) == 1, (kw, outcomes)


def test_reordered_nc_within_window_is_accepted() -> None:
    srv = make_server(replay_window=128)
    ch = pick(srv.handle(request()))
    for nc in (5, 3, 4, 1, 2, 129, 10):
        assert accepted(srv.handle(request(authorize(ch, nc=nc)))), nc
    for nc in (5, 3, 129, 10):
        assert _replayed(srv.handle(request(authorize(ch, nc=nc)))), nc
    assert accepted(srv.handle(request(authorize(ch, nc=200))))
    # 72 is 128 below 200: just outside the window, refused although never used
    assert _replayed(srv.handle(request(authorize(ch, nc=72))))
    assert accepted(srv.handle(request(authorize(ch, nc=73))))


def test_nc_state_changes_only_after_digest_verifies() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    # an attacker without the password sends high counts: they must not poison the window
    for nc in (1, 2, 500, 0xFFFFFFFF):
        action = srv.handle(request(authorize(ch, nc=nc, password="guess")))
        assert action.reason is Reason.WRONG_RESPONSE
    for nc in (1, 2, 3):
        assert accepted(srv.handle(request(authorize(ch, nc=nc))))
    unknown = srv.handle(request(authorize(ch, nc=4, username="mallory")))
    assert unknown.reason is Reason.UNKNOWN_USER
    assert accepted(srv.handle(request(authorize(ch, nc=4))))


def test_one_time_nonce_second_use_gets_a_stale_challenge() -> None:
    srv = make_server(one_time_nonce=True)
    ch = pick(srv.handle(request()))
    assert accepted(srv.handle(request(authorize(ch, nc=1))))
    action = srv.handle(request(authorize(ch, nc=2)))
    assert _replayed(action)
    assert accepted(srv.handle(request(authorize(pick(action), nc=1))))


def test_rfc2069_nonce_without_nc_is_single_use() -> None:
    srv = make_server(qop=())
    ch = pick(srv.handle(request()))
    value = authorize(ch, qop=None)
    assert accepted(srv.handle(request(value)))
    assert _replayed(srv.handle(request(value)))


def test_evicted_nonce_is_treated_as_stale_never_as_fresh() -> None:
    srv = make_server(replay_capacity=2)
    chs = [pick(srv.handle(request(now=1000 + i))) for i in range(4)]
    used = [authorize(ch) for ch in chs[:3]]
    for value in used:  # the third use evicts the first nonce
        assert accepted(srv.handle(request(value, now=1010)))
    # the evicted nonce can not be replayed, not even with a count never seen
    assert _replayed(srv.handle(request(used[0], now=1011)))
    assert _replayed(srv.handle(request(authorize(chs[0], nc=2), now=1011)))
    # a nonce issued after the evicted one (later expiry) is still fresh
    assert accepted(srv.handle(request(authorize(chs[3]), now=1011)))


def test_replay_store_memory_is_bounded() -> None:
    store = MemoryReplayStore(capacity=100)
    for i in range(10_000):
        assert store.check_and_record(i.to_bytes(8, "big"), 1, 128, 0.0, 300.0 + i)
    assert len(store) == 100


def test_memory_store_window_arithmetic() -> None:
    s = MemoryReplayStore(8)
    k = b"k" * 8
    assert s.check_and_record(k, 10, 4, 0, 100)
    assert not s.check_and_record(k, 10, 4, 0, 100)
    assert s.check_and_record(k, 7, 4, 0, 100)  # 10-3: inside a window of 4
    assert not s.check_and_record(k, 6, 4, 0, 100)  # 10-4: outside
    assert s.check_and_record(k, 0xFFFFFFFF, 4, 0, 100)  # a huge jump costs no memory
    assert not s.check_and_record(k, 10, 4, 0, 100)
    assert s.check_and_record(k, 0xFFFFFFFE, 4, 0, 100)
    assert not s.check_and_record(k, 0xFFFFFFFE, 4, 0, 100)
    windows = s._windows  # a huge jump keeps the mask at max_window bits (pure: one int)
    if isinstance(windows, _pure_server.ReplayWindows):
        assert windows._table[k].bit_length() <= 32 + 48 + s.max_window
    one = b"o" * 8
    assert s.check_and_record(one, 1, 0, 0, 100)
    assert not s.check_and_record(one, 2, 0, 0, 100)  # window 0: one use only
    with pytest.raises(ValueError):
        MemoryReplayStore(0)


def test_reordering_matches_a_reference_model() -> None:
    rnd = random.Random(7)
    for window in (1, 2, 8, 64, 128):
        s = MemoryReplayStore(4)
        seen: set[int] = set()
        high = 0
        for _ in range(400):
            nc = max(1, high + rnd.randint(-window - 3, 5))
            expect = nc not in seen and (nc > high or high - nc < window)
            assert s.check_and_record(b"key00000", nc, window, 0, 50) is expect, (window, nc, high)
            if expect:
                seen.add(nc)
                high = max(high, nc)


def test_bytes_per_tracked_nonce_is_small() -> None:
    n = 20_000
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        store = MemoryReplayStore(capacity=n)
        for i in range(n):
            k = i.to_bytes(8, "big")  # the key (the nonce's random id) is kept by the store
            store.check_and_record(k, 1, 128, 0.0, 1_700_000_000.0)
            store.check_and_record(k, 100, 128, 0.0, 1_700_000_000.0)  # a full window mask
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    per_nonce = grown / n
    # 8-byte key object + dict slot + one packed int (nc, expiry, 128-bit mask) + ring slot:
    # measured ~127 bytes on CPython 3.11; the bound leaves room for other versions.
    print(f"replay store: {per_nonce:.0f} bytes per tracked nonce")
    assert per_nonce < 220


class FarmStore:
    """A stand-in for a shared (e.g. Redis) store: the host calls it, the machine does not."""

    def __init__(self) -> None:
        self.inner = MemoryReplayStore(1000)
        self.calls: list[tuple[bytes, int, int]] = []

    def check_and_record(
        self, key: bytes, nc: int, window: int, now: float, expires: float
    ) -> bool:
        self.calls.append((key, nc, window))
        return self.inner.check_and_record(key, nc, window, now, expires)


def test_external_replay_store_is_an_action_and_an_event() -> None:
    farm = FarmStore()
    node_a = Server(policy(external_replay=True), lookup=user_lookup())
    node_b = Server(policy(external_replay=True), lookup=user_lookup())
    ch = pick(node_a.handle(request()))
    value = authorize(ch)
    for node, fresh_expected in ((node_a, True), (node_b, False)):
        check = node.handle(request(value))
        assert isinstance(check, CheckReplay)
        assert (check.nc, check.window, len(check.key)) == (1, 128, 8)
        assert "_ctx" not in repr(check)
        fresh = farm.check_and_record(check.key, check.nc, check.window, 1001.0, check.expires)
        assert fresh is fresh_expected
        out = node.handle(ReplayChecked(check, fresh))
        assert isinstance(out, Accept) if fresh else out.reason is Reason.REPLAY
    with pytest.raises(LocalProtocolError):  # a check this server did not issue
        node_a.handle(ReplayChecked(CheckReplay(b"x", 1, 1, 0.0), True))
    with pytest.raises(LocalProtocolError):  # ... or one from another server
        node_a.handle(ReplayChecked(node_b.handle(request(authorize(ch, nc=9))), True))


def test_external_replay_after_a_two_phase_lookup() -> None:
    srv = Server(policy(external_replay=True, one_time_nonce=True), lookup=None)
    lk = srv.handle(request(authorize(pick(srv.handle(request())))))
    assert isinstance(lk, LookupCredentials)
    check = srv.handle(CredentialsFound(lk, password="wonderland"))
    assert isinstance(check, CheckReplay) and check.window == 0
    assert srv.counters()["check_replay"] == 1


def test_a_custom_replay_store_plugs_in() -> None:
    farm = FarmStore()
    assert isinstance(farm, ReplayStore)
    srv = Server(policy(), lookup=user_lookup(), replay_store=farm)
    ch = pick(srv.handle(request()))
    assert accepted(srv.handle(request(authorize(ch))))
    assert _replayed(srv.handle(request(authorize(ch))))
    assert farm.calls[0][1:] == (1, 128)
