"""The lean first-retry path as ``Client.handle`` takes it inline: the remembered printable
Request-URI, and the pure twin's lower-case-names match, each held equal to the general
path on both twins."""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any, Callable, Iterator, Optional

import pytest

from sipdigest import Client, Credential, _pure_client, bench
from sipdigest.actions import GiveUp, Retry
from sipdigest.errors import LocalProtocolError
from sipdigest.events import RequestPrepared, ResponseReceived
from sipdigest.headers import MAX_HEADER_LENGTH, MAX_PARAMS

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
