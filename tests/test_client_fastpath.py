"""The client's fast path: the twins ``plain_challenge`` and ``render_answer`` agree, agree
with the general path (tokenizer, ``_pure.response``, ``headers._quote``), and the
client's headers are byte-identical whichever path made them."""

from __future__ import annotations

import hashlib
import itertools
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sipdigest import Client, Credential, _impl, _pure, _pure_client, bench, digest, headers
from sipdigest._client_state import read_challenges
from sipdigest.actions import GiveUp, NeedCredentials, Retry
from sipdigest.errors import MalformedHeader
from sipdigest.events import RequestPrepared, ResponseReceived
from sipdigest.headers import MAX_HEADER_LENGTH, MAX_PARAMS
from sipdigest.policy import ClientPolicy

from .conftest import require_fast
from .test_client_helpers import challenge

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """The result with its type, or the exception's class and message."""
    try:
        result = fn(*args)
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("ok", type(result), result)


def both(name: str, *args: Any) -> tuple[Any, ...]:
    fast = outcome(getattr(require_fast(), name), *args)
    pure = outcome(getattr(_pure, name), *args)
    assert fast == pure, (name, args)
    return pure


# --------------------------------------------------------------------------------------
# plain_challenge

#: Real challenges: RFC 7616 §3.9.1, the bench's (minted by a real Server), and shapes
#: seen in the field (Asterisk, FreeSWITCH, Kamailio; the last one is not plain).
REAL = [
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="asterisk",nonce="1729001234/5b2fa9f3c0f7a6e4d2c1b0a9f8e7d6c5",opaque="41a6f0bd3d0c57a2",algorithm=md5,qop="auth"',
    'Digest realm="sip.example.net", nonce="YqIUz2KiE6M/TjBfrb0qV8MaaNp5zQ", algorithm=MD5, qop="auth"',
    'Digest realm="example.com", nonce="5f2b0c1e", stale=FALSE, algorithm=MD5-sess, qop="auth-int,auth", userhash=true',
    "digest realm=example.com, nonce=abc, Algorithm=SHA-512-256, QOP=auth, Domain=\"sip:a sip:b\"",
    *(bench.inputs(v).challenge for v in bench.VARIANTS),
]
#: Not plain (a quoted-pair): left to the general path.
QUOTED_PAIR = 'Digest realm="x", nonce="y", domain="sip:\\"q\\"", qop="auth"'


def general(value: str, kind: int = 0) -> Optional[tuple[Any, ...]]:
    """What the general path makes of one header: the fields when it reads exactly one
    Digest challenge with realm and nonce, else None."""
    name = headers_name(kind)
    try:
        groups, errors, others = read_challenges([(name, value)])
    except Exception:  # pragma: no cover - read_challenges raises only for non-str values
        return None
    if errors or others or len(groups) != 1:
        return None
    ((group, plist),) = groups.items()
    if len(plist) != 1:
        return None
    p = plist[0]
    return (
        group[0], group[1], p["nonce"], p.get("algorithm"), p.get("qop"), p.get("opaque"),
        p.get("userhash"),
    )  # fmt: skip


def headers_name(kind: int) -> str:
    return ("WWW-Authenticate", "Proxy-Authenticate")[kind]


def check_plain(value: str, max_params: int = MAX_PARAMS) -> Any:
    """Both twins agree; a tuple they give is the general path's reading."""
    hdrs = [("Via", "SIP/2.0/UDP h"), ("WWW-Authenticate", value), ("Content-Length", "0")]
    got = both("plain_challenge", hdrs, MAX_HEADER_LENGTH, max_params)
    if got[0] == "ok" and got[2] is not None and max_params <= MAX_PARAMS:
        assert got[2] == general(value), value  # the tokenizer's limit is MAX_PARAMS
    return got[2] if got[0] == "ok" else got


def test_real_challenges_are_plain_and_read_as_the_tokenizer_reads_them() -> None:
    for value in REAL:
        found = check_plain(value)
        assert found is not None and found == general(value), value
    assert check_plain(QUOTED_PAIR) is None and general(QUOTED_PAIR) is not None


def test_every_single_character_mutation_of_real_challenges() -> None:
    """Replace, delete or duplicate each character: both twins agree, and a challenge
    they accept is exactly what the tokenizer reads."""
    replacements = ' \t,="\\=\r\n\x00\x7féaZ-'
    accepted = 0
    for value in [*REAL, QUOTED_PAIR]:
        for i in range(len(value)):
            variants = [value[:i] + value[i + 1 :], value[:i] + value[i] + value[i:]]
            variants += [value[:i] + c + value[i + 1 :] for c in replacements]
            for v in variants:
                accepted += check_plain(v) is not None
    assert accepted > 1000  # the mutations also hit the accepting side


def test_plain_challenge_one_after_another() -> None:
    """The C twin gives back the str it made last for a field when the new one is equal:
    a run of challenges whose fields change by one character, keep their length, come
    back or go missing reads as each one alone does."""
    runs = [
        'Digest realm="abc", nonce="n1", algorithm=MD5, qop="auth", opaque="o1"',
        'Digest realm="abd", nonce="n2", algorithm=MD4, qop="autx", opaque="o2"',
        'Digest realm="abd", nonce="n2", algorithm=MD4, qop="autx", opaque="o2"',
        'Digest realm="abc", nonce="n1", algorithm=MD5, qop="auth", opaque="o1"',
        'Digest realm="abc", nonce="n1"',
        'Digest realm="ab", nonce="n", algorithm=MD, qop="aut", opaque="o", userhash=true',
        'Digest realm="abcd", nonce="n11", algorithm=MD55, qop="auth,", userhash=false',
        'Digest realm="", nonce="", algorithm=MD5, qop="", opaque=""',
        'Digest realm="abc", nonce="n1", algorithm=MD5, qop="auth", opaque="o1"',
    ]
    for value in runs * 2:
        found = check_plain(value)
        assert found is not None and found == general(value), value
        assert all(type(f) is str for f in found[1:] if f is not None)


FRAGMENTS = [
    "Digest", "digest", "DIGEST", "Basic", " ", "\t", "\r\n ", ",", ", ", ",,", "=", "==",
    '"', "\\", '\\"', "realm", "Realm", "nonce", "NONCE", "qop", "algorithm", "opaque",
    "userhash", "stale", "x", "realm=", 'realm="r"', 'nonce="n"', "nonce=n", "a=b", "a==",
    '""', '"a,b"', '"x=y"', "MD5", "auth", "auth-int", "dGVzdA==", "\x00", "\x7f", "é",
    "\ud800", "😀",
]  # fmt: skip

values = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=24
).map("".join)


@SETTINGS
@given(values, st.integers(min_value=-1, max_value=12))
@example('Digest realm="r", nonce="n"', 2)
@example('Digest realm="r", nonce="n"', 3)
@example('Digest realm="r", nonce="n", realm="s"', 64)
@example('Digest realm="r", Realm="s", nonce="n"', 64)
@example('Digest nonce="n", realm=r==', 64)
@example('Digest realm==, nonce="n"', 64)
@example('Digest realm=, nonce="n"', 64)
def test_plain_challenge_twins_agree(value: str, max_params: int) -> None:
    check_plain("Digest " + value, max_params)
    check_plain(value, max_params)


def test_plain_challenge_limits() -> None:
    many = 'Digest realm="r", nonce="n"' + "".join(f", p{i}=v" for i in range(70))
    for count in (0, 5, 6, 7, 8, 9, 20, 62, 63, 64, 65, 70):
        value = 'Digest realm="r", nonce="n"' + "".join(f", p{i}=v" for i in range(count))
        for limit in (count + 1, count + 2, count + 3, 1000):
            found = check_plain(value, limit)
            fits = count + 3 <= limit and count + 2 <= _pure_client.PLAIN_MAX_PARAMS
            assert (found is not None) == fits, (count, limit)
    assert check_plain(many, 1000) is None
    long = 'Digest realm="r", nonce="' + "n" * MAX_HEADER_LENGTH + '"'
    assert both("plain_challenge", [("WWW-Authenticate", long)], len(long), 64)[2] is not None
    assert both("plain_challenge", [("WWW-Authenticate", long)], len(long) - 1, 64)[2] is None
    for bad in ("64", 6.0, None):
        both("plain_challenge", [], bad, 64)
        both("plain_challenge", [], 100, bad)


class _Weird:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


HEADER_SHAPES: list[Any] = [
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"')],
    (("www-authenticate", 'Digest realm="r", nonce="n"'),),
    [("PROXY-AUTHENTICATE", 'Digest realm="r", nonce="n"')],
    [["WWW-Authenticate", 'Digest realm="r", nonce="n"']],  # a list item unpacks too
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), "ab"],  # "ab" unpacks to a, b
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), "abc"],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), ("a", "b", "c")],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), (1, "x")],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), (_Weird(3), "x")],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), (_Weird(16), "x")],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), (b"www-authenticate", "x")],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), ("Proxy-Authenticate", "x")],
    [("WWW-Authenticate", b'Digest realm="r", nonce="n"')],
    [("WWW-Authenticate", 'Digest realm="r", nonce="n"'), ("WWW-Authenticate", "Basic")],
    [("WWW-Authenticatf", 'Digest realm="r", nonce="n"')],
    [("WWW-Authenticat\u00e9", 'Digest realm="r", nonce="n"')],
    [("\u212aWW-Authenticate", 'Digest realm="r", nonce="n"')],
    [],
    (),
    None,
    "WWW-Authenticate",
    iter([("WWW-Authenticate", 'Digest realm="r", nonce="n"')]),
    {("WWW-Authenticate", 'Digest realm="r", nonce="n"')},
]


def test_plain_challenge_header_shapes() -> None:
    for shape in HEADER_SHAPES:
        both("plain_challenge", shape, MAX_HEADER_LENGTH, MAX_PARAMS)
    assert _pure.plain_challenge(HEADER_SHAPES[4], 100, 10) is not None
    assert _pure.plain_challenge(HEADER_SHAPES[6], 100, 10) is None
    assert _pure.plain_challenge(HEADER_SHAPES[2], 100, 10) == (1, "r", "n", *(None,) * 4)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["WWW-Authenticate", "www-authenticate", "Proxy-Authenticate",
                             "Via", "X", "Authorization", "proxy-authenticatE"]),
            st.sampled_from(REAL[:4] + ["Basic realm=x", 'Digest realm="r", nonce="n"', "", 5]),
        ),
        max_size=6,
    )
)  # fmt: skip
def test_plain_challenge_twins_agree_on_header_lists(hdrs: list[tuple[str, Any]]) -> None:
    got = both("plain_challenge", hdrs, MAX_HEADER_LENGTH, MAX_PARAMS)
    if got[0] == "ok" and got[2] is not None:
        named = [v for n, v in hdrs if n.lower() in ("www-authenticate", "proxy-authenticate")]
        assert len(named) == 1
        kind = 0 if any(n.lower() == "www-authenticate" for n, _ in hdrs) else 1
        assert got[2] == general(named[0], kind)


# --------------------------------------------------------------------------------------
# render_answer


def reference_value(
    hash_id: int, ha1: str, method: str, uri: str, nonce: str, nc: str, cnonce: str,
    qop: int, body: bytes, start: str, mid: str, tail: str, end: str,
) -> str:  # fmt: skip
    """render_answer spelled with the general path's pieces."""
    digest_ = _pure.response(hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body)
    return f'{start}{headers._quote(uri)}, response="{digest_}"{mid}{cnonce}{tail}{nc}{end}'


texts = st.one_of(
    st.sampled_from(["", "INVITE", "sip:bob@example.com", 'sip:a"b\\c', "\\", '"', "é", "\ud800"]),
    st.text(max_size=12),
)


@SETTINGS
@given(
    st.sampled_from([0, 1, 2, 3, 4, -1, True, "0"]),
    st.sampled_from([0, 1, 2, 3, True, 1.0, None]),
    st.lists(texts, min_size=10, max_size=10),
    st.one_of(st.binary(max_size=40), st.just(bytearray(b"ab")), st.just("body"), st.none()),
    st.integers(min_value=-1, max_value=9),
)
@example(0, 1, ["a" * 32, "INVITE", "sip:x", "n", "00000001", "c", "S", "M", "T", "E"], b"", -1)
def test_render_answer_twins_agree(
    hash_id: Any, qop: Any, args: list[Any], body: Any, wrong: int
) -> None:
    if wrong >= 0:
        args[wrong] = b"bytes" if wrong % 2 else 7  # a non-str argument
    ha1, method, uri, nonce, nc, cnonce, start, mid, tail, end = args
    got = both("render_answer", hash_id, ha1, method, uri, nonce, nc, cnonce, qop, body,
               start, mid, tail, end)  # fmt: skip
    if got[0] == "ok":
        ref = reference_value(hash_id, ha1, method, uri, nonce, nc, cnonce, qop,
                              bytes(body) if isinstance(body, bytearray) else body,
                              start, mid, tail, end)  # fmt: skip
        assert got[2] == ref


def test_render_answer_every_algorithm_qop_and_body_length() -> None:
    """Body lengths around the C twin's switch to hashlib's SHA-256 for auth-int."""
    sizes = (0, 1, 127, 128, 129, 3000)
    for hash_id, qop, size in itertools.product(range(4), range(3), sizes):
        for body in (bytes(range(256)) * 12)[:size], bytearray(b"b" * size):
            args = ("f" * 64, "REGISTER", 'sip:reg"ist\\rar', "nonce", "00000002", "cn", qop,
                    body, 'Digest username="u", realm="r", nonce="nonce", uri=',
                    ", algorithm=X, cnonce=\"", '", qop=auth, nc=', ", userhash=true")  # fmt: skip
            got = both("render_answer", hash_id, *args)
            assert got[2] == reference_value(hash_id, *args[:7], bytes(body), *args[8:])


# --------------------------------------------------------------------------------------
# The client: the fast path sends exactly what the general path sends


def _entropy(seed: int) -> Callable[[int], bytes]:
    state = [hashlib.sha256(b"%d" % seed).digest()]

    def draw(n: int) -> bytes:
        out = b""
        while len(out) < n:
            state[0] = hashlib.sha256(state[0]).digest()
            out += state[0]
        return out[:n]

    return draw


ALGS = [None, "MD5", "SHA-256", "SHA-512-256", "MD5-sess", "SHA-256-sess", "SHA-512-256-sess"]
QOPS = [None, "auth", "auth-int", "auth,auth-int"]


def _conversation(status: int, alg: Optional[str], qop: Optional[str], user: str,
                  uri: str, userhash: bool, policy: ClientPolicy) -> list[Any]:  # fmt: skip
    """A few first 401/407s, a preemptive request, a second challenge: what the client says."""
    ch = challenge("example.com", "n0nce/1", alg, qop, opaque="o\\\\p", userhash=userhash)
    name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    client = Client([Credential("example.com", user, "secret")], policy, entropy=_entropy(7))
    said: list[Any] = []
    for i in range(3):
        req = RequestPrepared("INVITE", uri, f"call-{i}", 1, b"v=0\r\n" * 9)
        act = client.handle(ResponseReceived(status, [("Via", "x"), (name, ch)], req))
        said.append((type(act).__name__, getattr(act, "headers", None), str(act)))
        retry = RequestPrepared("INVITE", uri, f"call-{i}", 2, b"v=0\r\n" * 9)
        act = client.handle(ResponseReceived(status, [(name, ch + ", stale=true")], retry))
        said.append((type(act).__name__, getattr(act, "headers", None), str(act)))
    said.append(client.handle(RequestPrepared("MESSAGE", uri, "call-p", 1, b"hi")).headers)
    return said


@pytest.mark.parametrize("status", [401, 407])
@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("qop", QOPS)
def test_retry_headers_byte_identical_on_both_paths(
    twin: ModuleType, general_path: Callable[[bool], None], status: int,
    alg: Optional[str], qop: Optional[str],
) -> None:  # fmt: skip
    policy = ClientPolicy()
    cases = [("alice", "sip:bob@example.com", False), ("j\u00e4s", 'sip:"q"\\@x', True),
             ('a"b', "sip:\u00e9t\u00e9@example.com", False)]  # fmt: skip
    for user, uri, userhash in cases:
        fast = _conversation(status, alg, qop, user, uri, userhash, policy)
        general_path(True)
        slow = _conversation(status, alg, qop, user, uri, userhash, policy)
        general_path(False)
        assert fast == slow


def test_fast_path_is_taken_and_its_answer_verifies(twin: ModuleType) -> None:
    """Not vacuous: the first 401 goes through plain_challenge and the inline first retry, and the
    server side accepts what it sends."""
    calls: list[Any] = []
    real = _impl.plain_challenge

    def spy(*args: Any) -> Any:
        calls.append(real(*args))
        return calls[-1]

    for v in bench.VARIANTS:
        inp = bench.inputs(v)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_impl, "plain_challenge", spy)
            client = Client([Credential(bench.REALM, bench.USER, bench.PASSWORD)])
        req = RequestPrepared(v.method, v.uri, "c1", 1, v.body)
        act = client.handle(ResponseReceived(401, inp.response_headers, req))
        assert type(act) is Retry and calls[-1] is not None
        ((name, value),) = act.headers
        assert name == "Authorization"
        assert digest.verify_credentials(value, method=v.method, ha1=inp.ha1, body=v.body)
        creds = headers.parse_credentials(value)
        assert creds.render() == value  # the same bytes headers.Credentials renders
        chain = client._chain(("c1", v.method))
        assert chain is not None and chain.retries == 1


def test_fast_path_leaves_the_unusual_to_the_general_path(twin: ModuleType) -> None:
    """No credential, a refused algorithm, a malformed value: the general path answers
    (NeedCredentials / GiveUp with its reasons), as before."""
    client = Client([Credential("other", "u", "p")], ClientPolicy(ask_for_credentials=True))
    req = RequestPrepared("INVITE", "sip:x", "c", 1)
    act = client.handle(ResponseReceived(401, [("WWW-Authenticate", REAL[2])], req))
    assert isinstance(act, NeedCredentials) and act.realms == ("sip.example.net",)
    client = Client([Credential("x", "u", "p")])
    bad = 'Digest realm="x", nonce="n", algorithm=SHA-1'
    act = client.handle(ResponseReceived(401, [("WWW-Authenticate", bad)], req))
    assert isinstance(act, GiveUp) and "unknown" in act.detail
    with pytest.raises(MalformedHeader):
        headers.parse_challenges('Digest realm="x", nonce="n",, realm=y')


class _Str(str):
    """A str subclass whose methods lie: both twins read only its characters."""

    def __contains__(self, item: object) -> bool:
        return False

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return b"lie"


def test_render_answer_error_order_and_str_subclasses() -> None:
    good = ["a" * 32, "INVITE", 'sip:"x"', "n", "00000001", "c", "S", "M", "T", "E"]
    for i, j in itertools.product(range(10), range(10)):
        args: list[Any] = list(good)
        args[i] = "\ud800"  # a lone surrogate where it is hashed (or just rendered)
        args[j] = b"x" if j != i else args[j]
        for qop, body in ((0, b""), (1, b""), (2, b"b"), (2, "b"), (2, memoryview(b"b"))):
            both("render_answer", 1, *args[:6], qop, body, *args[6:])
    sub = [_Str(a) for a in good]
    got = both("render_answer", 0, *sub[:6], 1, b"", *sub[6:])
    assert got[2] == both("render_answer", 0, *good[:6], 1, b"", *good[6:])[2]
    assert '"sip:\\"x\\""' in got[2]
