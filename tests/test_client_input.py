"""Client rules 9-10 and the rest: userhash, username*, malformed input, quirks, cnonce,
and the rendered header text."""

from __future__ import annotations

import re
from collections import Counter
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import compute_userhash, parse_credentials, verify_credentials
from sipdigest._client_state import CnonceSource
from sipdigest.actions import Action, Done, GiveUp, Reason, Retry
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.errors import LocalProtocolError
from sipdigest.events import ResponseReceived
from sipdigest.policy import ClientPolicy

from .test_client_helpers import (
    REALM,
    USER,
    challenge,
    client,
    entropy,
    only,
    request,
    response,
    retry_of,
    value_of,
    verified,
)


def _vector(vectors: dict[str, Any], vid: str) -> dict[str, Any]:
    return next(v for v in vectors["digest"] if v["id"] == vid)


def _challenge_of(v: dict[str, Any], algorithm: str) -> str:
    return (
        f'Digest realm="{v["realm"]}", qop="auth", algorithm={algorithm}, '
        f'nonce="{v["nonce"]}", opaque="{v.get("opaque", "")}", charset=UTF-8, userhash=true'
    )


# ---- rule 9: userhash and username* -----------------------------------------------------------


def test_userhash_challenge_answered_with_userhash(
    twin: ModuleType, vectors: dict[str, Any]
) -> None:
    v = _vector(vectors, "rfc7616-3.9.2-sha512-256-userhash-corrected")
    c = Client([Credential(v["realm"], v["username"], password=v["password"])])
    c._new_cnonce = lambda: v["cnonce"]  # test hook: the RFC's cnonce has "+" and "/"
    act = c.handle(response(request(v["method"], v["uri"]), www=[_challenge_of(v, "SHA-512-256")]))
    assert isinstance(act, Retry)
    creds = only(act)
    assert creds.userhash and not creds.username_star
    assert creds.username == v["expected"]["userhash_username"]
    assert creds.username == compute_userhash("SHA-512-256", v["username"], v["realm"])
    assert creds.response == v["expected"]["response"]  # real SHA-512/256 (erratum 4897)
    assert verify_credentials(value_of(act, realm=v["realm"]), method="GET",
                              password=v["password"], username=v["username"])  # fmt: skip


def test_non_ascii_username_is_sent_as_username_star(vectors: dict[str, Any]) -> None:
    v = _vector(vectors, "rfc7616-3.9.2-sha512-256-userhash-corrected")
    c = client(Credential(v["realm"], v["username"], password=v["password"]))
    act = c.handle(
        response(request("GET", v["uri"]), www=[challenge(v["realm"], algorithm="SHA-256")])
    )
    assert isinstance(act, Retry)
    value = value_of(act, realm=v["realm"])
    assert f"username*={v['expected']['username_star']}," in value  # RFC 7616 §3.4.4
    assert only(act).username == v["username"]
    assert verified(act, "GET", v["password"], realm=v["realm"])


# ---- rule 10: malformed challenges never escape as exceptions -------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Digest",
        'Digest realm="example.com"',  # no nonce
        'Digest nonce="abc"',  # no realm
        'Digest realm="example.com", nonce="unterminated',
        'Digest realm="a", realm="b", nonce="x"',  # duplicate parameter
        "Digest dGVzdA==",  # token68 where parameters belong
        "%%% garbage ;;; \x00",
        "Digest " + "x=y, " * 200 + 'realm="r", nonce="n"',  # too many parameters
        'Digest realm="' + "a" * 9000 + '", nonce="n"',  # longer than MAX_HEADER_LENGTH
    ],
)
def test_malformed_challenge_gives_up_not_raises(value: str) -> None:
    act = client().handle(response(request(), www=[value]))
    assert isinstance(act, GiveUp)
    assert act.reason is Reason.MALFORMED and act.detail


def test_good_challenges_answered_when_others_are_malformed() -> None:
    www = ['Digest realm="example.com", nonce="broken', "Digest nonce=1", challenge(nonce="good")]
    act = client().handle(response(request(), www=www))
    assert isinstance(act, Retry) and only(act).nonce == "good"
    assert verified(act)
    line = 'Digest realm="other.org", Digest realm="example.com", nonce="fine", qop=auth'
    act = client().handle(response(request(), www=[line]))
    assert isinstance(act, Retry) and only(act).nonce == "fine"


_HEADER_TEXT = st.text(
    alphabet=st.sampled_from(
        list('Digest realm="example.com", nonce=\\abcMD5-SHA256qop=auth,int\t\r\n\x00é')
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from([401, 407, 200]),
    values=st.lists(st.one_of(_HEADER_TEXT, st.text(max_size=80)), max_size=4),
    info=st.one_of(st.none(), _HEADER_TEXT),
)
def test_arbitrary_remote_headers_never_raise(
    status: int, values: list[str], info: str | None
) -> None:
    c = client()
    req = request()
    c.handle(response(req, www=[challenge()]))
    headers = [("WWW-Authenticate", v) for v in values] + [
        ("Proxy-Authenticate", v) for v in values
    ]
    if info is not None:
        headers.append(("Authentication-Info", info))
    act = c.handle(ResponseReceived(status, headers, retry_of(req)))
    assert isinstance(act, Action)
    if isinstance(act, Retry):
        for _, value in act.headers:
            assert "\r" not in value and "\n" not in value
            parse_credentials(value)  # what we send always parses


# ---- quirks -----------------------------------------------------------------------------------


def test_truncated_sha512_quirk_answers_as_its_peers_do_and_is_reported(
    vectors: dict[str, Any],
) -> None:
    v = _vector(vectors, "rfc7616-3.9.2-as-printed-truncated-sha512")
    c = Client([Credential(v["realm"], v["username"], password=v["password"])],
               ClientPolicy(quirks=frozenset({"truncated_sha512"})), entropy=entropy())  # fmt: skip
    c._new_cnonce = lambda: v["cnonce"]
    req = request(v["method"], v["uri"])
    act = c.handle(response(req, www=[_challenge_of(v, "SHA-512-256")]))
    assert isinstance(act, Retry)
    creds = only(act)
    assert (creds.algorithm, creds.username) == ("SHA-512-256", v["expected"]["userhash_username"])
    assert creds.response == v["expected"]["response"]  # RFC 7616's printed (truncated) value
    assert c.handle(response(retry_of(req), 200)) == Done(200, quirks=("truncated_sha512",))


def test_strict_client_never_produces_the_truncated_sha512_value(vectors: dict[str, Any]) -> None:
    v = _vector(vectors, "rfc7616-3.9.2-as-printed-truncated-sha512")
    c = client(Credential(v["realm"], v["username"], password=v["password"]))
    c._new_cnonce = lambda: v["cnonce"]
    act = c.handle(response(request(v["method"], v["uri"]), www=[_challenge_of(v, "SHA-512-256")]))
    assert isinstance(act, Retry) and only(act).response != v["expected"]["response"]


def test_algorithm_aliases_quirk_reads_spelling_variants_only() -> None:
    strict = client().handle(response(request(), www=[challenge(algorithm="SHA256")]))
    assert isinstance(strict, GiveUp) and strict.reason is Reason.NO_SUPPORTED_CHALLENGE
    c = client(quirks=frozenset({"algorithm_aliases"}))
    req = request()
    act = c.handle(response(req, www=[challenge(algorithm="SHA256")]))
    assert isinstance(act, Retry)
    assert only(act).algorithm == "SHA-256"  # labelled with the registry token
    assert verified(act)
    assert c.handle(response(retry_of(req), 200)) == Done(200, quirks=("algorithm_aliases",))
    for other_hash in ("SHA", "SHA-512", "SHA1"):  # another hash function: still refused
        act = client(quirks=frozenset({"algorithm_aliases"})).handle(
            response(request(), www=[challenge(algorithm=other_hash)])
        )
        assert isinstance(act, GiveUp), other_hash


def test_algorithm_aliases_respect_the_policy() -> None:
    c = client(quirks=frozenset({"algorithm_aliases"}), algorithm_floor="SHA-256")
    act = c.handle(response(request(), www=[challenge(algorithm="MD5SESS")]))
    assert isinstance(act, GiveUp) and act.reason is Reason.NO_SUPPORTED_CHALLENGE


# ---- rule 5: cnonce -----------------------------------------------------------------------------


def test_cnonce_alphabet_and_entropy() -> None:
    seen = set()
    for seed in range(3):
        c = client(seed=seed)
        act = c.handle(response(request(), www=[challenge()]))
        cnonce = only(act).cnonce
        assert cnonce is not None and re.fullmatch(r"[A-Za-z0-9]{16}", cnonce)
        seen.add(cnonce)
    assert len(seen) == 3  # drawn from the injected entropy
    same = [
        only(client(seed=7).handle(response(request(), www=[challenge()]))).cnonce for _ in "ab"
    ]
    assert same[0] == same[1]  # deterministic entropy, deterministic cnonce (replayable logs)
    long = client(cnonce_length=40).handle(response(request(), www=[challenge()]))
    assert len(only(long).cnonce or "") == 40
    with pytest.raises(LocalProtocolError):
        ClientPolicy(cnonce_length=10)  # 62**10 < 2**64


def _draw(source: CnonceSource) -> str:
    try:
        return source.take()
    except IndexError:
        return source.refill()


def test_cnonce_rejection_sampling_has_no_modulo_bias() -> None:
    source = CnonceSource(lambda n: bytes(i % 256 for i in range(n)), 62)
    chars = "".join(_draw(source) for _ in range(4))  # 248 characters: bytes 0..247 once each
    assert Counter(chars) == {c: 4 for c in set(chars)} and len(set(chars)) == 62
    calls = []

    def mostly_rejected(n: int) -> bytes:
        calls.append(n)
        return b"\xf8" * (n - 1) + b"\x00"  # bytes >= 248 are never used

    assert _draw(CnonceSource(mostly_rejected, 16)) == "A" * 16
    assert len(calls) == 16
    ordered = CnonceSource(lambda n: bytes(range(n)), 16)
    assert [_draw(ordered) for _ in range(3)] == [
        "ABCDEFGHIJKLMNOP",
        "QRSTUVWXYZabcdef",
        "ghijklmnopqrstuv",
    ]


def test_entropy_must_return_the_requested_bytes() -> None:
    c = Client([Credential(REALM, USER, password="pw")], entropy=lambda n: b"short")
    with pytest.raises(LocalProtocolError):
        c.handle(response(request(), www=[challenge()]))


# ---- the header text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chal",
    [
        challenge(realm='we\\"ird \\\\realm', nonce='n\\"q', opaque=""),
        challenge(algorithm=None, qop=None, opaque="o"),
        challenge(algorithm="SHA-256-sess", qop="auth-int", userhash=True),
        'Digest realm=example.com, nonce=tok\\en, qop=auth, algorithm="MD5"',
    ],
)
def test_rendered_credentials_are_canonical(chal: str) -> None:
    cred = Credential(parse_realm(chal), 'bob "the" \\builder', password="pw")
    act = client(cred).handle(
        response(request(uri="sip:bob@example.com;transport=tls"), www=[chal])
    )
    assert isinstance(act, Retry)
    value = act.headers[0][1]
    assert parse_credentials(value).render() == value  # the exact text headers.Credentials renders
    assert parse_credentials(value).uri == "sip:bob@example.com;transport=tls"  # jambonz#186
    assert verify_credentials(value, method="REGISTER", password="pw", username=cred.username)


def parse_realm(chal: str) -> str:
    from sipdigest import parse_challenges

    realm = parse_challenges(chal)[0].realm
    assert realm is not None
    return realm


def test_username_with_control_characters_is_refused_locally() -> None:
    c = client(Credential(REALM, "evil\r\nVia: x", password="pw"))
    with pytest.raises(LocalProtocolError):
        c.handle(response(request(), www=[challenge()]))


def test_policy_fields_are_validated() -> None:
    with pytest.raises(LocalProtocolError):
        ClientPolicy(request_memory=0)
    with pytest.raises(LocalProtocolError):
        ClientPolicy(quirks=frozenset({"no_such_quirk"}))
    with pytest.raises(LocalProtocolError):
        Client([], policy="strict")  # type: ignore[arg-type]


def test_quirks_needed_by_a_reused_nonce_are_reported_again() -> None:
    c = client(quirks=frozenset({"algorithm_aliases"}))
    req = request()
    c.handle(response(req, www=[challenge(algorithm="SHA256")]))
    c.handle(response(retry_of(req), 200))
    later = request(call_id="call-2")
    act = c.handle(later)
    assert only(act).algorithm == "SHA-256" and verified(act)
    assert c.handle(response(later, 200)) == Done(200, quirks=("algorithm_aliases",))
