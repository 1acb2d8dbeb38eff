"""The demo registrar behind ``sipdigest serve``, without I/O: the users file and
:class:`Registrar` (one request in, one response or none out, and one log line).

It keeps no transactions, so a retransmitted authorized request is verified again and,
its nonce-count already used, draws a 401 ``stale=true`` (never a second 200); a CANCEL
gets 481 (RFC 3261 §9.2: every INVITE is answered at once); an ACK gets nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ._netbase import (
    _ALLOW,
    _SERVER_HEADER,
    DEFAULT_EXPIRES,
    LOG,
    MAX_AORS,
    MAX_BINDINGS,
    MAX_EXPIRES,
    _addr_uri,
    _clean,
    _uri_parts,
)
from .actions import (
    Accept,
    Exempt,
    Reject,
    SendChallenge,
)
from .cli import UsageError
from .digest import ALGORITHMS
from .events import (
    RequestReceived,
)
from .message import (
    Request,
    Response,
    SipMessageError,
    build_response,
)
from .server import Server

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
