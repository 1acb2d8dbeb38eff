"""Attacks on the server machine (and a few on the client), none of which may succeed.

Each test is one attack, named after what it tries, written from the attacker's side:
capture a good exchange, change one thing, send it. Every test runs on both twins
(the ``twin`` fixture re-points ``_impl``; servers and clients are built inside the
test, after it). "Gets in" means an ``Accept``; every refusal is also checked for the
reason the server gives, since the reason decides what an honest client does next.
SECURITY.md's promises are the specification; docs/HARDENING.md lists what is here.
"""

from __future__ import annotations

import base64
import gc
import time
import tracemalloc
from typing import Any

import pytest

import sipdigest
from sipdigest import _impl
from sipdigest.actions import Accept, Reason, Reject, SendChallenge
from sipdigest.client import Client
from sipdigest.credentials import ANY_REALM, Credential
from sipdigest.events import (
    CredentialsFound,
    CredentialsNotFound,
    RequestPrepared,
    RequestReceived,
    ResponseReceived,
)
from sipdigest.headers import Challenge, Credentials, parse_credentials
from sipdigest.nonce import PAYLOAD_LEN
from sipdigest.policy import ClientPolicy

from .test_server_kit import (
    BASE_HEADERS,
    REALM,
    URI,
    Counter,
    accepted,
    authorize,
    challenges,
    make_server,
    pick,
    policy,
    request,
    user_lookup,
)

pytestmark = pytest.mark.usefixtures("twin")

SOURCE = "192.0.2.10:5060"


def refused(action: Any, *reasons: Reason) -> Any:
    """Not let in, and for one of ``reasons``."""
    assert not isinstance(action, Accept), f"the attack got in: {action!r}"
    assert isinstance(action, (SendChallenge, Reject)), action
    assert action.reason in reasons, action
    return action


def good_exchange(srv: Any, algorithm: str = "MD5", **kw: Any) -> tuple[Challenge, str]:
    """A challenge and the credentials an honest client sent for it (accepted once)."""
    ch = pick(srv.handle(request(now=1000.0)), algorithm)
    value = authorize(ch, **kw)
    assert accepted(srv.handle(request(value, now=1001.0)))
    return ch, value


def reencode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def raw_nonce(nonce: str) -> bytes:
    return base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))


# ---- replay -----------------------------------------------------------------------------


def test_replayed_request_is_refused() -> None:
    srv = make_server()
    _, value = good_exchange(srv)
    for later in (1002.0, 1100.0, 1299.0):  # within the nonce lifetime
        refused(srv.handle(request(value, now=later)), Reason.REPLAY)
    assert srv.counters()["accept"] == 1


def test_replayed_request_with_same_nc_and_a_new_cnonce_is_refused() -> None:
    srv = make_server()
    ch, _ = good_exchange(srv)
    again = authorize(ch, cnonce="another-cnonce")  # same nonce, same nc=1
    refused(srv.handle(request(again, now=1002.0)), Reason.REPLAY)


def test_replayed_request_after_the_nonce_expired_is_stale_not_accepted() -> None:
    srv = make_server(nonce_ttl=30.0)
    ch, _ = good_exchange(srv)
    late = authorize(ch, nc=2)  # a fresh nc, but the nonce is too old
    action = refused(srv.handle(request(late, now=1031.0)), Reason.STALE)
    assert action.stale


def test_replayed_request_to_another_realm_on_the_same_host_is_refused() -> None:
    """A multi-domain host: a nonce and credentials for realm A, replayed to realm B."""
    srv = make_server()
    ch, value = good_exchange(srv)
    other = "other.example.org"
    # the value as it was: its realm is not B's, so it is not even read as B's credentials
    refused(srv.handle(request(value, now=1002.0, realm=other)), Reason.REALM_MISMATCH)
    # rewritten for B (and recomputed, as if the attacker knew the password): the nonce
    # was issued for A, its binding tag says so
    forged = authorize(ch, realm=other, nc=2)
    refused(srv.handle(request(forged, now=1002.0, realm=other)), Reason.BINDING_MISMATCH)


def test_nonce_from_a_node_without_the_secret_is_refused() -> None:
    rogue = make_server(secret=b"the rogue node's own secret, 32b")
    srv = make_server()
    ch = pick(rogue.handle(request()))
    value = authorize(ch)  # a perfectly computed answer to the rogue node's nonce
    assert accepted(rogue.handle(request(value)))
    refused(srv.handle(request(value)), Reason.FORGED_NONCE)


def test_nonce_under_a_retired_secret_is_only_stale() -> None:
    old = make_server(secret=b"last month's secret, 32 bytes!!!")
    ch = pick(old.handle(request()))
    srv = make_server(old_secrets=(b"last month's secret, 32 bytes!!!",))
    action = refused(srv.handle(request(authorize(ch))), Reason.STALE)
    assert action.stale  # a fresh nonce under the current secret, not an Accept


def test_request_replayed_to_another_node_of_a_farm_is_accepted_there_once() -> None:
    """SECURITY.md states this gap: nodes that share the secret but not the replay store
    accept a replay once each. Pinned here so a change in it is seen."""
    a, b = make_server(), make_server()
    _, value = good_exchange(a)
    assert accepted(b.handle(request(value, now=1002.0)))
    refused(b.handle(request(value, now=1003.0)), Reason.REPLAY)


def test_a_shared_replay_store_closes_the_farm_gap() -> None:
    store = sipdigest.MemoryReplayStore(64)
    a = sipdigest.Server(policy(), lookup=user_lookup(), replay_store=store)
    b = sipdigest.Server(policy(), lookup=user_lookup(), replay_store=store)
    _, value = good_exchange(a)
    refused(b.handle(request(value, now=1002.0)), Reason.REPLAY)


def test_one_time_nonces_alone_leave_the_farm_gap_open_as_documented() -> None:
    # SECURITY.md: only a shared replay store closes it; each node's one-time record is its own
    a, b = make_server(one_time_nonce=True), make_server(one_time_nonce=True)
    _, value = good_exchange(a)
    assert isinstance(b.handle(request(value, now=1002.0)), sipdigest.Accept)


# ---- tampering --------------------------------------------------------------------------


def test_every_byte_of_the_nonce_is_authenticated() -> None:
    srv = make_server(entropy=Counter())
    ch = pick(srv.handle(request()))
    raw = raw_nonce(ch.nonce)
    assert len(raw) == PAYLOAD_LEN + 16
    for i in range(len(raw)):  # payload (version, algorithm, qop, flags, time, id, tag), MAC
        for flip in (0x01, 0x80):
            tampered = reencode(raw[:i] + bytes([raw[i] ^ flip]) + raw[i + 1 :])
            # the response recomputed over the tampered nonce, as the attacker would
            value = authorize(Challenge(realm=REALM, nonce=tampered, algorithm="MD5",
                                        qop=("auth",)))  # fmt: skip
            refused(srv.handle(request(value)), Reason.FORGED_NONCE)
    assert srv.counters()["accept"] == 0


def test_nonce_of_another_length_or_alphabet_is_refused() -> None:
    srv = make_server(entropy=Counter())
    n = pick(srv.handle(request())).nonce
    assert len(n) == 56  # 42 bytes, exactly 56 base64 characters: no unused bits to vary
    variants = (n + "A", n[:-1], n[:-4], n + "AAAA", n + "==", n.replace("-", "+").replace("_", "/"),
                n.swapcase(), n[1:] + n[0], "A" * 56, n[:28] + n[:28])  # fmt: skip
    for bad in variants:
        if bad == n:
            continue
        fake = Challenge(realm=REALM, nonce=bad, algorithm="MD5", qop=("auth",))
        refused(srv.handle(request(authorize(fake))), Reason.FORGED_NONCE)


def _tamper(field: str, value: str) -> str:
    """One field of a good credentials value changed, the rest (response too) as sent."""
    creds = parse_credentials(value)
    changes: dict[str, Any] = {
        "username": {"username": "bob"},
        "realm": {"realm": "example.org"},
        "nonce": {"nonce": creds.nonce[:-2] + ("AA" if creds.nonce[-2:] != "AA" else "BA")},
        "uri": {"uri": "sip:example.com;transport=tcp"},
        "response": {"response": ("0" if creds.response[0] != "0" else "1") + creds.response[1:]},
        "algorithm": {"algorithm": "SHA-256"},
        "cnonce": {"cnonce": "ffffffff"},
        "qop": {"qop": "auth-int"},
        "nc": {"nc": "00000002"},
        "opaque": {"opaque": "another opaque"},
        "userhash": {"userhash": True},
        "response-case": {"response": creds.response.upper()},
    }[field]
    fields = {n: getattr(creds, n) for n in ("username", "realm", "nonce", "uri", "response",
                                              "algorithm", "cnonce", "opaque", "qop", "nc",
                                              "userhash")}  # fmt: skip
    fields.update(changes)
    return Credentials(**fields).render()


@pytest.mark.parametrize(
    "field",
    ["username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "qop", "nc",
     "opaque", "userhash", "response-case"],
)  # fmt: skip
def test_tampering_each_credentials_field_fails(field: str) -> None:
    users = {"alice": "wonderland", "bob": "builder"}
    by_hash = {sipdigest.compute_userhash(a, u, REALM): u for u in users for a in ("MD5",)}

    def lookup(lk: Any) -> Any:  # a host that honours userhash (RFC 7616 §3.4.4)
        name = by_hash.get(lk.username) if lk.userhash else lk.username
        if name not in users:
            return CredentialsNotFound(lk)
        return CredentialsFound(lk, password=users[name], username=name)

    srv = make_server(lookup=lookup, qop=("auth", "auth-int"), opaque="op-1",
                      userhash=field == "userhash")  # fmt: skip
    ch = pick(srv.handle(request()))
    value = authorize(ch)
    tampered = _tamper(field, value)
    assert tampered != value
    # sent first, so that the replay window cannot be the reason it fails
    action = srv.handle(request(tampered, now=1001.0))
    assert not isinstance(action, Accept), (field, action)
    if field == "nc":
        # nc is inside the digest: a changed nc with the old response is a wrong response
        assert action.reason is Reason.WRONG_RESPONSE
    # and the honest value still works afterwards: the failure recorded nothing
    assert accepted(srv.handle(request(value, now=1002.0)))


def test_tampered_body_fails_auth_int() -> None:
    srv = make_server(qop=("auth-int",))
    ch = pick(srv.handle(request()))
    value = authorize(ch, body=b"v=0\r\no=alice\r\n")
    refused(srv.handle(request(value, body=b"v=0\r\no=mallory\r\n")), Reason.WRONG_RESPONSE)
    assert accepted(srv.handle(request(value, body=b"v=0\r\no=alice\r\n")))


def test_credentials_computed_for_another_method_are_refused() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    value = authorize(ch, method="REGISTER")
    refused(srv.handle(request(value, method="INVITE")), Reason.WRONG_RESPONSE)


# ---- downgrade --------------------------------------------------------------------------


def test_qop_removed_is_a_downgrade() -> None:
    srv = make_server(qop=("auth",))
    ch = pick(srv.handle(request()))
    action = refused(srv.handle(request(authorize(ch, qop=None))), Reason.DOWNGRADE)
    assert action.status == 403


def test_rfc2069_form_when_qop_was_offered_is_a_downgrade_even_with_the_right_digest() -> None:
    for qop in (("auth",), ("auth-int",), ("auth", "auth-int")):
        srv = make_server(qop=qop)
        ch = pick(srv.handle(request()))
        value = authorize(ch, qop=None)  # H(HA1:nonce:HA2), correctly computed
        refused(srv.handle(request(value)), Reason.DOWNGRADE)


def test_qop_auth_when_only_auth_int_was_offered_is_a_downgrade() -> None:
    srv = make_server(qop=("auth-int",))
    ch = pick(srv.handle(request()))
    refused(srv.handle(request(authorize(ch, qop="auth"))), Reason.DOWNGRADE)


@pytest.mark.parametrize(
    "issued,answered",
    [("SHA-256", "MD5"), ("SHA-512-256", "SHA-256"), ("SHA-512-256", "MD5"),
     ("MD5", "SHA-256")],
)  # fmt: skip
def test_algorithm_swapped_is_a_downgrade(issued: str, answered: str) -> None:
    srv = make_server(algorithms=("SHA-512-256", "SHA-256", "MD5"))
    ch = pick(srv.handle(request()), issued)
    value = authorize(ch, algorithm=answered)  # correct for the algorithm it names
    refused(srv.handle(request(value)), Reason.DOWNGRADE)


def test_algorithm_parameter_removed_is_md5_and_a_downgrade_of_a_sha256_nonce() -> None:
    srv = make_server(algorithms=("SHA-256", "MD5"))
    ch = pick(srv.handle(request()), "SHA-256")
    value = authorize(ch, algorithm=None, hash_algorithm="MD5")  # absent means MD5
    refused(srv.handle(request(value)), Reason.DOWNGRADE)


@pytest.mark.parametrize(
    "issued,answered",
    [("MD5", "MD5-sess"), ("MD5-sess", "MD5"), ("SHA-256", "SHA-256-sess"),
     ("SHA-256-sess", "SHA-256")],
)  # fmt: skip
def test_sess_switch_is_a_downgrade(issued: str, answered: str) -> None:
    srv = make_server(algorithms=("SHA-256", "SHA-256-sess", "MD5", "MD5-sess"))
    ch = pick(srv.handle(request()), issued)
    refused(srv.handle(request(authorize(ch, algorithm=answered))), Reason.DOWNGRADE)


def test_algorithm_label_and_hash_that_differ_never_verify() -> None:
    srv = make_server(algorithms=("SHA-256", "MD5"))
    ch = pick(srv.handle(request()), "SHA-256")
    value = authorize(ch, hash_algorithm="MD5")  # labelled SHA-256, computed with MD5
    refused(srv.handle(request(value)), Reason.WRONG_RESPONSE)


@pytest.mark.parametrize(
    "old,new",
    [(dict(algorithms=("MD5",)), dict(algorithms=("SHA-256",))),
     (dict(qop=("auth",)), dict(qop=("auth-int",)))],
)  # fmt: skip
def test_algorithm_or_qop_the_policy_does_not_offer_is_never_accepted(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    before = make_server(**old)  # the same secret: the policy changed, or another node
    after = make_server(**new)
    ch = challenges(before.handle(request()))[0]
    refused(after.handle(request(authorize(ch))), Reason.DOWNGRADE, Reason.UNSUPPORTED_ALGORITHM)


def test_basic_credentials_never_get_in_even_with_the_right_password() -> None:
    srv = make_server()
    token = base64.b64encode(b"alice:wonderland").decode()
    refused(srv.handle(request(f"Basic {token}")), Reason.BASIC_REFUSED)
    refused(srv.handle(request(f"basic {token}")), Reason.BASIC_REFUSED)


# ---- aimed elsewhere --------------------------------------------------------------------


def test_credentials_for_another_realm_are_refused() -> None:
    srv = make_server()
    other = make_server(realm="example.org")
    ch = pick(other.handle(request()))
    refused(srv.handle(request(authorize(ch))), Reason.REALM_MISMATCH)
    # the other realm's name with our nonce (computed over "example.org") is not ours either
    ours = pick(srv.handle(request()))
    refused(srv.handle(request(authorize(ours, realm="example.org"))), Reason.REALM_MISMATCH)


def test_credentials_for_another_request_uri_are_refused() -> None:
    srv = make_server()
    ch = pick(srv.handle(request(uri="sip:bob@example.com", method="INVITE")))
    value = authorize(ch, uri="sip:bob@example.com", method="INVITE")
    for target in ("sip:carol@example.com", "sip:bob@example.com;transport=tcp",
                   "SIP:bob@example.com", "sip:bob@example.com "):  # fmt: skip
        action = refused(
            srv.handle(request(value, uri=target, method="INVITE")), Reason.URI_MISMATCH
        )
        assert action.status == 400
    assert accepted(srv.handle(request(value, uri="sip:bob@example.com", method="INVITE")))


def test_loose_uri_check_still_refuses_another_user_or_host() -> None:
    srv = make_server(uri_check="loose")
    ch = pick(srv.handle(request(method="INVITE", uri="sip:bob@example.com")))
    value = authorize(ch, uri="sip:bob@example.com", method="INVITE")
    for target in ("sip:carol@example.com", "sip:bob@evil.example", "sips:bob@example.com"):
        refused(srv.handle(request(value, uri=target, method="INVITE")), Reason.URI_MISMATCH)


def test_registrar_credentials_sent_to_a_proxy_with_another_secret_are_refused() -> None:
    registrar = make_server()
    proxy = make_server(role="proxy", secret=b"the proxy's own secret, 32 bytes")
    value = authorize(pick(registrar.handle(request())))
    refused(proxy.handle(request(value, header="Proxy-Authorization")), Reason.FORGED_NONCE)
    refused(proxy.handle(request(value)), Reason.NO_CREDENTIALS)  # Authorization: not its header


def test_registrar_credentials_replayed_to_a_proxy_sharing_the_secret_get_in_once() -> None:
    """The nonce names the realm, not the role: a registrar and a proxy of one realm that
    share the nonce secret are two nodes of a farm, with the farm's gap (SECURITY.md).
    Pinned so that binding the role into the nonce shows up here."""
    registrar, proxy = make_server(), make_server(role="proxy")
    _, value = good_exchange(registrar)
    assert accepted(proxy.handle(request(value, now=1002.0, header="Proxy-Authorization")))


# ---- user enumeration -------------------------------------------------------------------


def _shape(action: Any) -> tuple[Any, ...]:
    """Everything a peer sees, with the nonces (random by design) blanked out."""
    if isinstance(action, SendChallenge):
        heads = tuple(
            (n, v.split('nonce="')[0] + v.split('nonce="')[1].split('"', 1)[1])
            for n, v in action.headers
        )
        return ("challenge", action.status, action.reason_phrase, heads, action.stale)
    return ("reject", action.status, action.reason_phrase, action.detail)


@pytest.mark.parametrize("reject", [False, True])
@pytest.mark.parametrize("stored", ["password", "ha1"])
def test_unknown_user_and_wrong_password_have_the_same_shape(reject: bool, stored: str) -> None:
    def lookup(lk: Any) -> Any:
        if lk.username != "alice":
            return CredentialsNotFound(lk)
        if stored == "password":
            return CredentialsFound(lk, password="wonderland")
        ha1 = sipdigest.compute_ha1(lk.algorithm, "alice", lk.realm, "wonderland")
        return CredentialsFound(lk, ha1={lk.algorithm: ha1})

    srv = make_server(lookup=lookup, reject_wrong_credentials=reject, entropy=Counter())
    ch = pick(srv.handle(request()))
    unknown = srv.handle(request(authorize(ch, username="mallory", password="x")))
    wrong = srv.handle(request(authorize(ch, username="alice", password="guess")))
    assert _shape(unknown) == _shape(wrong)
    assert {unknown.reason, wrong.reason} == {Reason.UNKNOWN_USER, Reason.WRONG_RESPONSE}
    assert type(unknown) is type(wrong)


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"ha1": 0, "ha1_sess": 0, "check_response": 0, "response": 0}
    for name in counts:
        real = getattr(_impl, name)

        def counted(*a: Any, _real: Any = real, _name: str = name) -> Any:
            counts[_name] += 1
            return _real(*a)

        monkeypatch.setattr(_impl, name, counted)
    return counts


def _work(monkeypatch: pytest.MonkeyPatch, stored: str, username: str) -> dict[str, int]:
    ha1 = {"MD5": sipdigest.compute_ha1("MD5", "alice", REALM, "wonderland")}

    def lookup(lk: Any) -> Any:
        if lk.username != "alice":
            return CredentialsNotFound(lk)
        if stored == "password":
            return CredentialsFound(lk, password="wonderland")
        return CredentialsFound(lk, ha1=ha1)

    srv = make_server(lookup=lookup)
    # a host answers look-ups one way (passwords or stored HA1s); the server's dummy work
    # for an unknown user mimics the kind it has seen, so let it see one known user first
    srv.handle(request(authorize(pick(srv.handle(request())), username="alice", password="guess")))
    ch = pick(srv.handle(request()))
    value = authorize(ch, username=username, password="guess")
    with monkeypatch.context() as m:
        counts = _count_hashing(m)
        srv.handle(request(value))
    return counts


def test_unknown_user_costs_the_same_hashing_as_a_wrong_password_with_stored_ha1s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _work(monkeypatch, "ha1", "mallory") == _work(monkeypatch, "ha1", "alice")


def test_unknown_user_costs_the_same_hashing_as_a_wrong_password_with_passwords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _work(monkeypatch, "password", "mallory") == _work(monkeypatch, "password", "alice")


# ---- oversized and pathological values --------------------------------------------------


def _timed(srv: Any, ev: RequestReceived) -> tuple[Any, float]:
    t0 = time.perf_counter()
    action = srv.handle(ev)
    return action, time.perf_counter() - t0


PATHOLOGICAL = {
    "8 KiB + 1 value": 'Digest username="' + "a" * 8200 + '"',
    "exactly 8 KiB": 'Digest realm="example.com", username="' + "a" * (8192 - 42) + '"',
    "escapes": 'Digest realm="example.com", username="' + "\\a" * 4000 + '"',
    "unterminated quote": 'Digest realm="example.com", username="' + "a\\" * 4000,
    "commas": "Digest " + "," * 8000 + 'realm="example.com"',
    "params": "Digest " + ", ".join(f"p{i}={i}" for i in range(1000)),
    "65 params": "Digest " + ", ".join(f"p{i}={i}" for i in range(65)),
    "schemes": ", ".join(["Digest"] * 2000),
    "token68": "Digest " + "A" * 8000 + "==",
    "folded": "Digest\r\n realm=\r\n \"example.com\"" + "\r\n " * 2000 + ", nonce=x",
    "nul": 'Digest realm="example.com", username="a\x00b"',
    "controls": 'Digest realm="example.com", username="' + "\x01\x7f" * 100 + '"',
    "surrogate": 'Digest realm="example.com", username="\udcff", nonce="n", uri="u", response="r"',
    "astral": 'Digest realm="example.com", username="' + "\U0001f600" * 2000 + '"',
    "huge nc": 'Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", '
    'response="r", qop=auth, cnonce="c", nc=' + "f" * 4000,
    "nc overflow": 'Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com",'
    ' response="r", qop=auth, cnonce="c", nc=100000000',
    "nested quotes": 'Digest realm="example.com", username="' + '\\"' * 3000 + '"',
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_oversized_and_pathological_values_are_refused_quickly(name: str) -> None:
    srv = make_server()
    value = PATHOLOGICAL[name]
    action, spent = _timed(srv, request(value))
    refused(action, Reason.MALFORMED, Reason.FORGED_NONCE, Reason.NO_CREDENTIALS,
            Reason.REALM_MISMATCH, Reason.BASIC_REFUSED)  # fmt: skip
    # linear time: an 8 KiB value costs well under a millisecond; 0.25 s would mean a
    # quadratic blow-up (8192**2 steps), not a slow machine
    assert spent < 0.25, f"{name}: {spent:.3f} s"


def test_many_header_lines_cost_linear_time_and_still_find_ours() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    noise = [("Authorization", f'Digest realm="r{i}.example", username="x", nonce="n", '
              'uri="u", response="r"') for i in range(2000)]  # fmt: skip
    hs = [*BASE_HEADERS, *noise, ("Authorization", authorize(ch))]
    action, spent = _timed(srv, RequestReceived("REGISTER", URI, hs, 1001.0))
    assert accepted(action)
    assert spent < 1.0, spent


def test_header_values_that_are_not_text_are_host_misuse_not_a_crash() -> None:
    srv = make_server()
    with pytest.raises(sipdigest.LocalProtocolError):
        srv.handle(RequestReceived("REGISTER", URI, [("Authorization", b"Digest x=y")], 1.0))


# ---- floods: memory stays bounded -------------------------------------------------------


def _grown(run: Any, warm: int, count: int) -> int:
    """Bytes traced after ``2 * count`` more calls minus after ``count``: bounded state
    fills up during the first half (entries allocated before tracing are replaced by
    traced ones), so only state that grows with the number of calls shows here."""
    run(0, warm)
    gc.collect()
    tracemalloc.start()
    try:
        run(warm, count)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        run(warm + count, count)
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return second - first


def test_flood_of_call_ids_keeps_memory_bounded() -> None:
    """Distinct Call-IDs, From tags and sources, bound nonces: nothing is kept per request."""
    srv = make_server(bind_call_id=True, bind_from_tag=True, bind_source=True)

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            hs = [(n, f"flood-{i}@example.com" if n == "Call-ID" else v) for n, v in BASE_HEADERS]
            hs.append(("From", f"<sip:x@example.com>;tag={i}"))
            action = srv.handle(RequestReceived("INVITE", URI, hs, 1000.0 + i, b"", f"10.0.{i}"))
            assert isinstance(action, SendChallenge)

    grown = _grown(run, 500, 3000)
    assert grown < 16_384, f"{grown} bytes kept by 3000 more distinct Call-IDs"


def test_flood_of_forged_nonces_keeps_memory_bounded() -> None:
    srv = make_server()

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            fake = Challenge(realm=REALM, nonce=reencode(i.to_bytes(42, "big")),
                             algorithm="MD5", qop=("auth",))  # fmt: skip
            refused(srv.handle(request(authorize(fake), now=1000.0 + i)), Reason.FORGED_NONCE)

    grown = _grown(run, 500, 2000)
    assert grown < 16_384, f"{grown} bytes kept by 2000 more forged nonces"


def test_flood_of_accepted_nonces_keeps_memory_bounded() -> None:
    """Every request authenticates with its own nonce and Call-ID (an INVITE each, so the
    ACK memory fills too): the replay store, the nonce memo and the ACK memory are
    capped by the policy, so memory stops growing once they are full."""
    srv = make_server(replay_capacity=512, nonce_cache=256, ack_capacity=128, nonce_ttl=1e9)

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            hs = [(n, f"c{i}@example.com" if n == "Call-ID" else v) for n, v in BASE_HEADERS]
            ch = pick(srv.handle(RequestReceived("INVITE", URI, hs, 1000.0 + i)))
            hs.append(("Authorization", authorize(ch, method="INVITE")))
            assert accepted(srv.handle(RequestReceived("INVITE", URI, hs, 1000.5 + i)))

    grown = _grown(run, 600, 600)
    assert len(srv._store) <= 512 and len(srv._memo) <= 256 and len(srv._acks) <= 128
    assert grown < 16_384, f"{grown} bytes kept by 600 more accepted nonces"


def test_flood_of_realms_from_the_host_keeps_caches_bounded() -> None:
    """``RequestReceived.realm`` comes from the host, but a host may copy it from the
    request's domain: the per-realm challenge templates and binding tags stay capped."""
    srv = make_server()

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            action = srv.handle(request(realm=f"tenant{i}.example", now=1000.0 + i))
            assert isinstance(action, SendChallenge)

    grown = _grown(run, 300, 600)
    assert len(srv._templates) <= 64 and len(srv._box._tags) <= 256
    assert grown < 16_384, f"{grown} bytes kept by 600 more realms"


def test_flood_of_challenges_to_a_client_keeps_its_state_bounded() -> None:
    """A hostile server (or many) answering every request with a new realm and nonce."""
    policy = ClientPolicy(request_memory=64, nonce_cache_size=16)
    client = Client([Credential(ANY_REALM, "alice", "wonderland")], policy, entropy=Counter())

    def run(start: int, count: int) -> None:
        for i in range(start, start + count):
            req = RequestPrepared("REGISTER", URI, f"call-{i}", 1)
            client.handle(req)
            ch = Challenge(realm=f"r{i}.example", nonce=f"n{i}", algorithm="MD5", qop=("auth",))
            action = client.handle(ResponseReceived(401, [("WWW-Authenticate", ch.render())], req))
            assert isinstance(action, sipdigest.Retry)

    # The bounded state here is large (64 requests x 16 preemptive credentials each, about
    # 450 KB) and its size at any instant varies by +-40 KB with the HA1 cache (emptied
    # when it reaches 256) and the cnonce pool; a leak of 100 bytes a challenge would
    # still show as 100 KB over 1024 challenges.
    grown = _grown(run, 300, 1024)
    assert len(client._chains) <= 64 and len(client._nonces) <= 16
    assert len(client._secrets) <= 256 and len(client._refused) <= 64
    assert grown < 100_000, f"{grown} bytes kept by 1024 more hostile challenges"


# ---- the client side: no secret where it does not belong --------------------------------


def test_client_never_answers_a_realm_it_has_no_credentials_for() -> None:
    client = Client([Credential(REALM, "alice", "wonderland")], ClientPolicy(ask_for_credentials=False))
    req = RequestPrepared("REGISTER", URI, "c1", 1)
    evil = Challenge(realm="evil.example", nonce="n", algorithm="MD5", qop=("auth",))
    action = client.handle(ResponseReceived(401, [("WWW-Authenticate", evil.render())], req))
    assert isinstance(action, sipdigest.GiveUp) and action.reason is Reason.NO_CREDENTIALS_FOR_REALM


def test_client_refuses_a_downgrade_below_its_floor() -> None:
    client = Client([Credential(REALM, "alice", "wonderland")],
                    ClientPolicy(algorithm_floor="SHA-256"))  # fmt: skip
    req = RequestPrepared("REGISTER", URI, "c1", 1)
    md5 = Challenge(realm=REALM, nonce="n", algorithm="MD5", qop=("auth",))
    action = client.handle(ResponseReceived(401, [("WWW-Authenticate", md5.render())], req))
    assert isinstance(action, sipdigest.GiveUp), action
    assert action.reason is Reason.NO_SUPPORTED_CHALLENGE


def test_client_answers_with_exactly_the_algorithm_it_labels() -> None:
    client = Client([Credential(REALM, "alice", "wonderland")])
    req = RequestPrepared("REGISTER", URI, "c1", 1)
    hs = [("WWW-Authenticate", Challenge(realm=REALM, nonce=f"n{a}", algorithm=a,
                                         qop=("auth",)).render())
          for a in ("SHA-512-256", "SHA-256", "MD5")]  # fmt: skip
    action = client.handle(ResponseReceived(401, hs, req))
    assert isinstance(action, sipdigest.Retry)
    ((_name, value),) = action.headers
    creds = parse_credentials(value)
    assert creds.algorithm == "SHA-512-256" and creds.nonce == "nSHA-512-256"
    assert sipdigest.verify_credentials(value, method="REGISTER", password="wonderland")


def test_challenges_from_the_server_are_all_answered_by_an_honest_client() -> None:
    """The counterpart of every attack above: the honest path works on both twins."""
    srv = make_server(algorithms=("SHA-512-256", "SHA-256", "MD5"), qop=("auth", "auth-int"))
    client = Client([Credential(REALM, "alice", "wonderland")])
    req = RequestPrepared("REGISTER", URI, "call", 1)
    first = srv.handle(request())
    assert len(challenges(first)) == 3
    retry = client.handle(ResponseReceived(first.status, list(first.headers), req))
    assert isinstance(retry, sipdigest.Retry)
    assert accepted(srv.handle(request(retry.headers[0][1]))).algorithm == "SHA-512-256"


# ---- no secrets in output ---------------------------------------------------------------


def test_no_response_value_appears_in_the_repr_of_events_and_actions() -> None:
    srv = make_server(auth_info=True)
    client = Client([Credential(REALM, "alice", "wonderland")])
    req = RequestPrepared("REGISTER", URI, "call", 1)
    first = srv.handle(request())
    retry = client.handle(ResponseReceived(first.status, list(first.headers), req))
    value = retry.headers[0][1]
    ev = request(value)
    acc = accepted(srv.handle(ev))
    response = parse_credentials(value).response
    rspauth = sipdigest.parse_authentication_info(acc.headers[0][1]).rspauth
    assert rspauth is not None
    again = client.handle(RequestPrepared("REGISTER", URI, "call-2", 1))  # preemptive
    for obj in (ev, retry, acc, again):
        text = repr(obj)
        assert response not in text and rspauth not in text, type(obj).__name__
