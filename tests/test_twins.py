"""The C twin (``sipdigest._fast``) against the reference (``sipdigest._pure``).

Every public function must give the same result or raise the same exception: same
class, same message and, for MalformedHeader, the same position. ``verify_fast`` gives
the same answer on both twins (the pure one mirrors the C scanner); when it answers
(not -1), the answer must be the general Python path's (``digest.verify_credentials``
on the pure twin with the short cut turned off).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import os
import random
import time
from typing import Any, Callable, Optional, Union
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sipdigest import _impl, _pure, digest
from sipdigest.bench import VARIANTS
from sipdigest.bench import inputs as bench_inputs
from sipdigest.errors import MalformedHeader


def _require_extension() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true" or os.environ.get(
        "SIPDIGEST_REQUIRE_EXTENSIONS", ""
    ).strip().lower() not in ("", "0", "false", "no")


try:
    from sipdigest import _fast
except ImportError as exc:  # pragma: no cover - depends on the build
    if _require_extension():
        raise
    pytest.skip(
        f"sipdigest._fast is not built ({exc}); build it with "
        "`python setup.py build_ext --inplace` to compare the twins",
        allow_module_level=True,
    )

from sipdigest._impl import TWIN_FUNCTIONS  # noqa: E402

from .conftest import RFC2617, RFC2617_HA1  # noqa: E402

CONSTANTS = (
    "MD5",
    "SHA256",
    "SHA512_256",
    "SHA512_TRUNC",
    "QOP_NONE",
    "QOP_AUTH",
    "QOP_AUTH_INT",
    "MAC_LEN",
)
MD5, SHA256, SHA512_256, SHA512_TRUNC = (
    _pure.MD5,
    _pure.SHA256,
    _pure.SHA512_256,
    _pure.SHA512_TRUNC,
)
HASH_IDS = (MD5, SHA256, SHA512_256, SHA512_TRUNC)
QOPS = (_pure.QOP_NONE, _pure.QOP_AUTH, _pure.QOP_AUTH_INT)

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What a call did, comparable across twins: the result with its type, or the error."""
    try:
        result = fn(*args)
    except MalformedHeader as e:
        return ("malformed", e.message, e.position, str(e))
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("ok", type(result), result)


def both(name: str, *args: Any) -> tuple[Any, ...]:
    """Call ``name`` on both twins, assert they agree, return the outcome."""
    fast = outcome(getattr(_fast, name), *args)
    pure = outcome(getattr(_pure, name), *args)
    assert fast == pure, (name, args)
    return pure


# --------------------------------------------------------------------------------------
# Surface


def test_same_public_surface() -> None:
    for name in CONSTANTS:
        assert getattr(_fast, name) == getattr(_pure, name), name
    for name in TWIN_FUNCTIONS:
        fast_params = list(inspect.signature(getattr(_fast, name)).parameters)
        pure_params = list(inspect.signature(getattr(_pure, name)).parameters)
        assert fast_params == pure_params, name


def test_keyword_arguments() -> None:
    kw = dict(hash_id=MD5, username="u", realm="r", password="p")
    assert _fast.ha1(**kw) == _pure.ha1(**kw)
    assert _fast.tokenize(value="Digest a=b", max_length=100, max_params=5) == [
        ("Digest", None, {"a": "b"})
    ]


# --------------------------------------------------------------------------------------
# Tokenizer

FRAGMENTS = [
    "Digest", "digest", "DIGEST", "Basic", "Bearer", "NTLM", "x",
    " ", "  ", "\t", "\r\n ", "\r\n\t", "\r\n", "\r", "\n",
    ",", ", ", ",,", " ,", "=", "==", "===",
    '"', "\\", '\\"', "\\\\", "\\\r", "\\\n", "\\\x00", "\\\ud800", "\\é",
    "realm", "Realm", "username", "USERNAME", "username*", "nonce", "qop", "nc", "a", "b",
    "realm=", 'realm="', 'nonce="abc"', "a=b", "a==", "a=b=c", "uri=/x?y=z",
    '"quoted"', '"a\\"b"', '"with, comma"', '"x=y"', '""', '"\r\n folded"', '"tab\there"',
    "UTF-8''J%C3%A4s", "auth", "auth-int", "MD5-sess", "00000001",
    "dGVzdA==", "abc+/", "a.b-c_d~", "token68==",
    "\x00", "\x01", "\x1f", "\x7f", "\x80", "\x9f", "\xa0", "ÿ",
    "é", "€", "😀", "\u2028", "\ufeff", "\ud800", "\udfff", "\udc00x",
]  # fmt: skip

fragment_values = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=30
).map("".join)

_ws = st.sampled_from(["", "", " ", " ", "  ", "\t", "\r\n ", "\r\n\t", "\n", "\r"])
_names = st.sampled_from(
    ["username", "Realm", "NONCE", "uri", "response", "qop", "nc", "cnonce", "opaque",
     "algorithm", "userhash", "username*", "x-ext", "a", "a!#$%&'*+-.^_`|~z", "realm"]
)  # fmt: skip
_qchars = st.sampled_from(
    ["a", "Z", "0", " ", "\t", ",", "=", ";", "/", "\\\"", "\\\\", "\\a", "\\\t", "\\é",
     "\r\n ", "\r", "\n", "é", "€", "😀", "\x80", "ÿ", "\x00", "\x7f", "\ud800", "\udfff",
     "\\\udc00", '"']
)  # fmt: skip
_tokens = st.sampled_from(
    ["MD5", "auth", "00000001", "x", "a=b", "==", "=", "abc==", "-._~+/", "true", "é"]
)


@st.composite
def realistic_values(draw: st.DrawFn) -> str:
    """Header values built from the grammar's pieces, mostly well formed, some not."""
    out = [draw(st.sampled_from(["", "", " ", ",", " , ", "\r\n "]))]
    for c in range(draw(st.integers(1, 3))):
        if c:
            out.append(draw(_ws) + "," + draw(_ws))
        out.append(draw(st.sampled_from(["Digest", "digest", "Basic", "Bearer", "Negotiate"])))
        shape = draw(st.sampled_from(["params", "params", "params", "token68", "bare"]))
        if shape == "token68":
            out.append(" " + draw(st.sampled_from(["dGVzdA==", "abc", "a/b+c=", "x=", "=="])))
            continue
        if shape == "bare":
            continue
        out.append(draw(st.sampled_from([" ", "  ", "\t", "\r\n ", ""])))
        for p in range(draw(st.integers(0, 6))):
            if p:
                out.append(
                    draw(_ws) + draw(st.sampled_from([",", ",", ",,", ", ,", ""])) + draw(_ws)
                )
            out.append(
                draw(_names) + draw(_ws) + draw(st.sampled_from(["=", "=", "", "=="])) + draw(_ws)
            )
            if draw(st.booleans()):
                chars = draw(st.lists(_qchars, max_size=8))
                closing = draw(st.sampled_from(['"', '"', '"', ""]))
                out.append('"' + "".join(chars) + closing)
            else:
                out.append(draw(_tokens))
    out.append(draw(st.sampled_from(["", "", " ", ",", " ,", "\r\n", "\\"])))
    return "".join(out)


any_value = st.one_of(st.text(), fragment_values, realistic_values())
max_lengths = st.one_of(st.just(8192), st.just(10**30), st.integers(0, 40))
max_params_st = st.sampled_from([0, 1, 2, 3, 4, 7, 64, 10**6])


@SETTINGS
@given(value=any_value, max_length=max_lengths, max_params=max_params_st)
@example(value="Digest a==", max_length=8192, max_params=64)
@example(value='Digest a="\\', max_length=8192, max_params=64)
@example(value="Digest realm=x, realm=y", max_length=8192, max_params=64)
@example(value="Basic dGVzdA==, x=y", max_length=8192, max_params=64)
def test_tokenize_twins(value: str, max_length: int, max_params: int) -> None:
    result = both("tokenize", value, max_length, max_params)
    assert result[0] in ("ok", "malformed")
    result = both("tokenize_params", value, max_length, max_params)
    assert result[0] in ("ok", "malformed")


@st.composite
def well_formed_values(draw: st.DrawFn) -> str:
    """One challenge of name=value pairs, the shape the pure regex tier takes."""
    pairs = []
    for _ in range(draw(st.integers(1, 8))):
        name = draw(_names) + draw(st.sampled_from(["", " ", "\r\n "])) + "="
        name += draw(st.sampled_from(["", " ", "\t", "\r\n "]))
        if draw(st.booleans()):
            chars = draw(st.lists(_qchars.filter(lambda c: c not in '"\x00\x7f\ud800'), max_size=8))
            pairs.append(name + '"' + "".join(chars) + '"')
        else:
            pairs.append(name + draw(_tokens))
    sep = draw(st.sampled_from([",", ", ", " ,", ",\r\n ", ",,"]))
    lead = draw(st.sampled_from(["", " ", "\r\n"]))
    return (
        lead
        + draw(st.sampled_from(["Digest", "Basic", "x"]))
        + draw(st.sampled_from([" ", "\t"]))
        + sep.join(pairs)
    )


@SETTINGS
@given(value=st.one_of(any_value, well_formed_values()), max_params=max_params_st)
def test_pure_regex_tier_agrees_with_state_machine(value: str, max_params: int) -> None:
    # the regex tier answers or hands over to the state machine, so the two always agree
    assert outcome(_pure.tokenize, value, 10**9, max_params) == outcome(
        _pure._tokenize_slow, value, max_params
    )


@SETTINGS
@given(value=well_formed_values(), max_params=max_params_st)
def test_tokenize_twins_well_formed(value: str, max_params: int) -> None:
    both("tokenize", value, 8192, max_params)
    both("tokenize_params", value.split(" ", 1)[-1], 8192, max_params)


@pytest.mark.parametrize(
    "bad", [b"Digest a=b", None, 1, bytearray(b"x"), type("S", (str,), {})("x")]
)
def test_tokenize_rejects_non_str(bad: object) -> None:
    assert both("tokenize", bad, 8192, 64)[1] is TypeError
    assert both("tokenize_params", bad, 8192, 64)[1] is TypeError


def test_tokenize_limits() -> None:
    value = "Digest a=b, c=d"
    for max_length in (-1, 0, 14, 15, True, 10**40, -(10**40)):
        both("tokenize", value, max_length, 64)
        both("tokenize_params", "a=b", max_length, 64)
    for max_params in (-(10**40), -1, 0, 1, 2, 3, True, False, 10**40):
        both("tokenize", value, 8192, max_params)
        both("tokenize_params", value, 8192, max_params)


def test_tokenize_every_kind_and_long_values() -> None:
    # 1-, 2- and 4-byte strings, and quoted values longer than the stack buffer
    for extra in ("", "é", "€", "😀"):
        for body in ("x" * 300, "\\x" * 300, "a\r\n b" * 100, extra * 400 + "\\" + '"'):
            value = f'Digest realm="{body}{extra}", nonce={extra or "n"}'
            both("tokenize", value, 10**6, 64)
            both("tokenize_params", f'realm="{body}{extra}"', 10**6, 64)


# --------------------------------------------------------------------------------------
# Hashes


def _reference_hex(hash_id: int, data: bytes) -> str:
    if hash_id == MD5:
        return hashlib.md5(data).hexdigest()
    if hash_id == SHA256:
        return hashlib.sha256(data).hexdigest()
    if hash_id == SHA512_256:
        return hashlib.new("sha512_256", data).hexdigest()
    return hashlib.sha512(data).hexdigest()[:64]


@pytest.fixture(params=[True, False], ids=["sha-hardware", "sha-portable"])
def sha_hardware(request: pytest.FixtureRequest) -> Any:
    """Run a test with the C SHA-256 on the CPU's SHA extensions (when it has them) and
    with the portable rounds."""
    _fast._sha256_hardware(request.param)
    yield request.param
    _fast._sha256_hardware(True)


@pytest.mark.usefixtures("sha_hardware")
def test_hexdigest_every_length() -> None:
    rng = random.Random(20240101)
    for n in [*range(301), 1000, 4095, 4096, 65537]:
        data = rng.randbytes(n)
        for hash_id in HASH_IDS:
            expected = _reference_hex(hash_id, data)
            assert _fast.hexdigest(hash_id, data) == expected, (hash_id, n)
            assert _pure.hexdigest(hash_id, data) == expected
    # the SHA-256 HMAC midstates go through the same compression function
    for key in (b"", b"k" * 64, b"k" * 65, b"secret"):
        assert _fast.hmac_sha256(key, b"m" * 100) == hmac.new(key, b"m" * 100, "sha256").digest()


def test_sha_hardware_switch() -> None:
    assert _fast._sha256_hardware(False) is False
    assert _fast.sha256_on_hardware() is False
    on = _fast._sha256_hardware(True)
    assert on in (True, False)  # what the CPU has
    assert _fast.sha256_on_hardware() is on


@pytest.mark.usefixtures("sha_hardware")
def test_long_sha256_auth_int_bodies_answer_alike_on_either_sha256() -> None:
    """A long auth-int body is hashed by hashlib or the C rounds by what the CPU has
    (the portable rounds lose to OpenSSL, SHA-NI beats it), on every path: the answer,
    its check and verify_fast are the same either way, as is the pure twin's."""
    ha1 = "a" * 64
    for n in (0, 127, 128, 1024, 4097):
        body = bytes(range(256)) * (n // 256) + bytes(n % 256)
        args = (SHA256, ha1, "INVITE", "sip:bob@example.com", "n0nce", "00000001", "c0", 2)
        want = _pure.response(*args, body)
        assert _fast.response(*args, body) == want
        assert _fast.check_response(*args, body, want) is True
        got = _fast.render_answer(SHA256, ha1, "INVITE", "sip:bob@example.com", "n0nce",
                                  "00000001", "c0", 2, body, "u", "m", "t", "e")  # fmt: skip
        assert f'response="{want}"' in got
        again = _fast.render_answer(SHA256, ha1, "INVITE", "sip:bob@example.com", "n0nce",
                                    "00000001", "c0", 2, bytearray(body), "u", "m", "t", "e")  # fmt: skip
        assert again == got
    for v in VARIANTS:
        if v.qop == "auth-int":
            inp = bench_inputs(v)
            assert _fast.verify_fast(inp.value, v.method, inp.ha1, None, v.body) == 1
            assert _fast.verify_fast(inp.value, v.method, inp.ha1, None, v.body + b"x") == 0


@SETTINGS
@given(
    data=st.one_of(st.binary(max_size=400), st.text(max_size=200)),
    hash_id=st.sampled_from(HASH_IDS),
)
def test_hexdigest_twins(data: Union[str, bytes], hash_id: int) -> None:
    both("hexdigest", hash_id, data)


BAD_HASH_IDS = [-1, 4, 100, True, False, 1.0, "0", None, 2**70, -(2**70)]
BAD_TEXTS = [None, 1, 1.5, bytearray(b"x"), memoryview(b"x"), ["x"], "\ud800", "a\udfffb"]


def test_argument_errors() -> None:
    good = "x"
    for bad in BAD_HASH_IDS:
        both("hexdigest", bad, b"")
        both("ha1", bad, good, good, good)
        both("ha1_sess", bad, good, good, good)
        both("response", bad, good, good, good, good, good, good, 1, b"")
        both("check_response", bad, good, good, good, good, good, good, 1, b"", good)
    for bad in [*BAD_TEXTS, type("B", (bytes,), {})(b"sub"), type("S", (str,), {})("sub")]:
        both("hexdigest", MD5, bad)
        for pos in range(3):
            args = [good, good, good]
            args[pos] = bad
            both("ha1", MD5, *args)
            both("ha1_sess", SHA256, *args)
        for pos in (0, 1, 2, 3, 4, 5, 7):  # every text argument of response (6 is qop)
            for qop in QOPS:
                args: list[Any] = [good, good, good, good, good, good, qop, b"body"]
                args[pos] = bad
                both("response", MD5, *args)
                both("check_response", MD5, *args, "0" * 32)
        both("hmac_sha256", bad, b"d")
        both("hmac_sha256", b"k", bad)
        both("mint_nonce", bad, b"p")
        both("mint_nonce", b"k", bad)
    # the first bad argument decides, in the pure twin's order
    both("ha1", MD5, None, 1, "\ud800")
    both("mint_nonce", None, 1)
    both("response", MD5, None, 1, 2.0, "x", "x", "x", 2, None)
    for qop in [3, -1, None, "auth", 1.0, 2.0, True, False, 2**80]:
        both("response", MD5, "h", "GET", "/", "n", "1", "c", qop, b"")
    # RFC 2069 form: nc and cnonce are not read, so they may be anything
    both("response", MD5, "h", "GET", "/", "n", None, 3.5, _pure.QOP_NONE, None)
    for received in [None, b"0" * 32, 32]:
        both("check_response", MD5, "h", "GET", "/", "n", "1", "c", 1, b"", received)


text = st.one_of(st.text(max_size=40), st.binary(max_size=40))


@SETTINGS
@given(hash_id=st.sampled_from(HASH_IDS), u=text, r=text, p=text)
def test_ha1_twins(
    hash_id: int, u: Union[str, bytes], r: Union[str, bytes], p: Union[str, bytes]
) -> None:
    both("ha1", hash_id, u, r, p)
    both("ha1_sess", hash_id, u, r, p)


@SETTINGS
@given(
    hash_id=st.sampled_from(HASH_IDS),
    args=st.lists(text, min_size=6, max_size=6),
    qop=st.sampled_from(QOPS),
    body=st.one_of(st.binary(max_size=300), st.text(max_size=50)),
    mangle=st.sampled_from(["same", "upper", "short", "long", "flip", "non-ascii", "other"]),
    other=st.text(max_size=70),
)
def test_response_twins(
    hash_id: int,
    args: list[Union[str, bytes]],
    qop: int,
    body: Union[str, bytes],
    mangle: str,
    other: str,
) -> None:
    result = both("response", hash_id, *args, qop, body)
    expected = result[2] if result[0] == "ok" else "0" * 32
    received = {
        "same": expected,
        "upper": expected.upper(),
        "short": expected[:-1],
        "long": expected + "0",
        "flip": expected[:-1] + ("0" if expected[-1] != "0" else "1"),
        "non-ascii": expected[:-1] + "é",
        "other": other,
    }[mangle]
    checked = both("check_response", hash_id, *args, qop, body, received)
    if result[0] == "ok":
        assert checked == ("ok", bool, mangle == "same" or received == expected)


def test_hmac_against_stdlib() -> None:
    rng = random.Random(7)
    for key_len in [*range(0, 140, 3), 64, 65, 200, 1000]:
        for data_len in (0, 1, 55, 56, 63, 64, 65, 300):
            key, data = rng.randbytes(key_len), rng.randbytes(data_len)
            expected = hmac.new(key, data, hashlib.sha256).digest()
            assert _fast.hmac_sha256(key, data) == expected
            assert _pure.hmac_sha256(key, data) == expected


@SETTINGS
@given(key=text, data=text)
def test_hmac_twins(key: Union[str, bytes], data: Union[str, bytes]) -> None:
    both("hmac_sha256", key, data)


def test_hmac_key_cache_never_confuses_keys() -> None:
    """Both twins cache the HMAC pads per key: more keys than slots, keys of one length
    that differ in one byte (first or last), prefixes, the empty key and keys past the
    C cache's 128-byte limit, interleaved, must each MAC as the stdlib does."""
    rng = random.Random(11)
    base = rng.randbytes(128)
    keys = [b"", b"\x00", base[:1], base[:31], base[:32], base[:64], base[:65], base,
            base + b"x", rng.randbytes(129), rng.randbytes(500)]  # fmt: skip
    keys += [base[:32][:i] + bytes([base[i] ^ 1]) + base[:32][i + 1 :] for i in (0, 15, 31)]
    keys += [rng.randbytes(32) for _ in range(20)]  # more than any cache holds
    for _ in range(3):
        rng.shuffle(keys)
        for key in keys:
            data = rng.randbytes(rng.choice((0, 26, 64, 100)))
            expected = hmac.new(key, data, hashlib.sha256).digest()
            assert _fast.hmac_sha256(key, data) == expected, key
            assert _pure.hmac_sha256(key, data) == expected, key
            nonce = _pure.mint_nonce(key, data)
            assert _fast.mint_nonce(key, data) == nonce
            # (not key + b"\x00": HMAC zero-pads short keys, so that is the same key)
            flips = (bytes([key[0] ^ 1]) + key[1:], key[:-1] + bytes([key[-1] ^ 0x80])) if key else ()
            for other in (key + b"\x01", *flips):
                assert both("open_nonce", other, nonce, len(data)) == ("ok", type(None), None)
            assert _fast.open_nonce(key, nonce, len(data)) == data
            assert _pure.open_nonce(key, nonce, len(data)) == data


@SETTINGS
@given(
    keys=st.lists(st.one_of(st.binary(max_size=140), st.text(max_size=8)), min_size=1, max_size=24),
    data=st.binary(max_size=80),
)
def test_hmac_key_cache_twins(keys: list[Union[str, bytes]], data: bytes) -> None:
    for key in keys + keys[::-1]:
        assert both("hmac_sha256", key, data)[0] == "ok"
        nonce = both("mint_nonce", key, data)[2]
        assert both("open_nonce", key, nonce, len(data)) == ("ok", bytes, data)


@pytest.mark.parametrize(
    "params",
    ['a="", a=""', "x=y, a=, a=", 'x=y, a=, b="", a=', 'a="", A=x', 'a="", A=',
     'realm="", nonce="", realm=""', "a=, a=", 'a=, a=""'],
)  # fmt: skip
def test_duplicate_parameters_with_empty_values(params: str) -> None:
    """The C tokenizer detects a duplicate by the dict's size: an empty value (a shared
    empty str) must not hide one."""
    for name, value in (("tokenize", f"Digest x=1, {params}"), ("tokenize_params", params)):
        result = both(name, value, 1000, 64)
        assert result[0] == "malformed" and result[1].startswith("duplicate parameter"), result


# --------------------------------------------------------------------------------------
# Nonces

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_nonce_round_trip() -> None:
    rng = random.Random(99)
    for n in [*range(0, 70), 240, 241, 242, 300, 1000]:
        key, payload = rng.randbytes(rng.randrange(0, 80)), rng.randbytes(n)
        nonce = _fast.mint_nonce(key, payload)
        assert nonce == _pure.mint_nonce(key, payload)
        assert _fast.open_nonce(key, nonce, n) == payload
        assert _pure.open_nonce(key, nonce, n) == payload
        for wrong_len in (n - 1, n + 1, 0, -1, -16, -17):
            if wrong_len != n:
                both("open_nonce", key, nonce, wrong_len)
        both("open_nonce", key + b"x", nonce, n)
    both("mint_nonce", "clé", "payload é")
    both("open_nonce", "clé", _pure.mint_nonce("clé", "pé"), 3)


@pytest.mark.parametrize("payload_len", [0, 1, 2, 3, 8, 13])
def test_every_single_character_mutation_is_refused(payload_len: int) -> None:
    key = b"secret key"
    payload = bytes(range(7, 7 + payload_len))
    nonce = _pure.mint_nonce(key, payload)
    seen = 0
    for i in range(len(nonce)):
        for c in B64URL + "=+/. é\x00\ud800":
            mutated = nonce[:i] + c + nonce[i + 1 :]
            if mutated == nonce:
                continue
            assert both("open_nonce", key, mutated, payload_len) == ("ok", type(None), None)
            seen += 1
        for mutated in (nonce[:i] + nonce[i + 1 :], nonce[:i] + "A" + nonce[i:]):
            assert both("open_nonce", key, mutated, payload_len) == ("ok", type(None), None)
    assert seen > 0


def test_non_canonical_trailing_bits() -> None:
    key = b"k"
    for payload_len in range(0, 9):
        payload = b"\xff" * payload_len
        nonce = _pure.mint_nonce(key, payload)
        if (payload_len + _pure.MAC_LEN) % 3 == 0:
            continue  # no spare bits
        last = B64URL.index(nonce[-1])
        spare = 0b1111 if (payload_len + _pure.MAC_LEN) % 3 == 1 else 0b11
        assert last & spare == 0
        for bits in range(1, spare + 1):
            variant = nonce[:-1] + B64URL[last | bits]
            assert both("open_nonce", key, variant, payload_len) == ("ok", type(None), None)


@SETTINGS
@given(
    key=st.one_of(st.binary(max_size=20), st.text(max_size=5), st.sampled_from([None, 5])),
    nonce=st.one_of(
        st.text(alphabet=B64URL, max_size=60),
        st.text(max_size=40),
        st.sampled_from([None, b"AAAA"]),
    ),
    payload_len=st.integers(-40, 40),
)
def test_open_nonce_garbage_twins(key: Any, nonce: Any, payload_len: int) -> None:
    both("open_nonce", key, nonce, payload_len)


def test_open_nonce_lengths_and_key_errors() -> None:
    # the key is read (and may raise) exactly when the length and alphabet pass
    for nonce in ("", "AA", "AAA", "AAAA", "A" * 22, "A" * 27, "A*"):
        for payload_len in (-17, -16, -15, -10, -1, 0, 1, 4, 10**30, -(10**30), True):
            for key in (b"k", None):
                both("open_nonce", key, nonce, payload_len)


# --------------------------------------------------------------------------------------
# verify_fast



def general_path(value: str, method: Any, ha1: Any, password: Any, body: Any) -> tuple[Any, ...]:
    """digest.verify_credentials with every core function taken from the pure twin and
    the short cut turned off (verify_fast always declines)."""
    core = {n: getattr(_pure, n) for n in TWIN_FUNCTIONS}
    core["verify_fast"] = lambda *args: -1
    with mock.patch.multiple(_impl, **core):
        return outcome(
            lambda: digest.verify_credentials(
                value, method=method, ha1=ha1, password=password, body=body
            )
        )


def check_verify(value: str, method: Any, ha1: Any, password: Any, body: Any) -> int:
    """Both twins' verify_fast give the same answer, and when it is not -1 the general
    path agrees with it; returns that answer."""
    fast = _fast.verify_fast(value, method, ha1, password, body)
    assert _pure.verify_fast(value, method, ha1, password, body) == fast, value
    assert type(fast) is int and fast in (-1, 0, 1)
    if fast != -1:
        assert general_path(value, method, ha1, password, body) == ("ok", bool, fast == 1), value
    return fast


def test_rfc2617_example_takes_the_fast_path() -> None:
    assert check_verify(RFC2617, "GET", None, "Circle Of Life", b"") == 1
    assert check_verify(RFC2617, b"GET", None, b"Circle Of Life", b"") == 1
    assert check_verify(RFC2617, "GET", RFC2617_HA1, None, b"") == 1
    assert check_verify(RFC2617, "GET", RFC2617_HA1.upper(), None, b"") == 1
    assert check_verify(RFC2617, "GET", RFC2617_HA1.encode(), None, b"") == 1
    assert check_verify(RFC2617, "GET", None, "Circle of Life", b"") == 0
    assert check_verify(RFC2617, "POST", RFC2617_HA1, None, b"") == 0
    assert check_verify(RFC2617.replace("6629fae4", "6629FAE4"), "GET", RFC2617_HA1, None, b"") == 0
    assert (
        check_verify(RFC2617.replace('"6629fae4', '"6629fae'), "GET", RFC2617_HA1, None, b"") == 0
    )
    assert digest.verify_credentials(RFC2617, method="GET", password="Circle Of Life") is True


def test_verify_fast_rejects_non_str_value() -> None:
    for bad in (b"Digest", None, 1, type("S", (str,), {})(RFC2617)):
        assert both("verify_fast", bad, "GET", RFC2617_HA1, None, b"")[1] is TypeError


ALGORITHM_TOKENS = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"]


def _credentials(
    algorithm: Optional[str] = "MD5",
    qop: Optional[str] = "auth",
    *,
    username: str = "bob",
    realm: str = "sip.example.org",
    password: Union[str, bytes] = "zanzibar",
    method: Union[str, bytes] = "REGISTER",
    uri: str = "sip:example.org",
    nonce: str = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    nc: str = "0000000a",
    cnonce: str = "0a4f113b",
    body: Union[str, bytes] = b"",
) -> tuple[list[tuple[str, str]], str]:
    """Correct parameters (name, value) for the given shape, and the stored HA1."""
    alg = digest.get_algorithm(algorithm)
    stored = _pure.ha1(alg.hash_id, username, realm, password)
    h1 = _pure.ha1_sess(alg.hash_id, stored, nonce, cnonce) if alg.sess else stored
    code = digest.qop_code(qop)
    resp = _pure.response(alg.hash_id, h1, method, uri, nonce, nc, cnonce, code, body)
    params = [("username", username), ("realm", realm), ("nonce", nonce), ("uri", uri),
              ("response", resp)]  # fmt: skip
    if algorithm is not None:
        params.append(("algorithm", algorithm))
    if qop is not None or alg.sess:
        params.append(("cnonce", cnonce))
    if qop is not None:
        params += [("qop", qop), ("nc", nc)]
    params.append(("opaque", "5ccc069c403ebaf9f0171e9517f40e41"))
    return params, stored


def _render(
    params: list[tuple[str, str]], quote: Callable[[str, str], bool] = lambda n, v: True
) -> str:
    def one(name: str, value: str) -> str:
        if quote(name, value):
            return f'{name}="{value}"'
        return f"{name}={value}"

    return "Digest " + ", ".join(one(n, v) for n, v in params)


@pytest.mark.parametrize("algorithm", [None, *ALGORITHM_TOKENS])
@pytest.mark.parametrize("qop", [None, "auth", "auth-int"])
def test_fast_path_answers_plain_credentials(algorithm: Optional[str], qop: Optional[str]) -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"
    params, stored = _credentials(algorithm, qop, body=body)
    token_names = {"algorithm", "qop", "nc"}
    for value in (
        _render(params),
        _render(params, lambda n, v: n not in token_names),
        _render(params, lambda n, v: False).replace("uri=sip:example.org", 'uri="sip:example.org"'),
        " \t" + _render(params).replace(", ", " ,\t") + " \t",
        _render([(n.upper(), v) for n, v in params]).replace("Digest", "dIGEST"),
        _render(params + [("userhash", "FALSE"), ("x-ext", ""), ("X-Other", "=b")]),
    ):
        assert check_verify(value, "REGISTER", None, "zanzibar", body) == 1, value
        assert check_verify(value, b"REGISTER", stored, None, body) == 1, value
        assert check_verify(value, "REGISTER", stored.upper().encode(), None, body) == 1, value
        assert check_verify(value, "REGISTER", None, "Zanzibar", body) == 0, value
        if qop == "auth-int":
            assert check_verify(value, "REGISTER", stored, None, body + b" ") == 0, value
            assert check_verify(value, "REGISTER", stored, None, body.decode()) == 1, value
        else:  # the body is not part of the digest, and is not even looked at
            assert check_verify(value, "REGISTER", stored, None, None) == 1, value


def test_non_ascii_password_and_method() -> None:
    params, stored = _credentials("SHA-256", "auth", password="pässwörd", method="ÜPDATE")
    value = _render(params)
    assert check_verify(value, "ÜPDATE", None, "pässwörd", b"") == 1
    assert check_verify(value, "ÜPDATE".encode(), None, "pässwörd".encode(), b"") == 1
    assert check_verify(value, "ÜPDATE", stored, None, b"") == 1
    assert check_verify(value, "\ud800", stored, None, b"") == -1
    assert check_verify(value, "ÜPDATE", None, "\ud800", b"") == -1


def _declines(
    value: str,
    method: Any = "REGISTER",
    ha1: Any = None,
    password: Any = "zanzibar",
    body: Any = b"",
) -> None:
    assert check_verify(value, method, ha1, password, body) == -1, value


def test_fast_path_declines_the_unusual() -> None:
    params, stored = _credentials("MD5", "auth")
    plain = _render(params)
    assert check_verify(plain, "REGISTER", None, "zanzibar", b"") == 1

    def without(name: str) -> list[tuple[str, str]]:
        return [(n, v) for n, v in params if n != name]

    def replaced(name: str, value: str) -> list[tuple[str, str]]:
        return [(n, value if n == name else v) for n, v in params]

    # syntax the plain scanner leaves to the full tokenizer (or that it rejects)
    for value in (
        plain.replace('realm="sip', 'realm="s\\ip'),  # quoted-pair
        plain.replace('realm="sip', 'realm="s\r\n ip'),  # CR/LF inside quotes
        plain.replace(", realm", ",\r\n realm"),  # folded line
        plain.replace(", realm", ",, realm"),  # empty list element
        "," + plain,
        plain + ",",
        plain + " , ",  # leading / trailing comma
        plain.replace("Digest ", "Digest\r\n "),
        plain.replace("Digest ", "Digest"),  # no space after the scheme
        plain.replace('"bob"', '"böb"'),  # non-ASCII
        plain.replace('"bob"', '"b\x00b"'),  # control character
        plain.replace('"bob"', '"b\x7fb"'),
        plain + ', x="unterminated',
        plain + ", x=",  # empty token
        plain + ", x",  # bare token: new challenge
        plain + ", Basic dGVzdA==",  # second challenge
        "Digest dGVzdA==",  # token68
        "Digest a==, " + plain[7:],  # token68 look-alike
        plain.replace("Digest", "Basic"),
        plain.replace("Digest", "Digestx"),
        plain.replace("Digest", "Dig"),
        plain + ' x="a"b',
        plain.replace(", realm", " realm"),  # no comma
        plain + ", " + "x" * 8192,  # longer than 8192
        "",
        " ",
    ):
        _declines(value)

    # semantics left to the general path (or that it rejects)
    for bad in (
        _render(params + [("realm", "other")]),  # duplicate
        _render(params + [("REALM", "sip.example.org")]),  # duplicate, other case
        _render(params + [("x", "1"), ("X", "1")]),  # duplicate extension
        _render(params + [("username*", "UTF-8''bob")]),
        _render(without("username") + [("username*", "UTF-8''bob")]),
        _render(params + [("userhash", "true")]),
        _render(params + [("userhash", "no")]),
        _render(replaced("algorithm", "MD4")),
        _render(replaced("algorithm", "SHA-512")),
        _render(replaced("algorithm", "")),
        _render(replaced("algorithm", "MD5-SESS-x")),
        _render(replaced("qop", "AUTH")),
        _render(replaced("qop", "auth,auth-int")),
        _render(replaced("qop", "")),
        _render(replaced("nc", "0000001")),
        _render(replaced("nc", "000000001")),
        _render(replaced("nc", "0000000g")),
        _render(without("nc")),
        _render(without("cnonce")),
        *(_render(without(n)) for n in ("username", "realm", "nonce", "uri", "response")),
        _render([(n, v) for n, v in _credentials("MD5-sess", None)[0] if n != "cnonce"]),
    ):
        _declines(bad)

    # arguments the general path refuses or treats specially
    _declines(plain, password=None, ha1=None)
    _declines(plain, password="zanzibar", ha1=stored)
    _declines(plain, password=None, ha1=stored[:-1])  # general path: False
    _declines(plain, password=None, ha1=stored + "0")
    _declines(plain, password=None, ha1=stored[:-1] + "é")
    _declines(plain, password=None, ha1=stored[:-2].encode() + "é".encode())
    _declines(plain, password=None, ha1=bytearray(stored.encode()))
    _declines(plain, password=None, ha1=type("S", (str,), {})(stored))
    _declines(plain, password=None, ha1=32)
    _declines(plain, password=1)
    _declines(plain, password=bytearray(b"zanzibar"))
    _declines(plain, method=None)
    _declines(plain, method=bytearray(b"REGISTER"))
    auth_int = _render(replaced("qop", "auth-int"))
    for body in (None, bytearray(b""), "\ud800", 0):
        _declines(auth_int, body=body)


def test_item_limit() -> None:
    params, _ = _credentials("MD5", "auth")
    extra = 64 - 1 - len(params)  # items = scheme + parameters
    full = params + [(f"x{k}", "v") for k in range(extra)]
    assert check_verify(_render(full), "REGISTER", None, "zanzibar", b"") == 1
    over = full + [("x-over", "v")]
    assert check_verify(_render(over), "REGISTER", None, "zanzibar", b"") == -1
    assert general_path(_render(over), "REGISTER", None, "zanzibar", b"")[0] == "malformed"


def test_length_limit() -> None:
    params, _ = _credentials("MD5", "auth")
    plain = _render(params)
    pad = 8192 - len(plain) - len(', x=""')
    at_limit = plain + ', x="' + "p" * pad + '"'
    assert len(at_limit) == 8192
    assert check_verify(at_limit, "REGISTER", None, "zanzibar", b"") == 1
    assert check_verify(at_limit + " ", "REGISTER", None, "zanzibar", b"") == -1


@st.composite
def verify_cases(draw: st.DrawFn) -> tuple[str, Any, Any, Any, Any]:
    """Credentials, right or wrong, plain or not, with the arguments to check them."""
    algorithm = draw(
        st.sampled_from([None, *ALGORITHM_TOKENS, "md5", "sha-256-SESS", "MD4", "SHA-512"])
    )
    qop = draw(st.sampled_from([None, "auth", "auth", "auth-int", "AUTH", "auth-int,auth"]))
    username = draw(st.sampled_from(["bob", "Mufasa", "", "a b", "j\u00e4s", "x,y=z"]))
    password = draw(st.one_of(st.sampled_from(["zanzibar", "pässwörd", ""]), st.binary(max_size=8)))
    method = draw(st.sampled_from(["REGISTER", "INVITE", b"GET", "", "MÉTHODE"]))
    body = draw(st.sampled_from([b"", b"v=0\r\n", "sdp é", None]))
    nc = draw(st.sampled_from(["00000001", "0000000A", "ffffffff", "1", "0000000g"]))
    alg_ok = algorithm is None or algorithm.upper() in digest.ALGORITHMS
    qop_ok = qop in (None, "auth", "auth-int")
    gen_algorithm = algorithm if alg_ok else "MD5"
    params, stored = _credentials(
        gen_algorithm,
        qop if qop_ok else "auth",
        username=username,
        password=password,
        method=method,
        nc=nc,
        body=body if body is not None else b"",
    )
    params = [(n, algorithm if n == "algorithm" else qop if n == "qop" else v) for n, v in params
              if not (n == "algorithm" and algorithm is None) and not (n == "qop" and qop is None)]  # fmt: skip
    # mutations of the parameter list
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(
            st.sampled_from(["drop", "dup", "case", "wrong", "upper", "extra", "userhash", "star"])
        )
        k = draw(st.integers(0, len(params) - 1))
        name, value = params[k]
        if kind == "drop":
            del params[k]
        elif kind == "dup":
            params.insert(draw(st.integers(0, len(params))), (name, value))
        elif kind == "case":
            params[k] = (name.upper(), value)
        elif kind == "wrong":
            params[k] = (name, value[:-1] + ("0" if value[-1:] != "0" else "1"))
        elif kind == "upper":
            params[k] = (name, value.upper())
        elif kind == "extra":
            params.insert(k, (draw(st.sampled_from(["x", "opaque", "stale", "domain"])), "v"))
        elif kind == "userhash":
            params.append(("userhash", draw(st.sampled_from(["false", "FALSE", "true", "0"]))))
        else:
            params.append(("username*", "UTF-8''bob"))
    quoting = draw(st.sampled_from(["all", "none", "mixed"]))

    def quote(n: str, v: str) -> bool:
        if quoting == "all" or not v or any(c in v for c in ' ,"\\\t'):
            return True
        return quoting == "mixed" and n < "p"

    value = _render([(n, v.replace("\\", "\\\\").replace('"', '\\"')) for n, v in params], quote)
    # textual mutations
    for _ in range(draw(st.integers(0, 1))):
        pos = draw(st.integers(0, len(value)))
        insert = draw(st.sampled_from(["", " ", ",", '"', "\\", "\r\n ", "é", "=", "\x00"]))
        cut = draw(st.integers(0, 2))
        value = value[:pos] + insert + value[pos + cut :]
    secret = draw(
        st.sampled_from(["password", "password", "ha1", "ha1-upper", "ha1-bytes", "wrong", "both"])
    )
    if secret == "password":
        return value, method, None, password, body
    if secret == "ha1":
        return value, method, stored, None, body
    if secret == "ha1-upper":
        return value, method, stored.upper(), None, body
    if secret == "ha1-bytes":
        return value, method, stored.encode(), None, body
    if secret == "wrong":
        return value, method, None, b"wrong", body
    return value, method, stored, password, body


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=verify_cases())
def test_verify_fast_never_contradicts_the_general_path(
    case: tuple[str, Any, Any, Any, Any],
) -> None:
    check_verify(*case)


def test_verify_fast_answers_often() -> None:
    """The generated cases really exercise the fast path, with both answers."""
    answers = {-1: 0, 0: 0, 1: 0}
    rng = random.Random(5)
    for _ in range(300):
        algorithm = rng.choice([None, *ALGORITHM_TOKENS])
        qop = rng.choice([None, "auth", "auth-int"])
        params, stored = _credentials(algorithm, qop, username=rng.choice(["bob", "alice"]))
        value = _render(params, lambda n, v: rng.random() < 0.5 or not v.isalnum())
        ha1 = rng.choice([stored, stored.upper(), "0" * len(stored)])
        answers[check_verify(value, "REGISTER", ha1, None, b"")] += 1
    assert answers[-1] == 0 and answers[0] > 0 and answers[1] > 0


# --------------------------------------------------------------------------------------
# Hostile input: only MalformedHeader, the same from both twins


def _hostile_corpus() -> list[str]:
    corpus = [
        '"', 'Digest realm="', 'Digest realm="abc', 'Digest realm="abc\\', "Digest realm=\\",
        'Digest realm="\\', 'Digest realm="a\\\x00"', 'Digest realm="a\x00b"', "\x00",
        "Digest\x00", "Digest a=\x00", "\x00Digest a=b", "Digest a=b\x00",
        "," * 100_000, "Digest " + "," * 100_000 + "a=b", "Digest a=b" + "," * 100_000,
        ", " * 50_000, "Digest " + "a=b, " * 20_000, "Digest " + '"' * 10_000,
        "Digest a=" + "\\" * 10_001, 'Digest a="' + "\\\\" * 10_000 + '"',
        "\ud800", "Digest \ud800", 'Digest a="\ud800"', 'Digest a="\\\udfff"', "Digest a=\udfff",
        "Digest a\ud800=b", "\udc00Digest a=b", 'Digest realm="x\ud83d\ude00y"',
        "Digest\r\n", "\r\n", "\r\n\r\n", "Digest a=b\r\n\r\n", "=", "==", "Digest =", "Digest ==",
    ]  # fmt: skip
    # every edge of the character classes, in each place a character can be
    edges = ("\x00", "\x08", "\t", "\n", "\x0b", "\r", "\x1f", " ", '"', ",", "=", "\\",
             "\x7e", "\x7f", "\x80", "\x9f", "\xff", "\u0100", "\ud7ff", "\ud800", "\udbff",
             "\udc00", "\udfff", "\ue000", "\uffff", "\U00010000", "\U0010ffff")  # fmt: skip
    for c in edges:
        corpus += [f'Digest a="x{c}y"', f'Digest a="\\{c}"', f"Digest a=x{c}y", f"Digest {c}",
                   f"Digest x{c}y=z", f"D{c}igest a=b", f"Digest a{c}", f"Basic x{c}y"]  # fmt: skip
    for base in (
        RFC2617,
        'Basic dGVzdA==, Digest realm="a\\"b", nonce="\r\n x", qop="auth,auth-int"',
    ):
        corpus += [base[:k] for k in range(len(base) + 1)]
        corpus += [base[:k] + "\ud800" + base[k:] for k in range(0, len(base) + 1, 7)]
        corpus += [base[:k] + "\x00" + base[k:] for k in range(0, len(base) + 1, 5)]
    return corpus


def test_hostile_corpus() -> None:
    for value in _hostile_corpus():
        for max_length, max_params in ((8192, 64), (10**7, 64), (10**7, 10**7)):
            for name in ("tokenize", "tokenize_params"):
                result = both(name, value, max_length, max_params)
                assert result[0] in ("ok", "malformed"), (name, value[:80], result)
        assert both("verify_fast", value, "GET", RFC2617_HA1, None, b"")[2] in (-1, 0, 1)


def test_ten_megabytes_refused_at_once() -> None:
    huge = 'Digest realm="' + "a" * 10_000_000
    for twin in (_fast, _pure):
        for fn in (twin.tokenize, twin.tokenize_params):
            start = time.perf_counter()
            with pytest.raises(MalformedHeader) as info:
                fn(huge, 8192, 64)
            assert time.perf_counter() - start < 0.05
            assert info.value.position == 8192
            assert info.value.message == "header value longer than 8192 characters"
    for twin in (_fast, _pure):
        start = time.perf_counter()
        assert twin.verify_fast(huge, "GET", RFC2617_HA1, None, b"") == -1
        assert time.perf_counter() - start < 0.05


def test_long_value_through_the_c_tokenizer() -> None:
    # the C twin may read past the default limit quickly; it must still agree
    value = "Digest " + ", ".join(f'p{k}="{"v" * 100}\\""' for k in range(2000))
    assert outcome(_fast.tokenize, value, 10**9, 10**9) == outcome(
        _pure.tokenize, value, 10**9, 10**9
    )
