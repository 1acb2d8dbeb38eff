"""The network shell without external tools: the users file, the retransmission schedule,
the registrar object driven in memory, and ``sipdigest serve`` / ``register`` /
``request`` as subprocesses on free loopback ports (exit codes 0, 1, 2, 3)."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import sipdigest
from sipdigest import compute_ha1, compute_userhash
from sipdigest._net_registrar import Registrar, UsersFileError, parse_users
from sipdigest._net_serve import _lookup
from sipdigest._net_uac import retransmit_schedule
from sipdigest._netbase import parse_hostport
from sipdigest.actions import LookupCredentials, Retry
from sipdigest.cli import main
from sipdigest.client import Client
from sipdigest.credentials import Credential
from sipdigest.events import (
    CredentialsFound,
    CredentialsNotFound,
    RequestPrepared,
    ResponseReceived,
)
from sipdigest.message import Request, Response, build_request, parse_message
from sipdigest.policy import ServerPolicy
from sipdigest.server import Server

SRC = Path(sipdigest.__file__).resolve().parent.parent
REALM, USER, PASSWORD = "example.com", "alice", "s3cret pass"


# ---- the users file ---------------------------------------------------------------------------


def test_users_file_lines_comments_and_merged_ha1s() -> None:
    md5 = compute_ha1("MD5", "bob", REALM, "pw")
    sha = compute_ha1("SHA-256", "bob", REALM, "pw")
    users = parse_users(
        f"# a comment\n\n{USER} {REALM} {PASSWORD}\n  bob {REALM} MD5:{md5.upper()}\n"
        f"bob {REALM} sha-256:{sha}\ncarol other.org pw\n"
    )
    assert users[(USER, REALM)].password == PASSWORD  # the rest of the line, spaces included
    assert users[("bob", REALM)].password is None
    assert users[("bob", REALM)].ha1 == {"MD5": md5, "SHA-256": sha}
    assert sorted(r for _, r in users) == [REALM, REALM, "other.org"]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("alice example.com\n", 1, "expected 'user realm password'"),
    ("# ok\nalice example.com pw\nbob example.com MD5:abc\n", 3, "32 hex digits"),
    ("alice example.com pw\nalice example.com other\n", 2, "different password"),
    (f"a r MD5:{'0' * 32}\na r MD5:{'1' * 32}\n", 2, "different MD5 HA1"),
    ('\n\nal"ice r pw\n', 3, "quotes"),
])  # fmt: skip
def test_users_file_bad_line_names_its_number(text: str, line: int, words: str) -> None:
    with pytest.raises(UsersFileError) as info:
        parse_users(text, "users.txt")
    assert info.value.line == line
    assert f"users.txt, line {line}: " in str(info.value) and words in str(info.value)


def test_serve_with_a_bad_users_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "users"
    bad.write_text("alice example.com pw\n\nbroken-line\n")
    assert main(["serve", "--users", str(bad), "--listen", "127.0.0.1:0"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["serve", "--qop", "auth-conf"], ["serve", "--algorithms", "SHA-1"],
    ["serve", "--nonce-ttl", "0"], ["serve", "--listen", "nowhere:99999"],
])  # fmt: skip
def test_serve_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


def test_hostport() -> None:
    assert parse_hostport("127.0.0.1") == ("127.0.0.1", 5060)
    assert parse_hostport("example.com:5070") == ("example.com", 5070)
    assert parse_hostport("[::1]:0") == ("::1", 0)


# ---- timers A and E (RFC 3261 §17.1.1.2, §17.1.2.2) ---------------------------------------------


def test_retransmission_schedule_non_invite_caps_at_t2() -> None:
    times = retransmit_schedule("REGISTER")
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert times[-1] == 31.5 and len(times) + 1 == 11  # 11 transmissions before timer F
    assert retransmit_schedule("OPTIONS", timeout=2) == [0.5, 1.5]


def test_retransmission_schedule_invite_doubles() -> None:
    assert retransmit_schedule("INVITE") == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # 7 sends in 64*T1


# ---- the registrar, in memory -------------------------------------------------------------------


class Harness:
    """A Registrar and a library Client exchanging messages without sockets."""

    def __init__(self, *, realm: str = REALM, realms: tuple[str, ...] = (), qop: tuple[str, ...] = ("auth",),
                 users: Optional[dict[tuple[str, str], str]] = None) -> None:  # fmt: skip
        self.users = users or {(USER, realm): PASSWORD}
        policy = ServerPolicy(realm=realm, secret=b"k" * 32, qop=qop)
        self.lines: list[str] = []
        self.now = 1_000_000.0
        from sipdigest.events import CredentialsFound, CredentialsNotFound

        def lookup(lk: Any) -> Any:
            pw = self.users.get((lk.username, lk.realm))
            return CredentialsNotFound(lk) if pw is None else CredentialsFound(lk, password=pw)

        self.registrar = Registrar(
            Server(policy, lookup=lookup), realms=realms, log=self.lines.append
        )
        self.cseq = 0

    def send(self, req: Request, source: str = "udp:127.0.0.1:5555") -> Optional[Response]:
        # through the wire format, as a datagram would arrive
        parsed = parse_message(req.to_bytes())
        assert isinstance(parsed, Request)
        return self.registrar.handle(
            parsed, source=source, local=("127.0.0.1", 5060), transport="udp", now=self.now
        )

    def request(self, method: str, uri: str, auth: tuple[tuple[str, str], ...] = (), *, cseq: Optional[int] = None,
                contact: Optional[str] = None, expires: Optional[int] = None, call_id: str = "c1",
                to: Optional[str] = None) -> Request:  # fmt: skip
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        return build_request(
            method, uri, via_host="127.0.0.1", via_port=5555, transport="UDP", branch=f"b{cseq}{method}",
            from_uri=f"sip:{USER}@{REALM}", from_tag="t1", to_uri=to or f"sip:{USER}@{REALM}",
            call_id=call_id, cseq=cseq, contact=contact, expires=expires, headers=auth,
        )  # fmt: skip

    def authorized(
        self, method: str, uri: str, client: Client, **kw: Any
    ) -> tuple[Request, Response]:
        """A request, its challenge, and the retry the client machine builds."""
        first = self.request(method, uri, **kw)
        challenge = self.send(first)
        assert challenge is not None and challenge.status == 401
        kw.pop("cseq", None)
        prepared = RequestPrepared(method, uri, first.get("Call-ID") or "", self.cseq)
        action = client.handle(ResponseReceived(challenge.status, challenge.headers, prepared))
        assert isinstance(action, Retry)
        retry = self.request(method, uri, action.headers, **kw)
        response = self.send(retry)
        assert response is not None
        retried = RequestPrepared(method, uri, retry.get("Call-ID") or "", self.cseq)
        client.handle(
            ResponseReceived(response.status, response.headers, retried)
        )  # closes its chain
        return retry, response


def client(password: str = PASSWORD, realm: str = REALM) -> Client:
    return Client([Credential(realm, USER, password)])


def test_register_binds_contacts_per_aor_and_expires_zero_removes() -> None:
    h = Harness()
    c = client()
    _, ok = h.authorized(
        "REGISTER", f"sip:{REALM}", c, contact="sip:alice@10.0.0.1:5062", expires=120
    )
    assert ok.status == 200
    assert ok.get_all("Contact") == ["<sip:alice@10.0.0.1:5062>;expires=120"]
    assert ok.get("Expires") == "120"
    assert re.search(r";tag=\w+", ok.get("To") or "")
    _, two = h.authorized("REGISTER", f"sip:{REALM}", c, contact="sip:alice@10.0.0.2", expires=60)
    assert len(two.get_all("Contact")) == 2
    h.now += 61  # the second binding has expired
    _, query = h.authorized("REGISTER", f"sip:{REALM}", c)
    assert query.get_all("Contact") == ["<sip:alice@10.0.0.1:5062>;expires=59"]
    _, gone = h.authorized("REGISTER", f"sip:{REALM}", c, contact="*", expires=0)
    assert gone.status == 200 and gone.get_all("Contact") == []
    assert h.registrar.bindings == {}
    accepted = [line for line in h.lines if "outcome=accept" in line]
    assert accepted and all(
        f"REGISTER user={USER} realm={REALM} outcome=accept" in line for line in accepted
    )
    assert all(PASSWORD not in line and "s3cret" not in line for line in h.lines)


def test_every_log_line_names_method_user_realm_outcome_reason_source() -> None:
    h = Harness()
    h.authorized("OPTIONS", f"sip:{USER}@{REALM}", client("wrong password"))
    assert len(h.lines) == 2
    assert h.lines[0].startswith(
        f"OPTIONS user=- realm={REALM} outcome=challenge reason=no_credentials status=401"
    )
    assert h.lines[1].startswith(
        f"OPTIONS user={USER} realm={REALM} outcome=challenge reason=wrong_response"
    )
    assert all(line.split("source=")[1].startswith("udp:127.0.0.1:5555") for line in h.lines)


def test_other_methods_get_200_invite_with_contact_and_authentication_info_kept() -> None:
    h = Harness()
    c = client()
    for method in ("OPTIONS", "MESSAGE", "INVITE", "SUBSCRIBE"):
        _, ok = h.authorized(method, f"sip:bob@{REALM}", c)
        assert ok.status == 200 and ok.body == b""
        assert (ok.get("Contact") is not None) == (method == "INVITE")


def test_ack_gets_no_response_and_cancel_481() -> None:
    h = Harness()
    assert h.send(h.request("ACK", f"sip:bob@{REALM}")) is None
    cancel = h.send(h.request("CANCEL", f"sip:bob@{REALM}"))
    assert cancel is not None and cancel.status == 481
    assert "ACK user=- " in h.lines[0] and "outcome=exempt" in h.lines[0]


def test_a_byte_identical_authorized_request_is_refused_stale() -> None:
    h = Harness()
    retry, ok = h.authorized("REGISTER", f"sip:{REALM}", client(), contact="sip:alice@10.0.0.1")
    assert ok.status == 200
    again = h.send(retry)
    assert again is not None and again.status == 401
    assert "stale=true" in (again.get("WWW-Authenticate") or "")
    assert "reason=replay" in h.lines[-1]


@pytest.mark.parametrize("drop", ["Call-ID", "From", "CSeq"])
def test_a_request_missing_a_mandatory_header_gets_400(drop: str) -> None:
    h = Harness()
    req = h.request("OPTIONS", f"sip:bob@{REALM}")
    req.headers = [(n, v) for n, v in req.headers if n != drop]
    res = h.send(req)
    assert res is not None and res.status == 400
    assert "outcome=reject reason=malformed status=400" in h.lines[-1]


def test_request_without_via_is_dropped() -> None:
    h = Harness()
    req = h.request("OPTIONS", f"sip:bob@{REALM}")
    req.headers = [(n, v) for n, v in req.headers if n != "Via"]
    assert h.send(req) is None and "without Via" in h.lines[-1]


def test_several_realms_are_picked_from_the_request_uri_host() -> None:
    users = {(USER, "a.example"): "pw-a", (USER, "b.example"): "pw-b"}
    h = Harness(realm="fallback.example", realms=("a.example", "b.example"), users=users)
    for realm, pw in (("a.example", "pw-a"), ("b.example", "pw-b")):
        challenge = h.send(h.request("OPTIONS", f"sip:bob@{realm}"))
        assert challenge is not None and f'realm="{realm}"' in (
            challenge.get("WWW-Authenticate") or ""
        )
        _, ok = h.authorized("OPTIONS", f"sip:bob@{realm}", client(pw, realm))
        assert ok.status == 200
    other = h.send(h.request("OPTIONS", "sip:bob@127.0.0.1"))
    assert other is not None and 'realm="fallback.example"' in (other.get("WWW-Authenticate") or "")


def test_received_and_rport_are_filled_in() -> None:
    h = Harness()
    res = h.send(h.request("OPTIONS", f"sip:bob@{REALM}"), source="udp:127.0.0.7:40000")
    assert res is not None
    assert "rport=40000" in (res.get("Via") or "") and "received=127.0.0.7" in (
        res.get("Via") or ""
    )


# ---- the commands as subprocesses ---------------------------------------------------------------


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "SIPDIGEST_PASSWORD"}
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), out.get("PYTHONPATH", "")]))
    out.update(extra)
    return out


def cli(
    *args: str, password: Optional[str] = None, timeout: float = 40
) -> subprocess.CompletedProcess[str]:
    extra = {"SIPDIGEST_PASSWORD": password} if password is not None else {}
    return subprocess.run([sys.executable, "-m", "sipdigest", *args], env=env(**extra), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip


class Served:
    def __init__(self, proc: subprocess.Popen[Any], out: Path, err: Path) -> None:
        self.proc, self.out, self.err = proc, out, err
        deadline = time.monotonic() + 20
        while "ready" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not start: {out.read_text()} {err.read_text()}")
            time.sleep(0.05)
        self.ready = out.read_text()
        self.port = int(re.findall(r"udp:127\.0\.0\.1:(\d+)", self.ready)[0])

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.proc.send_signal(sig)
        try:
            assert self.proc.wait(15) == 0, self.err.read_text()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.err.read_text()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[Any]] = []

    def start(*args: str) -> Served:
        n = len(procs)
        out, err = tmp_path / f"out{n}", tmp_path / f"err{n}"
        with open(out, "w") as o, open(err, "w") as e:
            proc = subprocess.Popen([sys.executable, "-m", "sipdigest", "serve", "--listen", "127.0.0.1:0", *args],
                                    stdout=o, stderr=e, env=env(), stdin=subprocess.DEVNULL)  # fmt: skip
        procs.append(proc)
        return Served(proc, out, err)

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def test_demo_user_register_exit_codes_and_clean_stop(served: Any, tmp_path: Path) -> None:
    s = served()
    m = re.search(r"demo user: (\S+)\s+realm: (\S+)\s+password: (\S+)", s.ready)
    assert m and m.group(1) == "alice" and m.group(2) == "127.0.0.1"
    assert re.search(r"ready, listening on udp:127\.0\.0\.1:(\d+) tcp:127\.0\.0\.1:\1", s.ready)
    password = m.group(3)
    args = ("register", f"127.0.0.1:{s.port}", "--user", "sip:alice@127.0.0.1", "--timeout", "10")
    ok = cli(*args, password=password)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[0] == f"REGISTER sip:127.0.0.1:{s.port} -> 401 Unauthorized"
    assert "[SHA-256 auth realm=127.0.0.1 nc=00000001] -> 200 OK" in ok.stdout
    pwfile = tmp_path / "pw"
    pwfile.write_text(password + "\n")
    tcp = cli(*args, "--transport", "tcp", "--expires", "0", "--password-file", str(pwfile))
    assert tcp.returncode == 0 and "unregistered" in tcp.stdout
    uri = cli("register", f"sip:127.0.0.1:{s.port};transport=tcp", "--user", "sip:alice@127.0.0.1",
              password=password)  # fmt: skip
    assert uri.returncode == 0 and ";transport=tcp>;expires=3600" in uri.stdout
    ha1 = tmp_path / "ha1"  # an MD5 HA1 can only answer the server's second (MD5) challenge
    ha1.write_text(compute_ha1("MD5", "alice", "127.0.0.1", password))
    stored = cli(*args, "--ha1-file", str(ha1))
    assert stored.returncode == 0 and "[MD5 auth realm=127.0.0.1" in stored.stdout
    wrong = cli(*args, password="wrong")
    assert wrong.returncode == 1 and "credentials for realm 127.0.0.1 refused" in wrong.stderr
    nopw = cli(*args)
    assert nopw.returncode == 2 and "password" in nopw.stderr
    log = s.stop()
    assert password not in log
    assert log.count("outcome=accept") == 4 and log.rstrip().endswith("stopped")


def test_serve_userhash_lookup_finds_the_real_user_by_hash() -> None:
    ha1 = compute_ha1("MD5", "bob", REALM, "x")
    users = parse_users(f"alice {REALM} pw\nbob {REALM} MD5:{ha1}\nalice other.org pw2\n")
    lookup = _lookup(users, ("SHA-256", "MD5"))

    def ask(username: str, algorithm: str, realm: str = REALM, hashed: bool = True) -> Any:
        return lookup(LookupCredentials(realm, username, hashed, algorithm))

    found = ask(compute_userhash("SHA-256", "alice", REALM), "SHA-256")
    assert isinstance(found, CredentialsFound)
    assert (found.username, found.password, found.ha1) == ("alice", "pw", None)
    # a -sess look-up uses its base algorithm's hash; hex digits in either case
    sess = ask(compute_userhash("MD5", "bob", REALM).upper(), "MD5-sess")
    assert isinstance(sess, CredentialsFound) and sess.username == "bob"
    assert sess.ha1 == {"MD5": ha1} and sess.password is None
    other = ask(compute_userhash("MD5", "alice", "other.org"), "MD5", realm="other.org")
    assert isinstance(other, CredentialsFound) and other.password == "pw2"
    # the hash of another algorithm or realm, or a plain name sent as a hash: nobody
    assert isinstance(ask(compute_userhash("MD5", "alice", REALM), "SHA-256"), CredentialsNotFound)
    assert isinstance(ask(compute_userhash("MD5", "alice", REALM), "MD5", "other.org"),
                      CredentialsNotFound)  # fmt: skip
    assert isinstance(ask("alice", "MD5"), CredentialsNotFound)
    # a plain look-up is unchanged; without userhash algorithms no hash is known
    assert isinstance(ask("alice", "MD5", hashed=False), CredentialsFound)
    plain = _lookup(users)
    lk = LookupCredentials(REALM, compute_userhash("MD5", "alice", REALM), True, "MD5")
    assert isinstance(plain(lk), CredentialsNotFound)


def test_serve_userhash_registers_a_client_that_hides_its_username(
    served: Any, tmp_path: Path
) -> None:
    users = tmp_path / "users"
    users.write_text("carol 127.0.0.1 pa55 word\n")
    s = served("--users", str(users), "--userhash", "--algorithms", "SHA-256")
    args = ("register", f"127.0.0.1:{s.port}", "--user", "sip:carol@127.0.0.1", "--timeout", "10")
    ok = cli(*args, password="pa55 word")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = cli(*args, password="nope")
    assert wrong.returncode == 1
    log = s.stop()
    hashed = compute_userhash("SHA-256", "carol", "127.0.0.1")
    accepted = [line for line in log.splitlines() if "outcome=accept" in line]
    assert len(accepted) == 1 and "user=carol" in accepted[0], log
    # the refused attempts name the user as the wire carried it: the hash, never "carol"
    refused = [line for line in log.splitlines() if "reason=wrong_response" in line]
    assert refused and all(f"user={hashed} " in line for line in refused), log


def test_ctrl_c_stops_the_server_with_exit_0(served: Any) -> None:
    s = served("--proxy")
    assert "proxy" in s.ready
    s.stop(signal.SIGINT)


def test_malformed_datagrams_are_dropped_and_logged(served: Any) -> None:
    s = served("--qop", "none")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    try:
        for junk in (b"\xff\xfe not sip", b"INVITE\r\n\r\n", b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\n",
                     b"\r\n\r\n"):  # fmt: skip
            sock.sendto(junk, ("127.0.0.1", s.port))
        req = build_request("OPTIONS", "sip:127.0.0.1", via_host="127.0.0.1", via_port=sock.getsockname()[1] or 1,
                            transport="UDP", branch="zz1", from_uri="sip:a@b", from_tag="f", to_uri="sip:a@b",
                            call_id="x", cseq=1)  # fmt: skip
        sock.sendto(req.to_bytes(), ("127.0.0.1", s.port))
        answer = parse_message(sock.recv(65536))
    finally:
        sock.close()
    assert isinstance(answer, Response) and answer.status == 401
    log = s.stop()
    assert log.count("dropped malformed datagram") == 3  # the CRLF keep-alive is not logged


def test_invite_ack_bye_and_a_body(served: Any, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"{USER} {REALM} {PASSWORD}\n")
    s = served("--users", str(users), "--qop", "auth-int", "--algorithms", "SHA-512-256")
    common = ("--user", f"sip:{USER}@{REALM}", "--server", f"127.0.0.1:{s.port}", "--credential",
              f"{REALM}={USER}", "--timeout", "10")  # fmt: skip
    call = cli("request", "INVITE", f"sip:bob@{REALM}", *common, password=PASSWORD)
    assert call.returncode == 0, call.stdout + call.stderr
    assert [line.split()[0] for line in call.stdout.splitlines()[:4]] == [
        "INVITE",
        "INVITE",
        "ACK",
        "BYE",
    ]
    body = tmp_path / "body"
    body.write_text("hi")
    msg = cli(
        "request",
        "MESSAGE",
        f"sip:bob@{REALM}",
        *common,
        "--body-file",
        str(body),
        password=PASSWORD,
    )
    assert msg.returncode == 0 and "[SHA-512-256 auth-int" in msg.stdout
    log = s.stop()
    assert "ACK user=alice" in log and "BYE user=alice" in log and "MESSAGE user=alice" in log


def test_timeout_against_a_silent_port_is_exit_3_after_retransmissions() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(0.2)
    port = silent.getsockname()[1]
    try:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sipdigest", "register", f"127.0.0.1:{port}", "--user", "sip:a@127.0.0.1",
             "--timeout", "3"], env=env(SIPDIGEST_PASSWORD="x"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        arrivals: list[float] = []
        while proc.poll() is None and time.monotonic() - start < 20:
            try:
                silent.recv(65536)
                arrivals.append(time.monotonic())
            except TimeoutError:
                pass
        out, err = proc.communicate(timeout=20)
    finally:
        silent.close()
    assert proc.returncode == 3, out + err
    assert "no final response" in err
    assert len(arrivals) == 3  # sent at 0, 0.5 and 1.5 s; the next (3.5 s) is after timer F
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert 0.3 < gaps[0] < 1.2 and 0.7 < gaps[1] < 2.0  # T1, then 2*T1 (a shared machine: loose)
    assert 2.8 < time.monotonic() - arrivals[0] < 10


def test_tcp_connection_refused_is_exit_3() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    done = cli("register", f"127.0.0.1:{port}", "--user", "sip:a@127.0.0.1", "--transport", "tcp",
               "--timeout", "2", password="x")  # fmt: skip
    assert done.returncode == 3 and "cannot connect" in done.stderr


@pytest.mark.parametrize("args", [
    ("register", "127.0.0.1"),  # no --user
    ("register", "127.0.0.1", "--user", "alice"),  # not a SIP URI
    ("register", "127.0.0.1", "--user", "sip:a@b", "--credential", "nouser"),
    ("request", "ACK", "sip:b@127.0.0.1", "--user", "sip:a@b"),
    ("request", "OPTIONS", "http://x", "--user", "sip:a@b"),
    ("register", "127.0.0.1", "--user", "sip:a@b", "--algorithm-floor", "SHA-1"),
])  # fmt: skip
def test_client_usage_errors_are_exit_2(args: tuple[str, ...], capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("SIPDIGEST_PASSWORD", "x")
    assert main(list(args)) == 2
    assert capsys.readouterr().err.strip()
