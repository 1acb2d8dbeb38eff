"""Our client against our own ``sipdigest serve``: what no installed peer can check
(SHA-512-256, auth-int with a body, rspauth), and replay refusal on the wire."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import PASSWORD, REALM, USER, MiniUac, Serve, run_cli
from sipdigest.actions import Done
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.headers import parse_credentials

pytestmark = pytest.mark.interop


def cli(server: Serve, *args: str, password: str = PASSWORD) -> Any:
    return run_cli(*args, "--user", f"sip:{USER}@127.0.0.1", "--credential", f"{REALM}={USER}",
                   "--timeout", "15", password=password)  # fmt: skip


@pytest.mark.parametrize(("algorithm", "qop", "transport"), [
    ("SHA-512-256", "auth", "udp"), ("SHA-512-256", "auth", "tcp"),
    ("SHA-512-256", "auth-int", "udp"), ("SHA-512-256", "auth-int", "tcp"),
    ("SHA-256", "auth-int", "udp"), ("SHA-512-256-sess", "auth", "tcp"), ("MD5", "none", "udp"),
])  # fmt: skip
def test_register_with_what_kamailio_cannot_check(
    serve: Callable[..., Serve], transport: str, algorithm: str, qop: str
) -> None:
    server = serve("--algorithms", algorithm, "--qop", qop)
    done = cli(server, "register", f"127.0.0.1:{server.port}", "--transport", transport)
    bad = cli(
        server, "register", f"127.0.0.1:{server.port}", "--transport", transport, password="nope"
    )
    log = server.stop()
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert f"[{algorithm} {'no-qop' if qop == 'none' else qop} realm={REALM}" in done.stdout
    assert f"outcome=accept reason=- status=200 source={transport}:127.0.0.1:" in log
    assert f"algorithm={algorithm} qop={qop})" in log
    assert bad.returncode == 1 and f"credentials for realm {REALM} refused" in bad.stderr
    assert "reason=wrong_response" in log


def message(server: Serve, body: Path, transport: str) -> Any:
    return cli(server, "request", "MESSAGE", f"sip:bob@127.0.0.1:{server.port}", "--transport",
               transport, "--body-file", str(body))  # fmt: skip


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_message_with_a_body_under_auth_int(
    serve: Callable[..., Serve], tmp_path: Path, transport: str
) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"hello, \xe2\x9c\x93 auth-int\r\n")
    server = serve("--algorithms", "SHA-512-256,SHA-256", "--qop", "auth-int")
    done = message(server, body, transport)
    log = server.stop()
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert "[SHA-512-256 auth-int realm=" in done.stdout
    assert "MESSAGE user=alice realm=sipdigest.test outcome=accept" in log


@pytest.mark.parametrize("qop", ["auth", "none"])
def test_rspauth_from_auth_info_is_checked(
    serve: Callable[..., Serve], tmp_path: Path, qop: str
) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"hello")
    server = serve("--qop", qop, "--auth-info")
    done = message(server, body, "udp")
    server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mutual authentication" in done.stdout and "rspauth_mismatch" not in done.stdout


def test_rspauth_over_auth_int_with_a_body(serve: Callable[..., Serve], tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"hello")
    server = serve("--qop", "auth-int", "--auth-info")
    done = message(server, body, "udp")
    server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mutual authentication" in done.stdout and "rspauth_mismatch" not in done.stdout


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_invite_ack_bye_against_our_server(serve: Callable[..., Serve], transport: str) -> None:
    server = serve("--proxy")
    done = cli(
        server, "request", "INVITE", f"sip:bob@127.0.0.1:{server.port}", "--transport", transport
    )
    log = server.stop()
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert (
        "-> 407 Proxy Authentication Required" in done.stdout and "set up and ended" in done.stdout
    )
    assert re.search(
        r"ACK user=- realm=sipdigest\.test outcome=exempt .*no response", log
    )  # the 407's
    assert re.search(
        r"ACK user=alice realm=sipdigest\.test outcome=accept .*no response", log
    )  # the 200's
    assert re.search(r"BYE user=alice .*outcome=accept reason=- status=200", log)


@pytest.mark.parametrize("qop", ["auth", "none"])
def test_an_authorized_register_sent_twice_is_refused_the_second_time(
    serve: Callable[..., Serve], mini_uac: Callable[..., MiniUac], qop: str
) -> None:
    server = serve("--qop", qop)
    uac = mini_uac(server.port, Client([Credential(REALM, USER, PASSWORD)]))
    action, exchanges = uac.request()
    assert isinstance(action, Done) and [e.response.status for e in exchanges] == [401, 200]
    authorized = exchanges[-1].data
    assert b"\r\nAuthorization: Digest " in authorized
    again = uac.transact(authorized)  # byte for byte
    assert again.status == 401
    assert "stale=true" in (again.get("WWW-Authenticate") or "")
    log = server.stop()
    assert "outcome=challenge reason=replay status=401" in log
    assert log.count("outcome=accept") == 1


def test_cli_realm_mismatch_and_the_any_realm_opt_in(serve: Callable[..., Serve]) -> None:
    server = serve()
    args = (
        "register",
        f"127.0.0.1:{server.port}",
        "--user",
        f"sip:{USER}@127.0.0.1",
        "--timeout",
        "15",
    )
    refused = run_cli(*args)
    accepted = run_cli(*args, "--any-realm")
    log = server.stop()
    assert refused.returncode == 1
    assert f"--credential {REALM}=USER" in refused.stderr and "--any-realm" in refused.stderr
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert log.count("outcome=accept") == 1 and log.count("user=alice") == 1


def test_algorithm_floor_refuses_an_md5_only_server(serve: Callable[..., Serve]) -> None:
    server = serve("--algorithms", "MD5")
    done = cli(server, "register", f"127.0.0.1:{server.port}", "--algorithm-floor", "SHA-256")
    log = server.stop()
    assert done.returncode == 1 and "refused by the policy" in done.stderr
    assert "outcome=accept" not in log and "user=alice" not in log


def test_stored_ha1s_in_the_users_file(serve: Callable[..., Serve]) -> None:
    from sipdigest import compute_ha1

    users = "".join(f"{USER} {REALM} {alg}:{compute_ha1(alg, USER, REALM, PASSWORD)}\n"
                    for alg in ("MD5", "SHA-256"))  # fmt: skip
    server = serve(users=users)
    done = cli(server, "register", f"127.0.0.1:{server.port}")
    log = server.stop()
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert "[SHA-256 auth" in done.stdout
    assert parse_credentials is not None
