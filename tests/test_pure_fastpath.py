"""Every fast tier against the general path it short-cuts.

The pure twin reads the common shapes with regular expressions (``tokenize``'s
challenge regex, ``verify_fast``'s credentials regex), hashes plain str arguments
directly (``ha1``, ``response``), and ``digest.compute_ha1``/``compute_response`` skip
their general validation for the usual arguments. Each tier must give exactly what the
general path gives, errors included: checked here on well-formed headers and on every
single-character mutation and truncation of them, and on arbitrary text. Where the C
twin is built, its answers must be the same too.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Optional, Union
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import _impl, _pure, digest
from sipdigest._impl import TWIN_FUNCTIONS
from sipdigest.bench import VARIANTS, inputs
from sipdigest.errors import MalformedHeader

from .conftest import FAST, RFC2617, RFC2617_HA1, require_fast

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call did: the result with its type, or the error (class, message, position)."""
    try:
        result = fn(*args, **kwargs)
    except MalformedHeader as e:
        return ("malformed", e.message, e.position)
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("ok", type(result), result)


# --------------------------------------------------------------------------------------
# Inputs: realistic well-formed values and their single-character mutations


CHALLENGES = [
    inputs(VARIANTS[0]).challenge,
    inputs(VARIANTS[3]).challenges,
    'Digest realm="a", nonce="n", Basic realm="b", Bearer x=y,, Digest realm="c", nonce=m',
    'x y=z,Digest realm="r", qop="auth,auth-int", stale=TRUE',
]
CREDENTIALS = [inputs(v).value for v in VARIANTS[:4]] + [RFC2617]

# characters at every edge of the grammars' classes
EDITS = [" ", "\t", "\r", "\n", ",", "=", '"', "\\", "a", "Z", "-", "/", ";", "é", "\x00",
         "\x7f", "\ud800", ""]  # fmt: skip


def mutations(value: str) -> list[str]:
    """Each truncation, and each deletion, replacement and insertion of one character."""
    out = [value[:k] for k in range(len(value))]
    for k in range(len(value) + 1):
        for c in EDITS:
            out.append(value[:k] + c + value[k + 1 :])  # replace (or delete, c == "")
            if c:
                out.append(value[:k] + c + value[k:])  # insert
    return out


# --------------------------------------------------------------------------------------
# tokenize: the regex tier against the state machine (and the C twin)


def check_tokenize(value: str, max_params: int = 64) -> tuple[Any, ...]:
    got = outcome(_pure.tokenize, value, 10**9, max_params)
    assert got == outcome(_pure._tokenize_slow, value, max_params), value
    if FAST is not None:
        assert got == outcome(FAST.tokenize, value, 10**9, max_params), value
    return got


def test_regex_tier_reads_the_common_shapes() -> None:
    # these must not fall back to the state machine (that is the point of the tier)
    values = CHALLENGES + CREDENTIALS
    expected = [check_tokenize(value) for value in values]
    with mock.patch.object(_pure, "_tokenize_slow", side_effect=AssertionError("slow path")):
        assert [outcome(_pure.tokenize, value, 8192, 64) for value in values] == expected
    assert [len(e[2]) for e in expected[:4]] == [1, 2, 4, 2]


@pytest.mark.parametrize("value", CHALLENGES + CREDENTIALS)
def test_tokenize_every_mutation(value: str) -> None:
    results = {check_tokenize(v)[0] for v in mutations(value)}
    assert results == {"ok", "malformed"}  # the mutations reach both outcomes


@pytest.mark.parametrize("max_params", [0, 1, 5, 6, 7, 11, 12])
def test_tokenize_item_limit(max_params: int) -> None:
    for value in CHALLENGES + CREDENTIALS:
        check_tokenize(value, max_params)


@pytest.mark.parametrize(
    "value",
    [
        "Digest a==",  # token68 in the full grammar
        "Digest a==, b=c",
        "Digest a=b, Basic c==",
        "Digest a=b, Basic c==, d=e",
        'Digest a="x", A="y"',  # duplicate
        'Digest a="x", b=1, Basic a=2, a=3',
        "Digest a=b,, ,c=d ,",
        "Digest a=b, c d=e, f g==",
        "Digest a = =",
        "Digest a=b c=d",
        'Digest a="x"y',
        "Digest a=b, Basic",
        "Basic, Digest a=b",
    ],
)
def test_tokenize_edges(value: str) -> None:
    check_tokenize(value)


@SETTINGS
@given(
    value=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from([*EDITS, "Digest ", "a=b", 'n="v"', ", ", "Basic x"]),
                 max_size=20).map("".join),
    ),
    max_params=st.sampled_from([1, 3, 64]),
)  # fmt: skip
def test_tokenize_arbitrary_text(value: str, max_params: int) -> None:
    check_tokenize(value, max_params)


# --------------------------------------------------------------------------------------
# verify_fast: the pure regex scanner against the C scanner and the general path


def general_path(value: str, method: Any, ha1: Any, password: Any, body: Any) -> tuple[Any, ...]:
    """digest.verify_credentials on the pure twin with the short cut turned off."""
    core = {n: getattr(_pure, n) for n in TWIN_FUNCTIONS}
    core["verify_fast"] = lambda *args: -1
    with mock.patch.multiple(_impl, **core):
        return outcome(
            digest.verify_credentials, value, method=method, ha1=ha1, password=password, body=body
        )


def check_verify(value: str, method: Any, ha1: Any, password: Any, body: Any) -> int:
    answer = _pure.verify_fast(value, method, ha1, password, body)
    assert answer in (-1, 0, 1)
    if FAST is not None:
        assert FAST.verify_fast(value, method, ha1, password, body) == answer, value
    if answer != -1:
        assert general_path(value, method, ha1, password, body) == ("ok", bool, answer == 1), value
    return answer


def test_verify_fast_answers_the_common_shapes() -> None:
    assert check_verify(RFC2617, "GET", RFC2617_HA1, None, b"") == 1
    assert check_verify(RFC2617, b"GET", None, b"Circle Of Life", None) == 1
    assert check_verify(RFC2617, "GET", None, "circle of life", b"") == 0
    for v in VARIANTS:
        inp = inputs(v)
        assert check_verify(inp.value, v.method, inp.ha1, None, v.body) == 1
        assert check_verify(inp.value, v.method, inp.ha1.upper().encode(), None, v.body) == 1
        assert check_verify(inp.value, "INVITE", inp.ha1, None, v.body) == 0


@pytest.mark.parametrize("index", range(4))
def test_verify_fast_every_mutation(index: int) -> None:
    v = VARIANTS[index]
    inp = inputs(v)
    answers = {check_verify(m, v.method, inp.ha1, None, v.body) for m in mutations(inp.value)}
    assert answers == {-1, 0, 1}


def test_verify_fast_every_mutation_with_a_password() -> None:
    answers = {check_verify(m, "GET", None, "Circle Of Life", b"") for m in mutations(RFC2617)}
    assert answers == {-1, 0, 1}


@pytest.mark.parametrize(
    "edit",
    [
        ("algorithm=MD5", "algorithm=md5-SESS"),
        ("algorithm=MD5", 'algorithm="MD5"'),
        ("algorithm=MD5", "algorithm=-sess"),
        ("algorithm=MD5", "algorithm=MD5-sess-sess"),
        ("qop=auth", "qop=AUTH"),
        ("qop=auth", 'qop="auth"'),
        ("nc=00000001", "nc=0000000G"),
        ("nc=00000001", 'nc="0000000a"'),
        ("nc=00000001", "nc=1"),
        (", qop=auth, nc=00000001", ""),
        (", qop=auth", ""),
        ("Digest ", 'Digest username*="x", '),
        ("Digest ", "Digest userhash=FALSE, "),
        ("Digest ", "Digest userhash=true, "),
        ("Digest ", "  DIGEST\t "),
        ("Digest ", "Digest=x "),
        ('uri="sip', "uri=sip"),
        ("Digest ", 'Digest REALM="elsewhere", '),  # duplicates: the tokenizer raises
        ("Digest ", "Digest x=1, X=2, "),
        (", qop=auth, nc=00000001", ", zz=1" * 55),  # 63 parameters: the most
        (", qop=auth, nc=00000001", ", zz=1" * 56),
        # -sess without cnonce (and without qop, which needs one anyway)
        ('algorithm=MD5, cnonce="0a4f113b9c8d7e6f", ', "algorithm=MD5-sess, "),
        ('algorithm=MD5, cnonce="0a4f113b9c8d7e6f", ', ""),
    ],
)
def test_verify_fast_edges(edit: tuple[str, str]) -> None:
    inp = inputs(VARIANTS[0])
    value = inp.value.replace(*edit)
    if edit[1].startswith(", zz"):  # distinct names: zz0, zz1, ...
        value = value.replace("zz", "zz{}").format(*range(edit[1].count("zz")))
        assert len(_pure.tokenize(value, 8192, 10**6)[0][2]) == 8 + edit[1].count("zz")
    if "cnonce" in edit[0]:
        value = value.replace(", qop=auth, nc=00000001", "")
    for ha1, password in ((inp.ha1, None), (None, "correct horse battery staple"), (None, b"x")):
        check_verify(value, "REGISTER", ha1, password, b"")


ODD_ARGUMENTS: list[tuple[Any, Any, Any, Any]] = [
    # method, ha1, password, body
    ("REGISTER", None, None, b""),
    ("REGISTER", "0" * 32, "pw", b""),
    ("REGISTER", "0" * 31, None, b""),
    ("REGISTER", "é" * 32, None, b""),
    ("REGISTER", "\ud800" * 32, None, b""),
    ("REGISTER", "é".encode() * 16, None, b""),
    ("REGISTER", bytearray(b"0" * 32), None, b""),
    ("REGISTER", type("S", (str,), {})("0" * 32), None, b""),
    ("REGISTER", None, 32, b""),
    ("REGISTER", None, "\udcff", b""),
    ("REGISTER", None, type("B", (bytes,), {})(b"pw"), b""),
    (None, None, "pw", b""),
    ("\ud800", None, "pw", b""),
    (bytearray(b"REGISTER"), None, "pw", b""),
    ("MÉTHODE", None, "pw", "body é"),
    ("MESSAGE", None, "pw", None),
    ("MESSAGE", None, "pw", "\ud800"),
    ("MESSAGE", None, "pw", bytearray(b"x")),
]


@pytest.mark.parametrize("args", ODD_ARGUMENTS)
@pytest.mark.parametrize("index", [0, 1])
def test_verify_fast_odd_arguments(args: tuple[Any, Any, Any, Any], index: int) -> None:
    check_verify(inputs(VARIANTS[index]).value, *args)


@SETTINGS
@given(
    value=st.one_of(
        st.text(max_size=80),
        st.sampled_from(CREDENTIALS).flatmap(
            lambda v: st.tuples(st.integers(0, len(v)), st.integers(0, 3), st.text(max_size=3))
            .map(lambda e: v[: e[0]] + e[2] + v[e[0] + e[1] :])
        ),
    ),
    method=st.sampled_from(["REGISTER", "GET", b"MESSAGE", "é"]),
    secret=st.sampled_from(["ha1", "password", "wrong"]),
)  # fmt: skip
def test_verify_fast_arbitrary_text(value: str, method: Any, secret: str) -> None:
    if secret == "ha1":
        check_verify(value, method, inputs(VARIANTS[0]).ha1, None, b"")
    else:
        check_verify(value, method, None, "Circle Of Life" if secret == "password" else "x", b"")


# --------------------------------------------------------------------------------------
# ha1 / response: the plain-str fast path against the general path


def general(name: str, *args: Any) -> tuple[Any, ...]:
    """_pure's hash function with the fast path made unreachable (no constructor by id)."""
    with mock.patch.object(_pure, "_BY_ID", {}):
        return outcome(getattr(_pure, name), *args)


texts = st.one_of(
    st.text(max_size=20), st.binary(max_size=10), st.sampled_from(["\ud800", "x\udfffy", None, 1])
)


@SETTINGS
@given(hash_id=st.sampled_from([0, 1, 2, 3, 4, True, -1]), u=texts, r=texts, p=texts)
def test_ha1_fast_path(hash_id: Any, u: Any, r: Any, p: Any) -> None:
    got = outcome(_pure.ha1, hash_id, u, r, p)
    assert got == general("ha1", hash_id, u, r, p)
    if FAST is not None:
        assert got == outcome(FAST.ha1, hash_id, u, r, p)


@SETTINGS
@given(
    hash_id=st.sampled_from([0, 1, 2, 3, 4, True]),
    args=st.lists(texts, min_size=6, max_size=6),
    qop=st.sampled_from([0, 1, 2, 3, True, 1.0, None]),
    body=st.one_of(st.binary(max_size=40), st.sampled_from(["sdp", "\ud800", None])),
)
def test_response_fast_path(hash_id: Any, args: list[Any], qop: Any, body: Any) -> None:
    got = outcome(_pure.response, hash_id, *args, qop, body)
    assert got == general("response", hash_id, *args, qop, body)
    if FAST is not None:
        assert got == outcome(FAST.response, hash_id, *args, qop, body)


def test_response_fast_path_values() -> None:
    # an independent computation, so a fast path that agreed with a wrong general path fails
    def h(data: str) -> str:
        return hashlib.md5(data.encode()).hexdigest()

    ha2 = h("REGISTER:sip:a")
    assert _pure.response(0, "h1", "REGISTER", "sip:a", "n", "00000001", "c", 1, b"") == h(
        f"h1:n:00000001:c:auth:{ha2}"
    )
    ha2i = h(f"MESSAGE:sip:a:{hashlib.md5(b'body').hexdigest()}")
    assert _pure.response(0, "h1", "MESSAGE", "sip:a", "n", "1", "c", 2, b"body") == h(
        f"h1:n:1:c:auth-int:{ha2i}"
    )
    assert _pure.response(0, "h1", "GET", "/", "n", None, None, 0, None) == h(f"h1:n:{h('GET:/')}")
    assert _pure.ha1(2, "u", "r", "p") == hashlib.new("sha512_256", b"u:r:p").hexdigest()
    assert _pure.ha1(3, "u", "r", "p") == hashlib.sha512(b"u:r:p").hexdigest()[:64]


# --------------------------------------------------------------------------------------
# digest.compute_ha1 / compute_response: the wrappers' fast path against their general
# path (an Algorithm object instead of a token always takes the general path)

ALGORITHM_TOKENS = ["MD5", "md5-SESS", "SHA-256", "SHA-256-sess", "SHA-512-256", "sha-512-256-sess"]


@pytest.fixture(params=["pure", "fast"])
def core(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _pure if request.param == "pure" else require_fast()
    for name in TWIN_FUNCTIONS:
        monkeypatch.setattr(_impl, name, getattr(module, name))


@pytest.mark.usefixtures("core")
def test_compute_ha1_fast_path() -> None:
    for token in [*ALGORITHM_TOKENS, "MD5-SESS", "sha-256"]:
        alg = digest.get_algorithm(token)
        for args in (("u", "r", "p"), (b"u", "r", "\ud800"), ("u", None, "p")):
            assert outcome(digest.compute_ha1, token, *args) == outcome(
                digest.compute_ha1, alg, *args
            )
    for token in ("md4", "", "MD5 ", "é"):
        assert outcome(digest.compute_ha1, token, "u", "r", "p")[1].__name__ == (
            "UnsupportedAlgorithm"
        )


@st.composite
def response_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    token = draw(st.sampled_from(ALGORITHM_TOKENS))
    alg = digest.get_algorithm(token)
    stored = "ab" * (alg.hex_length // 2)
    kwargs: dict[str, Any] = {
        "algorithm": token,
        "username": draw(st.sampled_from(["alice", b"alice", "\ud800", None])),
        "realm": "example.com",
        "method": draw(st.sampled_from(["REGISTER", b"MESSAGE", "\ud800", 7])),
        "uri": "sip:example.com",
        "nonce": draw(st.sampled_from(["n0nce", b"n", None])),
        "body": draw(st.sampled_from([b"", b"sdp", "sdp", None])),
    }
    secret = draw(st.sampled_from(["ha1", "HA1", "short", "bytes", "password", "both", "none"]))
    if secret == "ha1":
        kwargs["ha1"] = stored
    elif secret == "HA1":
        kwargs["ha1"] = stored.upper()
    elif secret == "short":
        kwargs["ha1"] = stored[:-1]
    elif secret == "bytes":
        kwargs["ha1"] = stored.encode()
    elif secret == "password":
        kwargs["password"] = draw(st.sampled_from(["pw", b"pw", "\ud800"]))
    elif secret == "both":
        kwargs["ha1"], kwargs["password"] = stored, "pw"
    nc = draw(st.sampled_from([1, 0, -1, 2**32 - 1, 2**32, True, "00000001", "x", None, 1.0]))
    if nc is not None:
        kwargs["nc"] = nc
    cnonce = draw(st.sampled_from(["c", b"c", None, "\ud800"]))
    if cnonce is not None:
        kwargs["cnonce"] = cnonce
    qop = draw(st.sampled_from(["auth", "auth-int", "AUTH", "bogus", None, ""]))
    if qop is not None:
        kwargs["qop"] = qop
    return kwargs


@pytest.mark.usefixtures("core")
@SETTINGS
@given(kwargs=response_kwargs())
def test_compute_response_fast_path(kwargs: dict[str, Any]) -> None:
    general_kwargs = dict(kwargs, algorithm=digest.get_algorithm(kwargs["algorithm"]))
    assert outcome(digest.compute_response, **kwargs) == outcome(
        digest.compute_response, **general_kwargs
    )


@pytest.mark.usefixtures("core")
def test_compute_response_fast_path_value() -> None:
    kw: dict[str, Union[str, int, bytes, Optional[str]]] = dict(
        username="Mufasa", realm="testrealm@host.com", password="Circle Of Life", method="GET",
        uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", nc=1,
        cnonce="0a4f113b", qop="auth",
    )  # fmt: skip
    assert digest.compute_response(algorithm="MD5", **kw) == "6629fae49393a05397450978507c4ef1"  # type: ignore[arg-type]
