"""The server's twin functions (``_pure_server`` / ``_fast_server.pxi``): both twins give
the same answer (or raise the same error), a scanned value means what the tokenizer
reads, and the replay table keeps its window, eviction and capacity rules on both."""

from __future__ import annotations

import random
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest import _impl, _pure, _pure_server
from sipdigest.actions import Accept, Reason, SendChallenge
from sipdigest.bench import VARIANTS, inputs
from sipdigest.errors import MalformedHeader
from sipdigest.headers import MAX_HEADER_LENGTH, MAX_PARAMS
from sipdigest.nonce import _PAYLOAD, ALGORITHM_CODE, PAYLOAD_LEN

from .conftest import require_fast
from .test_server_kit import (
    BASE_HEADERS,
    CORES,
    REALM,
    authorize,
    make_server,
    pick,
    request,
    use_core,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = (
    "find_credentials",
    "scan_credentials",
    "ReplayWindows",
    "mint_challenges",
)
BENCH_VALUES = [inputs(v).value for v in VARIANTS]  # the ten-parameter values UAs send
NONCE = "AQQCAAAAAYvP5WgAOLTmUuRNp_KpiNjswOzINrnb2dLeYCZVZvQXlNBh"
PLAIN = (
    f'Digest username="alice", realm="{REALM}", nonce="{NONCE}", uri="sip:example.com", '
    'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001'
)


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        result = fn(*args)
    except MalformedHeader as e:
        return ("malformed", e.message, e.position)
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("ok", type(result), result)


def fast() -> Any:
    return require_fast()  # a skip only where the build is optional (never under CI)


def both(name: str, *args: Any) -> tuple[Any, ...]:
    f = outcome(getattr(fast(), name), *args)
    p = outcome(getattr(_pure, name), *args)
    assert f == p, (name, args)
    return p


def scan(value: object, realm: object = REALM, limit: int = MAX_HEADER_LENGTH) -> Any:
    return both("scan_credentials", value, realm, limit)


def test_the_twins_expose_the_server_functions() -> None:
    assert set(NAMES) == set(_pure_server.__all__)
    assert set(NAMES) <= set(_impl.TWIN_FUNCTIONS)


# ---- scan_credentials -----------------------------------------------------------------


@pytest.mark.parametrize("value", [PLAIN, *BENCH_VALUES])
def test_plain_values_are_scanned(value: str) -> None:
    kind, _, got = scan(value, "example.com")
    assert kind == "ok" and got is not None
    [(_, _, p)] = _pure.tokenize(value, MAX_HEADER_LENGTH, MAX_PARAMS)
    username, nonce, uri, response, code, qcode, nc, cnonce, count, userhash, opaque = got
    assert (username, nonce, uri, response, nc, cnonce) == (
        p["username"], p["nonce"], p["uri"], p["response"], p["nc"], p["cnonce"],
    )  # fmt: skip
    assert (
        code
        == ALGORITHM_CODE[next(a for a in ALGORITHM_CODE if a.upper() == p["algorithm"].upper())]
    )
    assert qcode == {"auth": 1, "auth-int": 2}[p["qop"]]
    assert count == int(p["nc"], 16) and userhash is False and opaque == p.get("opaque")


@pytest.mark.parametrize(
    "value",
    [
        PLAIN.replace("Digest", "Basic"),
        PLAIN.replace('realm="example.com"', 'realm="other.org"'),
        PLAIN.replace("username=", "USERNAME="),  # the tokenizer lower-cases: general path
        PLAIN.replace('"alice"', '"al\\ice"'),  # quoted-pair
        PLAIN.replace('"alice"', '"alicé"'),  # not ASCII
        PLAIN.replace("algorithm=MD5", "algorithm=MD6"),
        PLAIN.replace("qop=auth", "qop=AUTH"),
        PLAIN.replace("nc=00000001", "nc=1"),  # decimal_nc quirk: general path
        PLAIN.replace(", qop=auth, nc=00000001", ""),  # RFC 2069 form
        PLAIN.replace('username="alice"', "username*=UTF-8''alice"),
        PLAIN + ', extension="x"',
        PLAIN + ", nc=00000002",  # duplicate: the tokenizer raises
        PLAIN + ",",
        PLAIN.replace(", ", ",\r\n "),
        " " + PLAIN,
        "Digest username=, realm=x",  # token68 in the full grammar
        'Digest username="alice"',
        PLAIN.replace('uri="sip:example.com"', "uri==sip"),  # could read as token68
    ],
)
def test_unusual_values_are_left_to_the_general_path(value: str) -> None:
    assert scan(value) == ("ok", type(None), None)


_SCANNED_NAMES = ("username", "realm", "nonce", "uri", "response", "algorithm", "cnonce",
                  "opaque", "qop", "nc", "userhash")  # fmt: skip


@pytest.mark.parametrize("name", _SCANNED_NAMES)
def test_a_repeated_name_is_left_to_the_general_path(name: str) -> None:
    # each of the scanned names, repeated quoted or bare, anywhere: the twins agree (None)
    for extra in (f'{name}="x"', f"{name}=x"):
        assert scan(f"{PLAIN}, {extra}, {extra}") == ("ok", type(None), None)
        assert scan(PLAIN.replace("Digest ", f"Digest {extra}, ") + f", {extra}") == (
            "ok", type(None), None,
        )  # fmt: skip
    assert scan(PLAIN + ', userhash=true, userhash="true"') == ("ok", type(None), None)


@pytest.mark.parametrize(
    "value",
    [
        PLAIN.replace(", ", ","),
        PLAIN.replace(", ", " \t,\t "),
        PLAIN.replace("=", " = "),
        PLAIN + " \t",
        PLAIN.replace('"alice"', '""'),
        PLAIN.replace('"alice"', "alice"),
        PLAIN.replace('"alice"', '"a,b=c d"'),
        PLAIN.replace("qop=auth", 'qop="auth"'),
        PLAIN.replace("nc=00000001", 'nc="00000001"'),
        PLAIN.replace("algorithm=MD5", 'algorithm="md5"'),
    ],
)
def test_plain_spellings_are_scanned_alike(value: str) -> None:
    kind, _, got = scan(value)
    assert kind == "ok" and got is not None


@pytest.mark.parametrize(
    "value",
    [
        PLAIN + ", ",
        PLAIN.replace(", ", ", , "),
        PLAIN.replace(", ", " "),
        PLAIN.replace('"alice"', '"alice'),
        PLAIN.replace('"alice"', 'alice"'),
        PLAIN.replace("algorithm=MD5", 'algorithm=MD5"'),
        PLAIN.replace('"alice"', '"alice"x'),
        PLAIN + "\n",
        PLAIN.replace("Digest ", "Digest"),
    ],
)
def test_broken_shapes_are_not_scanned(value: str) -> None:
    assert scan(value) == ("ok", type(None), None)


def test_scan_options_and_limits() -> None:
    for token, code in ALGORITHM_CODE.items():
        got = scan(PLAIN.replace("algorithm=MD5", f"algorithm={token.lower()}"))[2]
        assert got is not None and got[4] == code
    assert scan(PLAIN.replace("algorithm=MD5, ", ""))[2][4] == 0  # absent: MD5
    assert scan(PLAIN + ", userhash=TRUE")[2][9] is True
    assert scan(PLAIN + ", userhash=false")[2][9] is False
    assert scan(PLAIN.replace(', opaque="5ccc069c403ebaf9f0171e9517f40e41"', ""))[2][10] is None
    assert scan(PLAIN.replace("qop=auth", "qop=auth-int"))[2][5] == 2
    assert scan(PLAIN.replace("nc=00000001", "nc=FFFFFFFF"))[2][8] == 0xFFFFFFFF
    assert scan(PLAIN, REALM, len(PLAIN))[2] is not None
    assert scan(PLAIN, REALM, len(PLAIN) - 1)[2] is None
    assert scan(PLAIN, "exämple.com")[2] is None
    assert scan(b"Digest", REALM)[0] == "raised"
    assert scan(PLAIN, None)[0] == "raised"


def _mutations(value: str) -> list[str]:
    alphabet = ' \t",=\\\x7f\x00aZ*\u017f\xe9\r'
    out = []
    for i in range(len(value)):
        out.append(value[:i] + value[i + 1 :])
        for ch in alphabet:
            out.append(value[:i] + ch + value[i + 1 :])
    return out


@pytest.mark.parametrize("value", [PLAIN, BENCH_VALUES[1]])
def test_every_single_character_mutation_gives_the_same_answer(value: str) -> None:
    taken = 0
    for m in _mutations(value):
        kind, _, got = scan(m)
        assert kind == "ok"
        if got is not None:
            taken += 1
            _agrees_with_tokenizer(m, got)
    assert taken > len(value)  # many mutations are still plain (inside values)


def _agrees_with_tokenizer(value: str, got: tuple[Any, ...]) -> None:
    """A scanned value is one the tokenizer reads as one Digest item with these fields."""
    [(scheme, token68, p)] = _pure.tokenize(value, MAX_HEADER_LENGTH, MAX_PARAMS)
    assert scheme.lower() == "digest" and token68 is None and p["realm"] == REALM
    assert (got[0], got[1], got[2], got[3], got[6], got[7]) == (
        p["username"], p["nonce"], p["uri"], p["response"], p["nc"], p["cnonce"],
    )  # fmt: skip
    assert got[10] == p.get("opaque") and "username*" not in p


FRAGMENTS = [
    "Digest ", "digest\t", 'username="alice"', "realm=example.com", f'realm="{REALM}"',
    f"nonce={NONCE}", 'uri="sip:x"', "response=abc", "algorithm=SHA-256-sess", "qop=auth",
    "qop=auth-int", "nc=0000000a", 'cnonce=""', "opaque=x", "userhash=true", ", ", ",",
    " ", "\t", "=", '"', "\\", "x=y", "nc=1", "é", "\r\n",
]  # fmt: skip


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=24))
def test_fragments_give_the_same_answer(parts: list[str]) -> None:
    value = "".join(parts)
    kind, _, got = scan(value)
    assert kind == "ok"
    if got is not None:
        _agrees_with_tokenizer(value, got)


@SETTINGS
@given(st.text(alphabet=st.characters(max_codepoint=0x130), max_size=80))
def test_any_text_after_a_plain_prefix_gives_the_same_answer(tail: str) -> None:
    scan(PLAIN + tail)
    scan(PLAIN[:120] + tail)


# ---- find_credentials -------------------------------------------------------------------


def find(headers: object, lname: object = "authorization", start: object = 0) -> Any:
    return both("find_credentials", headers, lname, REALM, start, MAX_HEADER_LENGTH)


def test_find_credentials_returns_the_first_of_our_headers() -> None:
    hs = list(BASE_HEADERS)
    assert find(hs)[2] == (-1, None, None)
    hs.insert(3, ("AUTHORIZATION", PLAIN))
    _, _, (index, value, fields) = find(hs)
    assert (index, value) == (3, PLAIN) and fields is not None
    assert find(tuple(hs), start=4)[2] == (-1, None, None)
    hs.insert(1, ("authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))
    assert find(hs)[2] == (1, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", None)
    assert find(hs, start=2)[2][0] == 4
    assert find(hs, "proxy-authorization")[2] == (-1, None, None)


@pytest.mark.parametrize(
    "headers",
    [
        iter([("Authorization", PLAIN)]),  # not a list or tuple
        [["Authorization", PLAIN]],
        [("Via", "x", "y")],
        [(b"Authorization", PLAIN)],
        [("Authorization", b"Digest")],
        [("Authoriz\u0131tion", PLAIN)],  # dotless i: no ASCII match, skipped
        [("Authorization", PLAIN), ("Via",)],  # after the match: never looked at
        [("Via",), ("Authorization", PLAIN)],
    ],
)
def test_find_credentials_leaves_odd_headers_to_the_general_loop(headers: Any) -> None:
    find(headers)


HEADER_ITEMS = st.one_of(
    st.sampled_from(BASE_HEADERS),
    st.tuples(st.sampled_from(["Authorization", "authorization", "AUTHORIZATION", "Via"]),
              st.sampled_from([PLAIN, PLAIN.replace("qop=auth", "qop=x"), "Basic x", ""])),
    st.sampled_from([("Via",), ["Authorization", PLAIN], (b"Authorization", PLAIN), "ab", None]),
)  # fmt: skip


@SETTINGS
@given(st.lists(HEADER_ITEMS, max_size=12), st.integers(-3, 14), st.booleans())
def test_find_credentials_agrees_on_any_header_list(
    headers: list[Any], start: int, as_tuple: bool
) -> None:
    find(tuple(headers) if as_tuple else headers, "authorization", start)


def test_find_credentials_argument_errors_agree() -> None:
    assert find([], None)[0] == "raised"
    assert find([], "authorization", "0")[0] == "raised"
    assert find([("authorization", PLAIN)], "authorization", -5)[2][0] == 0
    assert find([("authorization", PLAIN)], "Authorization")[2] == (-1, None, None)


# ---- ReplayWindows ----------------------------------------------------------------------

TWINS = ["pure", "fast"]


def windows(twin: str, capacity: int, max_window: int = 128) -> Any:
    core = _pure if twin == "pure" else fast()
    return core.ReplayWindows(capacity, max_window)


def key(i: int) -> bytes:
    return i.to_bytes(8, "big")


@pytest.mark.parametrize("twin", TWINS)
def test_replay_window_and_reordering(twin: str) -> None:
    w = windows(twin, 4)
    k = key(1)
    assert w.check_and_record(k, 10, 4, 0.0, 100.0)
    assert not w.check_and_record(k, 10, 4, 0.0, 100.0)  # repeat
    assert w.check_and_record(k, 8, 4, 0.0, 100.0)  # reordered, inside the window
    assert w.check_and_record(k, 7, 4, 0.0, 100.0)
    assert not w.check_and_record(k, 6, 4, 0.0, 100.0)  # 10 - 4: outside
    assert w.check_and_record(k, 9, 4, 0.0, 100.0)
    assert not w.check_and_record(k, 9, 4, 0.0, 100.0)
    assert w.check_and_record(k, 0xFFFFFFFF, 4, 0.0, 100.0)  # a jump
    assert not w.check_and_record(k, 10, 4, 0.0, 100.0)
    assert w.check_and_record(k, 0xFFFFFFFE, 4, 0.0, 100.0)
    one = key(2)
    assert w.check_and_record(one, 5, 0, 0.0, 100.0)
    assert not w.check_and_record(one, 6, 0, 0.0, 100.0)  # window 0: one use
    assert len(w) == 2 and w.capacity == 4 and w.max_window == 128


@pytest.mark.parametrize("twin", TWINS)
def test_eviction_raises_the_watermark(twin: str) -> None:
    w = windows(twin, 2)
    assert w.check_and_record(key(1), 1, 8, 0.0, 100.0)
    assert w.check_and_record(key(2), 1, 8, 0.0, 200.0)
    assert w.check_and_record(key(3), 1, 8, 0.0, 300.0)  # evicts key 1 (expiry 100)
    assert len(w) == 2
    assert not w.check_and_record(key(1), 2, 8, 0.0, 100.0)  # evicted: never fresh again
    assert not w.check_and_record(key(9), 1, 8, 0.0, 99.5)  # expires before the watermark
    assert w.check_and_record(key(9), 1, 8, 0.0, 101.0)  # later: fine (evicts key 2)
    assert not w.check_and_record(key(2), 5, 8, 0.0, 200.0)
    assert w.check_and_record(key(3), 2, 8, 0.0, 300.0)  # still tracked
    assert not w.check_and_record(key(3), 2, 8, 0.0, 300.0)


@pytest.mark.parametrize("twin", TWINS)
def test_capacity_bounds_the_table(twin: str) -> None:
    w = windows(twin, 100)
    for i in range(5000):
        assert w.check_and_record(key(i), 1, 128, 0.0, 1000.0 + i)
    assert len(w) == 100
    for i in range(4900, 5000):  # the newest are all still there
        assert not w.check_and_record(key(i), 1, 128, 0.0, 1000.0 + i)
        assert w.check_and_record(key(i), 2, 128, 0.0, 1000.0 + i)


@pytest.mark.parametrize("twin", TWINS)
def test_replay_table_refuses_misuse(twin: str) -> None:
    for args in ((0, 128), (1, 0), (1, 1 << 17), (True, 1), (1.0, 1)):
        with pytest.raises(ValueError):
            windows(twin, *args)
    w = windows(twin, 4, 16)
    with pytest.raises(TypeError):
        w.check_and_record(b"short", 1, 1, 0.0, 1.0)
    with pytest.raises(TypeError):
        w.check_and_record("k" * 8, 1, 1, 0.0, 1.0)
    with pytest.raises(ValueError):
        w.check_and_record(key(1), -1, 1, 0.0, 1.0)
    with pytest.raises(ValueError):
        w.check_and_record(key(1), 1 << 32, 1, 0.0, 1.0)
    with pytest.raises(ValueError):
        w.check_and_record(key(1), 1, 17, 0.0, 1.0)
    with pytest.raises(TypeError):
        w.check_and_record(key(1), 1, 1, 0.0, "1")
    assert len(w) == 0


@pytest.mark.parametrize("max_window", [1, 7, 32, 33, 64, 100, 128, 200])
def test_replay_twins_agree_with_a_reference_model(max_window: int) -> None:
    rnd = random.Random(max_window)
    for capacity in (1, 3, 16):
        f, p = windows("fast", capacity, max_window), windows("pure", capacity, max_window)
        keys = [key(rnd.randrange(1 << 64)) for _ in range(capacity + 3)]
        seen: dict[bytes, set[int]] = {}
        for _ in range(1500):
            k = rnd.choice(keys)
            high = max(seen.get(k, {0}))
            nc = max(0, min(0xFFFFFFFF, high + rnd.randint(-max_window - 2, 4)))
            window = rnd.choice((0, max_window, max(1, max_window // 2)))
            expires = rnd.choice((5.0, 1e3, float("nan"), -0.5, -2.0, 1e20, 7))
            args = (k, nc, window, 0.0, expires)
            got = outcome(f.check_and_record, *args)
            assert got == outcome(p.check_and_record, *args), args
            assert len(f) == len(p)
            if got[2] and capacity >= len(keys):  # no eviction: the plain model holds
                assert nc not in seen.get(k, set())
            if got[2]:
                seen.setdefault(k, set()).add(nc)


def test_replay_twins_agree_on_expiries_past_32_bits() -> None:
    """The C table keeps expiries below 2**32 in the entry and larger ones aside: the
    watermark an eviction leaves must still be exactly the pure twin's."""
    big = [float(2**32 - 2), float(2**32 - 1), float(2**32), 2.0**32 + 0.5, float(2**40), 1e20,
           2**32 - 1, 2**33 + 7, float("nan")]  # fmt: skip
    rnd = random.Random(11)
    for capacity in (1, 2, 5):
        f, p = windows("fast", capacity), windows("pure", capacity)
        for i in range(400):
            expires = rnd.choice(big) if rnd.random() < 0.7 else rnd.uniform(0.0, 2.0**33)
            args = (key(rnd.randrange(12)), rnd.randrange(1, 6), 4, 0.0, expires)
            assert outcome(f.check_and_record, *args) == outcome(p.check_and_record, *args), (
                i, args,
            )  # fmt: skip
            assert len(f) == len(p)


def test_replay_twins_agree_under_churn() -> None:
    """Many keys through a table of a few thousand: the index's backward-shift deletion
    (every insert evicts once the ring is full) loses no key and keeps no stale one."""
    rnd = random.Random(12)
    f, p = windows("fast", 3000, 64), windows("pure", 3000, 64)
    keys = [key(rnd.randrange(1 << 64)) for _ in range(9000)]
    high: dict[bytes, int] = {}
    for i in range(60_000):
        hot = min(int(rnd.expovariate(1 / 2000)), len(keys) - 1)
        k = keys[hot if i % 3 else rnd.randrange(len(keys))]
        nc = max(0, high.get(k, 0) + rnd.randint(-70, 3))
        args = (k, nc, 64, 0.0, 1000.0 + i // 7)
        got = outcome(f.check_and_record, *args)
        assert got == outcome(p.check_and_record, *args), (i, args)
        if got[2]:
            high[k] = max(high.get(k, 0), nc)
    assert len(f) == len(p) == 3000


def test_bytes_per_nonce_of_the_c_table() -> None:
    import tracemalloc

    fast()
    n = 20_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        w = windows("fast", n)
        for i in range(n):
            w.check_and_record(key(i), 1, 128, 0.0, 1e9)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 32 bytes of entry (half a cache line) and 8 x 4/3 of index (137 with the dict)
    assert grown / n < 46


# ---- mint_challenges --------------------------------------------------------------------

TEMPLATES = (
    ('Digest realm="example.com", qop="auth", algorithm=SHA-256, nonce="', '"', '", stale=true', 2),
    ('Digest realm="exämple.com", algorithm=MD5, nonce="', '"', '", stale=true', 0),
)
POOL = bytes(range(256)) * 2


@pytest.mark.parametrize("stale", [False, True])
def test_mint_challenges_twins_agree_and_the_nonces_open(stale: bool) -> None:
    kind, _, headers = both(
        "mint_challenges", b"secret", "WWW-Authenticate", TEMPLATES, stale, 1, 0,
        1_700_000_000_123, POOL, 16, b"tagtag",
    )  # fmt: skip
    assert kind == "ok" and len(headers) == 2
    for i, ((name, value), (head, tail, tail_stale, code)) in enumerate(zip(headers, TEMPLATES)):
        assert name == "WWW-Authenticate" and value.startswith(head)
        assert value.endswith(tail_stale if stale else tail)
        nonce = value[len(head) : len(head) + 56]
        payload = _pure.open_nonce(b"secret", nonce, PAYLOAD_LEN)
        assert payload is not None
        rid = POOL[16 + 8 * i : 24 + 8 * i]
        assert _PAYLOAD.unpack(payload) == (1, code, 1, 0, 1_700_000_000_123, rid, b"tagtag")


@pytest.mark.parametrize(
    "args",
    [
        (b"k", "n", (), False, 1, 0, 0, POOL, 0, b"tagtag"),  # no templates, any key
        (None, "n", (), False, 1, 0, 0, POOL, 0, b"tagtag"),
        (None, "n", TEMPLATES, False, 1, 0, 0, POOL, 0, b"tagtag"),
        ("str key", "n", TEMPLATES, False, 1, 0, -(1 << 63), POOL, 0, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 1 << 63, POOL, 0, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 256, 0, 0, POOL, 0, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, -1, 0, POOL, 0, b"tagtag"),
        (b"k", "n", ((*TEMPLATES[0][:3], 256),), False, 1, 0, 0, POOL, 0, b"tagtag"),
        (b"k", "n", ((*TEMPLATES[0][:3], "0"),), False, 1, 0, 0, POOL, 0, b"tagtag"),
        (b"k", "n", (TEMPLATES[0][:3],), False, 1, 0, 0, POOL, 0, b"tagtag"),
        (b"k", "n", [TEMPLATES[0]], False, 1, 0, 0, POOL, 0, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 0, POOL, len(POOL) - 8, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 0, POOL, -1, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 0, bytearray(POOL), 0, b"tagtag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 0, POOL, 0, b"tag"),
        (b"k", "n", TEMPLATES, False, 1, 0, 0.0, POOL, 0, b"tagtag"),
        (b"k", 5, TEMPLATES, False, 1, 0, 0, POOL, 0, b"tagtag"),
    ],
)
def test_mint_challenges_errors_agree(args: tuple[Any, ...]) -> None:
    both("mint_challenges", *args)


# ---- the server on both paths -------------------------------------------------------------


@pytest.mark.parametrize("name", CORES, ids=[n for n, _ in CORES])
def test_scanned_and_tokenized_values_get_the_same_answer(name: tuple[str, Any]) -> None:
    """The same credentials, once in the plain shape and once in a shape only the
    tokenizer reads (upper-case parameter names), are accepted alike; so are their
    replays and wrong passwords."""
    with use_core(name[1]):
        srv = make_server()
        ch = pick(srv.handle(request()))
        for nc in (1, 2):
            plain = authorize(ch, nc=nc)
            assert _impl.scan_credentials(plain, REALM, MAX_HEADER_LENGTH) is not None
            odd = authorize(ch, nc=nc + 10).replace("username=", "USERNAME=")
            assert _impl.scan_credentials(odd, REALM, MAX_HEADER_LENGTH) is None
            a, b = srv.handle(request(plain)), srv.handle(request(odd))
            assert isinstance(a, Accept) and a == b
            ra, rb = srv.handle(request(plain)), srv.handle(request(odd))
            assert isinstance(ra, SendChallenge) and ra.reason is rb.reason is Reason.REPLAY
        wrong = authorize(ch, nc=50, password="guess")
        assert srv.handle(request(wrong)).reason is Reason.WRONG_RESPONSE
        # a value for another realm first, then ours: the second one is used
        other = authorize(ch, nc=60, realm="other.org")
        assert isinstance(srv.handle(request([other, authorize(ch, nc=61)])), Accept)
        # an unoffered userhash is refused on the scanned path as on the general one
        uh = srv.handle(request(authorize(ch, nc=62) + ", userhash=true"))
        assert uh.reason is Reason.MALFORMED and "userhash" in uh.detail


@pytest.mark.parametrize("name", CORES, ids=[n for n, _ in CORES])
def test_auth_int_under_sha256_is_accepted_and_checked(name: tuple[str, Any]) -> None:
    with use_core(name[1]):
        srv = make_server(algorithms=("SHA-256",), qop=("auth-int",))
        ch = pick(srv.handle(request()), "SHA-256")
        body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n" * 40
        assert isinstance(srv.handle(request(authorize(ch, body=body), body=body)), Accept)
        other = srv.handle(request(authorize(ch, nc=2, body=body), body=body + b"x"))
        assert other.reason is Reason.WRONG_RESPONSE
        unknown = srv.handle(request(authorize(ch, nc=3, username="eve"), body=body))
        assert unknown.reason is Reason.UNKNOWN_USER
