"""The shortcuts of the server's twin functions give what the full paths give, on both
twins: a templates tuple checked once is still minted as before and every other
argument is still checked on each call; the header index found is the first match from
``start``; a value is read the same whether quoted or not, whatever its nonce-count."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pytest

from sipdigest import _pure, _pure_server
from sipdigest.headers import MAX_HEADER_LENGTH

from .test_server_kit import BASE_HEADERS, REALM

TEMPLATES = (
    ('Digest realm="example.com", qop="auth", algorithm=SHA-256, nonce="', '"', '", stale=true', 2),
    ('Digest realm="example.com", algorithm=MD5, nonce="', '"', '", stale=true', 0),
)
POOL = bytes(range(256)) * 2
GOOD = (
    b"secret",
    "WWW-Authenticate",
    TEMPLATES,
    False,
    1,
    0,
    1_700_000_000_123,
    POOL,
    8,
    b"tagtag",
)


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args))
    except Exception as e:
        return ("raised", type(e), str(e))


def with_args(**changes: Any) -> tuple[Any, ...]:
    names = ("key", "name", "templates", "stale", "qbits", "flags", "issued", "pool", "pos", "tag")
    args = dict(zip(names, GOOD, strict=True))
    args.update(changes)
    return tuple(args.values())


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"stale": True},
        {"key": "str key"},
        {"key": None},
        {"name": 5},
        {"pool": bytearray(POOL)},
        {"pos": -1},
        {"pos": len(POOL) - 8},
        {"pos": 8.0},
        {"tag": b"tag"},
        {"tag": "tagtag"},
        {"qbits": 256},
        {"qbits": 1.0},
        {"flags": -1},
        {"issued": 1 << 63},
        {"issued": 0.0},
    ],
)
def test_templates_checked_once_still_mint_alike_and_every_call_is_checked(
    twin: ModuleType, changes: dict[str, Any]
) -> None:
    mint = twin.mint_challenges
    assert outcome(mint, *GOOD)[0] == "ok"  # TEMPLATES is now the tuple checked last
    again = outcome(mint, *with_args(**changes))
    fresh = outcome(mint, *with_args(templates=tuple(list(TEMPLATES)), **changes))
    reference = outcome(_pure_server._mint_checked, *with_args(**changes))
    assert again == fresh == reference


def test_a_template_checked_once_does_not_vouch_for_another_tuple(twin: ModuleType) -> None:
    mint = twin.mint_challenges
    mint(*GOOD)
    bad = ((*TEMPLATES[0][:3], "0"),)
    assert outcome(mint, *with_args(templates=bad))[1] is TypeError
    assert outcome(mint, *with_args(templates=(TEMPLATES[0][:3],)))[1] is TypeError


PLAIN = (
    f'Digest username="alice", realm="{REALM}", nonce="abc", uri="sip:example.com", '
    'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", '
    "qop=auth, nc=00000001"
)


@pytest.mark.parametrize("start", [0, 1, 4, 5, 6, 8, 20])
def test_the_index_found_is_the_first_match_from_start(twin: ModuleType, start: int) -> None:
    hs = list(BASE_HEADERS[:4])
    hs[1:1] = [("Authorization", PLAIN)]
    hs[5:5] = [("Authorization", PLAIN), ("authorization", PLAIN), ("Authorization", PLAIN)]
    found = twin.find_credentials(hs, "authorization", REALM, start, MAX_HEADER_LENGTH)
    want = next(
        (i for i in range(max(start, 0), len(hs)) if hs[i][0].lower() == "authorization"), -1
    )
    assert found[0] == want
    if want >= 0:
        assert found[1] == PLAIN and found[2] is not None
    assert found == twin.find_credentials(
        tuple(hs), "authorization", REALM, start, MAX_HEADER_LENGTH
    )


@pytest.mark.parametrize(
    ("nc", "count"),
    [("00000001", 1), ("00000400", 1024), ("00000401", 1025), ("0000000A", 10),
     ("0000000a", 10), ("ffffffff", 0xFFFFFFFF), ("0000001", None), ("00000000", 0),
     ("0000000g", None)],
)  # fmt: skip
def test_a_nonce_count_reads_the_same_with_or_without_the_small_count_table(
    twin: ModuleType, nc: str, count: int | None
) -> None:
    value = PLAIN.replace("nc=00000001", f"nc={nc}")
    fields = twin.scan_credentials(value, REALM, MAX_HEADER_LENGTH)
    if count is None:
        assert fields is None
    else:
        assert fields is not None and fields[6] == nc and fields[8] == count


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        (PLAIN.replace('cnonce="0a4f113b"', "cnonce=0a4f113b"), "0a4f113b"),
        (PLAIN.replace('cnonce="0a4f113b"', 'cnonce=""'), ""),
        (PLAIN.replace('cnonce="0a4f113b"', 'cnonce="a=b, c"'), "a=b, c"),
        (PLAIN.replace('cnonce="0a4f113b"', 'cnonce = "x"'), "x"),
        (PLAIN.replace('cnonce="0a4f113b"', 'cnonce="x", cnonce="x"'), None),
        (PLAIN.replace("qop=auth", 'qop="auth"'), "0a4f113b"),
        (PLAIN.replace(", qop=auth", ""), None),
        (PLAIN.replace(f'realm="{REALM}"', "realm=other"), None),
    ],
)
def test_quoted_and_unquoted_values_read_alike(
    twin: ModuleType, value: str, expect: str | None
) -> None:
    fields = twin.scan_credentials(value, REALM, MAX_HEADER_LENGTH)
    if expect is None:
        assert fields is None
    else:
        assert fields is not None and fields[7] == expect
    assert fields == _pure.scan_credentials(value, REALM, MAX_HEADER_LENGTH)
