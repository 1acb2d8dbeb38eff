"""Digest arithmetic rules (RFC 2617 §3.2.2, RFC 7616 §3.4-3.5, RFC 8760), both twins."""

from __future__ import annotations

import hashlib

import pytest

import sipdigest
from sipdigest import (
    Credentials,
    LocalProtocolError,
    MalformedHeader,
    UnsupportedAlgorithm,
    compute_ha1,
    compute_response,
    compute_rspauth,
    compute_userhash,
    get_algorithm,
    verify_credentials,
)

H = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": lambda d: hashlib.new("sha512_256", d),
}
ALGS = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"]


def h(alg: str, data: str) -> str:
    return H[alg.removesuffix("-sess")](data.encode()).hexdigest()


def reference(alg: str, qop: str | None, body: bytes = b"") -> str:
    """RFC 7616 §3.4.1-3.4.3 written out longhand, as an independent oracle."""
    ha1 = h(alg, "alice:example.com:pw\u00e9")
    if alg.endswith("-sess"):
        ha1 = h(alg, f"{ha1}:NONCE:CN")
    a2 = "REGISTER:sip:example.com"
    if qop == "auth-int":
        a2 += ":" + H[alg.removesuffix("-sess")](body).hexdigest()
    ha2 = h(alg, a2)
    if qop is None:
        return h(alg, f"{ha1}:NONCE:{ha2}")
    return h(alg, f"{ha1}:NONCE:0000002a:CN:{qop}:{ha2}")


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("qop", [None, "auth", "auth-int"])
def test_response_matches_the_rfc_formula(twin: object, alg: str, qop: str | None) -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    got = compute_response(
        algorithm=alg, username="alice", realm="example.com", password="pw\u00e9",
        method="REGISTER", uri="sip:example.com", nonce="NONCE", nc=42, cnonce="CN",
        qop=qop, body=body,
    )
    assert got == reference(alg, qop, body)


def test_auth_int_covers_the_empty_body(twin: object) -> None:
    args = dict(algorithm="MD5", username="alice", realm="example.com", password="pw\u00e9",
                method="REGISTER", uri="sip:example.com", nonce="NONCE", nc=42, cnonce="CN")
    empty = compute_response(qop="auth-int", body=b"", **args)  # type: ignore[arg-type]
    assert empty == reference("MD5", "auth-int", b"")
    assert empty != compute_response(qop="auth-int", body=b"x", **args)  # type: ignore[arg-type]
    assert empty != compute_response(qop="auth", **args)  # type: ignore[arg-type]


def test_stored_ha1_gives_the_same_response_as_the_password(twin: object) -> None:
    for alg in ALGS:
        ha1 = compute_ha1(alg, "alice", "example.com", "pw\u00e9")
        common = dict(algorithm=alg, username="alice", realm="example.com", method="INVITE",
                      uri="sip:bob@example.com", nonce="NONCE", nc=1, cnonce="CN", qop="auth")
        assert compute_response(ha1=ha1, **common) == compute_response(password="pw\u00e9", **common)  # type: ignore[arg-type]
        assert compute_response(ha1=ha1.upper(), **common) == compute_response(ha1=ha1, **common)  # type: ignore[arg-type]


def test_bytes_and_str_secrets_agree(twin: object) -> None:
    assert compute_ha1("MD5", "u", "r", "p\u00e9") == compute_ha1("MD5", b"u", b"r", "p\u00e9".encode())
    raw = bytes(range(256))  # AKA passwords are raw bytes, ':' and NUL included
    assert compute_ha1("SHA-256", "u", "r", raw) == hashlib.sha256(b"u:r:" + raw).hexdigest()


def test_rspauth_is_the_response_with_an_empty_method(twin: object) -> None:
    common = dict(algorithm="SHA-256", username="alice", realm="example.com", password="pw",
                  uri="sip:example.com", nonce="NONCE", nc=1, cnonce="CN", qop="auth")
    assert compute_rspauth(**common) == compute_response(method="", **common)  # type: ignore[arg-type]
    assert compute_rspauth(**common) != compute_response(method="REGISTER", **common)  # type: ignore[arg-type]


def test_userhash_is_h_of_username_colon_realm(twin: object) -> None:
    assert compute_userhash("SHA-256", "alice", "example.com") == hashlib.sha256(b"alice:example.com").hexdigest()


@pytest.mark.parametrize("token", ["md5", "Md5-SeSs", "sha-256", "SHA-512-256-SESS"])
def test_algorithm_tokens_match_case_insensitively(token: str) -> None:
    assert get_algorithm(token).token.upper() == token.upper()


@pytest.mark.parametrize("token", ["SHA", "SHA-512", "SHA-1", "AKAv1-MD5", "", "MD5 ", "M\u00c55"])
def test_unknown_algorithm_is_an_error_never_md5(twin: object, token: str) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        get_algorithm(token)
    with pytest.raises(UnsupportedAlgorithm):
        compute_ha1(token, "u", "r", "p")


def test_absent_algorithm_means_md5() -> None:
    assert get_algorithm(None) is sipdigest.MD5


def test_exactly_one_secret_is_required(twin: object) -> None:
    common = dict(algorithm="MD5", username="u", realm="r", method="M", uri="u", nonce="n")
    with pytest.raises(LocalProtocolError):
        compute_response(**common)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        compute_response(password="p", ha1="0" * 32, **common)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        compute_response(ha1="0" * 64, **common)  # type: ignore[arg-type]


def test_qop_needs_nc_and_cnonce_and_sess_needs_cnonce(twin: object) -> None:
    common = dict(algorithm="MD5", username="u", realm="r", password="p", method="M", uri="u", nonce="n")
    with pytest.raises(LocalProtocolError):
        compute_response(qop="auth", cnonce="c", **common)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        compute_response(qop="auth", nc=1, **common)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        compute_response(**{**common, "algorithm": "MD5-sess"})  # type: ignore[arg-type]


def _creds(**over: object) -> str:
    fields: dict[str, object] = dict(
        username="alice", realm="example.com", nonce="NONCE", uri="sip:example.com",
        algorithm="MD5", cnonce="CN", qop="auth", nc=1,
    )
    fields.update(over)
    fields["response"] = compute_response(
        algorithm=fields["algorithm"], username="alice", realm="example.com", password="pw",  # type: ignore[arg-type]
        method="REGISTER", uri="sip:example.com", nonce="NONCE", nc=fields["nc"], cnonce=fields["cnonce"],  # type: ignore[arg-type]
        qop=fields["qop"],  # type: ignore[arg-type]
    )
    return Credentials(**fields).render()  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ALGS)
def test_verify_credentials_accepts_right_and_refuses_wrong(twin: object, alg: str) -> None:
    value = _creds(algorithm=alg)
    assert verify_credentials(value, method="REGISTER", password="pw")
    assert verify_credentials(value, method="REGISTER", ha1=compute_ha1(alg, "alice", "example.com", "pw"))
    assert not verify_credentials(value, method="REGISTER", password="pW")
    assert not verify_credentials(value, method="INVITE", password="pw")


def test_verify_credentials_upper_case_response_is_not_equal(twin: object) -> None:
    value = _creds()
    resp = sipdigest.parse_credentials(value).response
    assert not verify_credentials(value.replace(resp, resp.upper()), method="REGISTER", password="pw")


def test_verify_credentials_ha1_for_another_algorithm_is_refused(twin: object) -> None:
    value = _creds(algorithm="SHA-256")
    assert not verify_credentials(value, method="REGISTER", ha1=compute_ha1("MD5", "alice", "example.com", "pw"))


def test_verify_credentials_malformed_raises_library_errors(twin: object) -> None:
    with pytest.raises(MalformedHeader):
        verify_credentials('Digest username="u"', method="M", password="p")
    with pytest.raises(UnsupportedAlgorithm):
        verify_credentials(_creds().replace("algorithm=MD5", "algorithm=SHA-1"), method="REGISTER", password="pw")
    with pytest.raises(MalformedHeader):
        verify_credentials(_creds().replace("nc=00000001", "nc=1"), method="REGISTER", password="pw")
    with pytest.raises(MalformedHeader):
        verify_credentials(_creds().replace("qop=auth", "qop=auth-conf"), method="REGISTER", password="pw")


def test_verify_credentials_userhash_needs_the_real_name_or_ha1(twin: object) -> None:
    uh = compute_userhash("MD5", "alice", "example.com")
    resp = compute_response(algorithm="MD5", username="alice", realm="example.com", password="pw",
                            method="REGISTER", uri="sip:example.com", nonce="N", nc=1, cnonce="C", qop="auth")
    value = Credentials(username=uh, realm="example.com", nonce="N", uri="sip:example.com", response=resp,
                        algorithm="MD5", cnonce="C", qop="auth", nc=1, userhash=True).render()
    with pytest.raises(LocalProtocolError):
        verify_credentials(value, method="REGISTER", password="pw")
    assert verify_credentials(value, method="REGISTER", password="pw", username="alice")
    assert verify_credentials(value, method="REGISTER", ha1=compute_ha1("MD5", "alice", "example.com", "pw"))


def test_verify_credentials_rfc2069_form(twin: object) -> None:
    value = _creds(qop=None, nc=None, cnonce=None)
    assert "qop" not in value
    assert verify_credentials(value, method="REGISTER", password="pw")
