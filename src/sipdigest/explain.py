"""``sipdigest explain``: say why digest authentication in a capture succeeded or failed.

Strategy: walk the captured messages once, in order, remembering every challenge (by
nonce), the nonces the server declared stale and every (nonce, nc) used. Each request's
credentials are first checked for what needs no secret (grammar, nonce, realm,
algorithm, qop, opaque, nc, digest-uri), then, given a password or HA1, by recomputing
the response. A wrong response is explained by trying the mistakes real peers make
(REFERENCE §1-2: other URI, qop, algorithm, method, realm, username form) before
concluding "wrong password". A second pass adds the server's own verdict: the final
response with the same Call-ID and CSeq. Everything above ``explain_text`` is pure; the
command at the end is the only I/O, and it never prints the secret.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, Sequence

from .cli import UsageError, add_secret_options, read_secret
from .digest import (
    ALGORITHMS,
    SHA512_256_TRUNCATED,
    Algorithm,
    compute_response,
    compute_userhash,
    get_algorithm,
)
from .errors import SipDigestError, UnsupportedAlgorithm
from .headers import Challenge, Credentials, parse_challenges, parse_credentials
from .message import Request, Response, parse_trace

__all__ = ["Code", "Finding", "Problem", "explain_messages", "explain_text", "format_finding", "add_parser"]

Verdict = Literal["ok", "failed", "unknown"]
_METHODS = ("INVITE", "REGISTER", "BYE", "OPTIONS", "SUBSCRIBE", "NOTIFY", "MESSAGE",
            "PRACK", "UPDATE", "REFER", "INFO", "PUBLISH", "ACK", "")  # fmt: skip
_HOST = re.compile(r"sips?:(?:[^@;?]*@)?(\[[^\]]*\]|[^;:?>]+)", re.I)
_HEX = re.compile(r"[0-9a-fA-F]+")


class Code(str, Enum):
    """Why authentication failed (or is at risk); the value is the JSON spelling."""

    WRONG_PASSWORD = "wrong-password"  # noqa: S105 (a code, not a secret)
    REALM_MISMATCH = "realm-mismatch"
    OTHER_REALM = "other-realm"
    URI_MISMATCH = "uri-mismatch"
    METHOD_MISMATCH = "method-mismatch"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    QOP_MISMATCH = "qop-mismatch"
    BODY_MISMATCH = "body-mismatch"
    USERNAME_MISMATCH = "username-mismatch"
    UPPERCASE_HEX = "uppercase-hex"
    STALE_NONCE = "stale-nonce"
    UNKNOWN_NONCE = "unknown-nonce"
    REPEATED_NC = "repeated-nc"
    NC_NOT_INCREASING = "nc-not-increasing"
    OPAQUE_MISMATCH = "opaque-mismatch"
    MALFORMED_HEADER = "malformed-header"
    MISSING_CREDENTIALS = "missing-credentials"
    SERVER_REFUSED = "server-refused"


@dataclass
class Problem:
    code: Code
    message: str


@dataclass
class Finding:
    """One credentials value (or one unanswered challenge) and what became of it.

    ``digest`` is the recomputation alone; ``verdict`` also weighs the structure and the
    server's final answer, which wins when it was captured: the server is the judge.
    """

    index: int  # of the request in the message list
    method: str
    uri: str
    cseq: str | None
    header: str
    realm: str | None = None
    username: str | None = None
    verdict: Verdict = "unknown"
    digest: Verdict = "unknown"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expected: str | None = None
    received: str | None = None
    algorithm: str | None = None
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    nonce: str | None = None
    server_status: int | None = None
    server_reason: str | None = None

    def add(self, code: Code, message: str, *, first: bool = False) -> None:
        """Record a problem once per code; ``first`` puts the best explanation on top."""
        if any(p.code == code for p in self.problems):
            if not first:
                return
            self.problems = [p for p in self.problems if p.code != code]
        self.problems.insert(0 if first else len(self.problems), Problem(code, message))

    def to_dict(self) -> dict[str, Any]:
        problems = [{"code": p.code.value, "message": p.message} for p in self.problems]
        return asdict(self) | {"problems": problems}


@dataclass(frozen=True)
class _Try:
    """One way of computing a response: the credentials' own values or a suspected mistake."""

    alg: Algorithm
    username: str
    realm: str
    method: str
    uri: str
    qop: str | None
    body: bytes


def _key(msg: Request | Response) -> tuple[str | None, str]:
    """Transaction key: responses carry the Call-ID and CSeq of the request they answer."""
    return msg.get("Call-ID"), " ".join((msg.get("CSeq") or "").split())


def _challenges(resp: Response) -> tuple[list[Challenge], list[str]]:
    """Digest challenges of a 401/407 (each header value parsed alone) and the parse errors."""
    name = "Proxy-Authenticate" if resp.status == 407 else "WWW-Authenticate"
    found: list[Challenge] = []
    errors: list[str] = []
    for value in resp.get_all(name) if resp.status in (401, 407) else []:
        try:
            found += [c for c in parse_challenges(value) if c.is_digest]
        except SipDigestError as exc:
            errors.append(f"{name} does not parse: {exc}")
    return found, errors


def _alg_of(token: str | None) -> str:
    """Canonical algorithm token for comparisons (absent means MD5, RFC 7616 §3.3)."""
    try:
        return get_algorithm(token).token
    except UnsupportedAlgorithm:
        return token or "MD5"


def _qop_name(qop: str | None) -> str:
    return f"qop={qop}" if qop else "no qop (the RFC 2069 form)"


class _Walk:
    """The state of one pass over a capture; see the module docstring."""

    def __init__(self, password: bytes | None, ha1: dict[str, str] | None, username: str | None) -> None:
        # HA1s by plain algorithm token; "" holds one whose algorithm was not said
        self.password, self.ha1, self.username = password, ha1, username
        self.findings: list[Finding] = []
        self.issued: dict[str, list[Challenge]] = {}  # nonce -> the challenges that carried it
        self.realms: set[str] = set()  # every realm challenged so far
        self.stale: dict[str, int] = {}  # nonce -> index of the stale=true challenge
        self.ncs: dict[str, list[int]] = {}  # nonce -> nc values used, in order
        self.pending: dict[tuple[str | None, str], int] = {}  # transaction -> its latest request
        self.final: dict[int, Response] = {}  # request index -> its final response
        self.requests: list[tuple[int, Request]] = []
        self.seen: set[tuple[object, ...]] = set()

    def request(self, i: int, req: Request) -> None:
        # ACK and CANCEL are never challenged and copy the INVITE's credentials (RFC 3261
        # §22.1, REFERENCE Q22): checking them would only report a "repeated nc".
        if req.method.upper() in ("ACK", "CANCEL"):
            return
        values = [(h, v) for h in ("Authorization", "Proxy-Authorization") for v in req.get_all(h)]
        signature = (_key(req), req.uri, tuple(values))
        if signature in self.seen:  # a retransmission, not a new attempt
            return
        self.seen.add(signature)
        self.pending[_key(req)] = i
        self.requests.append((i, req))
        self.findings += [self._examine(i, req, h, v) for h, v in values]

    def response(self, i: int, resp: Response) -> None:
        req_i = self.pending.get(_key(resp))
        if resp.status >= 200 and req_i is not None and req_i not in self.final:
            self.final[req_i] = resp
        for ch in _challenges(resp)[0]:
            assert ch.nonce is not None and ch.realm is not None  # a Digest challenge has both
            self.issued.setdefault(ch.nonce, []).append(ch)
            self.realms.add(ch.realm)
            if ch.stale:  # the nonces the answered request used, else all older ones of the realm
                used = [f.nonce for f in self.findings if f.index == req_i and f.realm == ch.realm]
                older = [n for n, c in self.issued.items() if n != ch.nonce and c[0].realm == ch.realm]
                for nonce in filter(None, used or older):
                    self.stale.setdefault(nonce, i)

    def _examine(self, i: int, req: Request, header: str, value: str) -> Finding:
        f = Finding(i, req.method, req.uri, req.get("CSeq"), header)
        try:
            creds = parse_credentials(value)
        except SipDigestError as exc:
            f.add(Code.MALFORMED_HEADER, f"{header} does not parse: {exc}")
            return f
        if not creds.is_digest:
            f.add(Code.MALFORMED_HEADER, f"{header} uses the {creds.scheme} scheme, not Digest")
            return f
        f.realm, f.username, f.received, f.nonce = creds.realm, creds.username, creds.response, creds.nonce
        f.algorithm, f.qop, f.nc, f.cnonce = creds.algorithm, creds.qop, creds.nc, creds.cnonce
        alg: Algorithm | None = None
        try:
            alg = get_algorithm(creds.algorithm)
        except UnsupportedAlgorithm as exc:
            f.add(Code.UNSUPPORTED_ALGORITHM, str(exc))
        challenge_realm = self._check_nonce(f, creds)
        if creds.uri != req.uri:
            f.add(Code.URI_MISMATCH, f"uri={creds.uri!r} differs from the Request-URI {req.uri!r}; "
                  "servers compare them byte for byte (REFERENCE Q12)")  # fmt: skip
        qop = creds.qop.lower() if creds.qop else None
        if qop not in (None, "auth", "auth-int"):
            f.add(Code.QOP_MISMATCH, f"unknown qop value {creds.qop!r}")
            return f
        if qop:
            self._check_nc(f, creds)
        if alg is None:
            return f
        if not _HEX.fullmatch(creds.response):
            f.add(Code.MALFORMED_HEADER, "the response is not a hex digest")
            return f
        if len(creds.response) != alg.hex_length:
            f.add(Code.ALGORITHM_MISMATCH, f"the response has {len(creds.response)} hex digits, "
                  f"but {alg.token} gives {alg.hex_length}")  # fmt: skip
        base = _Try(alg, creds.username, creds.realm, req.method, creds.uri, qop, req.body)
        self._check_digest(f, req, creds, base, challenge_realm)
        return f

    def _check_nonce(self, f: Finding, creds: Credentials) -> str | None:
        """Nonce, realm, algorithm, qop, opaque and staleness against the captured challenges."""
        issued = self.issued.get(creds.nonce, [])
        same = [c for c in issued if c.realm == creds.realm]
        if issued and not same:
            f.add(Code.REALM_MISMATCH, f"nonce {creds.nonce!r} was issued for realm "
                  f"{issued[0].realm!r}, but realm={creds.realm!r} was sent")  # fmt: skip
        elif not issued and creds.realm in self.realms:
            f.add(Code.UNKNOWN_NONCE, f"no captured challenge issued nonce {creds.nonce!r} "
                  "(left over from an earlier exchange, or made up)")  # fmt: skip
        elif not issued and self.realms:
            asked = ", ".join(repr(r) for r in sorted(self.realms))
            f.add(Code.OTHER_REALM, f"credentials for realm {creds.realm!r}, which nobody "
                  f"challenged; the server asked for {asked}")  # fmt: skip
        elif not issued:
            f.notes.append("no challenge was captured: the nonce was not checked")
        candidates = same or issued
        if not candidates:
            return None
        labelled = _alg_of(creds.algorithm)
        offered = [_alg_of(c.algorithm) for c in candidates]
        if labelled not in offered:
            f.add(Code.ALGORITHM_MISMATCH, f"labelled {labelled}, but the challenge for this "
                  f"nonce offered {', '.join(offered)}")  # fmt: skip
        ch = candidates[offered.index(labelled)] if labelled in offered else candidates[0]
        qop, asked = (creds.qop.lower() if creds.qop else None), "/".join(ch.qop) or "no qop"
        if ch.qop and qop is None:
            f.add(Code.QOP_MISMATCH, f"the challenge asked for qop {asked}, the credentials carry none")
        elif qop and qop not in ch.qop:
            f.add(Code.QOP_MISMATCH, f"qop={qop} was not offered (the challenge offered {asked})")
        if ch.opaque != creds.opaque:  # REFERENCE Q23: byte for byte, even when empty
            f.add(Code.OPAQUE_MISMATCH, f"opaque {creds.opaque!r} was sent, the challenge "
                  f"gave {ch.opaque!r}: it must be echoed as is")  # fmt: skip
        if creds.nonce in self.stale:
            f.add(Code.STALE_NONCE, f"the server declared this nonce stale in message "
                  f"#{self.stale[creds.nonce]}, yet the client used it again")  # fmt: skip
        return ch.realm

    def _check_nc(self, f: Finding, creds: Credentials) -> None:
        """nc: 8 hex digits (RFC 7616 §3.4), never repeated and increasing per nonce."""
        try:
            nc = creds.nc_count()
        except SipDigestError as exc:
            f.add(Code.MALFORMED_HEADER, str(exc))
            return
        seen = self.ncs.setdefault(creds.nonce, [])
        if nc in seen:
            f.add(Code.REPEATED_NC, f"nc={creds.nc} was already used with this nonce: a "
                  "server that tracks nc takes it for a replay (REFERENCE §1.7)")  # fmt: skip
        elif seen and nc < max(seen):
            f.add(Code.NC_NOT_INCREASING, f"nc={creds.nc} is lower than {max(seen):08x}, sent before")
        seen.append(nc)

    def _respond(self, t: _Try, creds: Credentials) -> str | None:
        """The response ``t`` gives, or None when the secret cannot compute it."""
        ha1 = None
        if self.ha1 is not None:
            ha1 = self.ha1.get(t.alg.token.removesuffix("-sess"), self.ha1.get(""))
            if ha1 is None or len(ha1) != t.alg.hex_length:
                return None
        try:
            return compute_response(
                algorithm=t.alg, username=t.username, realm=t.realm, method=t.method, uri=t.uri,
                password=self.password if ha1 is None else None, ha1=ha1, body=t.body,
                nonce=creds.nonce, nc=creds.nc if t.qop else None, cnonce=creds.cnonce, qop=t.qop,
            )  # fmt: skip
        except SipDigestError:
            return None

    def _hypotheses(self, base: _Try, req: Request, realm: str | None) -> Iterator[tuple[_Try, Code, str]]:
        """The mistakes peers make, each as a changed computation and what it would mean."""
        said = "the response was computed"
        if base.uri != req.uri:
            yield replace(base, uri=req.uri), Code.URI_MISMATCH, (
                f"{said} over the Request-URI {req.uri!r}, but uri={base.uri!r} was sent")
        for qop in ("auth", "auth-int", None) if base.qop else ():  # no nc/cnonce to add a qop
            if qop != base.qop:
                yield replace(base, qop=qop), Code.QOP_MISMATCH, (
                    f"{said} with {_qop_name(qop)}, but {_qop_name(base.qop)} was sent")
        if base.qop == "auth-int" and base.body:
            yield replace(base, body=b""), Code.BODY_MISMATCH, (
                f"auth-int was computed over an empty body, but the request has {len(base.body)} bytes")
        for alg in (*ALGORITHMS.values(), SHA512_256_TRUNCATED):  # _respond skips an HA1's misfits
            name = "SHA-512 cut to 256 bits (RFC 7616 erratum 4897)" if alg == SHA512_256_TRUNCATED else alg
            if alg != base.alg:
                yield replace(base, alg=alg), Code.ALGORITHM_MISMATCH, (
                    f"{said} with {name} while labelled {base.alg}")
        for method in _METHODS:
            if method != base.method:
                yield replace(base, method=method), Code.METHOD_MISMATCH, (
                    f"{said} for method {method or '(empty)'!r}, not {base.method}")
        if self.password is None:  # an HA1 fixes the username and the realm
            return
        host = m.group(1) if (m := _HOST.match(req.uri)) else None
        for other in dict.fromkeys(r for r in (realm, host) if r and r != base.realm):
            yield replace(base, realm=other), Code.REALM_MISMATCH, (
                f"HA1 was computed with realm {other!r}, but realm={base.realm!r} was sent")
        user = base.username
        domains = dict.fromkeys(d for d in (host, base.realm) if d)
        for form in [user.split("@")[0]] if "@" in user else [f"{user}@{d}" for d in domains]:
            yield replace(base, username=form), Code.USERNAME_MISMATCH, (
                f"HA1 was computed with username {form!r} (ha1 vs ha1b, REFERENCE Q10), not {user!r}")

    def _check_digest(self, f: Finding, req: Request, creds: Credentials, base: _Try, realm: str | None,
                      ) -> None:  # fmt: skip
        """Recompute the response; if it differs, find the mistake before blaming the password."""
        if self.password is None and self.ha1 is None:
            f.notes.append("no password or HA1 given: the response itself was not checked")
            return
        if creds.userhash:
            hashed = self.username and compute_userhash(base.alg, self.username, creds.realm)
            if not self.username or hashed != creds.username.lower():
                f.notes.append("userhash=true: give the real --username to check the response")
                return
            base = replace(base, username=self.username)
        elif self.username is not None and self.username != creds.username:
            f.notes.append(f"credentials of user {creds.username!r}, not {self.username!r}: not checked")
            return
        got = creds.response.lower()
        f.expected = self._respond(base, creds)
        if f.expected is not None and f.expected == got:
            f.digest = "ok"
            if creds.response != got:
                f.add(Code.UPPERCASE_HEX, "the response is right but in upper-case hex; strict "
                      "servers compare lower case only (REFERENCE Q18)", first=True)  # fmt: skip
            return
        for t, code, why in self._hypotheses(base, req, realm):
            if self._respond(t, creds) == got:
                f.digest = "failed"
                f.add(code, why, first=True)
                return
        if f.expected is None:
            f.notes.append(f"the HA1 given is not for {base.alg.token}: not checked")
            return
        f.digest = "failed"
        body = " (or the body changed on the way: auth-int covers it)" if base.qop == "auth-int" else ""
        f.add(Code.WRONG_PASSWORD, "the response matches no computation with the secret given, "
              "even allowing for the usual client mistakes (URI, qop, algorithm, method, realm, "
              f"username form): the client used another password{body}", first=True)  # fmt: skip

    def finish(self) -> list[Finding]:
        """Second pass: the server's verdicts, then challenges the client never answered."""
        for f in self.findings:
            self._judge(f, self.final.get(f.index))
        for i, req in self.requests:
            self._missing(i, req, self.final.get(i))
        return sorted(self.findings, key=lambda f: f.index)

    def _judge(self, f: Finding, resp: Response | None) -> None:
        proxy = f.header == "Proxy-Authorization"
        if resp is not None:
            f.server_status, f.server_reason = resp.status, resp.reason
        if resp is None or (resp.status == 407 and not proxy):  # no answer, or a proxy stopped it first
            f.verdict = "failed" if f.problems else f.digest
            return
        if resp.status not in (400, 403, 407 if proxy else 401):
            f.verdict = "ok"  # the server let it through, whatever we found
            for p in f.problems:
                if p.code == Code.WRONG_PASSWORD:
                    p.message += "; yet the server accepted it: the secret given is not the one it has"
            return
        f.verdict = "failed"
        challenges = [c for c in _challenges(resp)[0] if c.realm == f.realm]
        status = f"{resp.status} {resp.reason}"
        if any(c.stale for c in challenges):
            f.add(Code.STALE_NONCE, f"the server answered {status} with stale=true: the nonce "
                  "expired; the client should retry with the new one, not ask for a password")  # fmt: skip
        elif f.problems:
            return
        elif f.digest == "ok" and any(c.nonce != f.nonce for c in challenges):
            f.add(Code.SERVER_REFUSED, f"the response is right, but the server answered {status} "
                  "with a new nonce and no stale=true: the nonce probably expired on the server "
                  "(REFERENCE Q1); the client should retry once with the new nonce")  # fmt: skip
        elif f.digest == "ok":
            f.add(Code.SERVER_REFUSED, f"the response is right, but the server refused it "
                  f"({status}): look at its policy (user binding, nc, ACL)")  # fmt: skip
        else:
            f.add(Code.SERVER_REFUSED, f"the server refused these credentials ({status}); "
                  "give the password or HA1 to find out why")  # fmt: skip

    def _missing(self, i: int, req: Request, resp: Response | None) -> None:
        """A 401/407 after which the client never sent credentials of that kind."""
        if resp is None or resp.status not in (401, 407):
            return
        header = "Proxy-Authorization" if resp.status == 407 else "Authorization"
        same = (req.get("Call-ID"), (req.method, req.uri))
        if req.get(header) is not None or any(
            j > i and r.get(header) is not None and (r.get("Call-ID") in same or (r.method, r.uri) in same)
            for j, r in self.requests
        ):
            return  # examined already, or answered later
        challenges, errors = _challenges(resp)
        f = Finding(i, req.method, req.uri, req.get("CSeq"), header, verdict="failed",
                    server_status=resp.status, server_reason=resp.reason)  # fmt: skip
        f.realm = challenges[0].realm if challenges else None
        for error in errors:
            f.add(Code.MALFORMED_HEADER, error)
        offered = ", ".join(dict.fromkeys(_alg_of(c.algorithm) for c in challenges)) or "no Digest challenge"
        f.add(Code.MISSING_CREDENTIALS, f"the server answered {resp.status} (offering {offered}) "
              f"and the client never sent {header} in this capture: no account for the realm, "
              "no supported algorithm, or it gave up", first=True)  # fmt: skip
        self.findings.append(f)


def explain_messages(
    messages: Sequence[Request | Response], *, password: str | bytes | None = None,
    ha1: str | Mapping[str, str] | None = None, username: str | None = None,
) -> list[Finding]:  # fmt: skip
    """One finding per credentials value (and per unanswered challenge), in capture order.

    ``ha1`` is one stored HA1 (used for every algorithm of its length) or HA1s keyed by
    algorithm token (the -sess variants use the plain one's).
    """
    if password is not None and ha1 is not None:
        raise ValueError("give a password or an HA1, not both")
    if isinstance(password, str):  # environment values may carry surrogate-escaped bytes
        password = password.encode("utf-8", "surrogateescape")
    table: dict[str, str] | None = None
    if isinstance(ha1, str):
        table = {"": ha1.strip().lower()}
    elif ha1 is not None:
        table = {k.upper().removesuffix("-SESS"): v.strip().lower() for k, v in ha1.items()}
    walk = _Walk(password, table, username)
    for i, msg in enumerate(messages):
        if isinstance(msg, Request):
            walk.request(i, msg)
        else:
            walk.response(i, msg)
    return walk.finish()


def explain_text(
    text: str, *, password: str | bytes | None = None, ha1: str | Mapping[str, str] | None = None,
    username: str | None = None,
) -> list[Finding]:  # fmt: skip
    """:func:`explain_messages` over the messages :func:`parse_trace` finds in ``text``."""
    return explain_messages(parse_trace(text), password=password, ha1=ha1, username=username)


# ---- the command -------------------------------------------------------------------------


def format_finding(f: Finding) -> str:
    """The human block: headline, problems, expected over received, parameters, server."""
    who = f' realm "{f.realm}"' if f.realm is not None else ""
    who += f' user "{f.username}"' if f.username is not None else ""
    head = f"{f.method} {f.uri} (CSeq {(f.cseq or '?').split()[0]}){who}: {f.verdict.upper()}"
    lines = [head + (" — " + f.problems[0].code.value.replace("-", " ") if f.problems else "")]
    lines += [f"  - {p.code.value}: {p.message}" for p in f.problems] + [f"  - note: {n}" for n in f.notes]
    if f.received is not None:
        lines.append(f"  expected response  {f.expected or '(not computed)'}")
        lines.append(f"  received response  {f.received}")
        params = [f"algorithm {f.algorithm or 'MD5 (absent)'}", f"qop {f.qop or 'none'}"]
        params += ([f"nc {f.nc}"] if f.nc else []) + ([f'cnonce "{f.cnonce}"'] if f.cnonce else [])
        lines.append(f"  {f.header}: {', '.join(params)}")
    answer = f"{f.server_status} {f.server_reason}" if f.server_status else "no final response captured"
    lines.append(f"  message #{f.index}; server answered: {answer}")
    # capture text may hold bidi or C1 controls: never hand them to a terminal
    return "\n".join("".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in ln) for ln in lines)


def _cmd_explain(args: argparse.Namespace) -> int:
    if args.capture == "-" and "-" in (args.password_file, args.ha1_file):
        raise UsageError("sipdigest explain: the capture and the secret cannot both come from stdin")
    try:
        password, ha1 = read_secret(args)
    except UnicodeDecodeError:
        raise UsageError("sipdigest explain: the secret file is not UTF-8")
    try:
        raw = sys.stdin.buffer.read() if args.capture == "-" else Path(args.capture).read_bytes()
    except OSError as exc:
        raise UsageError(f"sipdigest explain: cannot read {args.capture}: {exc.strerror}")
    messages = parse_trace(raw.decode("utf-8", "surrogateescape"))
    if not messages:
        raise UsageError(f"sipdigest explain: no SIP messages found in {args.capture}")
    findings = explain_messages(messages, password=password, ha1=ha1, username=args.username)
    if args.json:
        print(json.dumps({"messages": len(messages), "findings": [f.to_dict() for f in findings]}, indent=2))
    else:
        print("\n\n".join(map(format_finding, findings)) or f"{len(messages)} messages, no digest auth")
    return 1 if any(f.verdict == "failed" for f in findings) else 0


def add_parser(sub: Any) -> None:
    """Register ``explain`` (cli.build_parser imports this module lazily)."""
    p = sub.add_parser("explain", help="say why digest authentication in a capture succeeded or failed")
    p.add_argument("capture", help="sipp -trace_msg log, sngrep text export, pasted messages, or -")
    p.add_argument("--username", help="the user the secret belongs to (needed for userhash)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_secret_options(p, required=False)
    p.set_defaults(_run=_cmd_explain)
