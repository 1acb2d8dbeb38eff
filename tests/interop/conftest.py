"""Fixtures that start real SIP peers on 127.0.0.1 (see NOTES.md for how each is driven).

Every peer gets a free port, a bounded lifetime (subprocess timeouts) and is stopped by
its pid (terminate, wait, kill). A missing tool skips the test, except under CI=true
where it fails: CI installs them, so a skip there would hide a broken install.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

import sipdigest
from sipdigest.actions import AttachCredentials, Retry
from sipdigest.client import Client
from sipdigest.events import RequestPrepared, ResponseReceived
from sipdigest.message import Request, Response, build_request, parse_message

ASSETS = Path(__file__).parent / "assets"
SRC = Path(sipdigest.__file__).resolve().parent.parent
USER, PASSWORD, REALM = "alice", "secret", "sipdigest.test"
START_TIMEOUT = 15.0  # generous: the machine is shared


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install kamailio sip-tester sipsak)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the interop tests, not skip them")
        pytest.skip(message)
    return path


def free_port() -> int:
    """A port free on both UDP and TCP at 127.0.0.1 (picked by binding to port 0)."""
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return int(port)
        except OSError:
            pass
        finally:
            t.close()
            u.close()


def udp_bound(port: int) -> bool:
    needle = f"0100007F:{port:04X}"
    for table in ("/proc/net/udp",):
        try:
            if needle in Path(table).read_text():
                return True
        except OSError:
            return False
    return False


def tcp_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> Optional[int]:
    """Terminate by pid, wait, then kill the process group; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            proc.wait(5)
    return proc.returncode


def env_with_sipdigest(**extra: str) -> dict[str, str]:
    """The environment for ``python -m sipdigest``, whether installed or run from src/."""
    env = {k: v for k, v in os.environ.items() if k != "SIPDIGEST_PASSWORD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


# ---- our own command line ------------------------------------------------------------------


def run_cli(
    *args: str, password: Optional[str] = PASSWORD, timeout: float = 40.0
) -> subprocess.CompletedProcess[str]:
    """``sipdigest ARGS`` with the password in SIPDIGEST_PASSWORD (never on argv)."""
    env = env_with_sipdigest(**({"SIPDIGEST_PASSWORD": password} if password is not None else {}))
    return subprocess.run(
        [sys.executable, "-m", "sipdigest", *args],
        env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class Serve:
    proc: subprocess.Popen[Any]
    port: int
    out: Path
    err: Path
    ready: str

    def log(self) -> str:
        return self.err.read_text()

    def stop(self) -> str:
        """SIGTERM; the server must exit 0. Returns its log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                stop(self.proc)
                pytest.fail("sipdigest serve did not stop on SIGTERM")
        assert self.proc.returncode == 0, self.log()
        return self.log()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Start ``sipdigest serve --listen 127.0.0.1:PORT [args]`` (users file: alice/secret)."""
    started: list[Serve] = []

    def start(*args: str, users: Optional[str] = f"{USER} {REALM} {PASSWORD}\n") -> Serve:
        n = len(started)
        port = free_port()
        argv = [sys.executable, "-m", "sipdigest", "serve", "--listen", f"127.0.0.1:{port}", *args]
        if users is not None:
            (tmp_path / f"users{n}").write_text(users)
            argv += ["--users", str(tmp_path / f"users{n}")]
        out, err = tmp_path / f"serve{n}.out", tmp_path / f"serve{n}.err"
        with open(out, "w") as o, open(err, "w") as e:
            proc = subprocess.Popen(argv, stdout=o, stderr=e, env=env_with_sipdigest(),
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        server = Serve(proc, port, out, err, "")
        started.append(server)
        deadline = time.monotonic() + START_TIMEOUT
        while "ready" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                pytest.fail(f"sipdigest serve did not start:\n{out.read_text()}\n{err.read_text()}")
            time.sleep(0.05)
        server.ready = out.read_text()
        return server

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.stop()


# ---- kamailio ----------------------------------------------------------------------------------


KAMAILIO_DEFAULTS = dict(
    ROLE="registrar", REALM=REALM, USER=USER, PASSWORD=PASSWORD, ALGO="MD5", QOP="auth",
    NONCE_EXPIRE=300, NONCE_COUNT=0, ONE_TIME_NONCE=0, DUAL=0,
)  # fmt: skip


@dataclass
class Kamailio:
    proc: subprocess.Popen[Any]
    port: int
    logfile: Path

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Callable[..., Kamailio]]:
    """Start kamailio from the template with ``@NAME@`` substitutions (NOTES.md §1)."""
    binary = tool("kamailio")
    started: list[Kamailio] = []

    def start(**subs: Any) -> Kamailio:
        values = {**KAMAILIO_DEFAULTS, **subs}
        port = free_port()
        values["PORT"] = port
        text = (ASSETS / "kamailio-auth.cfg").read_text()
        for name, value in values.items():
            text = text.replace(f"@{name}@", str(value))
        left = re.findall(r"(?m)^(?:[^#].*|#!.*)?(@[A-Z_]+@)", text)
        assert not left, f"unsubstituted placeholders {left}"
        rundir = tmp_path / f"kam{len(started)}"
        rundir.mkdir()
        cfg = rundir / "k.cfg"
        cfg.write_text(text)
        logfile = rundir / "k.log"
        with open(logfile, "w") as log:
            proc = subprocess.Popen(
                [binary, "-f", str(cfg), "-DD", "-E", "-m", "16", "-M", "4", "-n", "1",
                 "-Y", str(rundir), "-P", str(rundir / "k.pid")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        k = Kamailio(proc, port, logfile)
        started.append(k)
        deadline = time.monotonic() + START_TIMEOUT
        while not tcp_listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                pytest.fail(f"kamailio did not start:\n{k.log()[-3000:]}")
            time.sleep(0.05)
        while not udp_bound(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        return k

    yield start
    for k in started:
        stop(k.proc)


# ---- SIPp ----------------------------------------------------------------------------------


@dataclass
class SippUas:
    proc: subprocess.Popen[Any]
    port: int
    dir: Path

    def finish(self, timeout: float = 30.0) -> tuple[int, list[str]]:
        """Wait for SIPp to end its one call; (exit status, the RESULT/FIRST log lines)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc)
            pytest.fail("sipp UAS did not finish")
        log = self.dir / "log.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return code, [line for line in text.splitlines() if re.match(r"^(RESULT|FIRST) ", line)]


@pytest.fixture
def sipp_uas(tmp_path: Path) -> Iterator[Callable[..., SippUas]]:
    binary = tool("sipp")
    started: list[SippUas] = []

    def start(scenario: str, transport: str = "udp") -> SippUas:
        port = free_port()
        d = tmp_path / f"sipp-uas{len(started)}"
        d.mkdir()
        argv = [binary, "-sf", str(ASSETS / scenario), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                "-timeout", "20s", "-timeout_error", "-nostdin", "-default_behaviors", "all,-bye",
                "-trace_msg", "-message_file", str(d / "msg.log"), "-trace_logs", "-log_file",
                str(d / "log.log"), "-trace_err", "-error_file", str(d / "err.log")]  # fmt: skip
        if transport == "tcp":
            argv += ["-t", "t1"]
        with open(d / "stdout", "w") as out:
            proc = subprocess.Popen(argv, cwd=d, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        uas = SippUas(proc, port, d)
        started.append(uas)
        ready = tcp_listening if transport == "tcp" else udp_bound
        deadline = time.monotonic() + START_TIMEOUT
        while not ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                pytest.fail(f"sipp UAS did not start: {(d / 'stdout').read_text()[-2000:]}")
            time.sleep(0.02)
        return uas

    yield start
    for uas in started:
        stop(uas.proc)


@pytest.fixture
def sipp_uac(tmp_path: Path) -> Callable[..., tuple[int, str]]:
    """Run a SIPp UAC scenario against 127.0.0.1:PORT; (exit status, message trace)."""
    binary = tool("sipp")
    count = [0]

    def run(scenario: str, port: int, transport: str = "udp") -> tuple[int, str]:
        count[0] += 1
        d = tmp_path / f"sipp-uac{count[0]}"
        d.mkdir()
        argv = [binary, f"127.0.0.1:{port}", "-sf", str(ASSETS / scenario), "-i", "127.0.0.1",
                "-p", str(free_port()), "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
                "-default_behaviors", "all,-bye", "-trace_msg", "-message_file", str(d / "msg.log"),
                "-trace_err", "-error_file", str(d / "err.log")]  # fmt: skip
        if transport == "tcp":
            argv += ["-t", "t1"]
        done = subprocess.run(
            argv, cwd=d, capture_output=True, timeout=40, stdin=subprocess.DEVNULL
        )
        trace = (d / "msg.log").read_text(errors="replace") if (d / "msg.log").exists() else ""
        return done.returncode, trace

    return run


@pytest.fixture
def sipsak() -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = tool("sipsak")

    def run(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    return run


# ---- the library client over a small blocking UDP loop ---------------------------------------


@dataclass
class Exchange:
    request: Request
    data: bytes
    response: Response


@dataclass
class MiniUac:
    """The library :class:`Client` driven over UDP by hand: one socket, one dialog-less
    Call-ID, retransmissions every 0.5 s, at most ``limit`` seconds per transaction."""

    port: int
    client: Client
    user: str = USER
    domain: str = "127.0.0.1"
    limit: float = 10.0
    call_id: str = field(default_factory=lambda: f"{os.urandom(8).hex()}@mini")
    cseq: int = 0
    sock: socket.socket = field(
        default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    )

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.local = self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()

    def build(
        self, method: str, uri: str, auth: tuple[tuple[str, str], ...], body: bytes = b""
    ) -> Request:
        return build_request(
            method, uri, via_host=self.local[0], via_port=self.local[1], transport="UDP",
            branch=os.urandom(6).hex(), from_uri=f"sip:{self.user}@{self.domain}", from_tag="mini1",
            to_uri=f"sip:{self.user}@{self.domain}", call_id=self.call_id, cseq=self.cseq,
            contact=f"sip:{self.user}@{self.local[0]}:{self.local[1]}" if method == "REGISTER" else None,
            expires=60 if method == "REGISTER" else None, headers=auth, body=body,
        )  # fmt: skip

    def transact(self, data: bytes) -> Response:
        """Send raw bytes (again every 0.5 s); the final response with their Via branch."""
        branch = re.search(rb"branch=([^;,\s]+)", data)
        assert branch is not None
        deadline = time.monotonic() + self.limit
        while time.monotonic() < deadline:
            self.sock.sendto(data, ("127.0.0.1", self.port))
            self.sock.settimeout(0.5)
            try:
                while True:
                    msg = parse_message(self.sock.recv(65536))
                    via = (msg.get("Via") or "").encode()
                    if isinstance(msg, Response) and msg.status >= 200 and branch.group(0) in via:
                        return msg
            except TimeoutError:
                continue
        raise AssertionError("no final response")

    def request(
        self, method: str = "REGISTER", uri: Optional[str] = None, body: bytes = b""
    ) -> tuple[object, list[Exchange]]:
        """One request through the client machine until it is not a Retry."""
        uri = uri or f"sip:{self.domain}:{self.port}"
        self.cseq += 1
        prepared = RequestPrepared(method, uri, self.call_id, self.cseq, body)
        attach = self.client.handle(prepared)
        assert isinstance(attach, AttachCredentials)
        auth = attach.headers
        exchanges: list[Exchange] = []
        for _ in range(6):
            req = self.build(method, uri, auth, body)
            data = req.to_bytes()
            response = self.transact(data)
            exchanges.append(Exchange(req, data, response))
            action = self.client.handle(
                ResponseReceived(response.status, response.headers, prepared, response.body)
            )
            if not isinstance(action, Retry):
                return action, exchanges
            self.cseq += 1
            prepared = RequestPrepared(method, uri, self.call_id, self.cseq, body)
            auth = action.headers
        raise AssertionError("too many retries")


@pytest.fixture
def mini_uac() -> Iterator[Callable[..., MiniUac]]:
    made: list[MiniUac] = []

    def make(port: int, client: Client, **kw: Any) -> MiniUac:
        uac = MiniUac(port, client, **kw)
        made.append(uac)
        return uac

    yield make
    for uac in made:
        uac.close()


# ---- a UDP relay that holds the first authorized request (forces an expired nonce) ------------


class HoldingRelay(threading.Thread):
    """Forwards 127.0.0.1:``port`` <-> 127.0.0.1:``target``; datagrams answering the first
    nonce seen are held ``hold`` seconds (retransmissions too), then all released."""

    def __init__(self, target: int, hold: float) -> None:
        super().__init__(daemon=True)
        self.target, self.hold = target, hold
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.held = 0

    def run(self) -> None:
        client: Optional[tuple[str, int]] = None
        nonce: Optional[bytes] = None
        release_at = float("inf")
        pending: list[bytes] = []
        while not self.stopping.is_set():
            if pending and time.monotonic() >= release_at:
                for data in pending:
                    self.sock.sendto(data, ("127.0.0.1", self.target))
                pending.clear()
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            if addr == ("127.0.0.1", self.target):
                if client is not None:
                    self.sock.sendto(data, client)
                continue
            client = addr
            m = re.search(rb'\n(?:Proxy-)?Authorization:[^\r\n]*nonce="([^"]+)"', data, re.I)
            if m and time.monotonic() < release_at and (nonce is None or m.group(1) == nonce):
                if nonce is None:
                    nonce, release_at = m.group(1), time.monotonic() + self.hold
                pending.append(data)
                self.held += 1
                continue
            self.sock.sendto(data, ("127.0.0.1", self.target))

    def close(self) -> None:
        self.stopping.set()
        self.join(5)
        self.sock.close()
