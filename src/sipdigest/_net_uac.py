"""``sipdigest register`` / ``sipdigest request``: client transactions with RFC 3261
timers (retransmission on UDP, timers B/F) that hand each final response to the client
machine, which answers Retry/Done/GiveUp.

The default realm is the Request-URI's host (for ``register``, the SERVER's): a secret
goes to another realm only when named with ``--credential REALM=USER`` or by the
explicit ``--any-realm``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import socket
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, TextIO, Union

from ._netbase import DEFAULT_EXPIRES, DEFAULT_PORT, T1, T2, _addr_uri, _uri_parts, parse_hostport
from .actions import (
    AttachCredentials,
    Done,
    GiveUp,
    Reason,
    Retry,
)
from .cli import UsageError, read_secret
from .client import Client
from .credentials import ANY_REALM, Credential
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    RequestPrepared,
    ResponseReceived,
)
from .headers import parse_credentials
from .message import (
    Request,
    Response,
    SipMessageError,
    StreamParser,
    build_request,
    parse_message,
)
from .policy import ClientPolicy

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
