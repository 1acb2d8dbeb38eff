"""`sipdigest explain`: one capture per failure kind, the success cases, the command, fuzzing.

The captures in tests/captures/ are built by the functions below with sipdigest's own
arithmetic, in the formats people paste into tickets: `sipp -trace_msg` logs, sngrep text
exports and bare messages. A test holds every file equal to its builder, so the samples
cannot drift; SIPDIGEST_WRITE_CAPTURES=1 rewrites them.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import Challenge, Credentials, compute_ha1, compute_response, compute_userhash
from sipdigest.cli import main
from sipdigest.digest import SHA512_256_TRUNCATED
from sipdigest.explain import Code, Finding, explain_messages, explain_text, format_finding
from sipdigest.message import parse_trace

CAPTURES = Path(__file__).parent / "captures"
USER, REALM, URI = "alice", "example.com", "sip:example.com"
PASSWORD = "Tr0ub4dor&3-never-printed"
CALL_ID = "5f1c2e8a9b7d4c3e@192.0.2.10"
CNONCE = "0a4f113b9c2d"
SDP = (
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
)


# ---- builders -------------------------------------------------------------------------


def request(cseq: int, method: str = "REGISTER", uri: str = URI, headers: tuple[tuple[str, str], ...] = (),
            body: str = "", call_id: str = CALL_ID) -> str:  # fmt: skip
    to = "<sip:alice@example.com>" if method == "REGISTER" else f"<{uri}>"
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK.{cseq}{method.lower()}.7e1;rport",
        "Max-Forwards: 70",
        "From: <sip:alice@example.com>;tag=3f9a1c77",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:alice@192.0.2.10:5060;transport=udp>",
        *(f"{name}: {value}" for name, value in headers),
        "User-Agent: Acme-Phone/4.2",
        *(["Content-Type: application/sdp"] if body else []),
        f"Content-Length: {len(body.encode())}",
    ]
    return "\r\n".join(lines) + "\r\n\r\n" + body


def response(cseq: int, status: int, reason: str, method: str = "REGISTER",
             headers: tuple[tuple[str, str], ...] = (), call_id: str = CALL_ID) -> str:  # fmt: skip
    lines = [
        f"SIP/2.0 {status} {reason}",
        f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK.{cseq}{method.lower()}.7e1;rport=5060;received=192.0.2.10",
        "From: <sip:alice@example.com>;tag=3f9a1c77",
        "To: <sip:alice@example.com>;tag=as5e2f1d",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        *(f"{name}: {value}" for name, value in headers),
        "Server: example-registrar",
        "Content-Length: 0",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def challenge(nonce: str, *, realm: str = REALM, algorithm: str | None = "MD5", qop: tuple[str, ...] = ("auth",),
              opaque: str | None = None, stale: bool = False) -> str:  # fmt: skip
    return Challenge(realm=realm, nonce=nonce, algorithm=algorithm, qop=qop, opaque=opaque, stale=stale).render()


def www(nonce: str, **kw: Any) -> tuple[tuple[str, str], ...]:
    return (("WWW-Authenticate", challenge(nonce, **kw)),)


def digest(nonce: str, *, method: str = "REGISTER", uri: str = URI, realm: str = REALM, username: str = USER,
           password: str = PASSWORD, algorithm: str | None = "MD5", qop: str | None = "auth", nc: int | str = 1,
           cnonce: str = CNONCE, body: str = "", opaque: str | None = None, hashed: dict[str, Any] | None = None,
           userhash: bool = False) -> str:  # fmt: skip
    """The credentials a client sends; ``hashed`` overrides what goes into the hash (a mistake)."""
    h = {"algorithm": algorithm, "username": username, "realm": realm, "password": password,
         "method": method, "uri": uri, "qop": qop, "body": body.encode()} | (hashed or {})  # fmt: skip
    value = compute_response(nonce=nonce, nc=nc if h["qop"] else None, cnonce=cnonce, **h)
    return Credentials(
        username=compute_userhash(algorithm, username, realm) if userhash else username, realm=realm,
        nonce=nonce, uri=uri, response=value, algorithm=algorithm, cnonce=cnonce if qop else None,
        opaque=opaque, qop=qop, nc=nc if qop else None, userhash=userhash,
    ).render()  # fmt: skip


def auth(nonce: str, **kw: Any) -> tuple[tuple[str, str], ...]:
    return (("Authorization", digest(nonce, **kw)),)


def sipp(*messages: str) -> str:
    """`sipp -trace_msg`, seen from the UAC: requests sent, responses received."""
    out = []
    for n, msg in enumerate(messages):
        size = len(msg.encode())
        sent = not msg.startswith("SIP/2.0")
        direction = f"UDP message sent ({size} bytes):" if sent else f"UDP message received [{size}] bytes :"
        out.append(f"----------------------------------------------- 2024-05-14\t09:31:{n:02d}.{n * 7919 % 1000000:06d}\n"
                   f"{direction}\n\n{msg}\n")  # fmt: skip
    return "".join(out).replace("\r\n", "\n")


def sngrep(*messages: str) -> str:
    """sngrep's text export: a date and address line above each message."""
    ends = ("192.0.2.10:5060 -> 198.51.100.1:5060", "198.51.100.1:5060 -> 192.0.2.10:5060")
    return "".join(f"2024/05/14 09:31:{n:02d}.{n * 4241:06d} {ends[msg.startswith('SIP/2.0')]}\n{msg}\n"
                   for n, msg in enumerate(messages)).replace("\r\n", "\n")  # fmt: skip


def register_flow(*attempts: tuple[tuple[str, str], ...], final: str | None = "200") -> list[str]:
    """REGISTER, 401, then one REGISTER per credentials set, each answered 401 but the last."""
    msgs = [request(1), response(1, 401, "Unauthorized", headers=www("n1-8fc2a91b"))]
    for n, creds in enumerate(attempts, start=2):
        msgs.append(request(n, headers=creds))
        if n - 1 < len(attempts):
            msgs.append(response(n, 401, "Unauthorized", headers=www(f"n{n}-8fc2a91b")))
        elif final:
            msgs.append(response(n, int(final), {"200": "OK", "401": "Unauthorized", "403": "Forbidden"}[final],
                                 headers=www(f"n{n}-8fc2a91b") if final == "401" else ()))  # fmt: skip
    return msgs


def invite_flow(*, headers: tuple[tuple[str, str], ...], final: tuple[int, str] = (200, "OK"), uri: str = "sip:bob@example.com",
                offer: tuple[tuple[str, str], ...] | None = None) -> list[str]:  # fmt: skip
    offer = offer or (("Proxy-Authenticate", challenge("pn1-41d7", qop=("auth", "auth-int"))),)
    return [
        request(1, "INVITE", uri, body=SDP), response(1, 407, "Proxy Authentication Required", "INVITE", offer),
        request(1, "ACK", uri), request(2, "INVITE", uri, headers, body=SDP), response(2, 100, "Trying", "INVITE"),
        response(2, *final, "INVITE"), request(2, "ACK", uri, headers if final[0] < 300 else ()),
    ]  # fmt: skip


PROXY_REALM = "proxy.example.net"
BUILDERS: dict[str, Callable[[], str]] = {}


def capture(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register a builder for tests/captures/NAME."""

    def register(build: Callable[[], str]) -> Callable[[], str]:
        BUILDERS[name] = build
        return build

    return register


@capture("ok-md5-auth.sipp.log")
def _() -> str:
    return sipp(*register_flow(auth("n1-8fc2a91b")))


@capture("ok-sha256-auth.sngrep.txt")
def _() -> str:  # RFC 8760 §2.4: the strongest challenge first; the phone picks SHA-256
    offer = (("WWW-Authenticate", challenge("n1-sha", algorithm="SHA-256")),
             ("WWW-Authenticate", challenge("n1-sha", algorithm="MD5")))  # fmt: skip
    return sngrep(request(1), response(1, 401, "Unauthorized", headers=offer),
                  request(2, headers=auth("n1-sha", algorithm="SHA-256")), response(2, 200, "OK"))  # fmt: skip


@capture("ok-auth-int-invite.sipp.log")
def _() -> str:
    creds = digest("pn1-41d7", method="INVITE", uri="sip:bob@example.com", qop="auth-int", body=SDP)
    return sipp(*invite_flow(headers=(("Proxy-Authorization", creds),)))


@capture("ok-no-qop.txt")
def _() -> str:  # RFC 2069 form, pasted from a registrar's log
    msgs = (request(1), response(1, 401, "Unauthorized", headers=www("legacy-77", algorithm=None, qop=())),
            request(2, headers=auth("legacy-77", algorithm=None, qop=None)), response(2, 200, "OK"))  # fmt: skip
    return "Pasted from the registrar's log:\n\n" + "\n".join(m.replace("\r\n", "\n") for m in msgs)


@capture("wrong-password.sipp.log")
def _() -> str:
    typo = "Tr0ub4dor&4"
    return sipp(*register_flow(auth("n1-8fc2a91b", password=typo), auth("n2-8fc2a91b", password=typo), final="401"))


@capture("realm-mismatch.sipp.log")
def _() -> str:
    return sipp(*register_flow(auth("n1-8fc2a91b", realm="sip.example.com"), final="401"))


@capture("uri-mismatch.sipp.log")
def _() -> str:  # jambonz/sbc-outbound#186: ;transport=tls dropped from the digest-uri
    creds = digest("pn1-41d7", method="INVITE", uri="sip:+15551234567@wa.example.net")
    return sipp(*invite_flow(uri="sip:+15551234567@wa.example.net;transport=tls", headers=(("Proxy-Authorization", creds),),
                             final=(403, "Proxy auth uri does not match SIP to uri")))  # fmt: skip


@capture("algorithm-mismatch.sipp.log")
def _() -> str:
    return sipp(request(1), response(1, 401, "Unauthorized", headers=www("n1-sha", algorithm="SHA-256")),
                request(2, headers=auth("n1-sha", algorithm="SHA-256", hashed={"algorithm": "MD5"})),
                response(2, 401, "Unauthorized", headers=www("n2-sha", algorithm="SHA-256")))  # fmt: skip


@capture("qop-mismatch.sipp.log")
def _() -> str:
    return sipp(*register_flow(auth("n1-8fc2a91b", hashed={"qop": None}), final="401"))


@capture("stale-nonce.sipp.log")
def _() -> str:  # the client ignores stale=true and keeps its old nonce
    return sipp(request(1), response(1, 401, "Unauthorized", headers=www("s1-0c9d")),
                request(2, headers=auth("s1-0c9d")), response(2, 401, "Unauthorized", headers=www("s2-0c9d", stale=True)),
                request(3, headers=auth("s1-0c9d", nc=2)), response(3, 401, "Unauthorized", headers=www("s3-0c9d", stale=True)))  # fmt: skip


@capture("repeated-nc.sipp.log")
def _() -> str:  # RestComm/jain-sip#181: nc stays 00000001 on a reused nonce
    return sipp(request(1), response(1, 401, "Unauthorized", headers=www("r1-5a1e")),
                request(2, headers=auth("r1-5a1e")), response(2, 200, "OK"),
                request(3, headers=auth("r1-5a1e", cnonce="77b21c0e44aa")), response(3, 403, "Forbidden"))  # fmt: skip


@capture("malformed-header.sipp.log")
def _() -> str:  # herlesupreeth/kamailio#8: a UE that loses nc after qop=auth
    creds = digest("m1-9e02").replace(", nc=00000001", "")
    return sipp(request(1), response(1, 401, "Unauthorized", headers=www("m1-9e02")),
                request(2, headers=(("Authorization", creds),)),
                response(2, 400, "Bad Request - qop specified with no nonce count"))  # fmt: skip


@capture("other-realm.sipp.log")
def _() -> str:  # a proxy challenges; the phone answers with its registrar's realm and nonce
    offer = (("Proxy-Authenticate", challenge("px1-e4", realm=PROXY_REALM)),)
    creds = digest("registrar-nonce-31", method="INVITE", uri="sip:bob@example.com")
    return sipp(*invite_flow(offer=offer, headers=(("Proxy-Authorization", creds),),
                             final=(407, "Proxy Authentication Required")))  # fmt: skip


@capture("missing-credentials.sipp.log")
def _() -> str:  # a phone without SHA-512-256 gives up silently
    return sipp(request(1), response(1, 401, "Unauthorized", headers=www("x1-b3", algorithm="SHA-512-256")))


@capture("server-refused-expired-nonce.sipp.log")
def _() -> str:  # REFERENCE Q1: a right answer re-challenged without stale=true
    return sipp(*register_flow(auth("n1-8fc2a91b"), auth("n2-8fc2a91b")))


def read(name: str) -> str:
    return (CAPTURES / name).read_text("utf-8")


def explain(name: str, **kw: Any) -> list[Finding]:
    return explain_text(read(name), **({"password": PASSWORD} | kw))


def codes(finding: Finding) -> list[Code]:
    return [p.code for p in finding.problems]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_capture_files_are_what_their_builders_make() -> None:
    for name, build in BUILDERS.items():
        if os.environ.get("SIPDIGEST_WRITE_CAPTURES"):
            CAPTURES.mkdir(exist_ok=True)
            (CAPTURES / name).write_text(build(), "utf-8")
        assert read(name) == build(), name
    assert sorted(p.name for p in CAPTURES.iterdir()) == sorted(BUILDERS)


# ---- success ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in BUILDERS if n.startswith("ok-")])
def test_successful_captures_are_ok(name: str) -> None:
    f = only(explain(name))
    assert (f.verdict, f.digest, f.problems, f.server_status) == ("ok", "ok", [], 200)
    assert f.expected == f.received


@pytest.mark.parametrize("algorithm, qop", [
    (alg + sess, qop) for alg in ("MD5", "SHA-256", "SHA-512-256") for sess in ("", "-sess")
    for qop in ("auth", "auth-int", None) if not (sess and qop is None)  # -sess needs a cnonce, hence a qop
])  # fmt: skip
def test_every_algorithm_and_qop_verifies(algorithm: str, qop: str | None) -> None:
    offer = (("Proxy-Authenticate", challenge("pn1-41d7", algorithm=algorithm, qop=("auth", "auth-int") if qop else ())),)
    creds = digest("pn1-41d7", method="INVITE", uri="sip:bob@example.com", algorithm=algorithm, qop=qop, body=SDP)
    text = sipp(*invite_flow(offer=offer, headers=(("Proxy-Authorization", creds),)))
    f = only(explain_text(text, password=PASSWORD))
    assert (f.verdict, f.digest, f.problems) == ("ok", "ok", [])
    ha1 = compute_ha1(algorithm, USER, REALM, PASSWORD)
    assert only(explain_text(text, ha1=ha1.upper())).digest == "ok"


def test_auth_int_covers_the_body() -> None:
    text = read("ok-auth-int-invite.sipp.log")
    at = text.rindex("c=IN IP4 192.0.2.10")  # the second INVITE's SDP, rewritten by a NAT helper
    f = only(explain_text(text[:at] + "c=IN IP4 192.0.2.99" + text[at + 19 :], password=PASSWORD))
    assert f.digest == "failed" and codes(f) == [Code.WRONG_PASSWORD]
    assert "body changed on the way" in f.problems[0].message
    assert f.verdict == "ok"  # the server's 200 still stands; the password is what looks wrong here
    assert "not the one it has" in f.problems[0].message


def test_auth_int_over_an_empty_body() -> None:
    creds = digest("pn1-41d7", method="INVITE", uri="sip:bob@example.com", qop="auth-int", body=SDP, hashed={"body": b""})
    f = only(explain_text(sipp(*invite_flow(headers=(("Proxy-Authorization", creds),))[:4]), password=PASSWORD))
    assert codes(f)[0] == Code.BODY_MISMATCH and f.verdict == "failed"


# ---- one capture per failure kind -------------------------------------------------------


def test_wrong_password() -> None:
    findings = explain("wrong-password.sipp.log")
    assert [(f.verdict, f.digest, codes(f)) for f in findings] == [("failed", "failed", [Code.WRONG_PASSWORD])] * 2
    assert findings[0].expected != findings[0].received
    assert format_finding(findings[0]).splitlines()[0] == (
        'REGISTER sip:example.com (CSeq 2) realm "example.com" user "alice": FAILED — wrong password'
    )


def test_realm_mismatch() -> None:
    f = only(explain("realm-mismatch.sipp.log"))
    assert codes(f) == [Code.REALM_MISMATCH] and f.verdict == "failed"
    assert f.digest == "ok"  # consistent with the realm it sent, just not the one challenged
    assert "'example.com'" in f.problems[0].message and "'sip.example.com'" in f.problems[0].message


def test_realm_of_the_sip_domain_used_for_ha1() -> None:
    # REFERENCE §1.10: the provider's realm differs from the domain; the phone hashed the domain.
    text = sipp(request(1), response(1, 401, "Unauthorized", headers=www("v1", realm="sip-1.pb")),
                request(2, headers=auth("v1", realm="sip-1.pb", hashed={"realm": "example.com"})))  # fmt: skip
    f = only(explain_text(text, password=PASSWORD))
    assert codes(f) == [Code.REALM_MISMATCH] and "realm 'example.com'" in f.problems[0].message
    assert f.verdict == "failed"  # no server answer: our own findings decide


def test_uri_mismatch() -> None:
    f = only(explain("uri-mismatch.sipp.log"))
    assert codes(f) == [Code.URI_MISMATCH] and f.digest == "ok"
    assert (f.verdict, f.server_status) == ("failed", 403)


def test_uri_mismatch_without_a_password_still_found() -> None:
    f = only(explain("uri-mismatch.sipp.log", password=None))
    assert codes(f) == [Code.URI_MISMATCH] and f.digest == "unknown" and f.expected is None


def test_response_computed_over_the_request_uri_but_another_uri_sent() -> None:
    creds = digest("n1-8fc2a91b", uri="sip:registrar.example.com", hashed={"uri": URI})
    f = only(explain_text(sipp(*register_flow((("Authorization", creds),), final="401")), password=PASSWORD))
    assert codes(f) == [Code.URI_MISMATCH] and "computed over the Request-URI" in f.problems[0].message


def test_algorithm_mismatch_md5_labelled_sha256() -> None:
    f = only(explain("algorithm-mismatch.sipp.log"))
    assert codes(f) == [Code.ALGORITHM_MISMATCH] and f.verdict == "failed"
    assert "computed with MD5 while labelled SHA-256" in f.problems[0].message
    blind = only(explain("algorithm-mismatch.sipp.log", password=None))  # the length gives it away
    assert codes(blind) == [Code.ALGORITHM_MISMATCH] and "32 hex digits" in blind.problems[0].message


def test_algorithm_mismatch_found_with_an_md5_ha1_too() -> None:
    f = only(explain("algorithm-mismatch.sipp.log", password=None, ha1=compute_ha1("MD5", USER, REALM, PASSWORD)))
    assert "computed with MD5 while labelled SHA-256" in f.problems[0].message


def test_algorithm_not_offered_by_the_challenge() -> None:
    text = sipp(request(1), response(1, 401, "Unauthorized", headers=www("a1", algorithm="SHA-256")),
                request(2, headers=auth("a1", algorithm="MD5")), response(2, 403, "Forbidden"))  # fmt: skip
    f = only(explain_text(text, password=PASSWORD))
    assert codes(f) == [Code.ALGORITHM_MISMATCH] and "offered SHA-256" in f.problems[0].message


def test_sha512_256_computed_as_truncated_sha512() -> None:
    creds = digest("t1", algorithm="SHA-512-256", hashed={"algorithm": SHA512_256_TRUNCATED})
    text = sipp(request(1), response(1, 401, "Unauthorized", headers=www("t1", algorithm="SHA-512-256")),
                request(2, headers=(("Authorization", creds),)))  # fmt: skip
    f = only(explain_text(text, password=PASSWORD))
    assert codes(f) == [Code.ALGORITHM_MISMATCH] and "erratum 4897" in f.problems[0].message


def test_unsupported_algorithm() -> None:
    creds = digest("u1").replace("algorithm=MD5", "algorithm=SHA-1")
    f = only(explain_text(sipp(*register_flow((("Authorization", creds),), final="401")), password=PASSWORD))
    assert Code.UNSUPPORTED_ALGORITHM in codes(f) and f.verdict == "failed"


def test_qop_mismatch() -> None:
    f = only(explain("qop-mismatch.sipp.log"))
    assert codes(f) == [Code.QOP_MISMATCH] and "no qop" in f.problems[0].message


def test_qop_missing_although_challenged() -> None:
    f = only(explain_text(sipp(*register_flow(auth("n1-8fc2a91b", qop=None), final="401")), password=PASSWORD))
    assert codes(f) == [Code.QOP_MISMATCH] and f.digest == "ok"


def test_auth_sent_but_auth_int_computed() -> None:
    creds = digest("pn1-41d7", method="INVITE", uri="sip:bob@example.com", body=SDP, hashed={"qop": "auth-int"})
    f = only(explain_text(sipp(*invite_flow(headers=(("Proxy-Authorization", creds),))), password=PASSWORD))
    assert codes(f) == [Code.QOP_MISMATCH] and "qop=auth-int" in f.problems[0].message


def test_stale_nonce() -> None:
    first, second = explain("stale-nonce.sipp.log")
    assert codes(first) == [Code.STALE_NONCE] and first.digest == "ok"
    assert "stale=true" in first.problems[0].message
    assert codes(second) == [Code.STALE_NONCE] and "used it again" in second.problems[0].message


def test_nonce_expired_without_stale_true_blames_the_server() -> None:
    refused, accepted = explain("server-refused-expired-nonce.sipp.log")
    assert codes(refused) == [Code.SERVER_REFUSED] and refused.digest == "ok"
    assert "no stale=true" in refused.problems[0].message
    assert (accepted.verdict, accepted.problems) == ("ok", [])


def test_repeated_nc() -> None:
    first, replay = explain("repeated-nc.sipp.log")
    assert first.verdict == "ok"
    assert codes(replay) == [Code.REPEATED_NC] and (replay.verdict, replay.server_status) == ("failed", 403)


def test_nc_must_increase() -> None:
    text = sipp(*register_flow(auth("n1-8fc2a91b", nc=5), final="200"),
                request(3, headers=auth("n1-8fc2a91b", nc=3)))  # fmt: skip
    assert codes(explain_text(text, password=PASSWORD)[1]) == [Code.NC_NOT_INCREASING]


def test_retransmission_is_not_a_repeated_nc() -> None:
    msgs = register_flow(auth("n1-8fc2a91b"))
    f = only(explain_text(sipp(*msgs[:3], msgs[2], *msgs[3:]), password=PASSWORD))
    assert (f.verdict, f.problems) == ("ok", [])


def test_malformed_header() -> None:
    f = only(explain("malformed-header.sipp.log"))
    assert codes(f) == [Code.MALFORMED_HEADER] and "qop without nc" in f.problems[0].message
    assert (f.verdict, f.server_status) == ("failed", 400)


@pytest.mark.parametrize("value", ["Basic YWxpY2U6c2VjcmV0", 'Digest username="alice", realm="example.com"',
                                   digest("n1-8fc2a91b", nc="1")])  # fmt: skip
def test_other_malformed_credentials(value: str) -> None:
    f = only(explain_text(sipp(*register_flow((("Authorization", value),), final="401")), password=PASSWORD))
    assert Code.MALFORMED_HEADER in codes(f) and f.verdict == "failed"


def test_credentials_for_another_realm() -> None:
    f = only(explain("other-realm.sipp.log"))
    assert codes(f) == [Code.OTHER_REALM] and PROXY_REALM in f.problems[0].message
    assert f.header == "Proxy-Authorization" and f.verdict == "failed"


def test_unknown_nonce() -> None:
    text = sipp(*register_flow(auth("made-up-nonce"), final="401"))
    assert codes(only(explain_text(text, password=PASSWORD))) == [Code.UNKNOWN_NONCE]


def test_missing_credentials() -> None:
    f = only(explain("missing-credentials.sipp.log"))
    assert codes(f) == [Code.MISSING_CREDENTIALS] and "SHA-512-256" in f.problems[0].message
    assert (f.index, f.realm, f.verdict) == (0, REALM, "failed")


def test_challenge_answered_later_is_not_missing() -> None:
    assert [f.index for f in explain("ok-md5-auth.sipp.log")] == [2]


def test_opaque_must_be_echoed() -> None:
    text = sipp(request(1), response(1, 401, "Unauthorized", headers=www("o1", opaque="")),
                request(2, headers=auth("o1")))  # fmt: skip
    assert codes(only(explain_text(text, password=PASSWORD))) == [Code.OPAQUE_MISMATCH]


def test_method_mismatch() -> None:
    text = sipp(request(1, "BYE", headers=auth("n1-8fc2a91b", method="BYE", hashed={"method": "INVITE"})))
    f = only(explain_text(read("ok-md5-auth.sipp.log") + text, password=PASSWORD)[1:])
    assert codes(f)[0] == Code.METHOD_MISMATCH and "'INVITE'" in f.problems[0].message


def test_username_with_domain_ha1b() -> None:
    creds = digest("n1-8fc2a91b", username="alice@example.com", hashed={"username": "alice"})
    f = only(explain_text(sipp(*register_flow((("Authorization", creds),), final=None)), password=PASSWORD))
    assert codes(f) == [Code.USERNAME_MISMATCH] and "'alice'" in f.problems[0].message


def test_uppercase_hex() -> None:
    creds = digest("n1-8fc2a91b")
    at = creds.index('response="') + 10
    creds = creds[:at] + creds[at : at + 32].upper() + creds[at + 32 :]
    f = only(explain_text(sipp(*register_flow((("Authorization", creds),), final="401")), password=PASSWORD))
    assert codes(f) == [Code.UPPERCASE_HEX] and f.digest == "ok"


def test_userhash_needs_the_real_username() -> None:
    text = sipp(*register_flow(auth("n1-8fc2a91b", algorithm="SHA-256", userhash=True), final=None))
    assert only(explain_text(text, password=PASSWORD)).digest == "unknown"
    assert only(explain_text(text, password=PASSWORD, username=USER)).digest == "ok"


def test_secret_of_another_user_is_not_used() -> None:
    f = only(explain("ok-md5-auth.sipp.log", username="bob"))
    assert f.digest == "unknown" and "not checked" in f.notes[0]


def test_server_accepted_what_the_given_password_does_not_verify() -> None:
    f = only(explain("ok-md5-auth.sipp.log", password="not-it"))
    assert f.verdict == "ok" and "not the one it has" in f.problems[0].message


def test_without_secret_or_server_answer_it_is_unknown() -> None:
    f = only(explain_text(sipp(*register_flow(auth("n1-8fc2a91b"), final=None))))
    assert (f.verdict, f.digest, f.problems) == ("unknown", "unknown", [])


def test_an_ha1_for_another_algorithm_is_reported() -> None:
    f = only(explain("ok-sha256-auth.sngrep.txt", password=None, ha1=compute_ha1("MD5", USER, REALM, PASSWORD)))
    assert f.digest == "unknown" and f.verdict == "ok" and "not for SHA-256" in f.notes[-1]


def test_ha1_table_picks_the_ha1_of_the_algorithm_used() -> None:
    table = {"MD5": compute_ha1("MD5", USER, REALM, "wrong"), "sha-256": compute_ha1("SHA-256", USER, REALM, PASSWORD)}
    f = only(explain("ok-sha256-auth.sngrep.txt", password=None, ha1=table))
    assert (f.digest, f.verdict) == ("ok", "ok")
    f = only(explain("ok-sha256-auth.sngrep.txt", password=None, ha1={"MD5": table["MD5"]}))
    assert f.digest == "unknown"  # no SHA-256 HA1 in the table: nothing to check with


def test_command_with_an_algorithm_prefixed_ha1_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    sha = compute_ha1("SHA-256", USER, REALM, PASSWORD)
    (tmp_path / "ha1").write_text(f"MD5:{compute_ha1('MD5', USER, REALM, PASSWORD)}\nSHA-256:{sha}\n")
    code, out, _ = run(["explain", str(CAPTURES / "ok-sha256-auth.sngrep.txt"), "--ha1-file", str(tmp_path / "ha1")],
                       capsys, monkeypatch)  # fmt: skip
    assert code == 0 and ": OK" in out and sha not in out


def test_password_and_ha1_together_is_an_error() -> None:
    with pytest.raises(ValueError):
        explain_messages([], password="x", ha1="0" * 32)


def test_messages_api_matches_text_api() -> None:
    text = read("repeated-nc.sipp.log")
    assert explain_messages(parse_trace(text), password=PASSWORD) == explain_text(text, password=PASSWORD)


# ---- the command ------------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("EXPLAIN_PW", PASSWORD)
    monkeypatch.delenv("SIPDIGEST_PASSWORD", raising=False)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_command_exit_status_and_no_secret_in_output(name: str, json_flag: list[str], capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    code, out, err = run(["explain", str(CAPTURES / name), "--password-env", "EXPLAIN_PW", *json_flag], capsys, monkeypatch)
    assert code == (0 if name.startswith("ok-") else 1), out
    assert PASSWORD not in out + err
    assert all(compute_ha1(alg, USER, REALM, PASSWORD) not in out for alg in ("MD5", "SHA-256", "SHA-512-256"))
    if json_flag:
        assert json.loads(out)["findings"]


def test_command_json_shape(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(["explain", str(CAPTURES / "wrong-password.sipp.log"), "--password-env", "EXPLAIN_PW", "--json"], capsys, monkeypatch)
    doc = json.loads(out)
    assert doc["messages"] == 6
    first = doc["findings"][0]
    assert first["problems"][0]["code"] == "wrong-password" and first["verdict"] == "failed"
    assert {"expected", "received", "server_status", "algorithm", "qop", "nc", "cnonce"} <= set(first)


def test_command_human_output_aligns_expected_and_received(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(["explain", str(CAPTURES / "wrong-password.sipp.log"), "--password-env", "EXPLAIN_PW"], capsys, monkeypatch)
    exp, rec = [line for line in out.splitlines() if line.lstrip().startswith(("expected", "received"))][:2]
    assert exp.index("  ", 12) == rec.index("  ", 12) and exp.split()[-1] != rec.split()[-1]


def test_command_with_ha1_file_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ha1 = compute_ha1("MD5", USER, REALM, PASSWORD)
    (tmp_path / "ha1").write_text(ha1 + "\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(read("ok-md5-auth.sipp.log").encode())))
    code, out, _ = run(["explain", "-", "--ha1-file", str(tmp_path / "ha1")], capsys, monkeypatch)
    assert code == 0 and ": OK" in out and ha1 not in out


def test_command_on_a_capture_without_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    (tmp_path / "options.txt").write_text(request(1, "OPTIONS") + response(1, 200, "OK", "OPTIONS"))
    code, out, _ = run(["explain", str(tmp_path / "options.txt")], capsys, monkeypatch)
    assert (code, out) == (0, "2 messages, no digest auth\n")


def test_command_without_secret_still_explains(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["explain", str(CAPTURES / "repeated-nc.sipp.log")], capsys, monkeypatch)
    assert code == 1 and "repeated nc" in out and "no password or HA1 given" in out


@pytest.mark.parametrize("argv, stdin, message", [
    (["explain", "CAPTURES/missing.log"], "", "cannot read"),
    (["explain", "-"], "hello, no SIP here\n", "no SIP messages found"),
    (["explain", "CAPTURES/ok-md5-auth.sipp.log", "--ha1-file", "HA1"], "", "32 or 64 hex digits"),
    (["explain", "-", "--password-file", "-"], "", "both come from stdin"),
    (["explain", "CAPTURES/ok-md5-auth.sipp.log", "--password-env", "EXPLAIN_PW", "--ha1-file", "HA1"], "", "only one"),
    (["explain"], "", "explain"),
])  # fmt: skip
def test_command_usage_errors_exit_2_in_one_line(argv: list[str], stdin: str, message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    (tmp_path / "ha1").write_text("not-hex\n")
    argv = [a.replace("CAPTURES", str(CAPTURES)).replace("HA1", str(tmp_path / "ha1")) for a in argv]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code, out, err = run(argv, capsys, monkeypatch)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


# ---- nothing raises ---------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = BUILDERS["ok-auth-int-invite.sipp.log"]() + BUILDERS["stale-nonce.sipp.log"]()


@FUZZ
@given(st.text(max_size=3000), st.sampled_from([None, PASSWORD, "\udcff"]))
def test_random_text_never_raises(text: str, password: str | None) -> None:
    for f in explain_text(text, password=password):
        assert f.verdict in ("ok", "failed", "unknown")
        format_finding(f)
        json.dumps(f.to_dict())


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 40), st.text(max_size=40)), max_size=8))
def test_mangled_captures_never_raise(edits: list[tuple[int, int, str]]) -> None:
    text = SAMPLE
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    for f in explain_text(text, password=PASSWORD) + explain_text(text, ha1="0" * 64, username="alice"):
        format_finding(f)
        json.dumps(f.to_dict())


@FUZZ
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=300))
def test_random_authorization_values_never_raise(value: str) -> None:
    text = sipp(*register_flow((("Authorization", value),), (("Proxy-Authorization", value),), final="401"))
    for f in explain_text(text, password=PASSWORD):
        format_finding(f)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_command_on_random_bytes_never_raises(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        path = Path(tmp) / "capture.log"
        path.write_bytes(data)
        mp.setattr(sys, "stdout", io.StringIO())
        mp.setattr(sys, "stderr", io.StringIO())
        assert main(["explain", str(path)]) in (0, 1, 2)
