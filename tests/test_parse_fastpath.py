"""``headers.parse_credentials``' short cut (``credential_fields``, in both twins).

The short cut answers only the plain shape and declines (None) everything else, so a
value parses to the same ``Credentials`` (every field) or raises the same error (class,
message, position) with it as without it; and both twins decline the same values.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import _impl, _pure
from sipdigest.bench import VARIANTS, inputs
from sipdigest.errors import MalformedHeader
from sipdigest.headers import MAX_HEADER_LENGTH, Credentials, parse_credentials

from .conftest import require_fast

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BENCH_VALUES = [inputs(v).value for v in VARIANTS]  # the ten-parameter values UAs send
PLAIN = (
    'Digest username="alice", realm="example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="sip:bob@example.com", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, '
    'cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001'
)
FIELDS = ("username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque",
          "qop", "nc", "userhash")  # fmt: skip


def _decline(value: str, max_length: int) -> None:
    return None


def outcome(fn: Callable[[], Credentials]) -> tuple[Any, ...]:
    try:
        creds = fn()
    except MalformedHeader as e:
        return ("malformed", e.message, e.position)
    except Exception as e:
        return ("raised", type(e), str(e))
    # every slot, with its exact type (a str subclass or a shared dict would differ)
    return ("ok", creds._key(), tuple(type(x) for x in creds._key()))


def paths(
    value: Any, monkeypatch: pytest.MonkeyPatch, max_length: int = MAX_HEADER_LENGTH
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """parse_credentials with the short cut, then with it turned off (the general path)."""
    fast = outcome(lambda: parse_credentials(value, max_length=max_length))
    with monkeypatch.context() as m:
        m.setattr(_impl, "credential_fields", _decline)
        general = outcome(lambda: parse_credentials(value, max_length=max_length))
    return fast, general


def agree(value: Any, monkeypatch: pytest.MonkeyPatch, max_length: int = MAX_HEADER_LENGTH) -> Any:
    fast, general = paths(value, monkeypatch, max_length)
    assert fast == general, value
    return fast


def fields(value: Any, max_length: int = MAX_HEADER_LENGTH) -> Any:
    """Both twins' credential_fields, which must agree (a result, or the same error)."""
    results = []
    for core in (_pure, require_fast()):
        try:
            results.append(("ok", core.credential_fields(value, max_length)))
        except Exception as e:
            results.append(("raised", type(e), str(e)))
    assert results[0] == results[1], value
    return results[0][1] if results[0][0] == "ok" else results[0]


@pytest.fixture
def core(twin: ModuleType) -> ModuleType:
    return twin


def test_the_twins_expose_credential_fields() -> None:
    assert "credential_fields" in _impl.TWIN_FUNCTIONS
    assert callable(_pure.credential_fields) and callable(require_fast().credential_fields)


@pytest.mark.parametrize("value", [PLAIN, *BENCH_VALUES])
def test_plain_values_take_the_short_cut(
    value: str, core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = core.credential_fields(value, MAX_HEADER_LENGTH)
    assert got is not None and len(got) == len(FIELDS)
    assert agree(value, monkeypatch)[0] == "ok"
    creds = parse_credentials(value)
    assert tuple(getattr(creds, n) for n in FIELDS) == got
    assert creds.scheme == "Digest" and creds.extra == {} and creds.username_star is False


def test_every_call_gets_its_own_extra(core: ModuleType) -> None:
    a, b = parse_credentials(PLAIN), parse_credentials(PLAIN)
    assert a == b and a.extra == {} and a.extra is not b.extra
    a.extra["x"] = "y"
    assert parse_credentials(PLAIN).extra == {}


@pytest.mark.parametrize(
    "value",
    [
        " \t" + PLAIN + " \t",
        PLAIN.replace("Digest", "dIGEST\t"),
        PLAIN.replace(", ", " ,\t"),
        PLAIN.replace("algorithm=MD5", 'algorithm="sha-512-256-SESS"'),
        PLAIN.replace("qop=auth", "qop=auth-int"),
        PLAIN.replace("qop=auth", '"auth"'.join(("qop=", ""))),
        PLAIN.replace("nc=00000001", "nc=DeadBeef"),
        PLAIN.replace(", qop=auth, nc=00000001", ""),  # RFC 2069 form, cnonce kept
        PLAIN.replace(", qop=auth", ""),  # nc without qop
        PLAIN + ", userhash=TRUE",
        PLAIN + ', userhash="no"',
        PLAIN.replace('"alice"', '""'),
        PLAIN.replace('"alice"', "alice=="),
        "Digest username=a,realm=b,nonce=c,uri=d,response=e",
    ],
)
def test_plain_variations_take_the_short_cut(
    value: str, core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert core.credential_fields(value, MAX_HEADER_LENGTH) is not None
    assert agree(value, monkeypatch)[0] == "ok"


# ---- refusals: None, and the general path decides ---------------------------------------


def refused(value: Any, core: ModuleType, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Any:
    assert core.credential_fields(value, kw.get("max_length", MAX_HEADER_LENGTH)) is None
    return agree(value, monkeypatch, **kw)


def test_escape_in_quotes_is_unescaped_by_the_general_path(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused(PLAIN.replace('"alice"', '"al\\ice"'), core, monkeypatch)
    assert parse_credentials(PLAIN.replace('"alice"', '"al\\ice"')).username == "alice"
    assert parse_credentials(PLAIN.replace('"alice"', '"a\\"b"')).username == 'a"b'


def test_duplicate_parameter_is_malformed(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for extra in (", nc=00000002", ', realm="example.com"', ", opaque=x", ", USERNAME=bob"):
        assert refused(PLAIN + extra, core, monkeypatch)[0] == "malformed"


def test_username_star_is_decoded(core: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    value = PLAIN.replace('username="alice"', "username*=UTF-8''%C3%A4lice")
    assert refused(value, core, monkeypatch)[0] == "ok"
    creds = parse_credentials(value)
    assert creds.username == "älice" and creds.username_star is True
    both = PLAIN + ", username*=UTF-8''bob"
    assert refused(both, core, monkeypatch)[0] == "malformed"


def test_upper_case_and_unknown_names_go_to_the_general_path(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert refused(PLAIN.replace("username=", "UserName="), core, monkeypatch)[0] == "ok"
    refused(PLAIN + ', extension="x"', core, monkeypatch)
    assert parse_credentials(PLAIN + ', extension="x"').extra == {"extension": "x"}


@pytest.mark.parametrize(
    "value, kind",
    [
        (PLAIN.replace(", nc=00000001", ""), "malformed"),  # qop without nc
        (PLAIN.replace(', cnonce="0a4f113b"', ""), "malformed"),  # qop without cnonce
        (PLAIN.replace(', response="6629fae49393a05397450978507c4ef1"', ""), "malformed"),
        (PLAIN.replace('username="alice", ', ""), "malformed"),
        (PLAIN.replace("nc=00000001", "nc=1"), "ok"),  # kept as sent; nc_text refuses it
        (PLAIN.replace("nc=00000001", 'nc="0000 001"'), "malformed"),  # not a token
        (PLAIN.replace("algorithm=MD5", "algorithm=MD6"), "ok"),
        (PLAIN.replace("algorithm=MD5", 'algorithm="MD5 x"'), "malformed"),
        (PLAIN.replace("qop=auth", "qop=AUTH"), "ok"),
        (PLAIN.replace("qop=auth", "qop=auth-conf"), "ok"),
        (PLAIN.replace("Digest", "Basic"), "ok"),
        ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "ok"),
        ("Digest QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "malformed"),  # token68
        (PLAIN.replace(", ", ",\r\n "), "ok"),  # a folded line
        (PLAIN.replace('"alice"', '"al\r\n ice"'), "ok"),
        (PLAIN.replace('"alice"', '"alicé"'), "ok"),  # not ASCII
        (PLAIN.replace('"alice"', '"al\x01ice"'), "malformed"),
        (PLAIN + ",", "ok"),  # a trailing comma
        (PLAIN.replace(", ", ",, ", 1), "ok"),
        (PLAIN + ", " + PLAIN, "malformed"),  # two sets of credentials
        (PLAIN.replace('uri="sip:bob@example.com"', "uri==sip"), "ok"),  # uri "=sip"
        ("Digest", "malformed"),
        ("", "malformed"),
        ("Digest ", "malformed"),
    ],
)
def test_refusals(value: str, kind: str, core: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    assert refused(value, core, monkeypatch)[0] == kind


def test_length_limit_is_the_general_paths(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agree(PLAIN, monkeypatch, max_length=len(PLAIN))[0] == "ok"
    assert refused(PLAIN, core, monkeypatch, max_length=len(PLAIN) - 1)[0] == "malformed"
    assert core.credential_fields(PLAIN, 2**80) is not None


def test_non_str_values_raise_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (PLAIN.encode(), None, 3):
        assert fields(bad)[1] is TypeError
        fast, general = paths(bad, monkeypatch)
        assert fast[0] == general[0] == "raised" and fast[1] is general[1] is TypeError


# ---- properties ------------------------------------------------------------------------

PIECES = [
    "Digest ", "digest\t", "DIGEST ", "Basic ", 'username="alice"', "username=bob",
    "username*=UTF-8''%C3%A4", 'realm="example.com"', "realm=x", 'nonce="abc"', "nonce=n==",
    'uri="sip:x"', "response=abc", 'response="0123"', "algorithm=SHA-256-sess",
    "algorithm=md5", 'algorithm="MD5"', "algorithm=MD6", "qop=auth", "qop=auth-int",
    'qop="auth"', "qop=AUTH", "nc=0000000a", "nc=1", 'cnonce=""', "cnonce=c", "opaque=x",
    "userhash=true", "userhash=False", "x=y", "Realm=z", ", ", ",", " ", "\t", "=", '"',
    "\\", "é", "\r\n", "\x00", "\x7f",
]  # fmt: skip
_TEXT = st.text(alphabet=st.characters(max_codepoint=0x130), max_size=12)
_QUOTED = st.text(alphabet=st.sampled_from('ab1 \t:@="\\,\x7fé\r'), max_size=8)


@st.composite
def credential_values(draw: st.DrawFn) -> str:
    """Realistic credentials: the known names (some twice, some left out), varied values,
    separators and quoting, sometimes an edit at a random place."""
    names = draw(st.lists(st.sampled_from([*FIELDS, "username*", "x", "Nonce"]), max_size=14))
    items = []
    for name in names:
        if name == "nc":
            value = draw(st.sampled_from(["00000001", "FFFFFFFF", "1", '"00000001"', "0000000g"]))
        elif name == "qop":
            value = draw(st.sampled_from(["auth", "auth-int", '"auth"', "Auth", "auth,auth-int"]))
        elif name == "algorithm":
            value = draw(st.sampled_from(["MD5", "sha-256-SESS", "SHA-512-256", "md6", '"MD5"']))
        elif draw(st.booleans()):
            value = '"' + draw(_QUOTED) + '"'
        else:
            value = draw(st.from_regex(r"[A-Za-z0-9=:@.\-]{0,8}", fullmatch=True))
        items.append(f"{name}{draw(st.sampled_from(['', ' ']))}={value}")
    sep = draw(st.sampled_from([", ", ",", " , ", ",\t", ",\r\n "]))
    value = draw(st.sampled_from(["Digest ", "digest ", " Digest\t", "Digest", "Basic "]))
    value += sep.join(items) + draw(st.sampled_from(["", " ", ",", "\t"]))
    if draw(st.booleans()) and value:
        at = draw(st.integers(0, len(value)))
        value = value[:at] + draw(_TEXT) + value[at + draw(st.integers(0, 2)) :]
    return value


TWINS = ["pure", "fast"]


def _core(name: str) -> ModuleType:
    return _pure if name == "pure" else require_fast()  # a skip only outside CI


def _check(value: str, core: ModuleType, monkeypatch: pytest.MonkeyPatch) -> bool:
    """With every core function from ``core``: parsing with the short cut and without it
    agree, and what the short cut answers is what parse_credentials returns."""
    for name in _impl.TWIN_FUNCTIONS:
        monkeypatch.setattr(_impl, name, getattr(core, name))
    got = core.credential_fields(value, MAX_HEADER_LENGTH)
    agree(value, monkeypatch)
    if got is not None:
        creds = parse_credentials(value)
        assert tuple(getattr(creds, n) for n in FIELDS) == got
    return got is not None


@pytest.mark.parametrize("name", TWINS)
@SETTINGS
@given(value=credential_values())
def test_realistic_values_parse_the_same_either_way(name: str, value: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check(value, _core(name), monkeypatch)


@pytest.mark.parametrize("name", TWINS)
@SETTINGS
@given(parts=st.lists(st.sampled_from(PIECES), max_size=24))
def test_pieces_parse_the_same_either_way(name: str, parts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check("".join(parts), _core(name), monkeypatch)


@pytest.mark.parametrize("name", TWINS)
@SETTINGS
@given(tail=st.text(max_size=60), head=st.sampled_from(["", PLAIN, PLAIN[:100]]))
def test_any_text_parses_the_same_either_way(name: str, tail: str, head: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check(head + tail, _core(name), monkeypatch)


@SETTINGS
@given(value=st.one_of(credential_values(), st.lists(st.sampled_from(PIECES)).map("".join)))
def test_the_twins_short_cut_the_same_values(value: str) -> None:
    fields(value)
    fields(value, len(value) - 1)


def _mutations(value: str) -> list[str]:
    alphabet = ' \t",=\\\x7f\x00aZ*\u017f\xe9\r'
    out = []
    for i in range(len(value)):
        out.append(value[:i] + value[i + 1 :])
        out.extend(value[:i] + ch + value[i + 1 :] for ch in alphabet)
    return out


@pytest.mark.parametrize("name", TWINS)
def test_every_single_character_mutation_parses_the_same(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = _core(name)
    taken = sum(_check(value, core, monkeypatch) for value in _mutations(PLAIN))
    assert taken > len(PLAIN)  # many mutations are still plain (inside values)


def test_the_twins_short_cut_the_same_mutations() -> None:
    for value in _mutations(PLAIN):
        fields(value)
