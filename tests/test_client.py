"""Client rules 1-4: credentials per realm, which challenges are answered, algorithms, qop.

Each test is one rule, read as a transcript of events and actions.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from sipdigest import compute_response, parse_credentials, verify_credentials
from sipdigest.actions import (
    AttachCredentials,
    Done,
    GiveUp,
    NeedCredentials,
    Reason,
    Retry,
)
from sipdigest.client import Client
from sipdigest.credentials import ANY_REALM, Credential
from sipdigest.digest import compute_ha1
from sipdigest.errors import LocalProtocolError
from sipdigest.events import CredentialsProvided, RequestPrepared, ResponseReceived
from sipdigest.policy import ClientPolicy

from .test_client_helpers import (
    PASSWORD,
    REALM,
    USER,
    challenge,
    client,
    entropy,
    only,
    request,
    response,
    sent,
    value_of,
    verified,
)

RFC7616_CHALLENGES = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.fixture
def rfc7616_challenge() -> tuple[str, ...]:
    """RFC 7616 §3.9.1: SHA-256 then MD5, qop "auth, auth-int" with a space, opaque."""
    return RFC7616_CHALLENGES


def test_rfc7616_example_answered_with_sha256_and_the_rfc_response(
    twin: ModuleType, rfc7616_challenge: tuple[str, ...]
) -> None:
    c = Client([Credential("http-auth@example.org", "Mufasa", password="Circle of Life")])
    c._new_cnonce = lambda: RFC7616_CNONCE  # test hook: the RFC's cnonce has "/"
    req = request("GET", "/dir/index.html")
    act = c.handle(response(req, www=rfc7616_challenge))
    assert isinstance(act, Retry)
    creds = only(act)
    assert (creds.algorithm, creds.qop, creds.nc) == ("SHA-256", "auth", "00000001")
    assert creds.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert creds.uri == "/dir/index.html" and creds.username == "Mufasa"
    assert creds.response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc7616_md5_half_gives_the_rfc_md5_response(twin: ModuleType) -> None:
    c = Client([Credential("http-auth@example.org", "Mufasa", password="Circle of Life")],
               ClientPolicy(algorithms=("MD5",)))  # fmt: skip
    c._new_cnonce = lambda: RFC7616_CNONCE
    act = c.handle(response(request("GET", "/dir/index.html"), www=RFC7616_CHALLENGES))
    assert isinstance(act, Retry)
    assert only(act).response == "8ca523f5e9506fed4657c9700eebdbec"


# ---- rule 1: credentials per realm, never a guess -----------------------------------------


def test_secret_never_sent_to_realm_without_credentials() -> None:
    c = client()
    req = request()
    act = c.handle(response(req, www=[challenge(realm="evil.example.net")]))
    assert act == NeedCredentials(("evil.example.net",))
    # nothing cached for that realm either: the next request carries nothing
    assert c.handle(request(call_id="call-2")) == AttachCredentials(())


def test_no_credentials_gives_up_when_the_policy_does_not_ask() -> None:
    c = client(ask_for_credentials=False)
    act = c.handle(response(request(), proxy=[challenge(realm="proxy.example.net")]))
    assert isinstance(act, GiveUp)
    assert (act.reason, act.realm) == (Reason.NO_CREDENTIALS_FOR_REALM, "proxy.example.net")


def test_need_credentials_answered_with_credentials_provided_retries() -> None:
    c = Client([], entropy=entropy())
    req = request()
    assert c.handle(response(req, www=[challenge()])) == NeedCredentials((REALM,))
    act = c.handle(CredentialsProvided(REALM, USER, password=PASSWORD))
    assert isinstance(act, Retry)
    assert verified(act)
    assert c.credentials.for_realm(REALM) is not None  # kept for later requests


def test_all_realms_must_be_answered_missing_ones_asked_first() -> None:
    c = client()
    req = request("INVITE", "sip:bob@example.org")
    ev = response(req, 407, www=[challenge()], proxy=[challenge(realm="proxy.example.net")])
    act = c.handle(ev)
    assert act == NeedCredentials(("proxy.example.net",))  # nothing sent for the known one yet
    act = c.handle(CredentialsProvided("proxy.example.net", "alice-proxy", password="pp"))
    assert isinstance(act, Retry)
    assert verified(act, "INVITE")
    assert verified(act, "INVITE", "pp", "Proxy-Authorization", "proxy.example.net")


def test_several_missing_realms_are_asked_until_all_are_provided() -> None:
    c = Client([], entropy=entropy())
    ev = response(request(), proxy=[challenge(realm="a.net"), challenge(realm="b.net")])
    assert c.handle(ev) == NeedCredentials(("a.net", "b.net"))
    assert c.handle(CredentialsProvided("b.net", "u", password="pb")) == NeedCredentials(("a.net",))
    act = c.handle(CredentialsProvided("a.net", "u", password="pa"))
    assert isinstance(act, Retry)
    assert verified(act, password="pa", name="Proxy-Authorization", realm="a.net")
    assert verified(act, password="pb", name="Proxy-Authorization", realm="b.net")


def test_credentials_provided_when_nothing_is_pending_raises_local_error() -> None:
    c = client()
    with pytest.raises(LocalProtocolError):
        c.handle(CredentialsProvided(REALM, USER, password=PASSWORD))
    c.handle(response(request(), www=[challenge(realm="other.org")]))
    with pytest.raises(LocalProtocolError):  # not the realm that was asked for
        c.handle(CredentialsProvided("third.org", USER, password=PASSWORD))


def test_wrong_event_type_raises_local_protocol_error() -> None:
    c = client()
    with pytest.raises(LocalProtocolError):
        c.handle("REGISTER")  # type: ignore[call-overload]
    with pytest.raises(LocalProtocolError):
        c.handle(ResponseReceived(401, [], "not a request"))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        Client([], ClientPolicy(), entropy=entropy()).handle(
            response(request(uri="sip:a\r\nInjected: x"), www=[challenge()])
        )


def test_wildcard_realm_only_by_explicit_opt_in() -> None:
    strict = client(Credential(REALM, USER, password=PASSWORD))
    act = strict.handle(response(request(), www=[challenge(realm="elsewhere.org")]))
    assert act == NeedCredentials(("elsewhere.org",))
    anywhere = client(Credential(ANY_REALM, USER, password=PASSWORD))
    act = anywhere.handle(response(request(), www=[challenge(realm="elsewhere.org")]))
    assert isinstance(act, Retry)
    assert only(act).realm == "elsewhere.org"  # the challenge's realm, never "*"
    assert verified(act, realm="elsewhere.org")


def test_auth_username_and_realm_are_not_the_sip_user_and_domain() -> None:
    # dsiprouter#270: provider realm "sip-1.pb" for the SIP domain "bconnect.com"
    c = client(Credential("sip-1.pb", "auth-7781", password="pw"))
    req = request("REGISTER", "sip:bconnect.com")
    act = c.handle(response(req, www=[challenge(realm="sip-1.pb")]))
    assert isinstance(act, Retry)
    creds = only(act)
    assert (creds.username, creds.realm, creds.uri) == ("auth-7781", "sip-1.pb", "sip:bconnect.com")
    assert verified(act, password="pw", realm="sip-1.pb")


# ---- rule 2: one retry, topmost supported challenge per realm -----------------------------


def test_401_and_407_answered_in_one_retry() -> None:
    # RFC 3261 §16.7: a forking proxy aggregates WWW- and Proxy-Authenticate in one 401
    c = client(
        Credential(REALM, USER, password=PASSWORD), Credential("proxy.net", "px", password="pp")
    )
    req = request("INVITE", "sip:bob@example.com")
    act = c.handle(response(req, 401, www=[challenge()], proxy=[challenge(realm="proxy.net")]))
    assert isinstance(act, Retry)
    assert [n for n, _ in act.headers] == ["Authorization", "Proxy-Authorization"]
    assert verified(act, "INVITE")
    assert verified(act, "INVITE", "pp", "Proxy-Authorization", "proxy.net")


def test_407_answered_in_proxy_authorization() -> None:
    c = client()
    act = c.handle(response(request(), 407, proxy=[challenge()]))
    assert isinstance(act, Retry)
    assert sent(act, "Authorization") == []
    assert verified(act, name="Proxy-Authorization")


def test_topmost_supported_challenge_per_realm_is_answered() -> None:
    # RFC 8760 §2.4: the server lists its preference first; its order decides, not ours
    for first, second in (("SHA-256", "MD5"), ("MD5", "SHA-256"), ("SHA-512-256", "SHA-256")):
        c = client()
        www = [challenge(algorithm=first, nonce="n-a"), challenge(algorithm=second, nonce="n-b")]
        act = c.handle(response(request(), www=www))
        assert isinstance(act, Retry)
        creds = only(act)
        assert (creds.algorithm, creds.nonce) == (first, "n-a")
        assert verified(act)


def test_unsupported_first_challenge_is_skipped_for_the_next() -> None:
    # pjsip#2712/#2408: an unknown first algorithm must not be fatal
    for unknown in ("AKAv1-MD5", "SHA-512", "SHA", "SHA-1"):
        c = client()
        www = [challenge(algorithm=unknown, nonce="n-x"), challenge(algorithm="MD5", nonce="n-md5")]
        act = c.handle(response(request(), www=www))
        assert isinstance(act, Retry), unknown
        assert (only(act).algorithm, only(act).nonce) == ("MD5", "n-md5")
        assert verified(act)


def test_exactly_one_credentials_value_per_realm() -> None:
    # pjsip#2887, sipsorcery#525: servers read only the first Authorization
    c = client()
    www = [challenge(algorithm=a, nonce=f"n-{a}") for a in ("SHA-256", "MD5", "SHA-512-256")]
    act = c.handle(response(request(), www=www))
    assert isinstance(act, Retry)
    assert len(act.headers) == 1
    assert verified(act)


def test_several_realms_answered_at_once() -> None:
    # JsSIP#94: one Proxy-Authorization per challenging proxy
    c = client(
        Credential("p1.net", "u1", password="one"), Credential("p2.net", "u2", password="two")
    )
    act = c.handle(
        response(
            request("INVITE"), 407, proxy=[challenge(realm="p1.net"), challenge(realm="p2.net")]
        )
    )
    assert isinstance(act, Retry)
    assert sorted(c.realm for c in sent(act, "Proxy-Authorization")) == ["p1.net", "p2.net"]
    assert verified(act, "INVITE", "one", "Proxy-Authorization", "p1.net")
    assert verified(act, "INVITE", "two", "Proxy-Authorization", "p2.net")


def test_header_names_in_any_case_and_several_challenges_per_line() -> None:
    c = client(Credential(REALM, USER, password=PASSWORD), Credential("p.net", "u", password="pp"))
    line = challenge(algorithm="SHA-256", nonce="a") + ", " + challenge(algorithm="MD5", nonce="b")
    headers = [("wWw-AuThEnTiCaTe", line), ("PROXY-AUTHENTICATE", challenge(realm="p.net"))]
    act = c.handle(ResponseReceived(401, headers, request()))
    assert isinstance(act, Retry)
    assert only(act).algorithm == "SHA-256"
    assert verified(act) and verified(act, password="pp", name="Proxy-Authorization", realm="p.net")


def test_different_nonce_and_opaque_per_algorithm_use_the_chosen_challenges() -> None:
    # kamailio#4698 (WhatsApp): SHA-256 and MD5 challenges, each with its own nonce/opaque
    c = client(algorithms=("MD5",))
    proxy = [
        challenge(algorithm="SHA-256", nonce="sha-nonce", opaque="sha-opaque"),
        challenge(algorithm="MD5", nonce="md5-nonce", opaque="md5-opaque"),
    ]
    act = c.handle(response(request("INVITE"), 407, proxy=proxy))
    assert isinstance(act, Retry)
    creds = only(act, "Proxy-Authorization")
    assert (creds.nonce, creds.opaque, creds.algorithm) == ("md5-nonce", "md5-opaque", "MD5")
    assert verified(act, "INVITE", name="Proxy-Authorization")


# ---- rule 3: algorithm policy -------------------------------------------------------------


def test_policy_can_refuse_md5() -> None:
    c = client(algorithm_floor="SHA-256")
    act = c.handle(response(request(), www=[challenge(algorithm="MD5")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE
    assert act.realm == REALM and "MD5" in act.detail
    c = client(algorithm_floor="SHA-256")
    www = [challenge(algorithm="MD5", nonce="a"), challenge(algorithm="SHA-256", nonce="b")]
    act = c.handle(response(request(), www=www))
    assert isinstance(act, Retry) and only(act).algorithm == "SHA-256"
    assert verified(act)
    # an absent algorithm means MD5 (RFC 7616 §3.3): refused too
    act = client(algorithms=("SHA-256",)).handle(
        response(request(), www=[challenge(algorithm=None)])
    )
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE


def test_stored_md5_ha1_forces_md5() -> None:
    ha1 = compute_ha1("MD5", USER, REALM, PASSWORD)
    c = client(Credential(REALM, USER, ha1={"MD5": ha1}))
    www = [challenge(algorithm="SHA-256", nonce="a"), challenge(algorithm="MD5", nonce="b")]
    act = c.handle(response(request(), www=www))
    assert isinstance(act, Retry)
    assert (only(act).algorithm, only(act).nonce) == ("MD5", "b")
    assert verify_credentials(value_of(act), method="REGISTER", ha1=ha1)


def test_stored_ha1_that_cannot_answer_any_challenge_gives_up() -> None:
    # kamailio#2108: never compute with a stored HA1 for another algorithm
    ha1 = compute_ha1("MD5", USER, REALM, PASSWORD)
    c = client(Credential(REALM, USER, ha1={"MD5": ha1}))
    act = c.handle(response(request(), www=[challenge(algorithm="SHA-256")]))
    assert isinstance(act, GiveUp)
    assert (act.reason, act.realm) == (Reason.NO_SUPPORTED_CHALLENGE, REALM)
    assert "HA1" in act.detail


def test_stored_ha1_per_algorithm_answers_sess_variants() -> None:
    ha1 = compute_ha1("SHA-256", USER, REALM, PASSWORD)
    c = client(Credential(REALM, USER, ha1={"SHA-256": ha1}))
    act = c.handle(response(request(), www=[challenge(algorithm="SHA-256-sess")]))
    assert isinstance(act, Retry) and only(act).algorithm == "SHA-256-sess"
    assert verify_credentials(value_of(act), method="REGISTER", ha1=ha1)


@pytest.mark.parametrize(
    "token", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"]
)
def test_algorithm_label_always_matches_the_computation(token: str) -> None:
    act = client().handle(response(request(), www=[challenge(algorithm=token)]))
    assert isinstance(act, Retry)
    assert only(act).algorithm == token
    assert verified(act)  # the verifier computes with the label: they agree


def test_challenge_without_algorithm_is_md5_and_sends_no_label() -> None:
    act = client().handle(response(request(), www=[challenge(algorithm=None)]))
    assert isinstance(act, Retry)
    assert only(act).algorithm is None
    assert verified(act)


def test_lowercase_algorithm_token_is_read_strictly_and_labelled_by_the_registry() -> None:
    # kamailio#2108 trace "algorithm=md5": the registry lookup is case-insensitive
    act = client().handle(response(request(), www=[challenge(algorithm="sha-256")]))
    assert isinstance(act, Retry)
    assert only(act).algorithm == "SHA-256"
    assert verified(act)


def test_basic_is_never_answered() -> None:
    act = client().handle(response(request(), www=['Basic realm="example.com"']))
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE
    assert "Basic" in act.detail
    # httpx#1234: Digest and Basic together: the Digest one is answered, Basic ignored
    act = client().handle(response(request(), www=['Basic realm="example.com"', challenge()]))
    assert isinstance(act, Retry)
    assert [v.split(" ")[0] for _, v in act.headers] == ["Digest"]
    assert verified(act)


def test_realm_offering_only_unknown_algorithms_gives_up() -> None:
    # Q8: never answer an unknown algorithm as MD5
    act = client().handle(response(request(), www=[challenge(algorithm="AKAv1-MD5")]))
    assert isinstance(act, GiveUp)
    assert (act.reason, act.realm) == (Reason.NO_SUPPORTED_CHALLENGE, REALM)
    assert "unknown" in act.detail


# ---- rule 4: qop ----------------------------------------------------------------------------


def test_qop_auth_preferred_over_auth_int() -> None:
    act = client().handle(response(request(body=b"v=0\r\n"), www=[challenge(qop="auth-int,auth")]))
    assert isinstance(act, Retry) and only(act).qop == "auth"
    assert verified(act)


def test_prefer_auth_int_hashes_the_real_request_body() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"
    c = client(prefer_auth_int=True)
    act = c.handle(
        response(request("INVITE", body=body), 401, www=[challenge(qop="auth, auth-int")])
    )
    assert isinstance(act, Retry) and only(act).qop == "auth-int"
    assert verified(act, "INVITE", body=body)
    assert not verified(act, "INVITE", body=b"another body")


def test_auth_int_alone_is_computed_over_the_body() -> None:
    body = b"hello"
    act = client().handle(response(request("MESSAGE", body=body), www=[challenge(qop="auth-int")]))
    assert isinstance(act, Retry) and only(act).qop == "auth-int"
    assert verified(act, "MESSAGE", body=body)


def test_no_qop_offered_gives_the_rfc2069_response(vectors: dict[str, Any]) -> None:
    v = next(x for x in vectors["digest"] if x["id"] == "rfc2069-2.4-mufasa")
    c = client(Credential(v["realm"], v["username"], password=v["password"]))
    www = [challenge(v["realm"], v["nonce"], algorithm=None, qop=None, opaque=v["opaque"])]
    act = c.handle(response(request(v["method"], v["uri"]), www=www))
    assert isinstance(act, Retry)
    creds = only(act)
    assert (creds.qop, creds.nc, creds.cnonce) == (None, None, None)
    assert creds.response == v["expected"]["response"]  # the errata-corrected value
    assert creds.response != v["known_wrong_published"]["response"]


def test_sess_algorithm_without_qop_is_skipped() -> None:
    # MD5-sess needs a cnonce, which RFC 2617 forbids without qop: never half-answer it
    www = [
        challenge(algorithm="MD5-sess", qop=None, nonce="a"),
        challenge(algorithm="MD5", qop=None, nonce="b"),
    ]
    act = client().handle(response(request(), www=www))
    assert isinstance(act, Retry) and only(act).nonce == "b"
    assert verified(act)


def test_unknown_qop_tokens_are_ignored() -> None:
    act = client().handle(response(request(), www=[challenge(qop="auth-conf, AUTH")]))
    assert isinstance(act, Retry) and only(act).qop == "auth"
    assert verified(act)


def test_qop_with_only_unknown_tokens_skips_that_challenge() -> None:
    www = [
        challenge(algorithm="SHA-256", qop="auth-conf", nonce="a"),
        challenge(qop="auth", nonce="b"),
    ]
    act = client().handle(response(request(), www=www))
    assert isinstance(act, Retry) and (only(act).nonce, only(act).algorithm) == ("b", "MD5")
    assert verified(act)
    act = client().handle(response(request(), www=[challenge(qop="auth-conf")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE


def test_response_recomputed_independently_matches(twin: ModuleType) -> None:
    c = Client([Credential(REALM, USER, password=PASSWORD)], entropy=entropy())
    req = request("INVITE", "sip:bob@example.com;transport=tls", body=b"sdp")
    act = c.handle(response(req, 407, proxy=[challenge(algorithm="SHA-512-256-sess", opaque="")]))
    assert isinstance(act, Retry)
    creds = parse_credentials(act.headers[0][1])
    expected = compute_response(
        algorithm="SHA-512-256-sess", username=USER, realm=REALM, password=PASSWORD,
        method="INVITE", uri="sip:bob@example.com;transport=tls", nonce="nonce-1",
        nc=1, cnonce=creds.cnonce, qop="auth",
    )  # fmt: skip
    assert creds.response == expected
    assert creds.opaque == ""  # Q23: echoed byte for byte, even empty


def test_done_for_responses_that_are_not_challenges() -> None:
    c = client()
    assert c.handle(response(request(), 180)) == Done(180)
    assert c.handle(response(request(), 486)) == Done(486)
    assert c.handle(response(request(), 200)) == Done(200)
    assert c.handle(RequestPrepared("OPTIONS", "sip:x", "c", 1)) == AttachCredentials(())
