"""What the network shell's modules share: SIP constants, timers and small parsers of
host:port and URIs (no I/O)."""

from __future__ import annotations

import logging
import re

from . import __version__
from .cli import UsageError

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
