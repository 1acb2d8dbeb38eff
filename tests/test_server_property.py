"""Properties: no single-character change to an accepted credentials value is accepted
unless its meaning is unchanged (scheme or parameter-name case, white space); arbitrary
header values never escape ``handle`` as exceptions. Run on both twins."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest.actions import Accept, Reject, SendChallenge
from sipdigest.errors import SipDigestError
from sipdigest.headers import Credentials, parse_credentials
from sipdigest.server import Server

from .test_server_kit import (
    CORES,
    Counter,
    authorize,
    make_server,
    pick,
    request,
    use_core,
)

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _good(qop: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    srv = make_server(entropy=Counter(), qop=(qop,), algorithms=("SHA-256", "MD5"), **kw)
    ch = pick(srv.handle(request()), "SHA-256")
    value = authorize(ch, body=b"hello", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    return value, kw


CASES = [_good("auth"), _good("auth-int", opaque="5ccc069c403ebaf9f0171e9517f40e41")]


def _meaning(value: str) -> tuple[Any, ...] | None:
    try:
        c = parse_credentials(value)
    except SipDigestError:
        return None
    if not c.is_digest:
        return None
    return (c.username, c.realm, c.nonce, c.uri, c.response, (c.algorithm or "").upper(),
            c.cnonce, c.opaque, (c.qop or "").lower(), c.nc, c.userhash, c.extra)  # fmt: skip


def _check(core: Any, case: int, mutated: str) -> None:
    value, kw = CASES[case]
    with use_core(core):
        srv: Server = make_server(
            qop=("auth-int",) if case else ("auth",), algorithms=("SHA-256", "MD5"), **kw
        )
        assert isinstance(srv.handle(request(value, body=b"hello")), Accept)  # the original
        fresh: Server = make_server(
            qop=("auth-int",) if case else ("auth",), algorithms=("SHA-256", "MD5"), **kw
        )
        action = fresh.handle(request(mutated, body=b"hello"))
    assert isinstance(action, (Accept, Reject, SendChallenge)), action
    if isinstance(action, Accept):
        assert _meaning(mutated) == _meaning(value), (mutated, action)


CHARS = st.one_of(
    st.sampled_from(list(' \t\r\n",=\\;:/@0123456789abcdefABCDEF-_')),
    st.characters(min_codepoint=0, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
)


@pytest.mark.parametrize("core", [c for _, c in CORES], ids=[n for n, _ in CORES])
@pytest.mark.parametrize("case", [0, 1])
@PROPERTY
@given(data=st.data())
def test_no_single_character_change_to_accepted_credentials_is_accepted(
    core: Any, case: int, data: st.DataObject
) -> None:
    value = CASES[case][0]
    i = data.draw(st.integers(0, len(value) - 1), label="position")
    kind = data.draw(st.sampled_from(["replace", "delete", "insert", "case"]), label="kind")
    if kind == "delete":
        mutated = value[:i] + value[i + 1 :]
    elif kind == "case":
        mutated = value[:i] + value[i].swapcase() + value[i + 1 :]
    else:
        c = data.draw(CHARS, label="char")
        mutated = value[:i] + c + value[i + (kind == "replace") :]
    if mutated != value:
        _check(core, case, mutated)


@pytest.mark.parametrize("core", [c for _, c in CORES], ids=[n for n, _ in CORES])
def test_meaning_preserving_changes_are_still_accepted(core: Any) -> None:
    value = CASES[0][0]
    for mutated in (value.replace("Digest", "DIGEST", 1), value.replace("Digest ", "digest\t ", 1),
                    value.replace(", ", " ,\r\n ", 3), value.replace("username=", "UserName=")):  # fmt: skip
        with use_core(core):
            srv = make_server(algorithms=("SHA-256", "MD5"))
            assert isinstance(srv.handle(request(mutated, body=b"hello")), Accept), mutated


@pytest.mark.parametrize("core", [c for _, c in CORES], ids=[n for n, _ in CORES])
@FUZZ
@given(
    values=st.lists(
        st.one_of(st.text(max_size=300), st.from_regex(r"(Digest|Basic|digest) [ -~]{0,200}")),
        max_size=3,
    ),
    method=st.sampled_from(["REGISTER", "INVITE", "ACK", "CANCEL", "BYE"]),
    proxy=st.booleans(),
)
def test_arbitrary_header_values_never_escape_handle(
    core: Any, values: list[str], method: str, proxy: bool
) -> None:
    with use_core(core):
        srv = make_server(
            role="proxy" if proxy else "registrar",
            quirks=frozenset({"decimal_nc", "uppercase_hex"}),
        )
        hdr = "Proxy-Authorization" if proxy else "Authorization"
        action = srv.handle(request(values, method=method, header=hdr))
    assert type(action).__name__ in ("Accept", "Reject", "SendChallenge", "Exempt")
    if isinstance(action, Reject):
        assert action.status in (400, 403) and action.reason is not None


@pytest.mark.parametrize("core", [c for _, c in CORES], ids=[n for n, _ in CORES])
@FUZZ
@given(
    field=st.sampled_from(
        [
            "username",
            "realm",
            "nonce",
            "uri",
            "response",
            "cnonce",
            "nc",
            "opaque",
            "algorithm",
            "qop",
        ]
    ),
    text=st.text(min_size=0, max_size=100).filter(lambda t: all(c not in t for c in "\x00\r\n")),
)
def test_arbitrary_field_values_with_a_genuine_nonce_never_escape_handle(
    core: Any, field: str, text: str
) -> None:
    value = CASES[0][0]
    c = parse_credentials(value)
    fields = {
        k: getattr(c, k)
        for k in (
            "username",
            "realm",
            "nonce",
            "uri",
            "response",
            "algorithm",
            "cnonce",
            "opaque",
            "qop",
            "nc",
        )
    }
    fields[field] = text
    try:
        mutated = Credentials(**fields).render()
    except SipDigestError:
        mutated = value.replace(getattr(c, field) or "zzz", text, 1)
    with use_core(core):
        srv = make_server(algorithms=("SHA-256", "MD5"), quirks=frozenset({"decimal_nc"}))
        action = srv.handle(request(mutated, body=b"hello"))
    assert type(action).__name__ in ("Accept", "Reject", "SendChallenge")
