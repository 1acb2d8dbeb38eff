"""The network shell's commands: ``sipdigest serve`` (an asyncio UDP+TCP registrar) and
``sipdigest register`` / ``sipdigest request`` (a client with RFC 3261 timers).

Strategy: the shell's modules are the only ones with sockets, a clock, signals and
logging; the two machines stay Sans-IO. The pieces that hold decisions are plain objects
that tests drive without a network: the users file and :class:`Registrar` in
``_net_registrar`` (one request in, one response or none out, and one log line),
``retransmit_schedule`` in ``_net_uac`` (timers A/E). Around them sit thin asyncio loops:
``_net_serve`` (a datagram protocol and a stream handler feeding the registrar) and ``_net_uac``
(a client transaction that retransmits on UDP and hands each final response to the
client machine, which answers with Retry/Done/GiveUp). ``_netbase`` holds what they
share. This module only declares the commands.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._net_serve import _cmd_serve
from ._net_uac import _cmd_register, _cmd_request
from ._netbase import DEFAULT_EXPIRES, T1
from .cli import add_secret_options

__all__ = ["add_parser"]

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
        "--userhash",
        action="store_true",
        help="offer userhash=true: clients may send H(user:realm) for the username (RFC 7616)",
    )
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
