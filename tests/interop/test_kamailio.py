"""Our client (the CLI, and the library Client over a small UDP loop) against Kamailio
5.6.3 as a registrar (401) and as a proxy (407). Kamailio cannot verify auth-int and has
no SHA-512-256 (NOTES.md §1), so those run against our own server instead."""

from __future__ import annotations

import re
import time
from typing import Any, Callable

import pytest

from conftest import PASSWORD, REALM, USER, HoldingRelay, Kamailio, MiniUac, run_cli
from sipdigest.actions import Done
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.headers import parse_credentials
from sipdigest.policy import ClientPolicy

pytestmark = pytest.mark.interop

StartKamailio = Callable[..., Kamailio]


def register(k: Kamailio, *extra: str, password: str = PASSWORD, transport: str = "udp") -> Any:
    return run_cli(
        "register", f"127.0.0.1:{k.port}", "--user", f"sip:{USER}@127.0.0.1",
        "--credential", f"{REALM}={USER}", "--transport", transport, "--timeout", "15", *extra,
        password=password,
    )  # fmt: skip


def auth_results(k: Kamailio) -> list[str]:
    """Kamailio's 'AUTH METHOD user=[..] alg=[..] rc=N' log lines."""
    return re.findall(r"AUTH \w+ user=\[[^\]]*\] alg=\[[^\]]*\] rc=-?\d+", k.log())


@pytest.mark.parametrize("role", ["registrar", "proxy"])
@pytest.mark.parametrize("algo", ["MD5", "SHA-256"])
@pytest.mark.parametrize("qop", ["auth", ""])
def test_cli_registers_and_is_refused_with_a_wrong_password(
    kamailio: StartKamailio, role: str, algo: str, qop: str
) -> None:
    k = kamailio(ROLE=role, ALGO=algo, QOP=qop)
    ok = register(k)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    expected = "401 Unauthorized" if role == "registrar" else "407 Proxy Authentication Required"
    assert f"-> {expected}" in ok.stdout
    assert f"[{algo} {qop or 'no-qop'} realm={REALM}" in ok.stdout
    assert "-> 200 OK" in ok.stdout and "registered" in ok.stdout

    bad = register(k, password="not-the-password")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"credentials for realm {REALM} refused" in bad.stderr
    assert "-> 403 Forbidden" in bad.stdout
    assert any(line.endswith(("rc=1",)) for line in auth_results(k))
    assert any(line.endswith("rc=-2") for line in auth_results(k))


@pytest.mark.parametrize("role", ["registrar", "proxy"])
def test_cli_over_tcp_with_options_and_message(kamailio: StartKamailio, role: str) -> None:
    k = kamailio(ROLE=role, ALGO="SHA-256")
    assert register(k, transport="tcp").returncode == 0
    for method in ("OPTIONS", "MESSAGE"):
        done = run_cli(
            "request", method, f"sip:bob@127.0.0.1:{k.port}", "--user", f"sip:{USER}@127.0.0.1",
            "--credential", f"{REALM}={USER}", "--transport", "tcp", "--timeout", "15",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{method} sip:bob@127.0.0.1:{k.port}: 200 OK" in done.stdout


@pytest.mark.parametrize("role", ["registrar", "proxy"])
def test_two_challenges_the_topmost_supported_is_answered(
    kamailio: StartKamailio, role: str
) -> None:
    """DUAL: SHA-256 then MD5 in one 401/407. RFC 8760 §2.4: answer the topmost we support."""
    k = kamailio(ROLE=role, ALGO="SHA-256", DUAL=1)
    done = register(k, "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[SHA-256 auth realm=" in done.stdout
    assert (
        "X-Auth-Result: 1" in done.stderr
    )  # checked by the auth module (SHA-256), not the MD5 script
    sent = [h for h in re.findall(r"(?m)^(?:Proxy-)?Authorization: (.*)$", done.stderr)]
    assert len(sent) == 1 and parse_credentials(sent[0].strip()).algorithm == "SHA-256"


def test_two_challenges_an_md5_only_client_answers_the_second(
    kamailio: StartKamailio, mini_uac: Any
) -> None:
    k = kamailio(ALGO="SHA-256", DUAL=1)
    client = Client([Credential(REALM, USER, PASSWORD)], ClientPolicy(algorithms=("MD5",)))
    action, exchanges = mini_uac(k.port, client).request()
    assert isinstance(action, Done) and action.status == 200
    assert [e.response.status for e in exchanges] == [401, 200]
    assert exchanges[-1].response.get("X-Auth-Result") == "2"  # the script's MD5 check
    assert parse_credentials(exchanges[-1].request.get("Authorization") or "").algorithm == "MD5"


def test_cli_refuses_to_send_credentials_to_an_unnamed_realm(kamailio: StartKamailio) -> None:
    """The realm (sipdigest.test) is not the server's domain (127.0.0.1): no guess."""
    k = kamailio()
    done = run_cli(
        "register", f"127.0.0.1:{k.port}", "--user", f"sip:{USER}@127.0.0.1", "--timeout", "15"
    )
    assert done.returncode == 1
    assert f"--credential {REALM}=USER" in done.stderr and "--any-realm" in done.stderr
    assert done.stdout.count("->") == 1  # the challenge, and nothing sent in answer
    assert not any(f"user=[{USER}]" in line for line in auth_results(k))

    anyrealm = run_cli("register", f"127.0.0.1:{k.port}", "--user", f"sip:{USER}@127.0.0.1", "--any-realm",
                       "--timeout", "15")  # fmt: skip
    assert anyrealm.returncode == 0, anyrealm.stdout + anyrealm.stderr


def test_expired_nonce_stale_true_is_answered_transparently_by_the_cli(
    kamailio: StartKamailio,
) -> None:
    """NONCE_EXPIRE=3 and a relay that holds the first answer 4.2 s: Kamailio says stale=true."""
    k = kamailio(NONCE_EXPIRE=3)
    relay = HoldingRelay(k.port, hold=4.2)
    relay.start()
    try:
        done = run_cli(
            "register", f"127.0.0.1:{relay.port}", "--user", f"sip:{USER}@127.0.0.1",
            "--credential", f"{REALM}={USER}", "--timeout", "20",
        )  # fmt: skip
    finally:
        relay.close()
    assert done.returncode == 0, done.stdout + done.stderr
    assert relay.held >= 1
    assert "-> 401 Unauthorized (stale=true)" in done.stdout
    steps = [line for line in done.stdout.splitlines() if " -> " in line]
    assert steps[0].endswith("-> 401 Unauthorized") and steps[1].endswith("(stale=true)")
    assert steps[2].endswith("-> 200 OK") and len(steps) == 3
    assert any(line.endswith("rc=-4") for line in auth_results(k))  # stale, as Kamailio saw it


def test_expired_cached_nonce_is_renewed_by_the_library_client(
    kamailio: StartKamailio, mini_uac: Any
) -> None:
    k = kamailio(NONCE_EXPIRE=3, NONCE_COUNT=1)
    uac: MiniUac = mini_uac(k.port, Client([Credential(REALM, USER, PASSWORD)]))
    action, first = uac.request()
    assert isinstance(action, Done) and [e.response.status for e in first] == [401, 200]
    time.sleep(4.2)
    action, second = uac.request()  # preemptive with the expired nonce, nc=2
    assert isinstance(action, Done) and action.status == 200
    assert [e.response.status for e in second] == [401, 200]
    assert "stale=true" in (second[0].response.get("WWW-Authenticate") or "")
    assert parse_credentials(second[1].request.get("Authorization") or "").nc_text() == "00000001"


@pytest.mark.parametrize("role", ["registrar", "proxy"])
def test_preemptive_reuse_with_nc_and_one_time_nonce_checking(
    kamailio: StartKamailio, mini_uac: Any, role: str
) -> None:
    """NONCE_COUNT=1 + ONE_TIME_NONCE=1: the cached nonce is reused with nc+1 and accepted
    without a challenge; the same credentials in a new request are refused (stale)."""
    k = kamailio(ROLE=role, NONCE_COUNT=1, ONE_TIME_NONCE=1)
    header = "Authorization" if role == "registrar" else "Proxy-Authorization"
    uac: MiniUac = mini_uac(k.port, Client([Credential(REALM, USER, PASSWORD)]))
    action, first = uac.request()
    assert isinstance(action, Done) and [e.response.status for e in first] == [
        401 if role == "registrar" else 407,
        200,
    ]
    nonce = parse_credentials(first[1].request.get(header) or "").nonce
    for nc in ("00000002", "00000003"):
        action, again = uac.request()
        assert isinstance(action, Done) and action.status == 200
        assert len(again) == 1, "no challenge: the preemptive credentials were accepted"
        creds = parse_credentials(again[0].request.get(header) or "")
        assert (creds.nonce, creds.nc_text()) == (nonce, nc)
        assert again[0].response.get("X-Auth-Result") == "1"
    # A byte-for-byte resend is a retransmission to Kamailio's transaction layer (the 200
    # again); the same credentials in a new transaction are a replayed nc: stale.
    assert uac.transact(again[0].data).status == 200
    uac.cseq += 1
    auth = ((header, again[0].request.get(header) or ""),)
    replayed = uac.transact(uac.build("REGISTER", again[0].request.uri, auth).to_bytes())
    assert replayed.status in (401, 407) and replayed.get("X-Auth-Result") == "-4"
    assert "stale=true" in (
        replayed.get("WWW-Authenticate") or replayed.get("Proxy-Authenticate") or ""
    )


def test_one_time_nonce_without_qop_draws_stale_and_the_client_retries(
    kamailio: StartKamailio, mini_uac: Any
) -> None:
    k = kamailio(QOP="", ONE_TIME_NONCE=1)
    uac: MiniUac = mini_uac(k.port, Client([Credential(REALM, USER, PASSWORD)]))
    action, first = uac.request()
    assert isinstance(action, Done) and [e.response.status for e in first] == [401, 200]
    action, second = uac.request()  # the used nonce again (no nc in the RFC 2069 form)
    assert isinstance(action, Done) and action.status == 200
    assert [e.response.status for e in second] == [401, 200]
    assert second[0].response.get("X-Auth-Result") == "-6"


def test_cli_invite_ack_bye_with_nonce_count_checking(kamailio: StartKamailio) -> None:
    """INVITE -> 407 -> INVITE -> 200, ACK (the INVITE's credentials), BYE reusing the
    nonce with nc=2 (Kamailio checks nc: a repeat would be stale)."""
    k = kamailio(ROLE="proxy", NONCE_COUNT=1, ONE_TIME_NONCE=1)
    done = run_cli(
        "request", "INVITE", f"sip:bob@127.0.0.1:{k.port}", "--user", f"sip:{USER}@127.0.0.1",
        "--credential", f"{REALM}={USER}", "--timeout", "15",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("INVITE") and lines[0].endswith(
        "-> 407 Proxy Authentication Required"
    )
    assert "nc=00000001] -> 200 OK" in lines[1]
    assert lines[2].startswith("ACK") and "nc=00000001]" in lines[2]
    assert lines[3].startswith("BYE") and "nc=00000002] -> 200 OK" in lines[3]
    assert "set up and ended" in done.stdout
