"""ACK and CANCEL (rule 6, RFC 3261 §22.1, §13.2.2.4): never challenged; an ACK carrying
the credentials accepted for its INVITE is accepted, from a bounded, expiring memory."""

from __future__ import annotations

import pytest

from sipdigest._state import ExpiringMemory, dialog_key
from sipdigest.actions import Accept, Exempt, Reason, SendChallenge
from sipdigest.events import RequestReceived

from .test_server_kit import BASE_HEADERS, URI, accepted, authorize, make_server, pick, request

pytestmark = pytest.mark.usefixtures("twin")

INVITE_HEADERS = [(n, "1 INVITE" if n == "CSeq" else v) for n, v in BASE_HEADERS]
ACK_HEADERS = [(n, "1 ACK" if n == "CSeq" else v) for n, v in BASE_HEADERS]


def _invite(srv, now: float = 1000.0, **kw):  # type: ignore[no-untyped-def]
    hdr = "Proxy-Authorization" if srv.policy.role == "proxy" else "Authorization"
    ch = pick(srv.handle(request(method="INVITE", headers=INVITE_HEADERS, header=hdr, now=now)))
    value = authorize(ch, method="INVITE", **kw)
    action = srv.handle(
        request(value, method="INVITE", headers=INVITE_HEADERS, header=hdr, now=now + 1)
    )
    return action, value, hdr


def _ack(value, hdr="Authorization", headers=ACK_HEADERS, now=1002.0):  # type: ignore[no-untyped-def]
    return request(value, method="ACK", headers=headers, header=hdr, now=now)


@pytest.mark.parametrize(
    "value", [None, "Digest garbage", 'Digest username="x", realm="example.com"']
)
def test_ack_is_never_challenged(value: str | None) -> None:
    srv = make_server()
    assert srv.handle(_ack(value)) == Exempt("ACK")


@pytest.mark.parametrize("value", [None, "Basic YQ==", "Digest garbage"])
def test_cancel_is_never_challenged(value: str | None) -> None:
    srv = make_server(role="proxy")
    assert srv.handle(request(value, method="CANCEL", header="Proxy-Authorization")) == Exempt(
        "CANCEL"
    )


@pytest.mark.parametrize("role", ["registrar", "proxy"])
def test_ack_with_the_invites_credentials_is_accepted(role: str) -> None:
    srv = make_server(role=role, nonce_ttl=10)
    invite, value, hdr = _invite(srv)
    assert accepted(invite).username == "alice"
    ack = srv.handle(_ack(value, hdr))
    assert isinstance(ack, Accept) and (ack.username, ack.algorithm, ack.qop) == (
        "alice",
        "MD5",
        "auth",
    )
    # retransmitted ACK, after the nonce expired, with the INVITE's nc: still the same ACK
    assert isinstance(srv.handle(_ack(value, hdr, now=1025.0)), Accept)
    # the same credentials on a new INVITE are a replay, and on a late one stale
    again = srv.handle(
        request(value, method="INVITE", headers=INVITE_HEADERS, header=hdr, now=1003.0)
    )
    assert isinstance(again, SendChallenge) and again.reason is Reason.REPLAY


def test_ack_with_other_credentials_or_dialog_is_exempt() -> None:
    srv = make_server()
    _, value, _hdr = _invite(srv)
    other_tag = [(n, v.replace("1928301774", "42") if n == "From" else v) for n, v in ACK_HEADERS]
    other_call = [(n, "zzz@pc" if n == "Call-ID" else v) for n, v in ACK_HEADERS]
    other_cseq = [(n, "2 ACK" if n == "CSeq" else v) for n, v in ACK_HEADERS]
    for headers in (other_tag, other_call, other_cseq):
        assert srv.handle(_ack(value, headers=headers)) == Exempt("ACK")
    assert srv.handle(_ack(value.replace("0a4f113b", "0a4f113c"))) == Exempt("ACK")
    assert srv.handle(_ack(None)) == Exempt("ACK")
    assert isinstance(srv.handle(_ack(value)), Accept)


def test_ack_memory_expires_after_ack_ttl() -> None:
    srv = make_server(ack_ttl=32.0)
    _, value, _hdr = _invite(srv, now=1000.0)
    assert isinstance(srv.handle(_ack(value, now=1032.9)), Accept)
    assert srv.handle(_ack(value, now=1033.1)) == Exempt("ACK")


def test_ack_memory_is_bounded() -> None:
    srv = make_server(ack_capacity=3)
    values = []
    for i in range(6):
        hs = [(n, f"call-{i}" if n == "Call-ID" else v) for n, v in INVITE_HEADERS]
        ch = pick(srv.handle(RequestReceived("INVITE", URI, hs, 1000.0)))
        value = authorize(ch, method="INVITE")
        assert accepted(
            srv.handle(RequestReceived("INVITE", URI, [*hs, ("Authorization", value)], 1000.0))
        )
        values.append(value)
    assert len(srv._acks) == 3
    for i, value in enumerate(values):
        hs = [
            (n, f"call-{i}" if n == "Call-ID" else "1 ACK" if n == "CSeq" else v)
            for n, v in BASE_HEADERS
        ]
        action = srv.handle(RequestReceived("ACK", URI, [*hs, ("Authorization", value)], 1001.0))
        assert isinstance(action, Accept) is (i >= 3)


def test_only_invite_is_remembered() -> None:
    srv = make_server()
    ch = pick(srv.handle(request(method="MESSAGE")))
    assert accepted(srv.handle(request(authorize(ch, method="MESSAGE"), method="MESSAGE")))
    assert len(srv._acks) == 0


def test_dialog_key_reads_full_and_compact_forms() -> None:
    assert dialog_key(BASE_HEADERS) == ("a84b4c76e66710@pc33.example.com", "1", "1928301774")
    compact = [("i", " abc "), ("cseq", "7  INVITE"), ("f", "sip:a@b;TAG = t1;x=y")]
    assert dialog_key(compact) == ("abc", "7", "t1")
    quoted = [("From", '"a>;tag=no" <sip:a@b>;tag=yes')]
    assert dialog_key(quoted) == (None, None, "yes")
    assert dialog_key([("From", "<sip:a@b>")]) == (None, None, None)


def test_expiring_memory_is_fifo_bounded_and_expires() -> None:
    m: ExpiringMemory[str, int] = ExpiringMemory(2, 10.0)
    m.put("a", 1, 0.0)
    m.put("b", 2, 0.0)
    m.put("a", 3, 1.0)  # an update does not take a new slot
    assert (m.get("a", 5.0), m.get("b", 5.0)) == (3, 2)
    m.put("c", 4, 2.0)  # evicts the oldest slot: "a"
    assert (m.get("a", 5.0), m.get("b", 5.0), m.get("c", 5.0)) == (None, 2, 4)
    assert m.get("c", 12.0) is None and len(m) == 2 and "capacity=2" in repr(m)
    with pytest.raises(ValueError):
        ExpiringMemory(0, 1.0)
