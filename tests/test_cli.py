"""`sipdigest response` and `sipdigest parse`: results, secrets kept out of argv, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sipdigest import compute_ha1, verify_credentials
from sipdigest.cli import main

MUFASA = [
    "response", "--username", "Mufasa", "--realm", "testrealm@host.com", "--method", "GET",
    "--uri", "/dir/index.html", "--nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    "--cnonce", "0a4f113b", "--opaque", "5ccc069c403ebaf9f0171e9517f40e41",
]  # fmt: skip


def test_response_from_environment_variable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPW", "Circle Of Life")
    assert main([*MUFASA, "--password-env", "MYPW", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["response"] == "6629fae49393a05397450978507c4ef1"  # RFC 2617 §3.5
    assert verify_credentials(out["value"], method="GET", password="Circle Of Life")


def test_response_from_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("Circle Of Life\n")
    assert main([*MUFASA, "--password-file", str(pw)]) == 0
    out = capsys.readouterr().out
    assert "response:  6629fae49393a05397450978507c4ef1" in out
    assert out.splitlines()[-1].startswith("Authorization: Digest ")


def test_response_from_stored_ha1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ha1"
    f.write_text("939e7578ed9e3c518a452acee763bce9\n")
    assert main([*MUFASA, "--ha1-file", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["response"] == "6629fae49393a05397450978507c4ef1"


def _response_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *extra: str) -> Any:
    f = tmp_path / "ha1"
    f.write_text(text)
    assert main([*MUFASA, "--ha1-file", str(f), *extra, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ha1_file_algorithm_prefix_tells_sha512_256_from_sha256(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = ("Mufasa", "testrealm@host.com", "Circle Of Life")
    sha = compute_ha1("SHA-256", *user)
    trunc = compute_ha1("SHA-512-256", *user)
    text = f"# stored HA1s\nSHA-256:{sha}\nsha-512-256:{trunc.upper()}\n"
    got = _response_json(tmp_path, capsys, text, "--algorithm", "SHA-512-256-sess")
    assert got["ha1"] == trunc  # the plain HA1 of the -sess variant, lower case
    assert _response_json(tmp_path, capsys, text, "--algorithm", "SHA-256")["ha1"] == sha


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("SHA-1:" + "a" * 40, "unknown algorithm"),
        ("MD5:" + "a" * 64, "is 32 hex digits"),
        ("SHA-256:" + "g" * 64, "is 64 hex digits"),
        ("MD5:" + "a" * 32 + "\nMD5-sess:" + "b" * 32, "a second HA1 for MD5"),
        ("SHA-256:" + "a" * 64, "no HA1 for MD5"),  # --algorithm is MD5
        ("a" * 64, "no HA1 for MD5"),  # a bare HA1 of the wrong length for --algorithm
        ("# nothing\n", "does not hold an HA1"),
    ],
)
def test_ha1_file_refuses_what_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    f = tmp_path / "ha1"
    f.write_text(text)
    assert main([*MUFASA, "--ha1-file", str(f)]) == 2
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1


def test_missing_password_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIPDIGEST_PASSWORD", raising=False)
    assert main(MUFASA) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1


def test_unknown_algorithm_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPDIGEST_PASSWORD", "x")
    assert main([*MUFASA, "--algorithm", "SHA-1"]) == 2
    assert "unsupported digest algorithm" in capsys.readouterr().err


def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["response", "--nc", "zz"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["no-such-command"]) == 2


def test_parse_prints_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", 'Proxy-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"']) == 0
    (c,) = json.loads(capsys.readouterr().out)
    assert c == {"scheme": "Digest", "realm": "r", "nonce": "n", "algorithm": "SHA-256", "qop": ["auth"]}


def test_parse_malformed_header_reports_position(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--kind", "credentials", 'Digest realm="x']) == 1
    assert "position 15" in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "sipdigest", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("sipdigest ")
