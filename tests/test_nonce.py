"""Stateless nonces (rule 3): layout, sealing, rotation, expiry, forgery, downgrade, binding."""

from __future__ import annotations

import base64
import re

import pytest

import sipdigest
from sipdigest.actions import Reject, SendChallenge
from sipdigest.errors import LocalProtocolError
from sipdigest.events import CredentialsFound, RequestReceived
from sipdigest.headers import Challenge
from sipdigest.nonce import ALGORITHM_CODES, PAYLOAD_LEN, NonceBox
from sipdigest.server import Server

from .test_server_kit import (
    BASE_HEADERS,
    REALM,
    SECRET,
    URI,
    Counter,
    accepted,
    authorize,
    challenges,
    make_server,
    pick,
    policy,
    request,
)

pytestmark = pytest.mark.usefixtures("twin")
OTHER_SECRET = b"fedcba9876543210fedcba9876543210"


def test_nonce_is_56_url_safe_characters_carrying_its_payload() -> None:
    srv = make_server(entropy=Counter(), qop=("auth", "auth-int"), algorithms=("SHA-256",))
    ch = pick(srv.handle(request(now=1234.5678)), "SHA-256")
    assert re.fullmatch(r"[A-Za-z0-9_-]{56}", ch.nonce)
    raw = base64.urlsafe_b64decode(ch.nonce + "==")
    assert len(raw) == PAYLOAD_LEN + 16
    assert (
        raw[0] == 1 and ALGORITHM_CODES[raw[1]].token == "SHA-256" and raw[2] == 3 and raw[3] == 0
    )
    assert int.from_bytes(raw[4:12], "big") == 1234567  # issue time in ms
    assert raw[12:20] == (1).to_bytes(8, "big")  # the random id, from the injected entropy


def test_entropy_is_injected_and_drawn_in_batches() -> None:
    rng = Counter()
    a = make_server(entropy=rng)
    first = [c.nonce for c in challenges(a.handle(request()))]
    b = make_server(entropy=Counter())
    assert [c.nonce for c in challenges(b.handle(request()))] == first  # replays exactly
    for _ in range(40):
        a.handle(request())
    assert rng.calls == 2  # 82 nonces, 64 random ids per call
    bad = make_server(entropy=lambda n: b"short")
    with pytest.raises(LocalProtocolError):
        bad.handle(request())


def test_nonce_from_another_node_with_same_secret_is_accepted() -> None:
    node_a, node_b = make_server(), make_server()
    ch = pick(node_a.handle(request()))
    assert accepted(node_b.handle(request(authorize(ch)))).username == "alice"
    # ... and the replay state is per store: node_a still tracks its own
    assert accepted(node_a.handle(request(authorize(ch, nc=2))))


def test_nonce_from_a_node_with_another_secret_is_forged() -> None:
    node_a, node_c = make_server(), make_server(secret=OTHER_SECRET)
    ch = pick(node_a.handle(request()))
    action = node_c.handle(request(authorize(ch)))
    assert isinstance(action, SendChallenge)
    assert (action.reason, action.stale) == (sipdigest.actions.Reason.FORGED_NONCE, False)


def test_nonce_under_an_old_secret_is_genuine_but_stale() -> None:
    old = make_server(secret=OTHER_SECRET)
    rotated = make_server(old_secrets=(OTHER_SECRET,))
    ch = pick(old.handle(request()))
    action = rotated.handle(request(authorize(ch)))
    assert isinstance(action, SendChallenge) and action.stale
    assert action.reason is sipdigest.actions.Reason.STALE
    # a wrong password with an old-secret nonce is a wrong password, not stale
    action = rotated.handle(request(authorize(ch, password="bad")))
    assert action.reason is sipdigest.actions.Reason.WRONG_RESPONSE and not action.stale
    # the fresh nonce is under the new secret and works
    assert accepted(rotated.handle(request(authorize(pick(action)))))


def test_stale_nonce_gets_stale_true_only_after_digest_verifies() -> None:
    srv = make_server(nonce_ttl=30)
    ch = pick(srv.handle(request(now=1000.0)))
    late = srv.handle(request(authorize(ch, password="bad"), now=1031.0))
    assert isinstance(late, SendChallenge)
    assert late.reason is sipdigest.actions.Reason.WRONG_RESPONSE and not late.stale
    assert all(not c.stale for c in challenges(late))
    late = srv.handle(request(authorize(ch), now=1031.0))
    assert isinstance(late, SendChallenge) and late.stale
    assert late.reason is sipdigest.actions.Reason.STALE
    assert all(c.stale for c in challenges(late))
    assert accepted(srv.handle(request(authorize(ch, nc=2), now=1029.9)))


def test_stale_check_happens_after_the_lookup() -> None:
    srv = make_server(lookup=None, nonce_ttl=30)
    ch = pick(srv.handle(request(now=1000.0)))
    lk = srv.handle(request(authorize(ch), now=5000.0))
    assert type(lk).__name__ == "LookupCredentials"
    assert srv.handle(CredentialsFound(lk, password="wonderland")).stale


@pytest.mark.parametrize("position", range(56))
def test_any_altered_nonce_character_is_forged(position: int) -> None:
    srv = make_server(entropy=Counter())
    ch = pick(srv.handle(request()))
    n = ch.nonce
    for c in "AQg_-":
        if n[position] == c:
            continue
        altered = n[:position] + c + n[position + 1 :]
        fake = Challenge(realm=REALM, nonce=altered, algorithm="MD5", qop=("auth",))
        action = srv.handle(request(authorize(fake)))
        assert isinstance(action, SendChallenge), (position, c, action)
        assert action.reason is sipdigest.actions.Reason.FORGED_NONCE


def test_garbage_nonces_are_forged_not_errors() -> None:
    srv = make_server()
    for nonce in (
        "",
        "x",
        "=" * 56,
        "é" * 56,
        "A" * 55,
        "A" * 57,
        "A" * 10000,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    ):
        fake = Challenge(realm=REALM, nonce=nonce or "a", algorithm="MD5", qop=("auth",))
        action = srv.handle(request(authorize(fake).replace('nonce="a"', 'nonce=""')))
        assert isinstance(action, (SendChallenge, Reject)), action
        assert action.reason in (
            sipdigest.actions.Reason.FORGED_NONCE,
            sipdigest.actions.Reason.MALFORMED,
        )


def test_response_with_another_algorithm_than_the_nonce_is_a_downgrade() -> None:
    srv = make_server(algorithms=("SHA-256", "MD5"))
    sha = pick(srv.handle(request()), "SHA-256")
    value = authorize(sha, algorithm="MD5")  # the SHA-256 nonce answered with MD5
    action = srv.handle(request(value))
    assert isinstance(action, Reject) and (action.status, action.reason) == (
        403,
        sipdigest.actions.Reason.DOWNGRADE,
    )
    value = authorize(sha, algorithm="SHA-256-sess")
    assert srv.handle(request(value)).reason is sipdigest.actions.Reason.DOWNGRADE


def test_response_with_another_qop_than_the_nonce_is_a_downgrade() -> None:
    srv = make_server(qop=("auth-int",))
    ch = pick(srv.handle(request()))
    action = srv.handle(request(authorize(ch, qop="auth")))
    assert isinstance(action, Reject) and action.reason is sipdigest.actions.Reason.DOWNGRADE
    action = srv.handle(request(authorize(ch, qop=None)))  # the RFC 2069 form
    assert isinstance(action, Reject) and action.reason is sipdigest.actions.Reason.DOWNGRADE
    legacy = make_server(qop=())
    ch = pick(legacy.handle(request()))
    assert ch.qop == ()
    action = legacy.handle(request(authorize(ch, qop="auth")))
    assert isinstance(action, Reject) and action.reason is sipdigest.actions.Reason.DOWNGRADE
    assert accepted(legacy.handle(request(authorize(ch, qop=None)))).qop is None


def _with(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in headers]


@pytest.mark.parametrize(
    "bind,change",
    [({"bind_call_id": True}, ("Call-ID", "other@pc33")),
     ({"bind_from_tag": True}, ("From", "<sip:alice@example.com>;tag=999")),
     ({"bind_source": True}, None)],
)  # fmt: skip
def test_nonce_bound_to_the_dialog_or_source_is_refused_elsewhere(
    bind: dict, change: tuple | None
) -> None:
    srv = make_server(**bind)
    first = RequestReceived("REGISTER", URI, BASE_HEADERS, 1000.0, b"", "192.0.2.10:5060")
    ch = pick(srv.handle(first))
    value = authorize(ch)
    hs = [*BASE_HEADERS, ("Authorization", value)]
    ok = srv.handle(RequestReceived("REGISTER", URI, hs, 1001.0, b"", "192.0.2.10:5060"))
    assert accepted(ok)
    value = authorize(ch, nc=2)
    hs = [*BASE_HEADERS, ("Authorization", value)]
    source = "192.0.2.10:5060"
    if change is None:
        source = "198.51.100.7:5060"
    else:
        hs = _with(hs, *change)
    action = srv.handle(RequestReceived("REGISTER", URI, hs, 1001.0, b"", source))
    assert (
        isinstance(action, SendChallenge)
        and action.reason is sipdigest.actions.Reason.BINDING_MISMATCH
    )
    # a node with an unbound policy still honours a bound nonce's binding
    plain = make_server()
    assert plain.handle(RequestReceived("REGISTER", URI, hs, 1001.0, b"", source)).reason is (
        sipdigest.actions.Reason.BINDING_MISMATCH
    )
    # a node that requires binding refuses an unbound nonce
    unbound = pick(plain.handle(request()))
    action = srv.handle(request(authorize(unbound), source="192.0.2.10:5060"))
    assert action.reason is sipdigest.actions.Reason.BINDING_MISMATCH


def test_compact_header_forms_bind_the_same() -> None:
    srv = make_server(bind_call_id=True, bind_from_tag=True)
    ch = pick(srv.handle(request()))
    compact = [("i" if n == "Call-ID" else "f" if n == "From" else n, v) for n, v in BASE_HEADERS]
    hs = [*compact, ("authorization", authorize(ch))]
    assert accepted(srv.handle(RequestReceived("REGISTER", URI, hs, 1001.0)))


def test_nonce_box_repr_and_tags() -> None:
    box = NonceBox(SECRET, (OTHER_SECRET,), Counter())
    assert "redacted" in repr(box) and SECRET.decode() not in repr(box)
    assert box.tag(REALM) == box.tag(REALM) != box.tag("other")
    assert box.tag(REALM, "c") != box.tag(REALM, None, "c") != box.tag(REALM, None, None, "c")
    assert box.tag(REALM, secret_index=1) != box.tag(REALM)
    n = box.mint(0, 1, 0, 5, box.tag(REALM))
    assert box.open(n)[:4] == (0, 1, 0, 5) and box.open(n)[-1] == 0
    other = NonceBox(OTHER_SECRET)
    assert box.open(other.mint(0, 1, 0, 5, b"123456"))[-1] == 1
    assert NonceBox(SECRET).open(other.mint(0, 1, 0, 5, b"123456")) is None


def test_a_lookup_is_answered_only_to_the_server_that_issued_it() -> None:
    a = Server(policy(), lookup=None)
    b = Server(policy(), lookup=None)
    lk = a.handle(request(authorize(pick(a.handle(request())))))
    with pytest.raises(LocalProtocolError):
        b.handle(CredentialsFound(lk, password="wonderland"))
    assert accepted(a.handle(CredentialsFound(lk, password="wonderland")))


def test_verified_nonce_memo_is_filled_only_after_a_digest_verifies() -> None:
    srv = make_server(nonce_cache=2)
    ch = pick(srv.handle(request()))
    srv.handle(request(authorize(ch, password="bad")))
    srv.handle(
        request(authorize(Challenge(realm=REALM, nonce="A" * 56, algorithm="MD5", qop=("auth",))))
    )
    assert len(srv._memo) == 0  # neither a wrong password nor a forged nonce gets in
    assert accepted(srv.handle(request(authorize(ch))))
    assert srv._memo.peek(ch.nonce) is not None
    # a remembered nonce is checked like any other: expiry, replay, downgrade, binding
    assert srv.handle(request(authorize(ch))).reason is sipdigest.actions.Reason.REPLAY
    assert srv.handle(request(authorize(ch, nc=2, algorithm="SHA-256"))).reason is (
        sipdigest.actions.Reason.DOWNGRADE
    )
    assert srv.handle(request(authorize(ch, nc=3), realm="other")).reason is (
        sipdigest.actions.Reason.REALM_MISMATCH
    )
    assert srv.handle(request(authorize(ch, nc=4), now=1000 + 301)).reason is (
        sipdigest.actions.Reason.STALE
    )
    for _ in range(3):  # bounded
        assert accepted(srv.handle(request(authorize(pick(srv.handle(request()))))))
    assert len(srv._memo) == 2
    off = make_server(nonce_cache=0)
    assert accepted(off.handle(request(authorize(pick(off.handle(request()))))))
    assert off._memo is None
    with pytest.raises(LocalProtocolError):
        make_server(nonce_cache=-1)
