"""The lean first-retry path as ``Client.handle`` takes it inline: the remembered printable
Request-URI, and the pure twin's lower-case-names match, each held equal to the general
path on both twins."""

from __future__ import annotations

import hashlib
import itertools
from types import ModuleType
from typing import Any, Callable, Iterator, Optional

import pytest

from sipdigest import Client, Credential, _pure_client, bench
from sipdigest.actions import GiveUp, Retry
from sipdigest.errors import LocalProtocolError
from sipdigest.events import CredentialsProvided, RequestPrepared, ResponseReceived
from sipdigest.headers import MAX_HEADER_LENGTH, MAX_PARAMS
from sipdigest.policy import ClientPolicy

from .test_client_fastpath import REAL, _entropy, general

CH = 'Digest realm="example.com", nonce="n0nce", qop="auth", algorithm=MD5'
URIS = ["sip:bob@example.com", "sip:bob@example.com", "sip:\x7fbad", "sip:bob@example.com",
        "sip:tab\there", "sip:\u00e9t\u00e9@example.com", "sip:bob@example.com"]  # fmt: skip


def _talk(uris: list[str], methods: list[str]) -> list[Any]:
    """First 401s for a run of requests (the same Request-URI object again and again, a
    bad one between): what the client answers, or which error it raises."""
    client = Client([Credential("example.com", "alice", "secret")], entropy=_entropy(3))
    said: list[Any] = []
    for i, (uri, method) in enumerate(zip(uris, methods, strict=True)):
        req = RequestPrepared(method, uri, f"c{i}", 1, b"x")
        try:
            act = client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
        except LocalProtocolError as exc:
            said.append(("raised", str(exc)))
            continue
        said.append((type(act).__name__, getattr(act, "headers", None), str(act)))
    return said


@pytest.mark.parametrize("methods", [["INVITE"] * 7, ["REGISTER", "ACK", "INVITE", "CANCEL",
                                                       "INVITE", "BYE", "ACK"]])  # fmt: skip
def test_printable_uri_memory_equals_general_path(
    twin: ModuleType, general_path: Callable[[bool], None], methods: list[str]
) -> None:
    lean = _talk(URIS, methods)
    general_path(True)
    slow = _talk(URIS, methods)
    general_path(False)
    assert lean == slow
    assert ("raised", "the Request-URI must be printable text") in lean  # not vacuous
    if methods[0] == "INVITE" and methods[1] == "INVITE":
        assert [s[0] for s in lean].count("Retry") == 5


def test_remembered_uri_is_not_trusted_for_another_value(twin: ModuleType) -> None:
    """A printable URI remembered never lets a different, non-printable one through."""
    client = Client([Credential("example.com", "alice", "secret")])
    ok = RequestPrepared("INVITE", "sip:a@example.com", "c1", 1)
    assert type(client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], ok))) is Retry
    for bad in ("sip:a@example.com\r\nX: y", "sip:a@example.com\x00"):
        req = RequestPrepared("INVITE", bad, "c2", 1)
        with pytest.raises(LocalProtocolError):
            client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
    req = RequestPrepared("ACK", "sip:a@example.com", "c3", 1)
    act = client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
    assert isinstance(act, GiveUp)


def _cases(value: str) -> Iterator[str]:
    """``value`` with its parameter names in other cases (and a repeated name)."""
    yield value
    yield value.replace("realm=", "Realm=")
    yield value.replace("nonce=", "NONCE=")
    yield value.replace("qop=", "Qop=").replace("algorithm=", "ALGORITHM=")
    yield value + ", REALM=x"
    yield value + ", realm=x"
    yield value + ", Opaque=x, opaque=y"


def _pure_fields(value: str, max_params: int = MAX_PARAMS) -> Optional[tuple[Any, ...]]:
    return _pure_client.plain_challenge(
        [("Via", "x"), ("WWW-Authenticate", value)], MAX_HEADER_LENGTH, max_params
    )


@pytest.mark.parametrize("value", REAL)
def test_lower_case_match_equals_the_general_reading(value: str) -> None:
    """The pure twin's lower-case-names pattern and its general pattern read the same, and
    both read what the tokenizer reads."""
    for variant in _cases(value):
        got = _pure_fields(variant)
        if got is not None:
            assert got == general(variant), variant
        low = _pure_client._SHORT_LC.fullmatch(variant)
        full = _pure_client._SHORT.fullmatch(variant)
        if low is not None:
            assert full is not None and low.groups() == full.groups(), variant
        for limit in range(2, 10):  # the item limit counts on the lean match too
            limited = _pure_fields(variant, limit)
            assert limited is None or limited == got


def test_lower_case_match_counts_slots_like_the_general_one() -> None:
    """1 to 8 parameters (every slot count), quoted and token values, OWS around."""
    for n, quoted, ows in itertools.product(range(1, 9), (True, False), ("", " ", "\t ")):
        extra = [f"p{i}{ows}={ows}" + (f'"v {i}"' if quoted else f"v{i}") for i in range(n - 2)]
        items = ['realm="r"', "nonce=abc", *extra][:n] if n >= 2 else ['realm="r"']
        value = "Digest " + f"{ows},{ows}".join(items) + ows
        assert _pure_fields(value) == general(value), value


def test_the_bench_case_takes_the_lean_match() -> None:
    for v in bench.VARIANTS:
        value = bench.inputs(v).challenge
        assert _pure_client._SHORT_LC.fullmatch(value) is not None
        assert _pure_fields(value) == general(value)


# --------------------------------------------------------------------------------------
# what follows a first retry stored as a FirstAnswer (made into its Chain when read)


def _follow_ups(server: Any) -> list[Any]:
    """A first 401 answered on the fast path, then each way its request can go on:
    the host reporting the retry, a 2xx with a right and a wrong rspauth (and the ACK of
    that INVITE), a 403, a question for another realm and its CredentialsProvided, a
    second challenge (stale, then refused)."""
    client = Client([Credential("example.com", "alice", "secret")],
                    ClientPolicy(ask_for_credentials=True), entropy=_entropy(5))  # fmt: skip
    said: list[Any] = []

    def say(act: Any) -> None:
        said.append((type(act).__name__, str(act), getattr(act, "headers", None),
                     getattr(act, "mutual", None), getattr(act, "quirks", None)))  # fmt: skip

    ch = [("WWW-Authenticate", CH)]
    for i, after in enumerate(["reported", "ok", "403", "other-realm", "rspauth-bad", "again"]):
        req = RequestPrepared("INVITE", "sip:bob@example.com", f"f{i}", 1, b"sdp")
        first = client.handle(ResponseReceived(401, ch, req))
        say(first)
        retry = RequestPrepared("INVITE", "sip:bob@example.com", f"f{i}", 2, b"sdp")
        if after == "reported":
            say(client.handle(retry))  # the host reports the retry: same headers back
        elif after in ("ok", "rspauth-bad"):
            info = server(first.headers[0][1], after == "ok")
            say(client.handle(ResponseReceived(200, [("Authentication-Info", info)], retry)))
            say(client.handle(RequestPrepared("ACK", "sip:bob@example.com", f"f{i}", 2)))
        elif after == "again":
            say(client.handle(ResponseReceived(401, [("WWW-Authenticate", CH + ", stale=true")],
                                               retry)))  # fmt: skip
            say(client.handle(ResponseReceived(401, ch, retry)))
        elif after == "403":
            say(client.handle(ResponseReceived(403, [], retry)))
        else:
            other = [("Proxy-Authenticate", CH.replace("example.com", "proxy.example"))]
            say(client.handle(ResponseReceived(407, other, retry)))
            idle = RequestPrepared("INVITE", "sip:bob@example.com", "idle", 1, b"")
            say(client.handle(ResponseReceived(401, ch, idle)))  # newest: passed over below
            said.append(len(client._chains))
            act = client.handle(CredentialsProvided("proxy.example", "bob", "pw"))
            say(act)
    return said


def _rspauth(value: str, right: bool) -> str:
    from sipdigest import headers

    c = headers.parse_credentials(value)
    ha1 = hashlib.md5(b"alice:example.com:secret").hexdigest()
    ha2 = hashlib.md5(b":" + c.uri.encode()).hexdigest()
    text = f"{ha1}:{c.nonce}:{c.nc}:{c.cnonce}:auth:{ha2}" if right else "wrong"
    return f'rspauth="{hashlib.md5(text.encode()).hexdigest()}", cnonce="{c.cnonce}", nc={c.nc}, qop=auth'


def test_first_answer_follow_ups_equal_general_path(
    twin: ModuleType, general_path: Callable[[bool], None]
) -> None:
    lean = _follow_ups(_rspauth)
    general_path(True)
    slow = _follow_ups(_rspauth)
    general_path(False)
    assert lean == slow
    kinds = [s[0] for s in lean if isinstance(s, tuple)]
    assert kinds.count("Retry") >= 8 and "NeedCredentials" in kinds and "GiveUp" in kinds
    assert ("Done", True) in [(s[0], s[3]) for s in lean if isinstance(s, tuple)]
    assert ("Done", False) in [(s[0], s[3]) for s in lean if isinstance(s, tuple)]


@pytest.mark.parametrize("count", [1, 255, 256, 257, 0xFFF, 0x1000, 0xFFFF, 0x10000, 0xABCDEF])
def test_nc_text_at_the_table_edges(twin: ModuleType, count: int) -> None:
    """The nc a first retry and a preemptive request send is ``f"{count:08x}"`` whichever
    way it is spelled (a table below 256, two tables below 0x10000, formatting above)."""
    client = Client([Credential("example.com", "alice", "secret")], entropy=_entropy(6))
    req = RequestPrepared("INVITE", "sip:bob@example.com", "n0", 1)
    client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
    (entry,) = client._nonces.values()
    entry.nc = count - 1
    req = RequestPrepared("INVITE", "sip:bob@example.com", "n1", 1)
    act = client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
    assert type(act) is Retry and f"nc={count:08x}" in act.headers[0][1]
    pre = client.handle(RequestPrepared("INVITE", "sip:bob@example.com", "n2", 1))
    assert f"nc={count + 1:08x}" in pre.headers[0][1]


def test_the_inline_retry_has_every_slot_a_constructed_one_has() -> None:
    """The first retry is made without Retry.__init__ (a frame saved): should Retry gain
    a slot, this fails instead of an AttributeError surfacing in a host."""
    client = Client([Credential("example.com", "alice", "pw")], entropy=_entropy(3))
    req = RequestPrepared("INVITE", "sip:a@example.com", "c1", 1)
    fast = client.handle(ResponseReceived(401, [("WWW-Authenticate", CH)], req))
    assert type(fast) is Retry
    made = Retry(fast.headers)
    slots = [n for cls in Retry.__mro__ for n in getattr(cls, "__slots__", ())]
    assert "headers" in slots
    assert [getattr(fast, n) for n in slots] == [getattr(made, n) for n in slots]
