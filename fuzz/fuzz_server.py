"""Fuzzing of ``Server.handle`` with hostile requests, on both twins at once.

Input: a small text script (UTF-8; undecodable bytes become lone surrogates)::

    @ 3                                  policy number (optional first line)
    >>> REGISTER sip:example.com +1      a request: method, Request-URI, seconds later
    Authorization: Digest username="alice", realm="example.com", nonce="$NONCE", ...
    >>> INVITE sip:bob@example.com +0.5  the next request ...

Before the script runs, the harness asks the server for a challenge (the base headers
below, no credentials) and remembers every nonce any challenge hands out, with the
algorithm, qop and binding it was issued for. In header values ``$NONCE`` is the
latest challenge's first nonce, ``$NONCE:<ALGORITHM>`` the one for that algorithm, and
``$RESPONSE`` the right response for the value's own fields (after substitution) and
the user's real password, so correct-looking credentials reach every check.

Oracles, for every request on both twins:
* ``handle`` returns SendChallenge, Reject, Accept or Exempt (the harness answers
  LookupCredentials and CheckReplay when a policy asks for them) and raises nothing;
* the twins give identical actions (same nonces, same reasons, same details);
* nobody gets in: an Accept needs, in the first credentials value for our realm, a
  nonce this server issued for that algorithm and qop (or no qop only when none was
  offered, or the ``no_qop`` quirk is reported), not expired, bound to this Call-ID /
  From tag / source when the policy binds, the Request-URI as digest-uri (or a
  reported uri quirk), a response equal to an independent hashlib computation with
  the real password, the matching username, and a (nonce, nc) pair never accepted
  before (a nonce used once at all in one-time mode or without qop). An ACK is
  accepted only with the exact value accepted for its INVITE.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Counter, cores, instrumented, ref_hash, ref_response, run, text, use_core

with instrumented(__name__, python_coverage=False):
    from sipdigest import (
        Accept,
        CheckReplay,
        CredentialsFound,
        CredentialsNotFound,
        Exempt,
        LookupCredentials,
        MemoryReplayStore,
        Reject,
        ReplayChecked,
        RequestReceived,
        SendChallenge,
        Server,
        ServerPolicy,
    )
    from sipdigest._state import dialog_key
    from sipdigest.headers import _decode_ext_value

PURE, FAST = cores()
REALM = "example.com"
SECRET = b"0123456789abcdef0123456789abcdef"
USERS = {"alice": "wonderland", "bob": "builder", "ünï": "çødé"}
SOURCE = "192.0.2.10:5060"
BASE_HEADERS = [
    ("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds"),
    ("From", '"Alice" <sip:alice@example.com>;tag=1928301774'),
    ("To", "<sip:alice@example.com>"),
    ("Call-ID", "a84b4c76e66710@pc33.example.com"),
    ("CSeq", "1 REGISTER"),
]
START = 1000.0

POLICIES: list[dict[str, Any]] = [
    {},
    dict(algorithms=("SHA-512-256-sess", "SHA-512-256", "SHA-256-sess", "SHA-256", "MD5-sess",
                     "MD5"), qop=("auth", "auth-int"), opaque='op"aq\\ue', userhash=True,
         auth_info=True, nextnonce=True),
    dict(algorithms=("MD5",), qop=(), one_time_nonce=True),
    dict(role="proxy", bind_call_id=True, bind_from_tag=True, bind_source=True,
         reject_wrong_credentials=True, replay_window=4, replay_capacity=8, nonce_ttl=30.0),
    dict(external_replay=True, nonce_cache=0, qop=("auth-int",), algorithms=("SHA-256", "MD5")),
    dict(quirks=frozenset({"uppercase_hex", "decimal_nc", "uri_loose", "no_qop", "realm_prefix"}),
         qop=("auth",), algorithms=("MD5", "SHA-256")),
    dict(one_time_nonce=True, auth_info=True, nextnonce=True, ack_capacity=2, ack_ttl=1.0),
]  # fmt: skip
TWO_PHASE = {4}  # policies answered through LookupCredentials (HA1 tables, not passwords)
_USERHASH = {
    ref_hash(alg, f"{u}:{REALM}".encode()): u
    for u in USERS
    for alg in ("MD5", "SHA-256", "SHA-512-256")
}


def _parse(script: str) -> tuple[int, list[tuple[str, str, float, list[tuple[str, str]]]]]:
    lines = script.split("\n")
    number = 0
    if lines and lines[0].startswith("@"):
        digits = "".join(c for c in lines.pop(0) if c in "0123456789")[:3]
        number = int(digits or 0) % len(POLICIES)
    requests: list[tuple[str, str, float, list[tuple[str, str]]]] = []
    for line in lines[:64]:
        line = line.removesuffix("\r")
        if line.startswith(">>>"):
            parts = line[3:].split()
            method = parts[0] if parts else "REGISTER"
            uri = parts[1] if len(parts) > 1 else "sip:example.com"
            try:
                delta = float(parts[2]) if len(parts) > 2 else 1.0
            except ValueError:
                delta = 1.0
            delta = delta if 0 <= delta <= 1e6 else 1.0  # the host's clock is sane
            requests.append((method, uri, delta, []))
        elif requests and ":" in line:
            name, _, value = line.partition(":")
            requests[-1][3].append((name.strip(), value.strip(" \t")))
    return number, requests[:16]


def _user(p: dict[str, str]) -> str | None:
    """The real user named by a credentials dict (username, username* or userhash)."""
    name = p.get("username")
    if "username*" in p:
        try:
            name = _decode_ext_value(p["username*"])
        except Exception:
            return None
    if name is not None and p.get("userhash", "").lower() == "true":
        return _USERHASH.get(name.lower())
    return name


class Scenario:
    """One run of a script against a fresh server on one twin."""

    def __init__(self, number: int, two_phase: bool) -> None:
        sizes = dict(replay_capacity=64, ack_capacity=16, nonce_cache=16)  # cheap to build
        self.policy = ServerPolicy(realm=REALM, secret=SECRET, **{**sizes, **POLICIES[number]})
        self.two_phase = two_phase
        self.store = MemoryReplayStore(8)
        lookup = None if two_phase else self._lookup
        self.server = Server(self.policy, lookup=lookup, entropy=Counter())
        self.header = "proxy-authorization" if self.policy.role == "proxy" else "authorization"
        self.issued: dict[str, tuple[str, tuple[str, ...], float, tuple[Any, ...]]] = {}
        self.latest: list[tuple[str, str]] = []  # (algorithm, nonce) of the last challenge
        self.used: set[tuple[str, int]] = set()
        self.used_nonces: set[str] = set()
        self.invites: dict[tuple[Any, ...], str] = {}
        self.trace: list[tuple[Any, ...]] = []

    # ---- the host's side ------------------------------------------------------------

    def _lookup(self, lk: LookupCredentials) -> CredentialsFound | CredentialsNotFound:
        name = _USERHASH.get(lk.username.lower()) if lk.userhash else lk.username
        if name not in USERS:
            return CredentialsNotFound(lk)
        if not self.two_phase:
            return CredentialsFound(lk, password=USERS[name], username=name)
        ha1 = {a: ref_hash(a, f"{name}:{lk.realm}:{USERS[name]}".encode())
               for a in ("MD5", "SHA-256")}  # fmt: skip
        return CredentialsFound(lk, ha1=ha1, username=name)

    def handle(self, ev: RequestReceived) -> Any:
        action = self.server.handle(ev)
        for _ in range(3):
            if isinstance(action, LookupCredentials):
                action = self.server.handle(self._lookup(action))
            elif isinstance(action, CheckReplay):
                fresh = self.store.check_and_record(
                    action.key, action.nc, action.window, ev.now, action.expires
                )
                action = self.server.handle(ReplayChecked(action, fresh))
        assert isinstance(action, (SendChallenge, Reject, Accept, Exempt)), action
        return action

    # ---- bookkeeping of what was issued ----------------------------------------------

    def _binding(self, ev: RequestReceived) -> tuple[Any, ...]:
        call_id, _, from_tag = dialog_key(ev.headers)
        return (call_id, from_tag, ev.source)

    def _record_challenge(self, action: SendChallenge, ev: RequestReceived) -> None:
        self.latest = []
        for _, value in action.headers:
            p = PURE.tokenize(value, 8192, 64)[0][2]
            alg = p.get("algorithm", "MD5")
            qops = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
            self.issued[p["nonce"]] = (alg, qops, ev.now, self._binding(ev))
            self.latest.append((alg, p["nonce"]))

    def _substitute(self, value: str, method: str, body: bytes) -> str:
        for alg, nonce in self.latest:
            value = value.replace(f"$NONCE:{alg}", nonce)
        if self.latest:
            value = value.replace("$NONCE", self.latest[0][1])
        if "$RESPONSE" in value:
            right = None
            try:
                items = PURE.tokenize(value.replace("$RESPONSE", "0"), 8192, 64)
                p = items[0][2] if len(items) == 1 else {}
                user = _user(p)
                if user in USERS and "uri" in p and "nonce" in p and "realm" in p:
                    right = ref_response(
                        algorithm=p.get("algorithm"), username=user, realm=p["realm"],
                        password=USERS[user], method=method, uri=p["uri"], nonce=p["nonce"],
                        nc=p.get("nc"), cnonce=p.get("cnonce"), qop=p.get("qop"), body=body,
                    )  # fmt: skip
            except Exception:  # noqa: S110 - an unparsable value keeps a wrong response
                pass
            value = value.replace("$RESPONSE", right or "0" * 32)
        return value

    # ---- the oracle ------------------------------------------------------------------

    def _ours(self, ev: RequestReceived) -> tuple[str, dict[str, str]] | None:
        """The value the server must have used: the first Digest one for our realm."""
        prefix = "realm_prefix" in self.policy.quirks
        for name, value in ev.headers:
            if name.lower() != self.header:
                continue
            try:
                items = PURE.tokenize(value, 8192, 64)
            except Exception:  # noqa: S112 - skipped by the server too
                continue
            if len(items) != 1 or items[0][0].lower() != "digest":
                continue
            p = items[0][2]
            if p.get("realm") == REALM or (prefix and p.get("realm") == "sip." + REALM):
                if items[0][1] is None:
                    return value, p
        return None

    def _check_accept(self, ev: RequestReceived, action: Accept, body: bytes) -> None:
        q = set(action.quirks)
        if ev.method == "ACK":
            key = dialog_key(ev.headers)
            sent = [v for n, v in ev.headers if n.lower() == self.header]
            assert self.invites.get(key) in sent, ("ACK accepted without its INVITE's value", ev)
            return
        found = self._ours(ev)
        assert found is not None, "accepted without credentials for our realm"
        value, p = found
        nonce = p.get("nonce")
        assert nonce in self.issued, ("accepted a nonce this server never issued", value)
        alg, qops, issued_at, binding = self.issued[nonce]
        assert (p.get("algorithm") or "MD5").upper() == alg.upper(), ("algorithm swapped", value)
        qop = p.get("qop")
        if qop is None:
            assert not qops or "no_qop" in q, ("qop removed", value)
        else:
            assert qop.lower() in qops, ("qop not offered", value)
        assert ev.now < issued_at + self.policy.nonce_ttl, ("expired nonce accepted", value)
        call_id, from_tag, source = binding
        now_binding = self._binding(ev)
        if self.policy.bind_call_id:
            assert now_binding[0] == call_id, ("Call-ID binding ignored", value)
        if self.policy.bind_from_tag:
            assert now_binding[1] == from_tag, ("From-tag binding ignored", value)
        if self.policy.bind_source:
            assert now_binding[2] == source, ("source binding ignored", value)
        if p.get("uri") != ev.uri:
            assert q & {"uri_loose", "uri_off"}, ("digest-uri is not the Request-URI", value)
        user = _user(p)
        assert user in USERS and action.username == user, ("wrong user", value, action)
        right = ref_response(
            algorithm=p.get("algorithm"), username=user, realm=p["realm"], password=USERS[user],
            method=ev.method, uri=p["uri"], nonce=nonce, nc=p.get("nc"), cnonce=p.get("cnonce"),
            qop=qop, body=body,
        )  # fmt: skip
        got = p.get("response", "")
        assert right is not None and (
            got == right or ("uppercase_hex" in q and got.lower() == right)
        ), ("wrong response accepted", value)
        if qop is None or self.policy.one_time_nonce:
            assert nonce not in self.used_nonces, ("single-use nonce reused", value)
        if qop is not None:
            nc_text = p.get("nc", "")
            count = int(nc_text) if "decimal_nc" in q else int(nc_text, 16)
            assert (nonce, count) not in self.used, ("replayed nc accepted", value)
            self.used.add((nonce, count))
        self.used_nonces.add(nonce)
        if ev.method == "INVITE":
            self.invites[dialog_key(ev.headers)] = value
        for _, info in action.headers:  # nextnonce: issued like the nonce it follows
            nxt = PURE.tokenize_params(info, 8192, 64).get("nextnonce")
            if nxt is not None:
                self.issued[nxt] = (alg, qops, ev.now, binding)

    # ---- the run ---------------------------------------------------------------------

    def run(self, requests: list[tuple[str, str, float, list[tuple[str, str]]]]) -> None:
        now = START
        first = RequestReceived("REGISTER", "sip:example.com", list(BASE_HEADERS), now,
                                b"", SOURCE)  # fmt: skip
        action = self.handle(first)
        assert isinstance(action, SendChallenge), action
        self._record_challenge(action, first)
        for method, uri, delta, headers in requests:
            now += delta
            body = b"v=0\r\n" if method == "INVITE" else b""
            hs = [(n, self._substitute(v, method, body)) for n, v in headers]
            ev = RequestReceived(method, uri, hs, now, body, SOURCE)
            action = self.handle(ev)
            self.trace.append(_summary(action))
            if isinstance(action, SendChallenge):
                self._record_challenge(action, ev)
            elif isinstance(action, Accept):
                self._check_accept(ev, action, body)


def _summary(action: Any) -> tuple[Any, ...]:
    slots = [n for c in type(action).__mro__ for n in getattr(c, "__slots__", ())]
    return (type(action).__name__, *(getattr(action, n) for n in slots if n != "_ctx"))


def TestOneInput(data: bytes) -> None:
    number, requests = _parse(text(data))
    traces = []
    for core in (PURE, FAST):
        if core is None:
            continue
        with use_core(core):
            sc = Scenario(number, number in TWO_PHASE)
            sc.run(requests)
            traces.append(sc.trace)
    assert all(t == traces[0] for t in traces), f"twins differ:\n{traces}"


if __name__ == "__main__":
    run(TestOneInput)
