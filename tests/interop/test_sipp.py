"""SIPp 3.6.1 both ways: as a verifying UAS for our client (MD5 only: its verifyauth knows
no other algorithm), and as a UAC registering to ``sipdigest serve --algorithms MD5``
(SIPp answers MD5 only, and only the first challenge)."""

from __future__ import annotations

import re
from typing import Callable

import pytest

from conftest import PASSWORD, REALM, USER, Serve, SippUas, run_cli
from sipdigest.headers import parse_credentials

pytestmark = pytest.mark.interop

UAS = {
    "auth": "sipp-uas-register-401.xml",
    "auth-int": "sipp-uas-register-401-authint.xml",
    "stale": "sipp-uas-register-401-stale.xml",
}


def register(port: int, password: str, transport: str = "udp") -> "object":
    return run_cli(
        "register", f"127.0.0.1:{port}", "--user", f"sip:{USER}@127.0.0.1",
        "--credential", f"{REALM}={USER}", "--transport", transport, "--timeout", "15",
        password=password,
    )  # fmt: skip


@pytest.mark.parametrize("scenario", sorted(UAS))
def test_our_client_against_the_sipp_uas(sipp_uas: Callable[..., SippUas], scenario: str) -> None:
    uas = sipp_uas(UAS[scenario])
    done = register(uas.port, PASSWORD)
    code, results = uas.finish()
    assert done.returncode == 0, done.stdout + done.stderr
    assert (code, results[-1]) == (0, "RESULT verifyauth-ok"), results
    if scenario == "stale":
        assert results[0] == "FIRST verifyauth=ok"
        assert "(stale=true)" in done.stdout and done.stdout.count(" -> ") == 3
    if scenario == "auth-int":
        assert "[MD5 auth-int realm=" in done.stdout


@pytest.mark.parametrize("scenario", sorted(UAS))
def test_our_client_with_a_wrong_password_against_the_sipp_uas(
    sipp_uas: Callable[..., SippUas], scenario: str
) -> None:
    uas = sipp_uas(UAS[scenario])
    done = register(uas.port, "wrong")
    code, results = uas.finish()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"credentials for realm {REALM} refused" in done.stderr
    assert (code, results[-1]) == (1, "RESULT verifyauth-failed"), results
    if scenario == "stale":
        assert results[0] == "FIRST verifyauth=failed"


def test_our_client_over_tcp_against_the_sipp_uas(sipp_uas: Callable[..., SippUas]) -> None:
    uas = sipp_uas(UAS["auth"], transport="tcp")
    done = register(uas.port, PASSWORD, transport="tcp")
    _, results = uas.finish()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT verifyauth-ok" in results, results  # SIPp may see our close after its 200


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("qop", ["auth", "none", "auth-int", "auth,auth-int"])
def test_sipp_registers_to_sipdigest_serve(
    serve: Callable[..., Serve], sipp_uac: Callable[..., tuple[int, str]], qop: str, transport: str
) -> None:
    server = serve("--algorithms", "MD5", "--qop", qop)
    code, trace = sipp_uac("sipp-uac-register.xml", server.port, transport)
    log = server.stop()
    assert code == 0, trace[-3000:] + log
    answers = re.findall(r"(?m)^Authorization: (.*)$", trace)
    assert answers, trace[-3000:]
    used = {parse_credentials(a.strip()).qop for a in answers}
    # SIPp prefers auth-int whenever it is offered (REFERENCE Q5)
    assert used == {{"auth": "auth", "none": None}.get(qop, "auth-int")}
    assert "outcome=accept" in log and "algorithm=MD5" in log


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_with_a_wrong_password_is_challenged_again(
    serve: Callable[..., Serve], sipp_uac: Callable[..., tuple[int, str]], transport: str
) -> None:
    server = serve("--algorithms", "MD5")
    code, trace = sipp_uac("sipp-uac-register-wrongpw.xml", server.port, transport)
    log = server.stop()
    assert code == 0, trace[-3000:] + log  # the scenario expects a 403 or a new 401
    assert "reason=wrong_response" in log and "outcome=accept" not in log
