"""Server transcripts, one test per rule: challenge, realm scan, verification, look-up,
URI check, Authentication-Info, typed outcomes, malformed input. Each runs on both twins.
"""

from __future__ import annotations

import pytest

import sipdigest
from sipdigest.actions import (
    Accept,
    CheckReplay,
    Exempt,
    LookupCredentials,
    Reason,
    Reject,
    SendChallenge,
)
from sipdigest.errors import LocalProtocolError
from sipdigest.events import (
    CredentialsFound,
    CredentialsNotFound,
    ReplayChecked,
    RequestPrepared,
    RequestReceived,
)
from sipdigest.headers import AuthenticationInfo, Credentials, parse_authentication_info
from sipdigest.server import Server

from .test_server_kit import (
    BASE_HEADERS,
    REALM,
    SECRET,
    URI,
    USERS,
    Counter,
    accepted,
    authorize,
    challenges,
    login,
    make_server,
    pick,
    policy,
    request,
    user_lookup,
)

pytestmark = pytest.mark.usefixtures("twin")
ROLES = [("registrar", 401, "WWW-Authenticate", "Authorization"),
         ("proxy", 407, "Proxy-Authenticate", "Proxy-Authorization")]  # fmt: skip


# ---- 1. challenges ---------------------------------------------------------------------


@pytest.mark.parametrize("role,status,ch_name,cred_name", ROLES)
def test_request_without_credentials_is_challenged_once_per_algorithm_strongest_first(
    role: str, status: int, ch_name: str, cred_name: str
) -> None:
    srv = make_server(role=role, algorithms=("MD5", "SHA-512-256", "SHA-256"))
    action = srv.handle(request(header=cred_name))
    assert isinstance(action, SendChallenge)
    assert (action.status, action.reason, action.stale) == (status, Reason.NO_CREDENTIALS, False)
    assert action.reason_phrase == (
        "Unauthorized" if status == 401 else "Proxy Authentication Required"
    )
    assert [n for n, _ in action.headers] == [ch_name] * 3  # one header pair per challenge
    chs = challenges(action)
    assert [c.algorithm for c in chs] == ["SHA-512-256", "SHA-256", "MD5"]  # RFC 8760 §2.4
    assert len({c.nonce for c in chs}) == 3  # each its own nonce
    assert all(c.realm == REALM and c.qop == ("auth",) and not c.stale for c in chs)
    assert all(c.render() == v for c, (_, v) in zip(chs, action.headers))  # strict grammar


def test_each_nonce_records_the_algorithm_and_qop_it_was_issued_for() -> None:
    srv = make_server(algorithms=("SHA-256", "MD5"), qop=("auth", "auth-int"))
    chs = challenges(srv.handle(request()))
    for ch in chs:
        alg, qop, flags, *_ = srv._box.open(ch.nonce)
        assert sipdigest.get_algorithm(ch.algorithm).token == ("MD5", "MD5-sess", "SHA-256")[alg]
        assert qop == 3 and flags == 0


@pytest.mark.parametrize(
    "qop,shown", [(("auth",), ("auth",)), (("auth-int",), ("auth-int",)),
                  (("auth", "auth-int"), ("auth", "auth-int")), ((), ())]
)  # fmt: skip
def test_qop_is_offered_as_configured_and_answers_in_each_mode_are_accepted(
    qop: tuple[str, ...], shown: tuple[str, ...]
) -> None:
    srv = make_server(qop=qop)
    ch = pick(srv.handle(request()))
    assert ch.qop == shown
    for answer_qop in shown or (None,):
        first = pick(srv.handle(request()))
        value = authorize(first, qop=answer_qop, body=b"v=0\r\n")
        assert accepted(srv.handle(request(value, body=b"v=0\r\n"))).qop == answer_qop


def test_opaque_and_userhash_are_in_every_challenge_when_configured() -> None:
    srv = make_server(opaque='op"aque', userhash=True)
    for ch in challenges(srv.handle(request())):
        assert ch.opaque == 'op"aque' and ch.userhash


def test_basic_is_never_offered_and_basic_credentials_get_a_digest_challenge() -> None:
    srv = make_server()
    action = srv.handle(request("Basic YWxpY2U6d29uZGVybGFuZA=="))
    assert isinstance(action, SendChallenge) and action.reason is Reason.BASIC_REFUSED
    assert all(v.startswith("Digest ") for _, v in action.headers)
    assert all(c.scheme == "Digest" for c in challenges(action))


@pytest.mark.parametrize("role,status,ch_name,cred_name", ROLES)
def test_each_role_reads_only_its_own_credentials_header(
    role: str, status: int, ch_name: str, cred_name: str
) -> None:
    srv = make_server(role=role)
    ch = pick(srv.handle(request(header=cred_name)))
    value = authorize(ch)
    other = "Authorization" if cred_name == "Proxy-Authorization" else "Proxy-Authorization"
    assert srv.handle(request(value, header=other)).reason is Reason.NO_CREDENTIALS
    assert accepted(srv.handle(request(value, header=cred_name.upper()))).username == "alice"


# ---- 2. the realm scan -------------------------------------------------------------------


@pytest.mark.parametrize("role,status,ch_name,cred_name", ROLES)
def test_every_credentials_value_is_scanned_for_our_realm(
    role: str, status: int, ch_name: str, cred_name: str
) -> None:
    srv = make_server(role=role)
    other = Server(policy(realm="other.example", role=role), lookup=user_lookup())
    mine = authorize(pick(srv.handle(request(header=cred_name))))
    theirs = authorize(pick(other.handle(request(header=cred_name))))
    hs = [*BASE_HEADERS[:3], (cred_name.lower(), theirs), (cred_name, "Basic Ym9iOmJ1aWxkZXI="),
          *BASE_HEADERS[3:], (cred_name.upper(), mine)]  # fmt: skip
    assert accepted(srv.handle(RequestReceived("REGISTER", URI, hs, 1001.0))).realm == REALM


def test_credentials_for_other_realms_only_get_realm_mismatch() -> None:
    srv = make_server()
    other = Server(policy(realm="other.example"), lookup=user_lookup())
    theirs = authorize(pick(other.handle(request())))
    action = srv.handle(request(theirs))
    assert isinstance(action, SendChallenge) and action.reason is Reason.REALM_MISMATCH
    assert srv.handle(request()).reason is Reason.NO_CREDENTIALS


def test_realm_from_the_event_overrides_the_policy() -> None:
    srv = make_server()
    ch = pick(srv.handle(request(realm="tenant.example")))
    assert ch.realm == "tenant.example"
    action = srv.handle(request(authorize(ch), realm="tenant.example"))
    assert accepted(action).realm == "tenant.example"
    # a nonce issued for one realm is not valid in another (the binding tag covers it)
    forged = authorize(ch, realm=REALM)
    assert srv.handle(request(forged)).reason is Reason.BINDING_MISMATCH


# ---- 4. verification and look-up ---------------------------------------------------------


@pytest.mark.parametrize("role,status,ch_name,cred_name", ROLES)
@pytest.mark.parametrize(
    "alg", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"]
)
def test_correct_credentials_are_accepted_for_every_algorithm(
    role: str, status: int, ch_name: str, cred_name: str, alg: str
) -> None:
    srv = make_server(role=role, algorithms=(alg,))
    action, _ = login(srv, algorithm=alg)
    acc = accepted(action)
    assert (acc.username, acc.realm, acc.algorithm, acc.qop) == ("alice", REALM, alg, "auth")
    assert acc.headers == () and acc.quirks == ()


def test_auth_int_is_verified_over_the_real_body() -> None:
    srv = make_server(qop=("auth-int",))
    body = b"v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\n"
    ch = pick(srv.handle(request(method="INVITE", body=body)))
    value = authorize(ch, method="INVITE", body=body)
    assert accepted(srv.handle(request(value, method="INVITE", body=body))).qop == "auth-int"
    ch = pick(srv.handle(request(method="INVITE", body=body)))
    value = authorize(ch, method="INVITE", body=body)
    action = srv.handle(request(value, method="INVITE", body=body + b"a=evil\r\n"))
    assert action.reason is Reason.WRONG_RESPONSE


def test_wrong_response_gets_a_fresh_challenge() -> None:
    srv = make_server()
    action, _ = login(srv, password="wrong")
    assert isinstance(action, SendChallenge)
    assert (action.reason, action.stale, action.status) == (Reason.WRONG_RESPONSE, False, 401)


def test_reject_wrong_credentials_gives_403_instead() -> None:
    srv = make_server(reject_wrong_credentials=True)
    action, _ = login(srv, password="wrong")
    assert isinstance(action, Reject) and action.status == 403
    assert action.reason is Reason.WRONG_RESPONSE


@pytest.mark.parametrize("reject", [False, True])
def test_unknown_user_and_wrong_password_look_the_same_on_the_wire(reject: bool) -> None:
    wrong, _ = login(make_server(entropy=Counter(), reject_wrong_credentials=reject), password="x")
    unknown, _ = login(
        make_server(entropy=Counter(), reject_wrong_credentials=reject), username="eve"
    )
    assert wrong.reason is Reason.WRONG_RESPONSE and unknown.reason is Reason.UNKNOWN_USER
    if reject:
        assert (wrong.status, wrong.reason_phrase, wrong.detail) == (
            unknown.status, unknown.reason_phrase, unknown.detail)  # fmt: skip
    else:
        assert (wrong.status, wrong.reason_phrase, wrong.headers, wrong.stale) == (
            unknown.status, unknown.reason_phrase, unknown.headers, unknown.stale)  # fmt: skip


def test_two_phase_lookup_carries_the_request_in_the_action() -> None:
    srv = make_server(lookup=None)
    ch = pick(srv.handle(request()))
    lk = srv.handle(request(authorize(ch)))
    assert isinstance(lk, LookupCredentials)
    assert (lk.realm, lk.username, lk.userhash, lk.algorithm) == (REALM, "alice", False, "MD5")
    ha1 = sipdigest.compute_ha1("MD5", "alice", REALM, USERS["alice"])
    assert accepted(srv.handle(CredentialsFound(lk, ha1={"md5": ha1.upper()}))).username == "alice"
    lk2 = srv.handle(request(authorize(ch, nc=2)))
    assert srv.handle(CredentialsNotFound(lk2)).reason is Reason.UNKNOWN_USER


def test_stored_ha1_for_another_algorithm_cannot_verify() -> None:
    srv = make_server(lookup=None, algorithms=("SHA-256",))
    lk = srv.handle(request(authorize(pick(srv.handle(request()), "SHA-256"))))
    md5 = sipdigest.compute_ha1("MD5", "alice", REALM, USERS["alice"])
    action = srv.handle(CredentialsFound(lk, ha1={"MD5": md5}))
    assert isinstance(action, SendChallenge) and action.reason is Reason.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512-256", "SHA-256-sess"])
def test_a_lookup_may_answer_with_one_ha1_for_the_algorithm_it_names(algorithm: str) -> None:
    srv = make_server(lookup=None, algorithms=(algorithm,))
    ch = pick(srv.handle(request()), algorithm)
    stored = sipdigest.compute_ha1(algorithm, "alice", REALM, USERS["alice"])
    lk = srv.handle(request(authorize(ch)))
    assert isinstance(lk, LookupCredentials) and lk.algorithm == algorithm
    assert accepted(srv.handle(CredentialsFound(lk, ha1=stored.upper()))).username == "alice"
    wrong = sipdigest.compute_ha1(algorithm, "alice", REALM, "not the password")
    action = srv.handle(CredentialsFound(srv.handle(request(authorize(ch, nc=2))), ha1=wrong))
    assert isinstance(action, SendChallenge) and action.reason is Reason.WRONG_RESPONSE
    for bad in (stored[:-1], "z" * len(stored)):  # not an HA1 of this algorithm: host misuse
        with pytest.raises(LocalProtocolError):
            srv.handle(CredentialsFound(srv.handle(request(authorize(ch, nc=3))), ha1=bad))


def test_a_lookup_answer_for_another_server_is_host_misuse() -> None:
    a, b = make_server(lookup=None), make_server(lookup=None)
    lk = a.handle(request(authorize(pick(a.handle(request())))))
    with pytest.raises(LocalProtocolError):
        b.handle(CredentialsFound(lk, password="wonderland"))
    forged = LookupCredentials(REALM, "alice", False, "MD5")
    with pytest.raises(LocalProtocolError):
        a.handle(CredentialsNotFound(forged))
    with pytest.raises(LocalProtocolError):
        a.handle(CredentialsFound(lk))  # neither password nor ha1
    with pytest.raises(LocalProtocolError):
        a.handle(CredentialsFound(lk, ha1={"MD5": "xyz"}))  # not an HA1


def test_the_synchronous_lookup_must_answer_its_own_lookup() -> None:
    other = LookupCredentials(REALM, "alice", False, "MD5")
    srv = make_server(lookup=lambda lk: CredentialsFound(other, password="wonderland"))
    with pytest.raises(LocalProtocolError):
        srv.handle(request(authorize(pick(srv.handle(request())))))
    srv = make_server(lookup=lambda lk: "yes")
    with pytest.raises(LocalProtocolError):
        srv.handle(request(authorize(pick(srv.handle(request())))))


@pytest.mark.parametrize("event", [None, "REGISTER", RequestPrepared("REGISTER", URI, "c", 1)])
def test_handle_refuses_events_of_the_wrong_type(event: object) -> None:
    with pytest.raises(LocalProtocolError):
        make_server().handle(event)
    srv = make_server(external_replay=True)
    with pytest.raises(LocalProtocolError):
        srv.handle(ReplayChecked(CheckReplay(b"k", 1, 128, 0.0), True))


def test_host_misuse_in_the_request_is_a_local_error() -> None:
    srv = make_server()
    with pytest.raises(LocalProtocolError):
        srv.handle(RequestReceived("REGISTER", URI, [("Authorization", b"Digest x")], 1.0))  # type: ignore[list-item]
    with pytest.raises(LocalProtocolError):
        srv.handle(RequestReceived("REGISTER", URI, None, 1.0))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        srv.handle(RequestReceived("REGISTER", URI, [], float("nan")))


# ---- 4. digest-uri -------------------------------------------------------------------------


def test_digest_uri_must_equal_the_request_uri_by_default() -> None:
    srv = make_server()
    value = authorize(pick(srv.handle(request())), uri="sip:example.com;transport=tls")
    action = srv.handle(request(value))
    assert isinstance(action, Reject) and (action.status, action.reason) == (
        400,
        Reason.URI_MISMATCH,
    )


@pytest.mark.parametrize("how", [{"uri_check": "loose"}, {"quirks": frozenset({"uri_loose"})}])
def test_loose_uri_check_ignores_parameters_and_case_of_scheme_and_host(how: dict) -> None:
    srv = make_server(**how)
    ch = pick(srv.handle(request(uri="sip:alice@Example.COM;transport=tls")))
    value = authorize(ch, uri="SIP:alice@example.com")
    action = srv.handle(request(value, uri="sip:alice@Example.COM;transport=tls"))
    assert accepted(action).quirks == ("uri_loose",)
    value = authorize(ch, uri="sip:Alice@example.com", nc=2)  # the user part keeps its case
    assert srv.handle(request(value, uri="sip:alice@example.com")).reason is Reason.URI_MISMATCH


@pytest.mark.parametrize("how", [{"uri_check": "off"}, {"quirks": frozenset({"uri_off"})}])
def test_uri_check_off_accepts_any_digest_uri(how: dict) -> None:
    srv = make_server(**how)
    value = authorize(pick(srv.handle(request())), uri="sip:elsewhere.example")
    assert accepted(srv.handle(request(value))).quirks == ("uri_off",)


# ---- quirks -----------------------------------------------------------------------------------


def test_uppercase_hex_is_refused_unless_the_quirk_is_named() -> None:
    for quirks, ok in ((frozenset(), False), (frozenset({"uppercase_hex"}), True)):
        srv = make_server(quirks=quirks)
        ch = pick(srv.handle(request()))
        good = Credentials(**{**_fields(authorize(ch))})
        good.response = good.response.upper()
        action = srv.handle(request(good.render()))
        if ok:
            assert accepted(action).quirks == ("uppercase_hex",)
        else:
            assert action.reason is Reason.WRONG_RESPONSE


def test_decimal_nc_is_malformed_unless_the_quirk_is_named() -> None:
    srv = make_server()
    value = authorize(pick(srv.handle(request())), nc="10")
    action = srv.handle(request(value))
    assert (
        isinstance(action, Reject) and action.reason is Reason.MALFORMED and "nc" in action.detail
    )
    srv = make_server(quirks=frozenset({"decimal_nc"}))
    ch = pick(srv.handle(request()))
    assert accepted(srv.handle(request(authorize(ch, nc="10")))).quirks == ("decimal_nc",)
    # nc "10" read as decimal 10: a later "00000009" (hex 9) is within the window, not a replay
    assert accepted(srv.handle(request(authorize(ch, nc="00000009")))).quirks == ()
    assert srv.handle(request(authorize(ch, nc="0000000a"))).reason is Reason.REPLAY


def test_realm_prefix_quirk_accepts_the_prefixed_realm() -> None:
    srv = make_server(quirks=frozenset({"realm_prefix"}))
    ch = pick(srv.handle(request()))
    value = authorize(ch, realm="sip." + REALM)
    acc = accepted(srv.handle(request(value)))
    assert acc.realm == REALM and acc.quirks == ("realm_prefix",)
    assert make_server().handle(request(value)).reason is Reason.REALM_MISMATCH


def test_ha1b_quirk_tries_the_user_at_domain_ha1() -> None:
    ha1b = sipdigest.compute_ha1("MD5", "alice@example.com", REALM, "pw")

    def lookup(lk: LookupCredentials) -> CredentialsFound:
        return CredentialsFound(lk, ha1={"MD5": "0" * 32}, ha1b={"MD5": ha1b})

    for quirks, ok in ((frozenset(), False), (frozenset({"ha1b"}), True)):
        srv = make_server(lookup=lookup, quirks=quirks)
        ch = pick(srv.handle(request()))
        value = authorize(ch, username="alice@example.com", password="pw")
        action = srv.handle(request(value))
        assert (
            (accepted(action).quirks == ("ha1b",)) if ok else action.reason is Reason.WRONG_RESPONSE
        )


def test_no_qop_quirk_accepts_the_rfc2069_form_when_qop_was_offered() -> None:
    srv = make_server()
    value = authorize(pick(srv.handle(request())), qop=None)
    action = srv.handle(request(value))
    assert isinstance(action, Reject) and (action.status, action.reason) == (403, Reason.DOWNGRADE)
    srv = make_server(quirks=frozenset({"no_qop"}))
    value = authorize(pick(srv.handle(request())), qop=None)
    acc = accepted(srv.handle(request(value)))
    assert acc.quirks == ("no_qop",) and acc.qop is None


def test_truncated_sha512_quirk_accepts_the_rfc_example_hash() -> None:
    from sipdigest import _impl

    def trunc_response(ch, nc: int) -> str:  # type: ignore[no-untyped-def]
        ha1 = _impl.ha1(_impl.SHA512_TRUNC, "alice", REALM, "wonderland")
        resp = _impl.response(
            _impl.SHA512_TRUNC, ha1, "REGISTER", URI, ch.nonce, f"{nc:08x}", "c0ffee00", 1, b""
        )
        return Credentials(username="alice", realm=REALM, nonce=ch.nonce, uri=URI, response=resp,
                           algorithm="SHA-512-256", cnonce="c0ffee00", qop="auth", nc=nc).render()  # fmt: skip

    for quirks, ok in ((frozenset(), False), (frozenset({"truncated_sha512"}), True)):
        srv = make_server(algorithms=("SHA-512-256",), quirks=quirks)
        action = srv.handle(request(trunc_response(pick(srv.handle(request()), "SHA-512-256"), 1)))
        if ok:
            assert accepted(action).quirks == ("truncated_sha512",)
        else:
            assert action.reason is Reason.WRONG_RESPONSE


# ---- userhash and username* -------------------------------------------------------------------


def test_userhash_credentials_are_looked_up_by_hash() -> None:
    by_hash = {sipdigest.compute_userhash("SHA-256", u, REALM): u for u in USERS}
    seen: list[LookupCredentials] = []

    def lookup(lk: LookupCredentials) -> CredentialsFound | CredentialsNotFound:
        seen.append(lk)
        user = by_hash.get(lk.username) if lk.userhash else lk.username
        if user is None:
            return CredentialsNotFound(lk)
        return CredentialsFound(lk, password=USERS[user], username=user)

    srv = make_server(lookup=lookup, userhash=True, algorithms=("SHA-256",))
    ch = pick(srv.handle(request()), "SHA-256")
    assert ch.userhash
    acc = accepted(srv.handle(request(authorize(ch, userhash=True))))
    assert acc.username == "alice"
    assert seen[-1].userhash and seen[-1].username == sipdigest.compute_userhash(
        "SHA-256", "alice", REALM
    )
    # a userhash answer with a password but no real username cannot compute the HA1
    srv2 = make_server(lookup=lambda lk: CredentialsFound(lk, password="wonderland"), userhash=True)
    with pytest.raises(LocalProtocolError):
        srv2.handle(request(authorize(pick(srv2.handle(request())), userhash=True)))


def test_userhash_without_offering_it_is_malformed() -> None:
    srv = make_server()
    action = srv.handle(request(authorize(pick(srv.handle(request())), userhash=True)))
    assert isinstance(action, Reject) and action.reason is Reason.MALFORMED


def test_username_star_is_decoded_before_the_lookup() -> None:
    srv = make_server(lookup=user_lookup({"Jäsøn Doe": "pw"}))
    value = authorize(pick(srv.handle(request())), username="Jäsøn Doe", password="pw")
    assert "username*=UTF-8''" in value
    assert accepted(srv.handle(request(value))).username == "Jäsøn Doe"


# ---- 7. Authentication-Info ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,name", [("registrar", "Authentication-Info"), ("proxy", "Proxy-Authentication-Info")]
)
@pytest.mark.parametrize("qop", ["auth", "auth-int"])
def test_authentication_info_carries_rspauth_cnonce_nc_and_nextnonce(
    role: str, name: str, qop: str
) -> None:
    srv = make_server(
        role=role, auth_info=True, nextnonce=True, qop=(qop,), algorithms=("SHA-256",)
    )
    hdr = "Proxy-Authorization" if role == "proxy" else "Authorization"
    body = b"v=0\r\n"
    ch = pick(srv.handle(request(header=hdr)), "SHA-256")
    value = authorize(ch, nc=7, body=body)
    acc = accepted(srv.handle(request(value, header=hdr, body=body)))
    ((hname, hvalue),) = acc.headers
    info = parse_authentication_info(hvalue)
    assert hname == name
    assert (info.qop, info.cnonce, info.nc) == (qop, "0a4f113b", "00000007")
    assert info.rspauth == sipdigest.compute_rspauth(
        algorithm="SHA-256", username="alice", realm=REALM, password="wonderland", uri=URI,
        nonce=ch.nonce, nc=7, cnonce="0a4f113b", qop=qop, body=body,
    )  # fmt: skip
    assert info.nextnonce and info.nextnonce != ch.nonce
    assert (
        AuthenticationInfo(
            **{k: getattr(info, k) for k in ("nextnonce", "qop", "rspauth", "cnonce", "nc")}
        ).render()
        == hvalue
    )
    # the nextnonce works, for the same algorithm
    from sipdigest.headers import Challenge

    nxt = Challenge(realm=REALM, nonce=info.nextnonce, algorithm="SHA-256", qop=(qop,))
    assert accepted(srv.handle(request(authorize(nxt, body=body), header=hdr, body=body)))


def test_no_authentication_info_unless_configured() -> None:
    action, _ = login(make_server())
    assert accepted(action).headers == ()


# ---- 9. typed outcomes, counters, secrets -------------------------------------------------------


def test_counters_count_every_outcome_and_reason() -> None:
    srv = make_server()
    login(srv)
    login(srv, password="bad")
    srv.handle(request(method="CANCEL"))
    c = srv.counters()
    assert c["accept"] == 1 and c["exempt"] == 1 and c["lookup"] == 0  # answered synchronously
    assert c["challenge"] == 3 and c["no_credentials"] == 2 and c["wrong_response"] == 1
    assert c["reject"] == 0 and c["replay"] == 0
    assert "rspauth_mismatch" not in c  # client-side reasons are not counted here
    assert set(c) >= {r.value for r in (Reason.STALE, Reason.FORGED_NONCE, Reason.MALFORMED)}
    c["accept"] = 99
    assert srv.counters()["accept"] == 1  # a snapshot
    two_phase = make_server(lookup=None)
    two_phase.handle(request(authorize(pick(two_phase.handle(request())))))
    assert two_phase.counters()["lookup"] == 1


def test_no_secret_appears_in_any_repr_or_error() -> None:
    password, srv_secret = "wonderland", SECRET
    ha1 = sipdigest.compute_ha1("MD5", "alice", REALM, password)
    srv = make_server(lookup=None, auth_info=True)
    ch = pick(srv.handle(request()))
    value = authorize(ch)
    response = Credentials(**_fields(value)).response
    lk = srv.handle(request(value))
    found = CredentialsFound(lk, password=password, ha1={"MD5": ha1})
    acc = srv.handle(found)
    texts = [repr(x) for x in (srv, srv.policy, lk, found, acc, srv._box, srv._store)]
    try:
        srv.handle(CredentialsFound(lk, ha1={"MD5": "nothex" + ha1}))
    except LocalProtocolError as exc:
        texts.append(str(exc))
    for text in texts:
        for secret in (password, ha1, response, srv_secret.decode(), srv_secret.hex()):
            assert secret not in text


# ---- 10. malformed input ---------------------------------------------------------------------------

MALFORMED = [
    "Digest",
    "Digest realm",
    'Digest realm="example.com", nonce="x", uri="sip:x", response="0"',  # no username
    'Digest username="a", realm="example.com", nonce="unterminated',
    'Digest username="a", realm="example.com", username="b", nonce="n", uri="u", response="r"',
    'Digest username="a", realm="example.com", nonce="n", uri="u", response="r", qop=auth',
    'Digest username="a", realm="example.com", nonce="n", uri="u", response="r", qop=auth, nc=1',
    'Digest username*=UTF-8\'\'%ff, realm="example.com", nonce="n", uri="u", response="r"',
    'Digest username="a", username*=UTF-8\'\'a, realm="example.com", nonce="n", uri="u", response="r"',
    'Digest realm="example.com", x=' + "y" * 9000,
    "\x00\x01\x02 garbage \udcff",
    'Digest realm="example.com", a="b", Digest realm="example.com"',
]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_credentials_become_reject_400(value: str) -> None:
    srv = make_server()
    action = srv.handle(request(value))
    assert isinstance(action, Reject), action
    assert (action.status, action.reason) == (400, Reason.MALFORMED) and action.detail


def test_malformed_fields_with_a_genuine_nonce_become_reject_400() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    good = authorize(ch)
    for old, new in (("nc=00000001", "nc=0000000g"), ("nc=00000001", "nc=+0000001"),
                     ("nc=00000001", "nc=000_0001"), ("nc=00000001", "nc=123456789"),
                     ("nc=00000001", 'nc=" 0000001"'), ("qop=auth", "qop=auth-conf")):  # fmt: skip
        action = srv.handle(request(good.replace(old, new)))
        assert isinstance(action, Reject) and action.reason is Reason.MALFORMED, (new, action)


def test_opaque_must_come_back_unchanged_when_we_sent_one() -> None:
    srv = make_server(opaque="xyz")
    ch = pick(srv.handle(request()))
    for opaque in (None, "xy", "XYZ", ""):
        action = srv.handle(request(authorize(ch, opaque=opaque)))
        assert isinstance(action, Reject) and action.reason is Reason.MALFORMED, opaque
    assert accepted(srv.handle(request(authorize(ch))))
    srv = make_server()  # we sent none: whatever comes back is ignored
    assert accepted(srv.handle(request(authorize(pick(srv.handle(request())), opaque=""))))


def test_unknown_algorithm_gets_a_challenge() -> None:
    srv = make_server()
    ch = pick(srv.handle(request()))
    value = authorize(ch, algorithm="SHA-1", hash_algorithm="MD5")
    action = srv.handle(request(value))
    assert isinstance(action, SendChallenge) and action.reason is Reason.UNSUPPORTED_ALGORITHM


def test_algorithm_token_case_does_not_matter() -> None:
    srv = make_server()
    value = authorize(pick(srv.handle(request())), algorithm="md5", hash_algorithm="MD5")
    assert accepted(srv.handle(request(value))).algorithm == "MD5"


def _fields(value: str) -> dict:
    c = sipdigest.parse_credentials(value)
    return {k: getattr(c, k) for k in ("username", "realm", "nonce", "uri", "response", "algorithm",
                                       "cnonce", "opaque", "qop", "nc", "userhash")}  # fmt: skip


def test_exempt_is_returned_for_cancel_without_any_check() -> None:
    assert make_server().handle(request("Digest garbage", method="CANCEL")) == Exempt("CANCEL")


def test_accept_compares_equal_and_reprs_without_secrets() -> None:
    a = Accept("alice", REALM, "MD5", "auth")
    assert a == Accept("alice", REALM, "MD5", "auth") and "alice" in repr(a)
