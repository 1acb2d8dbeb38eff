"""sipsak 0.9.8.1 registering to ``sipdigest serve --algorithms MD5`` (sipsak answers MD5
only, reads only the first challenge and authenticates once: NOTES.md §3)."""

from __future__ import annotations

import subprocess
from typing import Callable

import pytest

from conftest import PASSWORD, USER, Serve

pytestmark = pytest.mark.interop

Sipsak = Callable[..., subprocess.CompletedProcess[str]]


def usrloc(
    sipsak: Sipsak, port: int, password: str, transport: str
) -> subprocess.CompletedProcess[str]:
    args = ["-U", "-C", f"sip:{USER}@127.0.0.1", "-s", f"sip:{USER}@127.0.0.1", "-r", str(port),
            "-a", password, "-u", USER, "-i", "-vvv", "-D", "8"]  # fmt: skip
    if transport == "tcp":
        args += ["-E", "tcp"]
    return sipsak(*args)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipsak_registers_and_is_refused_with_a_wrong_password(
    serve: Callable[..., Serve], sipsak: Sipsak, transport: str
) -> None:
    server = serve("--algorithms", "MD5")
    ok = usrloc(sipsak, server.port, PASSWORD, transport)
    bad = usrloc(sipsak, server.port, "wrong", transport)
    log = server.stop()
    assert ok.returncode == 0, ok.stdout + ok.stderr + log
    said = ok.stdout + ok.stderr
    assert "qop=auth" in said and "SIP/2.0 200 OK" in said
    # sipsak authenticates once: our second 401 (wrong response) ends it with exit 2
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "reason=wrong_response" in log
    accepted = [line for line in log.splitlines() if "outcome=accept" in line]
    assert accepted and all(f"source={transport}:127.0.0.1:" in line for line in accepted)


def test_sipsak_options_in_default_mode(serve: Callable[..., Serve], sipsak: Sipsak) -> None:
    server = serve("--algorithms", "MD5", "--qop", "none")
    done = sipsak(
        "-s", f"sip:{USER}@127.0.0.1", "-r", str(server.port), "-a", PASSWORD, "-u", USER, "-D", "8"
    )
    log = server.stop()
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert "OPTIONS user=alice realm=sipdigest.test outcome=accept" in log


def test_sipsak_answers_an_auth_int_offer_with_qop_auth(
    serve: Callable[..., Serve], sipsak: Sipsak
) -> None:
    """sipsak falls back to qop=auth. Offered auth-int only, that is a downgrade (403);
    offered both, qop=auth is a valid choice (200)."""
    only = serve("--algorithms", "MD5", "--qop", "auth-int")
    refused = usrloc(sipsak, only.port, PASSWORD, "udp")
    log = only.stop()
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "qop=auth," in said and "403 Forbidden" in said
    assert "outcome=reject reason=downgrade status=403" in log

    both = serve("--algorithms", "MD5", "--qop", "auth,auth-int")
    ok = usrloc(sipsak, both.port, PASSWORD, "udp")
    log = both.stop()
    assert ok.returncode == 0, ok.stdout + ok.stderr + log
    assert "algorithm=MD5 qop=auth)" in log
