"""``sipdigest serve``: the asyncio UDP and TCP loops around :class:`Registrar`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, TextIO, Union, cast

from ._net_registrar import Registrar, UserRecord, parse_users
from ._netbase import DEMO_REALM, DEMO_USER, LOG, TCP_IDLE, _clean, parse_hostport
from .cli import UsageError
from .digest import compute_userhash, get_algorithm
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CredentialsFound,
    CredentialsNotFound,
)
from .message import (
    Response,
    SipMessageError,
    StreamParser,
    parse_message,
)
from .policy import ServerPolicy
from .server import Server

# ---- serve: the asyncio shell around the registrar ----------------------------------------------


@dataclass
class ServeConfig:
    listen: list[tuple[str, int]]
    policy: ServerPolicy
    users: dict[tuple[str, str], UserRecord]
    realms: list[str]
    demo_password: Optional[str] = field(default=None, repr=False)


def _lookup(
    users: dict[tuple[str, str], UserRecord], userhash_algorithms: Sequence[str] = ()
) -> Callable[[Any], Union[CredentialsFound, CredentialsNotFound]]:
    """The registrar's in-memory look-up; with ``userhash_algorithms``, also by
    H(user:realm) for each of them (RFC 7616 §3.4.4), computed once here, so a
    userhash look-up is one dict probe and answers with the real username."""
    by_hash: dict[tuple[str, str, str], tuple[str, UserRecord]] = {}
    for token in {get_algorithm(a).token.removesuffix("-sess") for a in userhash_algorithms}:
        for (user, realm), record in users.items():
            by_hash[(token, realm, compute_userhash(token, user, realm))] = (user, record)

    def lookup(lk: Any) -> Union[CredentialsFound, CredentialsNotFound]:
        if lk.userhash:
            token = get_algorithm(lk.algorithm).token.removesuffix("-sess")
            found = by_hash.get((token, lk.realm, lk.username.lower()))
            if found is None:
                return CredentialsNotFound(lk)
            user, record = found
            return CredentialsFound(
                lk, password=record.password, ha1=dict(record.ha1) or None, username=user
            )
        plain = users.get((lk.username, lk.realm))
        if plain is None:
            return CredentialsNotFound(lk)
        return CredentialsFound(lk, password=plain.password, ha1=dict(plain.ha1) or None)

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
            userhash=args.userhash,
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
    policy = config.policy
    hashed = policy.algorithms if policy.userhash else ()
    server = Server(policy, lookup=_lookup(config.users, hashed))
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
