"""Client rules 5-8: preemptive reuse and nc, failure semantics, ACK/CANCEL, rspauth."""

from __future__ import annotations

from sipdigest import compute_rspauth, parse_credentials
from sipdigest.actions import (
    AttachCredentials,
    Done,
    GiveUp,
    NeedCredentials,
    Reason,
    Retry,
)
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.events import CredentialsProvided, RequestPrepared
from sipdigest.headers import AuthenticationInfo, Credentials

from .test_client_helpers import (
    PASSWORD,
    REALM,
    USER,
    challenge,
    client,
    only,
    request,
    response,
    retry_of,
    sent,
    verified,
)

# ---- rule 5: nonce cache, nc, preemptive reuse ----------------------------------------------


def test_attach_credentials_for_a_realm_that_never_challenged_has_no_headers() -> None:
    assert client().handle(request()) == AttachCredentials(())


def test_preemptive_reuse_increments_nc() -> None:
    c = client()
    req = request()
    retry = c.handle(response(req, www=[challenge(nonce="n1")]))
    assert isinstance(retry, Retry) and only(retry).nc == "00000001"
    assert c.handle(response(retry_of(req), 200)) == Done(200)
    for n, call in ((2, "call-2"), (3, "call-3")):
        act = c.handle(request("SUBSCRIBE", call_id=call))
        creds = only(act)
        assert (creds.nonce, creds.nc) == ("n1", f"{n:08x}")
        assert verified(act, "SUBSCRIBE")
    cnonces = {only(c.handle(request(call_id=f"x{i}"))).cnonce for i in range(5)}
    assert len(cnonces) == 5  # a fresh cnonce each time


def test_nc_counted_per_nonce() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    c.handle(response(retry_of(req), 200))
    assert only(c.handle(request(call_id="b"))).nc == "00000002"
    # a new nonce restarts at 1 ...
    req2 = request(call_id="c")
    act = c.handle(response(req2, www=[challenge(nonce="n2")]))
    assert (only(act).nonce, only(act).nc) == ("n2", "00000001")
    c.handle(response(retry_of(req2), 200))
    # ... and the same nonce challenged again keeps counting (RestComm/jain-sip#181)
    req3 = request(call_id="d")
    act = c.handle(response(req3, www=[challenge(nonce="n2")]))
    assert only(act).nc == "00000002"
    assert verified(act)


def test_preemptive_cache_keyed_by_header_kind_and_realm() -> None:
    c = client(Credential(REALM, USER, password=PASSWORD), Credential("p.net", "px", password="pp"))
    req = request("INVITE")
    act = c.handle(response(req, 407, proxy=[challenge(realm="p.net", nonce="pn")]))
    assert isinstance(act, Retry)
    act = c.handle(response(retry_of(req), 401, www=[challenge(nonce="wn")]))
    assert isinstance(act, Retry)
    # the proxy that accepted us is still on the path: its credentials ride along (nc=2)
    assert only(act, "Proxy-Authorization").nc == "00000002"
    assert verified(act, "INVITE", "pp", "Proxy-Authorization", "p.net")
    assert verified(act, "INVITE")
    later = c.handle(request("INVITE", call_id="call-9"))
    assert [n for n, _ in later.headers] == ["Proxy-Authorization", "Authorization"]


def test_nonce_cache_is_a_bounded_lru() -> None:
    creds = [Credential(f"r{i}.net", "u", password="pw") for i in range(3)]
    c = client(*creds, nonce_cache_size=2)
    for i in range(3):
        req = request(call_id=f"c{i}")
        c.handle(response(req, 407, proxy=[challenge(realm=f"r{i}.net")]))
        c.handle(response(retry_of(req), 200))
    act = c.handle(request(call_id="later"))
    assert sorted(x.realm for x in sent(act, "Proxy-Authorization")) == ["r1.net", "r2.net"]


def test_challenge_after_preemptive_credentials_is_not_a_failure() -> None:
    # Metaswitch/sprout#1217: a reused nonce may simply have expired
    c = client(stale_without_flag=False)
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    c.handle(response(retry_of(req), 200))
    req2 = request(call_id="call-2")
    assert only(c.handle(req2)).nonce == "n1"
    act = c.handle(response(req2, www=[challenge(nonce="n2")]))
    assert isinstance(act, Retry) and only(act).nonce == "n2"
    assert verified(act)


def test_403_after_preemptive_credentials_forgets_the_nonce() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    c.handle(response(retry_of(req), 200))
    req2 = request(call_id="call-2")
    assert only(c.handle(req2)).nonce == "n1"
    assert c.handle(response(req2, 403)) == Done(403)
    assert c.handle(request(call_id="call-3")) == AttachCredentials(())


# ---- rule 6: failure semantics ----------------------------------------------------------------


def test_stale_true_retries_transparently_with_the_new_nonce() -> None:
    c = client(stale_without_flag=False)
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    req2 = retry_of(req)
    act = c.handle(response(req2, www=[challenge(nonce="n2", stale=True)]))
    assert isinstance(act, Retry)
    assert (only(act).nonce, only(act).nc) == ("n2", "00000001")
    assert verified(act)
    assert c.handle(response(retry_of(req2), 200)) == Done(200)


def test_new_nonce_without_stale_is_treated_as_stale_once() -> None:
    # Q1: FRITZ!OS and some Kamailio configs omit stale=true (baresip#717)
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    req2 = retry_of(req)
    act = c.handle(response(req2, www=[challenge(nonce="n2")]))
    assert isinstance(act, Retry) and only(act).nonce == "n2"
    assert verified(act)
    assert c.handle(response(retry_of(req2), 200)) == Done(200, quirks=("stale_without_flag",))
    # but only once per realm and request: a third nonce means the password is wrong
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    req2 = retry_of(req)
    c.handle(response(req2, www=[challenge(nonce="n2")]))
    act = c.handle(response(retry_of(req2), www=[challenge(nonce="n3")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.CREDENTIALS_REFUSED


def test_same_credentials_refused_twice_gives_up() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    act = c.handle(response(retry_of(req), www=[challenge(nonce="n1")]))
    assert act == GiveUp(
        Reason.CREDENTIALS_REFUSED, realm=REALM, detail="credentials for realm example.com refused"
    )


def test_stale_without_flag_disabled_refuses_at_once() -> None:
    c = client(stale_without_flag=False)
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    act = c.handle(response(retry_of(req), www=[challenge(nonce="n2")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.CREDENTIALS_REFUSED


def test_max_retries_caps_a_server_that_is_always_stale() -> None:
    c = client(max_retries=3)
    req = request()
    actions = []
    for i in range(5):
        actions.append(c.handle(response(req, www=[challenge(nonce=f"n{i}", stale=True)])))
        req = retry_of(req)
    assert [type(a) for a in actions[:3]] == [Retry, Retry, Retry]
    assert isinstance(actions[3], GiveUp) and actions[3].reason is Reason.TOO_MANY_RETRIES


def test_refused_credentials_are_not_sent_again_until_new_ones_are_provided() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    assert isinstance(c.handle(response(retry_of(req), www=[challenge(nonce="n1")])), GiveUp)
    assert c.handle(request(call_id="call-2")) == AttachCredentials(())  # nothing preemptive
    req3 = request(call_id="call-3")
    assert c.handle(response(req3, www=[challenge(nonce="n9")])) == NeedCredentials((REALM,))
    act = c.handle(CredentialsProvided(REALM, USER, password="new password"))
    assert isinstance(act, Retry)
    assert verified(act, password="new password")


def test_challenge_on_one_request_does_not_fail_another() -> None:
    # jitsi#665: a 407 on SUBSCRIBE is not a wrong REGISTER password
    c = client(
        Credential(REALM, USER, password=PASSWORD), Credential("proxy.net", "px", password="pp")
    )
    reg = request("REGISTER", call_id="reg")
    c.handle(response(reg, www=[challenge(nonce="r1")]))
    assert c.handle(response(retry_of(reg), 200)) == Done(200)
    sub = request("SUBSCRIBE", "sip:bob@example.com", call_id="sub")
    act = c.handle(response(sub, 407, proxy=[challenge(realm="proxy.net", nonce="p1")]))
    assert isinstance(act, Retry)
    # the proxy refuses its own realm's credentials twice: only that realm fails
    act = c.handle(response(retry_of(sub), 407, proxy=[challenge(realm="proxy.net", nonce="p1")]))
    assert isinstance(act, GiveUp) and act.realm == "proxy.net"
    refresh = request("REGISTER", call_id="reg", cseq=3)
    assert verified(c.handle(refresh))  # REGISTER credentials still offered preemptively
    act = c.handle(response(refresh, www=[challenge(nonce="r2")]))
    assert isinstance(act, Retry) and verified(act)


def test_failure_state_is_keyed_by_call_id_and_method() -> None:
    c = client()
    inv = request("INVITE", call_id="dialog")
    c.handle(response(inv, www=[challenge(nonce="n1")]))
    # a BYE on the same Call-ID is another request: its first challenge is no failure
    bye = request("BYE", call_id="dialog", cseq=5)
    assert isinstance(c.handle(response(bye, www=[challenge(nonce="n1")])), Retry)
    # the INVITE retry (same Call-ID and method, new CSeq) continues the INVITE's chain
    act = c.handle(response(retry_of(inv), www=[challenge(nonce="n1")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.CREDENTIALS_REFUSED


def test_retry_reported_as_request_prepared_gets_the_same_headers() -> None:
    c = client()
    req = request()
    act = c.handle(response(req, www=[challenge(nonce="n1")]))
    assert isinstance(act, Retry)
    again = c.handle(retry_of(req))
    assert again == AttachCredentials(act.headers)
    refused = c.handle(response(retry_of(req), www=[challenge(nonce="n1")]))
    assert isinstance(refused, GiveUp)  # no loop: the chain was not restarted


# ---- rule 7: ACK and CANCEL -----------------------------------------------------------------


def test_ack_for_2xx_carries_invite_credentials() -> None:
    c = client(Credential(REALM, USER, password=PASSWORD), Credential("p.net", "px", password="pp"))
    inv = request("INVITE", "sip:bob@example.com", call_id="call-a", cseq=10)
    retry = c.handle(response(inv, 407, www=[challenge()], proxy=[challenge(realm="p.net")]))
    assert isinstance(retry, Retry)
    inv2 = retry_of(inv)
    assert c.handle(response(inv2, 200)) == Done(200)
    ack = c.handle(RequestPrepared("ACK", "sip:bob@192.0.2.7", "call-a", 11))
    assert ack == AttachCredentials(retry.headers)  # exact values (RFC 3261 §13.2.2.4, §22.1)
    assert c.handle(RequestPrepared("ACK", "sip:bob@192.0.2.7", "call-a", 10)) == AttachCredentials(
        ()
    )


def test_ack_memory_is_bounded() -> None:
    c = client(request_memory=2)
    for i in range(3):
        inv = request("INVITE", call_id=f"c{i}")
        c.handle(response(inv, www=[challenge(nonce=f"n{i}")]))
        c.handle(response(retry_of(inv), 200))
    assert c.handle(RequestPrepared("ACK", "sip:x", "c0", 2)) == AttachCredentials(())
    assert c.handle(RequestPrepared("ACK", "sip:x", "c2", 2)).headers != ()


def test_cancel_carries_no_credentials_and_is_never_retried() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge()]))
    c.handle(response(retry_of(req), 200))
    cancel = request("CANCEL", call_id="call-x")
    assert c.handle(cancel) == AttachCredentials(())  # RFC 3261 §9.1 copies no credentials
    act = c.handle(response(cancel, 401, www=[challenge(nonce="other")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.NOT_RETRIED
    assert c.handle(response(cancel, 200)) == Done(200)


def test_ack_is_never_retried() -> None:
    act = client().handle(response(request("ACK"), 407, proxy=[challenge()]))
    assert isinstance(act, GiveUp) and act.reason is Reason.NOT_RETRIED


# ---- rule 8: Authentication-Info ------------------------------------------------------------


def _rspauth(creds: Credentials, body: bytes = b"", password: str = PASSWORD) -> str:
    return compute_rspauth(
        algorithm=creds.algorithm, username=USER, realm=creds.realm, password=password,
        uri=creds.uri, nonce=creds.nonce, nc=creds.nc, cnonce=creds.cnonce, qop=creds.qop, body=body,
    )  # fmt: skip


def _info(creds: Credentials, rspauth: str, nextnonce: str | None = None) -> tuple[str, str]:
    info = AuthenticationInfo(
        rspauth=rspauth, qop=creds.qop, cnonce=creds.cnonce, nc=creds.nc, nextnonce=nextnonce
    )
    return ("Authentication-Info", info.render())


def test_rspauth_match_gives_mutual_done() -> None:
    c = client()
    req = request()
    creds = only(c.handle(response(req, www=[challenge(algorithm="SHA-256")])))
    done = c.handle(response(retry_of(req), 200, extra=[_info(creds, _rspauth(creds))]))
    assert done == Done(200, mutual=True)


def test_rspauth_over_auth_int_uses_the_request_body() -> None:
    # the convention server.py uses too (RFC 2617 §3.2.3): the response's own body
    # does not enter rspauth, so a client can check it before reading that body
    c = client()
    req = request("MESSAGE", body=b"ping")
    creds = only(c.handle(response(req, www=[challenge(qop="auth-int", algorithm="MD5-sess")])))
    assert creds.qop == "auth-int"
    good = _rspauth(creds, body=b"ping")
    done = c.handle(response(retry_of(req), 200, extra=[_info(creds, good)], body=b"pong"))
    assert done == Done(200, mutual=True)
    c = client()
    creds = only(c.handle(response(req, www=[challenge(qop="auth-int", algorithm="MD5-sess")])))
    other = _rspauth(creds, body=b"pong")
    done = c.handle(response(retry_of(req), 200, extra=[_info(creds, other)], body=b"pong"))
    assert isinstance(done, Done) and not done.mutual


def test_rspauth_mismatch_gives_up_when_required() -> None:
    c = client(require_rspauth=True)
    req = request()
    creds = only(c.handle(response(req, www=[challenge()])))
    wrong = _rspauth(creds, password="not the password")
    act = c.handle(response(retry_of(req), 200, extra=[_info(creds, wrong)]))
    assert isinstance(act, GiveUp)
    assert (act.reason, act.realm) == (Reason.RSPAUTH_MISMATCH, REALM)


def test_rspauth_mismatch_is_visible_when_not_required() -> None:
    c = client()
    req = request()
    creds = only(c.handle(response(req, www=[challenge()])))
    act = c.handle(response(retry_of(req), 200, extra=[_info(creds, "0" * 32)]))
    assert act == Done(200, mutual=False, quirks=("rspauth_mismatch",))


def test_rspauth_missing_gives_up_when_required_and_is_not_mutual_otherwise() -> None:
    c = client(require_rspauth=True)
    req = request()
    c.handle(response(req, www=[challenge()]))
    act = c.handle(response(retry_of(req), 200))
    assert isinstance(act, GiveUp) and act.reason is Reason.RSPAUTH_MISMATCH
    c = client()
    req = request()
    c.handle(response(req, www=[challenge()]))
    assert c.handle(response(retry_of(req), 200)) == Done(200, mutual=False)


def test_malformed_authentication_info_is_a_mismatch_not_an_exception() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge()]))
    act = c.handle(
        response(retry_of(req), 200, extra=[("Authentication-Info", 'rspauth="unterminated')])
    )
    assert act == Done(200, mutual=False, quirks=("rspauth_mismatch",))


def test_nextnonce_is_used_for_the_next_request_with_nc_restarting() -> None:
    c = client()
    req = request()
    creds = only(c.handle(response(req, www=[challenge(nonce="n1")])))
    info = _info(creds, _rspauth(creds), nextnonce="n-next")
    assert c.handle(response(retry_of(req), 200, extra=[info])) == Done(200, mutual=True)
    act = c.handle(request(call_id="call-2"))
    assert (only(act).nonce, only(act).nc) == ("n-next", "00000001")
    assert verified(act)
    # and the nextnonce credentials check out against a later rspauth too
    later = only(act)
    done = c.handle(response(request(call_id="call-2"), 200, extra=[_info(later, _rspauth(later))]))
    assert done == Done(200, mutual=True)
    assert parse_credentials(act.headers[0][1]).realm == REALM


def test_nc_keeps_eight_hex_digits_past_255() -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge(nonce="n1")]))
    c.handle(response(retry_of(req), 200))
    for i in range(2, 258):
        act = c.handle(request(call_id=f"r{i}"))
    assert only(act).nc == "00000101"  # 257
    assert verified(act)


def test_provisional_response_leaves_the_chain_alone() -> None:
    c = client()
    req = request("INVITE")
    c.handle(response(req, www=[challenge(nonce="n1")]))
    assert c.handle(response(retry_of(req), 100)) == Done(100)
    act = c.handle(response(retry_of(req), www=[challenge(nonce="n1")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.CREDENTIALS_REFUSED


def test_provided_ha1_that_cannot_answer_gives_up() -> None:
    from sipdigest.digest import compute_ha1

    c = Client([], entropy=lambda n: bytes(n))
    c.handle(response(request(), www=[challenge(algorithm="SHA-256")]))
    ha1 = compute_ha1("MD5", USER, REALM, PASSWORD)
    act = c.handle(CredentialsProvided(REALM, USER, ha1={"MD5": ha1}))
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE
