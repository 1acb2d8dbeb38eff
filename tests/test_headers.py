"""Header grammar: tolerant parsing of real peers' quirks, strict rendering, round trips,
and hostile input that must end in MalformedHeader (never a crash), on both twins."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sipdigest
from sipdigest import (
    AuthenticationInfo,
    Challenge,
    Credentials,
    MalformedHeader,
    parse_authentication_info,
    parse_challenge_headers,
    parse_challenges,
    parse_credentials,
)
from sipdigest.errors import LocalProtocolError, UnsupportedScheme

RFC7616_CHALLENGES = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)


def test_several_challenges_in_one_value_keep_their_order(twin: object) -> None:
    value = (
        'Digest realm="a", nonce="n1", algorithm=SHA-256, Digest realm="a", nonce="n2",'
        ' algorithm=MD5, Basic realm="b"'
    )
    got = parse_challenges(value)
    assert [(c.scheme, c.realm, c.nonce, c.algorithm) for c in got] == [
        ("Digest", "a", "n1", "SHA-256"),
        ("Digest", "a", "n2", "MD5"),
        ("Basic", "b", None, None),
    ]
    assert not got[2].is_digest


def test_challenge_headers_are_read_in_message_order(twin: object) -> None:
    got = parse_challenge_headers([RFC7616_CHALLENGES, 'Digest realm="x", nonce="y"'])
    assert [c.realm for c in got] == ["http-auth@example.org", "x"]


def test_qop_list_with_spaces_is_split_and_trimmed(twin: object) -> None:
    (c,) = parse_challenges(RFC7616_CHALLENGES)
    assert c.qop == ("auth", "auth-int")
    (c,) = parse_challenges('Digest realm="r", nonce="n", qop=" auth ,AUTH-INT,, "')
    assert c.qop == ("auth", "auth-int")


def test_unquoted_qop_and_algorithm_are_accepted(twin: object) -> None:
    (c,) = parse_challenges("Digest realm=r, nonce=n, qop=auth, algorithm=md5")
    assert (c.realm, c.qop, c.algorithm) == ("r", ("auth",), "md5")


def test_quoted_qop_and_nc_in_credentials_are_accepted(twin: object) -> None:
    creds = parse_credentials(
        'Digest username="u", realm="r", nonce="n", uri="sip:a", response="x",'
        ' qop="auth", nc="00000001", cnonce="c", algorithm="MD5"'
    )
    assert (creds.qop, creds.nc, creds.algorithm) == ("auth", "00000001", "MD5")


def test_scheme_and_names_are_case_insensitive(twin: object) -> None:
    (c,) = parse_challenges('DIGEST REALM="r", NoNcE="n", STALE=TRUE')
    assert (c.scheme, c.realm, c.nonce, c.stale) == ("Digest", "r", "n", True)
    (c,) = parse_challenges('digest realm="r", nonce="n", stale=FALSE')
    assert c.stale is False


def test_folded_and_broken_lines_unfold(twin: object) -> None:
    value = 'Digest username="u",\r\n realm="r",\r\n\tnonce="n", uri="sip:x",\r\n response="abc", qop=auth,\r\n nc=00000001, cnonce="c"'
    creds = parse_credentials(value)
    assert (creds.realm, creds.nonce, creds.nc) == ("r", "n", "00000001")
    # a stray line break inside a quoted value disappears (Pixel 6a, REFERENCE Q14)
    creds = parse_credentials('Digest username="u", realm="r", nonce="n\r\n x", uri="s", response="y"')
    assert creds.nonce == "n x"


def test_quoted_pair_unescapes(twin: object) -> None:
    creds = parse_credentials(
        'Digest username="WORKGROUP\\\\user", realm="a\\"b", nonce="n", uri="u", response="r"'
    )
    assert creds.username == "WORKGROUP\\user"
    assert creds.realm == 'a"b'


def test_realm_ending_in_backslash_does_not_swallow_next_field(twin: object) -> None:
    creds = parse_credentials('Digest username="u", realm="dom\\\\", nonce="n", uri="u", response="r"')
    assert creds.realm == "dom\\"
    assert creds.nonce == "n"
    assert Credentials._from_item("Digest", None, {
        "username": "u", "realm": "dom\\", "nonce": "n", "uri": "u", "response": "r",
    }).render().count('\\\\') == 1


def test_base64_nonce_with_equals_and_slash_unquoted(twin: object) -> None:
    (c,) = parse_challenges("Digest realm=r, nonce=ab+/cd==, opaque=")
    assert c.nonce == "ab+/cd=="
    assert c.opaque == ""


def test_empty_opaque_is_kept_and_echoed(twin: object) -> None:
    (c,) = parse_challenges('Digest realm="r", nonce="n", opaque=""')
    assert c.opaque == ""
    assert 'opaque=""' in c.render()


def test_commas_equals_question_marks_inside_uri(twin: object) -> None:
    creds = parse_credentials(
        'Digest username="u", realm="r", nonce="a,b=c", uri="sip:x@y;transport=tls?a=b,c", response="r"'
    )
    assert creds.uri == "sip:x@y;transport=tls?a=b,c"
    assert creds.nonce == "a,b=c"


def test_unknown_parameters_are_kept(twin: object) -> None:
    (c,) = parse_challenges('Digest realm="r", nonce="n", x-foo="bar", baz=qux')
    assert c.extra == {"x-foo": "bar", "baz": "qux"}
    assert parse_challenges(c.render()) == [c]


def test_duplicate_parameter_is_refused_with_position(twin: object) -> None:
    value = 'Digest realm="a", nonce="n", realm="b"'
    with pytest.raises(MalformedHeader) as info:
        parse_challenges(value)
    assert info.value.position == value.rindex("realm")


def test_basic_is_recognised_and_reported(twin: object) -> None:
    creds = parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    assert creds.scheme == "Basic" and not creds.is_digest
    assert creds.token68 == "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    with pytest.raises(UnsupportedScheme):
        sipdigest.require_digest(creds)
    with pytest.raises(UnsupportedScheme):
        sipdigest.verify_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", method="GET", password="x")


@pytest.mark.parametrize(
    "value",
    [
        'Digest realm="r"',  # no nonce
        'Digest nonce="n"',  # no realm
        "Digest abc==",  # token68 on Digest
    ],
)
def test_incomplete_digest_challenge_is_malformed(twin: object, value: str) -> None:
    with pytest.raises(MalformedHeader):
        parse_challenges(value)


@pytest.mark.parametrize(
    "missing", ["username", "realm", "nonce", "uri", "response"]
)
def test_credentials_missing_a_required_field_are_malformed(twin: object, missing: str) -> None:
    fields = {"username": '"u"', "realm": '"r"', "nonce": '"n"', "uri": '"s"', "response": '"x"'}
    del fields[missing]
    with pytest.raises(MalformedHeader, match=missing):
        parse_credentials("Digest " + ", ".join(f"{k}={v}" for k, v in fields.items()))


def test_qop_without_nc_or_cnonce_is_malformed(twin: object) -> None:
    base = 'Digest username="u", realm="r", nonce="n", uri="s", response="x", qop=auth'
    with pytest.raises(MalformedHeader, match="nc"):
        parse_credentials(base + ', cnonce="c"')
    with pytest.raises(MalformedHeader, match="cnonce"):
        parse_credentials(base + ", nc=00000001")


def test_username_and_username_star_together_are_refused(twin: object) -> None:
    with pytest.raises(MalformedHeader):
        parse_credentials(
            "Digest username=\"u\", username*=UTF-8''u, realm=\"r\", nonce=\"n\", uri=\"s\", response=\"x\""
        )


def test_nc_text_must_be_eight_hex_digits(twin: object) -> None:
    base = 'Digest username="u", realm="r", nonce="n", uri="s", response="x", qop=auth, cnonce="c", nc='
    assert parse_credentials(base + "0000000a").nc_count() == 10
    for bad in ("1", "0000000g", "000000001"):
        with pytest.raises(MalformedHeader):
            parse_credentials(base + bad).nc_count()


def test_two_credentials_in_one_value_are_refused(twin: object) -> None:
    with pytest.raises(MalformedHeader):
        parse_credentials('Digest username="u", realm="r", nonce="n", uri="s", response="x", Basic abc')


def test_oversized_value_is_refused_at_once(twin: object) -> None:
    with pytest.raises(MalformedHeader) as info:
        parse_challenges("Digest " + "a" * 10_000_000)
    assert info.value.position == sipdigest.headers.MAX_HEADER_LENGTH


def test_absurd_parameter_count_is_refused(twin: object) -> None:
    value = "Digest " + ", ".join(f"p{i}=v" for i in range(100))
    with pytest.raises(MalformedHeader, match="too many"):
        parse_challenges(value, max_length=100_000)


HOSTILE = [
    'Digest realm="abc',
    'Digest realm="abc\\',
    "Digest realm=\"a\x00b\", nonce=n",
    "Digest realm=a\x00b, nonce=n",
    "," * 100_000,
    "Digest " + "," * 100_000,
    "Digest realm=\"\ud800\", nonce=n",
    "Digest realm=\u00e9t\u00e9, nonce=n",
    "\ud800",
    "Digest realm=\"a\", nonce=\"b\" x",
    "=",
    "Digest =",
    "Digest realm==\"x\"",
    '"quoted"',
    "Digest realm=\"a\"\"b\"",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_raise_only_library_errors(twin: object, value: str) -> None:
    for parse in (parse_challenges, parse_credentials, parse_authentication_info):
        try:
            parse(value, max_length=1_000_000)
        except sipdigest.SipDigestError:
            pass


def test_every_truncation_of_a_valid_header_is_handled(twin: object) -> None:
    value = (
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",'
        ' uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b",'
        ' response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    for end in range(len(value) + 1):
        for parse in (parse_challenges, parse_credentials):
            try:
                parse(value[:end])
            except sipdigest.SipDigestError:
                pass


def test_constructors_refuse_header_injection() -> None:
    with pytest.raises(LocalProtocolError):
        Challenge(realm="a\r\nVia: evil", nonce="n")
    with pytest.raises(LocalProtocolError):
        Credentials(username="u", realm="r", nonce="n", uri="s", response="x", algorithm="MD5, x=1")
    with pytest.raises(LocalProtocolError):
        AuthenticationInfo(qop="auth\r\n")


def test_rendering_is_strict() -> None:
    c = Challenge(realm="r", nonce="n", qop=("auth", "auth-int"), algorithm="SHA-256", stale=True, opaque="")
    assert c.render() == 'Digest realm="r", qop="auth,auth-int", algorithm=SHA-256, nonce="n", opaque="", stale=true'
    cr = Credentials(
        username='a"b', realm="r", nonce="n", uri="sip:x", response="ab", algorithm="MD5",
        cnonce="c", qop="auth", nc=26,
    )
    assert cr.render() == (
        'Digest username="a\\"b", realm="r", nonce="n", uri="sip:x", response="ab", '
        'algorithm=MD5, cnonce="c", qop=auth, nc=0000001a'
    )
    ai = AuthenticationInfo(nextnonce="x", qop="auth", rspauth="ff", cnonce="c", nc=1)
    assert ai.render() == 'nextnonce="x", qop=auth, rspauth="ff", cnonce="c", nc=00000001'
    assert parse_authentication_info(ai.render()) == ai


def test_reprs_hide_responses() -> None:
    cr = Credentials(username="u", realm="r", nonce="n", uri="s", response="deadbeefsecret")
    assert "deadbeefsecret" not in repr(cr)
    ai = AuthenticationInfo(rspauth="deadbeefsecret")
    assert "deadbeefsecret" not in repr(ai)


# ---- round trips -------------------------------------------------------------------------

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f")
    | st.sampled_from('\t"\\,= '),
    max_size=30,
)
tokens = st.from_regex(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,12}", fullmatch=True)
extras = st.dictionaries(tokens.map(lambda t: "x-" + t.lower()), text, max_size=3)


@st.composite
def challenges(draw: st.DrawFn) -> Challenge:
    return Challenge(
        realm=draw(text),
        nonce=draw(text),
        algorithm=draw(st.none() | st.sampled_from(["MD5", "SHA-256", "SHA-512-256-sess"]) | tokens),
        qop=draw(st.lists(st.sampled_from(["auth", "auth-int"]) | tokens.map(str.lower), max_size=3)),
        opaque=draw(st.none() | text),
        stale=draw(st.booleans()),
        domain=draw(st.none() | text),
        userhash=draw(st.booleans()),
        charset=draw(st.none() | st.just("UTF-8")),
        extra=draw(extras),
    )


@st.composite
def credentials(draw: st.DrawFn) -> Credentials:
    qop = draw(st.none() | st.sampled_from(["auth", "auth-int"]))
    return Credentials(
        username=draw(text),
        realm=draw(text),
        nonce=draw(text),
        uri=draw(text),
        response=draw(text),
        algorithm=draw(st.none() | tokens),
        cnonce=draw(text) if qop else draw(st.none() | text),
        opaque=draw(st.none() | text),
        qop=qop,
        nc=draw(st.integers(0, 0xFFFFFFFF)) if qop else None,
        userhash=draw(st.booleans()),
        username_star=draw(st.none() | st.booleans()),
        extra=draw(extras),
    )


@settings(max_examples=300)
@given(c=challenges())
def test_challenge_round_trip(c: Challenge) -> None:
    assert parse_challenges(c.render()) == [c]


@settings(max_examples=300)
@given(c=credentials())
def test_credentials_round_trip(c: Credentials) -> None:
    assert parse_credentials(c.render()) == c


@settings(max_examples=200)
@given(
    ai=st.builds(
        AuthenticationInfo,
        nextnonce=st.none() | text,
        qop=st.none() | st.sampled_from(["auth", "auth-int"]),
        rspauth=st.none() | text,
        cnonce=st.none() | text,
        nc=st.none() | st.integers(0, 0xFFFFFFFF),
        extra=extras,
    )
)
def test_authentication_info_round_trip(ai: AuthenticationInfo) -> None:
    assert parse_authentication_info(ai.render()) == ai


@settings(max_examples=500)
@given(value=st.text(max_size=200))
def test_arbitrary_text_raises_only_library_errors(value: str) -> None:
    for parse in (parse_challenges, parse_credentials, parse_authentication_info):
        try:
            parse(value)
        except sipdigest.SipDigestError:
            pass
