"""The network shell: ``sipdigest serve`` (an asyncio UDP+TCP registrar) and
``sipdigest register`` / ``sipdigest request`` (a client with RFC 3261 timers).

Strategy: this is the only module with sockets, a clock, signals and logging. The two
machines stay Sans-IO; the pieces here that hold decisions are plain objects that tests
drive without a network: :func:`parse_users` (the users file), :class:`Registrar` (one
request in, one response or none out, and one log line), :func:`retransmit_schedule`
(timers A/E). Around them sit thin asyncio loops: a datagram protocol and a stream
handler feeding the registrar, and a client transaction that retransmits on UDP and
hands each final response to the client machine, which answers with Retry/Done/GiveUp.

Choices the RFCs leave to us: the registrar keeps no transactions, so a retransmitted
authorized request is verified again and, its nonce-count already used, draws a 401
``stale=true`` (never a second 200), which any client that follows RFC 7616 answers; a
CANCEL gets 481 (RFC 3261 §9.2: no matching transaction, since every INVITE is answered
at once); an ACK gets nothing. The client's default realm is the Request-URI's host
(for ``register``, the SERVER's): a secret goes to another realm only when named with
``--credential REALM=USER`` or by the explicit ``--any-realm``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, TextIO, Union, cast

from . import __version__
from .actions import (
    Accept,
    AttachCredentials,
    Done,
    Exempt,
    GiveUp,
    Reason,
    Reject,
    Retry,
    SendChallenge,
)
from .cli import UsageError, add_secret_options, read_secret
from .client import Client
from .credentials import ANY_REALM, Credential
from .digest import ALGORITHMS
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CredentialsFound,
    CredentialsNotFound,
    RequestPrepared,
    RequestReceived,
    ResponseReceived,
)
from .headers import parse_credentials
from .message import (
    Request,
    Response,
    SipMessageError,
    StreamParser,
    build_request,
    build_response,
    parse_message,
)
from .policy import ClientPolicy, ServerPolicy
from .server import Server

__all__ = [
    "T1", "T2", "UserRecord", "UsersFileError", "parse_users", "Registrar",
    "retransmit_schedule", "parse_hostport", "add_parser",
]  # fmt: skip

T1, T2 = 0.5, 4.0  # RFC 3261 §17.1.1.1: RTT estimate and the non-INVITE retransmit cap
DEFAULT_PORT = 5060
DEMO_USER, DEMO_REALM = "alice", "sipdigest.test"
DEFAULT_EXPIRES, MAX_EXPIRES = 3600, 86400
MAX_BINDINGS, MAX_AORS = 16, 10000
TCP_IDLE = 600.0
LOG = logging.getLogger("sipdigest.serve")
_SERVER_HEADER = ("Server", f"sipdigest/{__version__}")
_ALLOW = ("Allow", "REGISTER, OPTIONS, MESSAGE, INVITE, ACK, BYE, CANCEL")


def _clean(value: object, limit: int = 80) -> str:
    """A value safe for one log line: printable, no spaces, bounded (log injection)."""
    text = str(value)
    text = "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in text)
    return text[:limit] + ("..." if len(text) > limit else "") if text else "-"


def parse_hostport(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port)."""
    m = re.fullmatch(
        r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^\s:\[\]/;@]+)(?::(\d{1,5}))?", text.strip()
    )
    if m is None:
        raise UsageError(f"not a HOST or HOST:PORT: {text!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4) or default_port)
    if not 0 <= port <= 65535:
        raise UsageError(f"port out of range in {text!r}")
    return host, port


def _uri_parts(uri: str) -> tuple[str, str, int | None, dict[str, str]]:
    """(user, host, port or None, parameters) of a ``sip:``/``sips:`` URI."""
    m = re.fullmatch(
        r"(?i:sips?):(?:([^@;?]*)@)?(\[[^\]]+\]|[^:;?]+)(?::(\d{1,5}))?([^?]*)(?:\?.*)?",
        uri.strip(),
    )
    if m is None:
        raise UsageError(f"not a sip: URI: {uri!r}")
    params = {}
    for part in (m.group(4) or "").split(";")[1:]:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip()
    return (
        m.group(1) or "",
        m.group(2).strip("[]").lower(),
        int(m.group(3)) if m.group(3) else None,
        params,
    )


def _addr_uri(value: str) -> str:
    """The URI inside a From/To/Contact value (``<...>`` or up to the first ``;``)."""
    value = value.strip()
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")].strip()
    return value.split(";", 1)[0].strip()


# ---- the users file ---------------------------------------------------------------------


class UsersFileError(UsageError):
    """A line of the users file that cannot be read (``line`` is 1-based)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}, line {line}: {message}")
        self.line = line


@dataclass
class UserRecord:
    """What the registrar knows of one (user, realm): a password and/or HA1s by algorithm."""

    password: Optional[str] = field(default=None, repr=False)
    ha1: dict[str, str] = field(default_factory=dict, repr=False)


def parse_users(text: str, path: str = "users file") -> dict[tuple[str, str], UserRecord]:
    """``user realm password`` or ``user realm ALGORITHM:HA1`` per line; ``#`` comments.

    The password is the rest of the line (it may hold spaces). A third field starting
    with a registered algorithm token and a colon is an HA1, stored under the plain
    algorithm (an ``-sess`` variant uses the same HA1). Lines for one user and realm
    merge; contradicting ones are an error.
    """
    users: dict[tuple[str, str], UserRecord] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise UsersFileError(
                path, number, "expected 'user realm password' or 'user realm ALGORITHM:HA1'"
            )
        user, realm, secret = parts
        if any(ch in '"\\' or not ch.isprintable() for ch in user + realm):
            raise UsersFileError(
                path,
                number,
                "user and realm may not contain quotes, backslashes or control characters",
            )
        record = users.setdefault((user, realm), UserRecord())
        token, colon, value = secret.partition(":")
        alg = ALGORITHMS.get(token.upper()) if colon and token.isascii() else None
        if alg is not None:
            value = value.strip()
            if len(value) != alg.hex_length or any(
                c not in "0123456789abcdefABCDEF" for c in value
            ):
                raise UsersFileError(
                    path, number, f"an HA1 for {alg.token} is {alg.hex_length} hex digits"
                )
            base = alg.token.removesuffix("-sess")
            if record.ha1.get(base, value.lower()) != value.lower():
                raise UsersFileError(
                    path, number, f"a second, different {base} HA1 for {user} in realm {realm}"
                )
            record.ha1[base] = value.lower()
        else:
            if record.password is not None and record.password != secret:
                raise UsersFileError(
                    path, number, f"a second, different password for {user} in realm {realm}"
                )
            record.password = secret
    return users


# ---- the registrar (no I/O: one request in, one response or none out) ---------------------


@dataclass
class _Binding:
    expires_at: float
    call_id: str
    cseq: int


def _username_of(req: Request, name: str) -> str:
    """The username a request claims (for the log line only; never trusted)."""
    for value in req.get_all(name):
        m = re.search(r'username\*?\s*=\s*"?([^",]*)', value)
        if m:
            return m.group(1)
    return "-"


class Registrar:
    """A registrar/UAS over one :class:`Server`: REGISTER bindings per AOR in memory,
    200 for every other authenticated method, nothing for ACK, 481 for CANCEL.

    ``realms`` (when there are several) are picked per request from the Request-URI
    host; ``log`` receives one line per decision.
    """

    def __init__(
        self,
        server: Server,
        *,
        realms: Sequence[str] = (),
        log: Callable[[str], None] = LOG.info,
        entropy: Callable[[int], str] = secrets.token_hex,
    ) -> None:
        self.server = server
        self.realms = frozenset(realms) if len(set(realms)) > 1 else frozenset()
        self.bindings: dict[str, dict[str, _Binding]] = {}
        self._log = log
        self._token = entropy
        proxy = server.policy.role == "proxy"
        self._cred_name = "Proxy-Authorization" if proxy else "Authorization"

    def realm_for(self, req: Request) -> Optional[str]:
        if not self.realms:
            return None
        try:
            host = _uri_parts(req.uri)[1]
        except UsageError:
            return None
        return host if host in self.realms else None

    def handle(self, req: Request, *, source: str, local: tuple[str, int], transport: str,
               now: float) -> Optional[Response]:  # fmt: skip
        """The response to send (None: send nothing) and one log line."""
        if not req.get_all("Via"):
            self._log(f"dropped {_clean(req.method)} without Via from {source}")
            return None
        cseq = re.fullmatch(r"\s*(\d{1,10})\s+(\S+)\s*", req.get("CSeq") or "")
        missing = [h for h in ("From", "To", "Call-ID") if not req.get(h)]
        if missing or cseq is None or cseq.group(2) != req.method:
            why = f"missing {', '.join(missing)}" if missing else "bad CSeq"
            return self._reply(
                req, 400, "Bad Request", source, "-", "-", "reject", "malformed", why
            )
        user = _username_of(req, self._cred_name)
        realm = self.realm_for(req)
        event = RequestReceived(req.method, req.uri, req.headers, now, req.body, source, realm)
        realm = realm or self.server.policy.realm
        try:
            action = self.server.handle(event)
        except Exception as exc:  # a bug, not the peer's fault: answer 500, keep serving
            LOG.exception("internal error")
            return self._reply(
                req, 500, "Server Internal Error", source, user, realm, "error", type(exc).__name__
            )
        if isinstance(action, SendChallenge):
            return self._reply(req, action.status, action.reason_phrase, source, user, realm, "challenge",
                               action.reason.value, "stale=true" if action.stale else "", action.headers)  # fmt: skip
        if isinstance(action, Reject):
            return self._reply(req, action.status, action.reason_phrase, source, user, realm, "reject",
                               action.reason.value, action.detail)  # fmt: skip
        if isinstance(action, Exempt) or (isinstance(action, Accept) and req.method == "ACK"):
            outcome = "accept" if isinstance(action, Accept) else "exempt"
            if req.method == "CANCEL":  # RFC 3261 §9.2: no transaction is kept, so none matches
                return self._reply(
                    req, 481, "Call/Transaction Does Not Exist", source, user, realm, outcome, "-"
                )
            self._log(self._line(req.method, user, realm, outcome, "-", "-", source, "no response"))
            return None
        if not isinstance(action, Accept):  # LookupCredentials/CheckReplay: not configured
            return self._reply(
                req,
                500,
                "Server Internal Error",
                source,
                user,
                realm,
                "error",
                type(action).__name__,
            )
        user, realm = action.username, action.realm
        extra: list[tuple[str, str]] = list(action.headers)
        note = f"algorithm={action.algorithm} qop={action.qop or 'none'}"
        if action.quirks:
            note += f" quirks={','.join(action.quirks)}"
        if req.method == "REGISTER":
            status, phrase, more, why = self._register(req, int(cseq.group(1)), now)
            if status != 200:
                return self._reply(
                    req, status, phrase, source, user, realm, "reject", why, note, extra
                )
            extra += more
        elif req.method == "INVITE":
            host = f"[{local[0]}]" if ":" in local[0] else local[0]
            extra.append(("Contact", f"<sip:{host}:{local[1]};transport={transport}>"))
        elif req.method == "OPTIONS":
            extra.append(_ALLOW)
        return self._reply(req, 200, "OK", source, user, realm, "accept", "-", note, extra)

    # ---- REGISTER (RFC 3261 §10.3, without Min-Expires) ----------------------------------

    def _register(
        self, req: Request, cseq: int, now: float
    ) -> tuple[int, str, list[tuple[str, str]], str]:
        aor_uri = _addr_uri(req.get("To") or "")
        try:
            user, host, _, _ = _uri_parts(aor_uri)
        except UsageError:
            return 400, "Bad Request", [], "To is not a sip: URI"
        aor = f"sip:{user}@{host}" if user else f"sip:{host}"
        expires_text = req.get("Expires")
        default = DEFAULT_EXPIRES
        if expires_text is not None:
            if not expires_text.strip().isdigit():
                return 400, "Bad Request", [], "bad Expires"
            default = int(expires_text)
        table = self.bindings.get(aor, {})
        for key in [k for k, b in table.items() if b.expires_at <= now]:
            del table[key]
        call_id = req.get("Call-ID") or ""
        contacts = req.get_all("Contact")
        if contacts and any(c.strip() == "*" for c in contacts):
            if len(contacts) != 1 or default != 0:  # RFC 3261 §10.3 step 6
                return 400, "Bad Request", [], "Contact: * needs Expires: 0 and no other Contact"
            table.clear()
        for value in contacts if contacts != ["*"] else []:
            uri = _addr_uri(value)
            m = re.search(
                r";\s*expires\s*=\s*(\d+)",
                value[value.find(">") + 1 :] if ">" in value else value,
                re.I,
            )
            expires = min(int(m.group(1)) if m else default, MAX_EXPIRES)
            old = table.get(uri)
            if old is not None and old.call_id == call_id and old.cseq >= cseq:
                continue  # RFC 3261 §10.3 step 7: an out-of-order update is ignored
            if expires == 0:
                table.pop(uri, None)
            elif uri in table or len(table) < MAX_BINDINGS:
                table[uri] = _Binding(now + expires, call_id, cseq)
        if table and aor not in self.bindings and len(self.bindings) >= MAX_AORS:
            return 503, "Service Unavailable", [], "too many address-of-records"
        if table:
            self.bindings[aor] = table
        else:
            self.bindings.pop(aor, None)
        headers = [
            ("Contact", f"<{uri}>;expires={max(0, int(b.expires_at - now))}")
            for uri, b in table.items()
        ]
        headers.append(("Expires", str(min(default, MAX_EXPIRES))))
        return 200, "OK", headers, "-"

    # ---- replies and log lines -------------------------------------------------------------

    @staticmethod
    def _line(method: str, user: str, realm: str, outcome: str, reason: str, status: str,
              source: str, detail: str = "") -> str:  # fmt: skip
        line = (f"{_clean(method, 20)} user={_clean(user, 64)} realm={_clean(realm, 64)} outcome={outcome} "
                f"reason={reason} status={status} source={source}")  # fmt: skip
        return f"{line} ({detail.replace(chr(10), ' ')[:120]})" if detail else line

    def _reply(self, req: Request, status: int, phrase: str, source: str, user: str, realm: str,
               outcome: str, reason: str, detail: str = "",
               headers: Sequence[tuple[str, str]] = ()) -> Optional[Response]:  # fmt: skip
        self._log(self._line(req.method, user, realm, outcome, reason, str(status), source, detail))
        try:
            response = build_response(
                req, status, phrase, [*headers, _SERVER_HEADER], to_tag=self._token(6)
            )
        except SipMessageError as exc:
            LOG.info(
                "cannot answer %s from %s: %s", _clean(req.method), source, _clean(str(exc), 120)
            )
            return None
        _set_received(response, source)
        return response


def _set_received(response: Response, source: str) -> None:
    """RFC 3581 §4 / RFC 3261 §18.2.1: tell the client the address we saw in its top Via."""
    host, _, port = source.partition(":")[2].rpartition(":")
    for i, (name, value) in enumerate(response.headers):
        if name.lower() in ("via", "v"):
            top, sep, rest = value.partition(",")
            if re.search(r";\s*rport(?=\s*(;|$))", top):
                top = re.sub(r";\s*rport(?=\s*(;|$))", f";rport={port}", top, count=1)
                if "received=" not in top:
                    top += f";received={host.strip('[]')}"
            response.headers[i] = (name, top + sep + rest)
            return


# ---- serve: the asyncio shell around the registrar ----------------------------------------------


@dataclass
class ServeConfig:
    listen: list[tuple[str, int]]
    policy: ServerPolicy
    users: dict[tuple[str, str], UserRecord]
    realms: list[str]
    demo_password: Optional[str] = field(default=None, repr=False)


def _lookup(
    users: dict[tuple[str, str], UserRecord],
) -> Callable[[Any], Union[CredentialsFound, CredentialsNotFound]]:
    def lookup(lk: Any) -> Union[CredentialsFound, CredentialsNotFound]:
        record = users.get((lk.username, lk.realm))
        if record is None:
            return CredentialsNotFound(lk)
        return CredentialsFound(lk, password=record.password, ha1=dict(record.ha1) or None)

    return lookup


def _serve_config(args: argparse.Namespace) -> ServeConfig:
    listen = [parse_hostport(a) for a in (args.listen or ["127.0.0.1:5060"])]
    demo_password = None
    if args.users:
        try:
            with open(args.users, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read {args.users}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        users = parse_users(text, args.users)
        if not users:
            raise UsageError(f"{args.users}: no users")
    else:
        host = listen[0][0]
        realm = args.realm or (host if host not in ("0.0.0.0", "::", "") else DEMO_REALM)  # noqa: S104
        demo_password = secrets.token_urlsafe(12)
        users = {(DEMO_USER, realm): UserRecord(password=demo_password)}
    realms = sorted({realm for _, realm in users})
    default_realm = args.realm or (realms[0] if len(realms) == 1 else DEMO_REALM)
    if args.secret_file:
        try:
            with open(args.secret_file, "rb") as f:
                secret = f.read().strip()
        except OSError as exc:
            raise UsageError(f"cannot read {args.secret_file}: {exc.strerror}") from None
        if len(secret) < 16:
            raise UsageError(f"{args.secret_file}: the nonce secret needs at least 16 bytes")
    else:
        secret = secrets.token_bytes(32)
    qop_text = args.qop.strip().lower()
    qop = () if qop_text == "none" else tuple(q.strip() for q in qop_text.split(",") if q.strip())
    algorithms = tuple(a.strip() for a in args.algorithms.split(",") if a.strip())
    try:
        policy = ServerPolicy(
            realm=default_realm, secret=secret, role="proxy" if args.proxy else "registrar",
            algorithms=algorithms, qop=qop, nonce_ttl=args.nonce_ttl, auth_info=args.auth_info,
        )  # fmt: skip
    except (LocalProtocolError, RemoteProtocolError) as exc:
        raise UsageError(f"sipdigest serve: {exc}") from None
    return ServeConfig(listen, policy, users, realms, demo_password)


class _UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self, registrar: Registrar) -> None:
        self.registrar = registrar
        self.transport: Optional[asyncio.DatagramTransport] = None
        self.local: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # not a subclass in 3.11
        self.local = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        source = f"udp:{addr[0]}:{addr[1]}"
        if not data.strip(b"\r\n"):
            return  # a CRLF keep-alive (RFC 5626 §3.5.1)
        try:
            msg = parse_message(data)
        except SipMessageError as exc:
            LOG.info(
                "dropped malformed datagram from %s (%d bytes): %s",
                source,
                len(data),
                _clean(str(exc), 120),
            )
            return
        if isinstance(msg, Response):
            LOG.info(
                "dropped a response (%d) from %s: this server sends no requests", msg.status, source
            )
            return
        response = self.registrar.handle(
            msg, source=source, local=self.local, transport="udp", now=time.time()
        )
        if response is not None and self.transport is not None:
            try:
                self.transport.sendto(response.to_bytes(), addr)
            except SipMessageError as exc:
                LOG.info("cannot send a response to %s: %s", source, _clean(str(exc), 120))

    def error_received(self, exc: Exception) -> None:  # ICMP errors for earlier sends
        LOG.debug("udp error: %s", exc)


async def _tcp_connection(
    registrar: Registrar, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername") or ("?", 0)
    local = writer.get_extra_info("sockname")[:2]
    source = f"tcp:{peer[0]}:{peer[1]}"
    parser = StreamParser()
    try:
        while True:
            data = await asyncio.wait_for(reader.read(65536), TCP_IDLE)
            if not data:
                break
            try:
                messages = parser.feed(data)
            except SipMessageError as exc:
                LOG.info("closed %s after a malformed message: %s", source, _clean(str(exc), 120))
                break
            for msg in messages:
                if isinstance(msg, Response):
                    continue
                response = registrar.handle(
                    msg, source=source, local=local, transport="tcp", now=time.time()
                )
                if response is not None:
                    writer.write(response.to_bytes())
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError, SipMessageError):
        pass
    finally:
        writer.close()


async def _serve(config: ServeConfig, out: TextIO) -> int:
    loop = asyncio.get_running_loop()
    server = Server(config.policy, lookup=_lookup(config.users))
    registrar = Registrar(server, realms=config.realms)
    stop = asyncio.Event()
    closers: list[Callable[[], None]] = []
    connections: set[asyncio.Task[None]] = set()

    def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(_tcp_connection(registrar, reader, writer))
        connections.add(task)
        task.add_done_callback(connections.discard)

    addresses: list[str] = []
    try:
        for host, port in config.listen:
            for attempt in range(20):  # port 0: the UDP port picked must also be free on TCP
                udp, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpEndpoint(registrar), local_addr=(host, port)
                )
                real = udp.get_extra_info("sockname")[1]
                try:
                    tcp = await asyncio.start_server(on_tcp, host, real, reuse_address=True)
                except OSError:
                    udp.close()
                    if port != 0 or attempt == 19:
                        raise
                    continue
                break
            closers += [udp.close, tcp.close]
            shown = f"[{host}]" if ":" in host else host
            addresses += [f"udp:{shown}:{real}", f"tcp:{shown}:{real}"]
    except OSError as exc:
        for close in closers:
            close()
        print(
            f"sipdigest serve: cannot listen on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    policy = config.policy
    if config.demo_password is not None:
        ((user, realm),) = config.users
        print(f"demo user: {user}  realm: {realm}  password: {config.demo_password}", file=out)
        udp_addr = addresses[0].split(":", 1)[1]
        print(f"try: SIPDIGEST_PASSWORD='{config.demo_password}' sipdigest register {udp_addr} "
              f"--user sip:{user}@{realm}" + ("" if realm == config.listen[0][0] else f" --credential {realm}={user}"),
              file=out)  # fmt: skip
    for (user, realm), record in sorted(config.users.items()):
        if record.password is None:
            lacking = [
                a.token for a in policy.offered if a.token.removesuffix("-sess") not in record.ha1
            ]
            if lacking:
                LOG.info("user %s in realm %s has no password and no HA1 for %s: such answers will fail",
                         user, realm, ", ".join(lacking))  # fmt: skip
    if policy.realm not in config.realms:
        LOG.info("no user has realm %s, the realm of requests whose Request-URI host is none of: %s",
                 policy.realm, ", ".join(config.realms))  # fmt: skip
    print(f"sipdigest serve: ready, listening on {' '.join(addresses)} (realm {policy.realm}, "
          f"{policy.role}, algorithms {','.join(a.token for a in policy.offered)}, "
          f"qop {','.join(policy.qop) or 'none'})", file=out, flush=True)  # fmt: skip
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for close in closers:
            close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
    LOG.info("stopped")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    config = _serve_config(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s sipdigest serve: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    try:
        return asyncio.run(_serve(config, sys.stdout))
    finally:
        LOG.removeHandler(handler)


# ---- the client: transactions with RFC 3261 timers ------------------------------------------


def _next_interval(method: str, interval: float, t2: float) -> float:
    # §17.1.1.2 timer A doubles without cap (INVITE); §17.1.2.2 timer E is capped at T2
    return interval * 2 if method == "INVITE" else min(interval * 2, t2)


def retransmit_schedule(
    method: str, timeout: float = 64 * T1, t1: float = T1, t2: float = T2
) -> list[float]:
    """When (seconds after the first send) a UDP request is sent again before timer B/F."""
    out: list[float] = []
    at, interval = t1, t1
    while at < timeout:
        out.append(at)
        interval = _next_interval(method, interval, t2)
        at += interval
    return out


class _NoAnswer(Exception):
    """The peer could not be reached, or the connection failed (exit status 3)."""


class _Channel(asyncio.DatagramProtocol):
    """One UDP socket or TCP connection to the server; final and provisional responses
    arrive on ``queue`` (None when a TCP connection ends)."""

    def __init__(self, transport: str, dest: tuple[str, int], verbose: bool) -> None:
        self.kind = transport
        self.dest = dest
        self.verbose = verbose
        self.queue: asyncio.Queue[Optional[Response]] = asyncio.Queue()
        self.local: tuple[str, int] = ("", 0)
        self._udp: Optional[asyncio.DatagramTransport] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._reader_task: Optional[asyncio.Task[None]] = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.dest[0], self.dest[1], type=socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise _NoAnswer(f"cannot resolve {self.dest[0]}: {exc.strerror}") from None
        family, _, _, _, addr = infos[0]
        self.dest = (str(addr[0]), int(addr[1]))
        if self.kind == "udp":
            probe = socket.socket(family, socket.SOCK_DGRAM)  # which local address reaches dest
            try:
                probe.connect(self.dest)
                local_ip = probe.getsockname()[0]
            finally:
                probe.close()
            udp, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(local_ip, 0))
            self._udp = udp
            self.local = udp.get_extra_info("sockname")[:2]
            return
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.dest), 10)
        except (OSError, asyncio.TimeoutError) as exc:
            why = getattr(exc, "strerror", None) or "timed out"
            raise _NoAnswer(f"cannot connect to tcp:{self.dest[0]}:{self.dest[1]}: {why}") from None
        self._writer = writer
        self.local = writer.get_extra_info("sockname")[:2]
        self._reader_task = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = StreamParser()
        try:
            while data := await reader.read(65536):
                for msg in parser.feed(data):
                    self._received(msg)
        except (ConnectionError, SipMessageError) as exc:
            if self.verbose:
                print(f"tcp connection failed: {exc}", file=sys.stderr)
        self.queue.put_nowait(None)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            msg = parse_message(data)
        except SipMessageError as exc:
            if self.verbose:
                print(
                    f"ignored a malformed datagram from {addr[0]}:{addr[1]}: {exc}", file=sys.stderr
                )
            return
        self._received(msg)

    def _received(self, msg: Union[Request, Response]) -> None:
        if isinstance(msg, Response):
            if self.verbose:
                print(
                    f"--- received:\n{msg.to_bytes().decode('utf-8', 'replace')}", file=sys.stderr
                )
            self.queue.put_nowait(msg)

    def send(self, data: bytes) -> None:
        if self.verbose:
            print(f"--- sent to {self.kind}:{self.dest[0]}:{self.dest[1]}:\n{data.decode('utf-8', 'replace')}",
                  file=sys.stderr)  # fmt: skip
        if self._udp is not None:
            self._udp.sendto(data, self.dest)
        elif self._writer is not None:
            self._writer.write(data)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()
            try:
                await asyncio.wait_for(self._writer.wait_closed(), 2)
            except (OSError, asyncio.TimeoutError):
                pass
        if self._reader_task is not None:
            self._reader_task.cancel()


def _branch_of(msg: Union[Request, Response]) -> str:
    m = re.search(r";\s*branch\s*=\s*([^;,\s]+)", msg.get("Via") or "", re.I)
    return m.group(1) if m else ""


def _ack_non_2xx(invite: Request, response: Response) -> Request:
    """RFC 3261 §17.1.1.3: the ACK for a non-2xx final response to an INVITE, part of
    the INVITE's transaction (same branch, the response's To tag, no credentials)."""
    cseq = (invite.get("CSeq") or "0").split()[0]
    headers = [("Via", invite.get_all("Via")[0]), ("Max-Forwards", "70")]
    headers += [(n, invite.get(n) or "") for n in ("From", "Call-ID")]
    headers += [("To", response.get("To") or invite.get("To") or ""), ("CSeq", f"{cseq} ACK")]
    return Request("ACK", invite.uri, headers)


async def _transaction(
    ch: _Channel, request: Request, timeout: float, show: Callable[[Response], None]
) -> Response:
    """Send ``request`` and wait for its final response (RFC 3261 §17.1); provisional
    ones are shown. Raises TimeoutError when timer B/F fires."""
    loop = asyncio.get_running_loop()
    data, branch, method = request.to_bytes(), _branch_of(request), request.method
    ch.send(data)
    start = loop.time()
    deadline, interval = start + timeout, T1
    next_send = start + T1 if ch.kind == "udp" else float("inf")
    while True:
        now = loop.time()
        if now >= deadline:
            raise TimeoutError
        if now >= next_send:
            ch.send(data)
            interval = _next_interval(method, interval, T2)
            next_send += interval
            continue
        try:
            msg = await asyncio.wait_for(ch.queue.get(), min(deadline, next_send) - now)
        except asyncio.TimeoutError:
            continue
        if msg is None:
            raise _NoAnswer("the server closed the connection")
        cseq = (msg.get("CSeq") or "").split()
        if _branch_of(msg) != branch or len(cseq) != 2 or cseq[1] != method:
            continue  # a late answer to an earlier request
        if msg.status >= 200:
            if method == "INVITE" and msg.status >= 300:
                ch.send(_ack_non_2xx(request, msg).to_bytes())
            return msg
        show(msg)
        if method == "INVITE":
            next_send = float("inf")  # §17.1.1.2: a provisional response stops timer A
        elif next_send != float("inf"):
            interval = T2  # §17.1.2.2: in Proceeding, retransmit every T2
            next_send = loop.time() + T2


@dataclass
class UacPlan:
    """Everything a ``register``/``request`` run needs, decided from the command line."""

    method: str
    uri: str
    dest: tuple[str, int]
    transport: str
    aor: str
    to_uri: str
    credentials: list[Credential] = field(repr=False)
    policy: ClientPolicy
    expires: Optional[int] = None
    body: bytes = b""
    content_type: Optional[str] = None
    timeout: float = 64 * T1
    verbose: bool = False


_STALE = re.compile(r'[,\s]stale\s*=\s*"?true', re.I).search


def _describe(headers: Sequence[tuple[str, str]]) -> str:
    parts = []
    for _, value in headers:
        try:
            c = parse_credentials(value)
        except RemoteProtocolError:
            continue
        parts.append(
            f"{c.algorithm or 'MD5'} {c.qop or 'no-qop'} realm={c.realm}"
            + (f" nc={c.nc_text()}" if c.qop else "")
        )
    return f" [{'; '.join(parts)}]" if parts else ""


def _realms_of(headers: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for _, value in headers:
        try:
            out.append(parse_credentials(value).realm)
        except RemoteProtocolError:
            continue
    return out


def _giveup_message(action: GiveUp) -> str:
    realm = action.realm or "?"
    if action.reason is Reason.CREDENTIALS_REFUSED:
        return f"credentials for realm {realm} refused (check the password and --auth-user)"
    if action.reason is Reason.NO_CREDENTIALS_FOR_REALM:
        return (f"the server asks for credentials for realm {realm!r}, for which none were given: "
                f"add --credential {realm}=USER, or --any-realm to send them to any realm")  # fmt: skip
    return f"authentication failed ({action.reason.value}): {action.detail}"


class _Uac:
    """One run of the client: a request, its challenges, and for INVITE the ACK and BYE."""

    def __init__(self, plan: UacPlan, out: TextIO, err: TextIO) -> None:
        self.plan = plan
        self.out, self.err = out, err
        self.client = Client(plan.credentials, plan.policy)
        self.call_id = f"{secrets.token_hex(10)}@sipdigest"
        self.from_tag = secrets.token_hex(6)
        self.cseq = secrets.randbelow(1000) + 1

    def build(self, ch: _Channel, method: str, uri: str, cseq: int, auth: Sequence[tuple[str, str]],
              to: str, body: bytes = b"") -> Request:  # fmt: skip
        p = self.plan
        host = f"[{ch.local[0]}]" if ":" in ch.local[0] else ch.local[0]
        user = _uri_parts(p.aor)[0]
        contact = None
        if method in ("REGISTER", "INVITE"):
            contact = f"sip:{user + '@' if user else ''}{host}:{ch.local[1]};transport={ch.kind}"
        headers = list(auth)
        if body and p.content_type:
            headers.append(("Content-Type", p.content_type))
        req = build_request(
            method, uri, via_host=ch.local[0], via_port=ch.local[1], transport=ch.kind,
            branch="z9hG4bK" + secrets.token_hex(8), from_uri=p.aor, from_tag=self.from_tag,
            to_uri=p.to_uri, call_id=self.call_id, cseq=cseq, contact=contact,
            expires=p.expires if method == "REGISTER" else None, headers=headers, body=body,
        )  # fmt: skip
        if to != p.to_uri:  # in-dialog: the To of the 2xx, with its tag
            req.headers = [(n, to) if n == "To" else (n, v) for n, v in req.headers]
        return req

    def show(self, req: Request, auth: Sequence[tuple[str, str]], resp: Response) -> None:
        stale = any(
            n.lower() in ("www-authenticate", "proxy-authenticate") and _STALE(v)
            for n, v in resp.headers
        )
        print(
            f"{req.method} {req.uri}{_describe(auth)} -> {resp.status} {resp.reason}"
            + (" (stale=true)" if stale else ""),
            file=self.out,
            flush=True,
        )

    async def authenticated(self, ch: _Channel, method: str, uri: str, to: str,
                            body: bytes) -> tuple[int, Optional[Response]]:  # fmt: skip
        """Send one request until the client machine is done: (exit status, 2xx or None)."""
        p = self.plan
        self.cseq += 1
        prepared = RequestPrepared(method, uri, self.call_id, self.cseq, body)
        attach = self.client.handle(prepared)
        auth = attach.headers if isinstance(attach, AttachCredentials) else ()
        while True:
            req = self.build(ch, method, uri, self.cseq, auth, to, body)

            def provisional(
                r: Response, req: Request = req, auth: Sequence[tuple[str, str]] = auth
            ) -> None:
                self.show(req, auth, r)

            try:
                resp = await _transaction(ch, req, p.timeout, provisional)
            except TimeoutError:
                print(f"sipdigest: no final response to {method} from {ch.kind}:{p.dest[0]}:{p.dest[1]} "
                      f"within {p.timeout:g} s", file=self.err)  # fmt: skip
                return 3, None
            self.show(req, auth, resp)
            action = self.client.handle(
                ResponseReceived(resp.status, resp.headers, prepared, resp.body)
            )
            if isinstance(action, Retry):
                self.cseq += 1
                prepared = RequestPrepared(method, uri, self.call_id, self.cseq, body)
                auth = action.headers
                continue
            if isinstance(action, GiveUp):
                print(f"sipdigest: {_giveup_message(action)}", file=self.err)
                return 1, None
            if isinstance(action, Done) and 200 <= action.status < 300:
                if action.mutual:
                    print("  mutual authentication: the server's rspauth checks out", file=self.out)
                if action.quirks:
                    print(f"  (quirks needed: {', '.join(action.quirks)})", file=self.out)
                return 0, resp
            realms = _realms_of(auth)
            if resp.status == 403 and realms:
                print(f"sipdigest: credentials for realm {', '.join(realms)} refused "
                      f"({resp.status} {resp.reason})", file=self.err)  # fmt: skip
            else:
                print(f"sipdigest: {method} failed: {resp.status} {resp.reason}", file=self.err)
            return 1, None

    async def run(self) -> int:
        p = self.plan
        ch = _Channel(p.transport, p.dest, p.verbose)
        try:
            await ch.open()
            status, resp = await self.authenticated(ch, p.method, p.uri, p.to_uri, p.body)
            if status != 0 or resp is None:
                return status
            if p.method == "REGISTER":
                self.report_bindings(resp)
                return 0
            if p.method != "INVITE":
                print(f"{p.method} {p.uri}: {resp.status} {resp.reason}", file=self.out)
                return 0
            return await self.finish_call(ch, resp)
        except _NoAnswer as exc:
            print(f"sipdigest: {exc}", file=self.err)
            return 3
        finally:
            await ch.close()

    def report_bindings(self, resp: Response) -> None:
        contacts = resp.get_all("Contact")
        if self.plan.expires == 0:
            print(f"unregistered {self.plan.aor}; {len(contacts)} binding(s) left", file=self.out)
        else:
            print(f"registered {self.plan.aor}; {len(contacts)} binding(s):", file=self.out)
        for c in contacts:
            print(f"  {c}", file=self.out)

    async def finish_call(self, ch: _Channel, ok: Response) -> int:
        """ACK the 2xx (with the INVITE's credentials, RFC 3261 §22.1), then BYE."""
        p = self.plan
        target = _addr_uri(ok.get("Contact") or "") or p.uri
        to = ok.get("To") or p.to_uri
        attach = self.client.handle(RequestPrepared("ACK", target, self.call_id, self.cseq))
        auth = attach.headers if isinstance(attach, AttachCredentials) else ()
        ack = self.build(ch, "ACK", target, self.cseq, auth, to)
        ch.send(ack.to_bytes())
        print(f"ACK {target}{_describe(auth)} (sent)", file=self.out)
        status, _ = await self.authenticated(ch, "BYE", target, to, b"")
        if status == 0:
            print(f"call to {p.uri} set up and ended", file=self.out)
        return status


def _credentials(args: argparse.Namespace, realm: str, auth_user: str) -> list[Credential]:
    password, ha1 = read_secret(args)  # HA1s by plain algorithm token, checked
    if ha1 is not None and "" in ha1:  # the bare form: 32 hex digits MD5, 64 SHA-256
        bare = ha1.pop("")
        ha1["MD5" if len(bare) == 32 else "SHA-256"] = bare
    out: list[Credential] = []
    seen: set[str] = set()
    try:
        for item in args.credential or ():
            r, eq, user = item.partition("=")
            if not eq or not r or not user:
                raise UsageError(f"--credential takes REALM=USER, not {item!r}")
            if r in seen:
                raise UsageError(f"--credential given twice for realm {r}")
            seen.add(r)
            out.append(Credential(r, user, password, ha1))
        if args.any_realm:
            out.append(Credential(ANY_REALM, auth_user, password, ha1))
        elif not out:
            out.append(Credential(realm, auth_user, password, ha1))
    except LocalProtocolError as exc:
        raise UsageError(f"sipdigest: {exc}") from None
    return out


def _common_plan(args: argparse.Namespace, method: str, uri: str, dest: tuple[str, int],
                 transport: str, to_uri: str) -> UacPlan:  # fmt: skip
    aor = args.user
    try:
        aor_user, _, _, _ = _uri_parts(aor)
    except UsageError:
        raise UsageError(
            f"--user takes a SIP address-of-record like sip:alice@example.com, not {aor!r}"
        ) from None
    auth_user = args.auth_user or aor_user
    if not auth_user:
        raise UsageError("--user has no user part: give --auth-user")
    realm = _uri_parts(uri)[1]
    creds = _credentials(args, realm, auth_user)
    try:
        policy = ClientPolicy(algorithm_floor=args.algorithm_floor, ask_for_credentials=False)
    except (LocalProtocolError, RemoteProtocolError) as exc:
        raise UsageError(f"sipdigest: {exc}") from None
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    body = b""
    if getattr(args, "body_file", None):
        try:
            with open(args.body_file, "rb") as f:
                body = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {args.body_file}: {exc.strerror}") from None
    return UacPlan(
        method=method, uri=uri, dest=dest, transport=transport, aor=aor, to_uri=to_uri,
        credentials=creds, policy=policy, body=body,
        content_type=getattr(args, "content_type", None) if body else None,
        timeout=min(args.timeout, 64 * T1), verbose=args.verbose,
    )  # fmt: skip


def _run_plan(plan: UacPlan) -> int:
    return asyncio.run(_Uac(plan, sys.stdout, sys.stderr).run())


def _cmd_register(args: argparse.Namespace) -> int:
    server = args.server.strip()
    if server.lower().startswith(("sip:", "sips:")):
        _, host, port, params = _uri_parts(server)
        uri = server
    else:
        host, port = parse_hostport(server)
        uri = f"sip:{server}"
        params = {}
    transport = args.transport or params.get("transport", "udp").lower()
    if transport not in ("udp", "tcp"):
        raise UsageError(f"transport {transport!r} is not supported (udp or tcp)")
    if args.expires < 0:
        raise UsageError("--expires must be >= 0")
    if not args.user:
        raise UsageError("sipdigest register: --user sip:USER@DOMAIN is required")
    plan = _common_plan(args, "REGISTER", uri, (host, port or DEFAULT_PORT), transport, args.user)
    plan.expires = args.expires
    return _run_plan(plan)


def _cmd_request(args: argparse.Namespace) -> int:
    method = args.method.upper()
    if not re.fullmatch(r"[A-Z]+", method) or method in ("ACK", "CANCEL"):
        raise UsageError(
            f"sipdigest request: cannot send {args.method!r} on its own (ACK and CANCEL never are)"
        )
    _, host, port, params = _uri_parts(args.uri)
    dest = parse_hostport(args.server) if args.server else (host, port or DEFAULT_PORT)
    transport = args.transport or params.get("transport", "udp").lower()
    if transport not in ("udp", "tcp"):
        raise UsageError(f"transport {transport!r} is not supported (udp or tcp)")
    if not args.user:
        raise UsageError("sipdigest request: --user sip:USER@DOMAIN (the From address) is required")
    plan = _common_plan(args, method, args.uri, dest, transport, args.uri)
    if method == "REGISTER":
        plan.expires = DEFAULT_EXPIRES
    return _run_plan(plan)


# ---- argparse ------------------------------------------------------------------------------


def _client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--user", metavar="AOR", help="the SIP address-of-record, e.g. sip:alice@example.com"
    )
    p.add_argument(
        "--auth-user",
        metavar="USER",
        help="the authentication username (default: the AOR's user part)",
    )
    p.add_argument("--credential", action="append", metavar="REALM=USER",
                   help="use the password for REALM with username USER (repeatable)")  # fmt: skip
    p.add_argument(
        "--any-realm",
        action="store_true",
        help="send the credentials to whatever realm asks (explicit opt-in)",
    )
    p.add_argument(
        "--algorithm-floor",
        metavar="ALG",
        help="refuse weaker algorithms (e.g. SHA-256 refuses MD5)",
    )
    p.add_argument("--transport", choices=["udp", "tcp"], type=str.lower)
    p.add_argument("--timeout", type=float, default=64 * T1, metavar="SECONDS",
                   help="timer B/F: give up after this long without a final response (default 32)")  # fmt: skip
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every message sent and received (stderr)",
    )
    add_secret_options(p)


def add_parser(sub: Any) -> None:
    """Register ``serve``, ``register`` and ``request`` (called by ``cli.build_parser``)."""
    s = sub.add_parser("serve", help="run an authenticating registrar on UDP and TCP")
    s.add_argument(
        "--listen",
        action="append",
        metavar="HOST:PORT",
        help="address to listen on, UDP and TCP (repeatable; default 127.0.0.1:5060)",
    )
    s.add_argument(
        "--users",
        metavar="FILE",
        help="lines of 'user realm password' or 'user realm ALGORITHM:HA1'",
    )
    s.add_argument("--realm", help="the realm (default: the users' realm, or the demo realm)")
    s.add_argument("--proxy", action="store_true", help="proxy role: 407 and Proxy-Authenticate")
    s.add_argument("--algorithms", default="SHA-256,MD5", help="comma list (default SHA-256,MD5)")
    s.add_argument("--qop", default="auth", help="auth | auth-int | auth,auth-int | none")
    s.add_argument("--nonce-ttl", type=float, default=300.0, metavar="SECONDS")
    s.add_argument("--auth-info", action="store_true", help="send Authentication-Info (rspauth)")
    s.add_argument(
        "--secret-file", metavar="FILE", help="the nonce MAC secret (default: random per run)"
    )
    s.set_defaults(_run=_cmd_serve)

    r = sub.add_parser(
        "register", help="register with a SIP registrar, answering digest challenges"
    )
    r.add_argument("server", metavar="SERVER", help="host, host:port or a sip: URI")
    r.add_argument("--expires", type=int, default=DEFAULT_EXPIRES)
    _client_options(r)
    r.set_defaults(_run=_cmd_register)

    q = sub.add_parser(
        "request", help="send one request (INVITE: then ACK and BYE), answering challenges"
    )
    q.add_argument("method", metavar="METHOD")
    q.add_argument("uri", metavar="URI", help="the Request-URI (sip:...)")
    q.add_argument(
        "--server", metavar="HOST:PORT", help="where to send it (default: the URI's host and port)"
    )
    q.add_argument("--body-file", metavar="FILE", help="the message body")
    q.add_argument("--content-type", default="text/plain")
    _client_options(q)
    q.set_defaults(_run=_cmd_request)
