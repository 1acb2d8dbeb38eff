"""Fuzzing of ``Client.handle(ResponseReceived)`` with hostile challenges, on both twins.

Input: a small text script (UTF-8; undecodable bytes become lone surrogates)::

    @ 1                               policy number (optional first line)
    >>> REGISTER sip:example.com      the request (optional; this is the default)
    <<< 401                           a response to the latest request or retry
    WWW-Authenticate: Digest realm="example.com", nonce="abc", qop="auth"
    <<< 200
    Authentication-Info: rspauth="$RSPAUTH", qop=auth, nc=00000001, cnonce="$CNONCE"

``$RSPAUTH`` / ``$CNONCE`` / ``$NC`` stand for the right rspauth and the cnonce and nc of
the last credentials sent, so the mutual-authentication path is reached.

Oracles, for every response on both twins:
* ``handle`` returns Retry, Done, GiveUp or NeedCredentials and raises nothing (every
  host-side value here is valid, so not even LocalProtocolError may escape);
* the twins give identical actions;
* a Retry never sends a secret where it should not: each value parses as Digest
  credentials, has no CR/LF, answers a challenge of that response (same header kind,
  realm and nonce) for a realm the client has credentials for, with an algorithm the
  policy allows (never below the floor) and a response that an independent hashlib
  computation gives for the algorithm it is labelled with;
* ``Done(mutual=True)`` only when the rspauth is the right one.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Counter, cores, instrumented, ref_hash, ref_response, run, text, use_core

with instrumented(__name__, python_coverage=True):
    from sipdigest import (
        Client,
        ClientPolicy,
        Credential,
        CredentialsProvided,
        Done,
        GiveUp,
        NeedCredentials,
        RequestPrepared,
        ResponseReceived,
        Retry,
        get_algorithm,
        parse_credentials,
    )

PURE, FAST = cores()
REALM = "example.com"
ASKED = "asked.example"  # a realm the application gives credentials for when asked
_CTL = re.compile(r"[\x00-\x1f\x7f]")
_KINDS = {"www-authenticate": "authorization", "proxy-authenticate": "proxy-authorization"}


def _creds(number: int) -> list[Credential]:
    if number == 1:
        ha1 = {a: ref_hash(a, f"alice:{REALM}:wonderland".encode()) for a in ("MD5", "SHA-256")}
        return [Credential(REALM, "alice", ha1=ha1), Credential("other.example", "bob", "builder")]
    if number == 2:
        return [Credential(REALM, "ünï", "çødé")]
    return [Credential(REALM, "alice", "wonderland")]


POLICIES: list[dict[str, Any]] = [
    {},
    dict(algorithm_floor="SHA-256", require_rspauth=True, algorithms=("SHA-256", "SHA-256-sess",
         "SHA-512-256", "MD5")),
    dict(quirks=frozenset({"algorithm_aliases"}), prefer_auth_int=True,
         stale_without_flag=False, ask_for_credentials=False, max_retries=2),
]  # fmt: skip
PASSWORDS = {("alice", REALM): "wonderland", ("bob", "other.example"): "builder",
             ("ünï", REALM): "çødé", ("carol", ASKED): "secret"}  # fmt: skip


def _parse(script: str) -> tuple[int, str, str, list[tuple[int, list[tuple[str, str]]]]]:
    lines = script.split("\n")
    number = 0
    if lines and lines[0].startswith("@"):
        digits = "".join(c for c in lines.pop(0) if c in "0123456789")[:3]
        number = int(digits or 0) % len(POLICIES)
    method, uri = "REGISTER", "sip:example.com"
    responses: list[tuple[int, list[tuple[str, str]]]] = []
    for line in lines[:64]:
        line = line.removesuffix("\r")
        if line.startswith(">>>") and not responses:
            parts = line[3:].split()
            if parts and parts[0].isascii() and parts[0].isalpha():
                method = parts[0].upper()
            if len(parts) > 1 and parts[1].isprintable():
                uri = parts[1]
        elif line.startswith("<<<"):
            digits = "".join(c for c in line[3:] if c in "0123456789")[:3]
            responses.append((int(digits or 401), []))
        elif responses and ":" in line:
            name, _, value = line.partition(":")
            responses[-1][1].append((name.strip(), value.strip(" \t")))
    return number, method, uri, responses[:8]


class Scenario:
    def __init__(self, number: int) -> None:
        self.policy = ClientPolicy(**POLICIES[number])
        self.client = Client(_creds(number), self.policy, entropy=Counter())
        self.users = {cred.realm: cred.username for cred in _creds(number)}
        self.users[ASKED] = "carol"
        self.realms = set(self.users) - {ASKED}  # realms with credentials (ASKED: once given)
        self.sent: set[tuple[str, str, str]] = set()  # (header, realm, nonce) sent before
        self.trace: list[tuple[Any, ...]] = []
        self.last: dict[str, str] | None = None  # the last Authorization sent (parsed)

    def _check_retry(self, action: Retry, headers: list[tuple[str, str]], req: Any) -> None:
        challenges: dict[str, set[tuple[str, str]]] = {}
        for name, value in headers:
            kind = _KINDS.get(name.lower())
            if kind is None:
                continue
            try:
                items = PURE.tokenize(value, 8192, 64)
            except Exception:  # noqa: S112 - the client skips it too
                continue
            for scheme, _, p in items:
                if scheme.lower() == "digest" and "realm" in p and "nonce" in p:
                    challenges.setdefault(kind, set()).add((p["realm"], p["nonce"]))
        floor = self.policy.algorithm_floor
        for name, value in action.headers:
            assert name.lower() in ("authorization", "proxy-authorization"), name
            assert not _CTL.search(value), ("control character in a value sent", value)
            creds = parse_credentials(value)
            assert creds.realm in self.realms, ("secret sent to a realm without credentials", value)
            lname = name.lower()
            assert (creds.realm, creds.nonce) in challenges.get(lname, set()) or (
                (lname, creds.realm, creds.nonce) in self.sent
            ), ("credentials answer no challenge of this response", value, headers)
            self.sent.add((lname, creds.realm, creds.nonce))
            alg = get_algorithm(creds.algorithm)
            if floor is not None:
                assert alg.strength >= get_algorithm(floor).strength, ("below the floor", value)
            user = creds.username
            if creds.userhash:
                user = self.users[creds.realm]
                assert creds.username == ref_hash(alg.token, f"{user}:{creds.realm}".encode())
            assert user == self.users[creds.realm], ("another user's name sent", value)
            right = ref_response(
                algorithm=alg.token, username=user, realm=creds.realm,
                password=PASSWORDS[(user, creds.realm)], method=req.method, uri=req.uri,
                nonce=creds.nonce, nc=creds.nc, cnonce=creds.cnonce, qop=creds.qop, body=req.body,
            )  # fmt: skip
            assert creds.response == right, ("response not for the algorithm labelled", value)
            if name.lower() == "authorization":
                self.last = {"nonce": creds.nonce, "nc": creds.nc or "", "cnonce":
                             creds.cnonce or "", "qop": creds.qop or "", "uri": creds.uri,
                             "algorithm": alg.token, "user": user, "realm": creds.realm}  # fmt: skip

    def _rspauth(self, req: Any) -> str:
        last = self.last
        if last is None:
            return "0" * 32
        return ref_response(
            algorithm=last["algorithm"], username=last["user"], realm=last["realm"],
            password=PASSWORDS[(last["user"], last["realm"])], method="", uri=last["uri"],
            nonce=last["nonce"], nc=last["nc"], cnonce=last["cnonce"], qop=last["qop"] or None,
            body=req.body,
        ) or "0" * 32  # fmt: skip

    def run(self, method: str, uri: str, responses: list[tuple[int, list[tuple[str, str]]]]) -> None:
        body = b"v=0\r\n" if method == "INVITE" else b""
        cseq = 1
        req = RequestPrepared(method, uri, "call-1@example.com", cseq, body)
        self.trace.append(("attach", self.client.handle(req).headers))
        for status, headers in responses:
            subst = []
            for n, v in headers:
                if self.last is not None:
                    v = v.replace("$RSPAUTH", self._rspauth(req))
                    v = v.replace("$CNONCE", self.last["cnonce"]).replace("$NC", self.last["nc"])
                subst.append((n, v))
            action = self.client.handle(ResponseReceived(status, subst, req))
            if isinstance(action, NeedCredentials):
                assert action.realms, action
                self.trace.append(_summary(action))
                if ASKED not in action.realms:
                    return
                self.realms.add(ASKED)
                action = self.client.handle(CredentialsProvided(ASKED, "carol", "secret"))
            assert isinstance(action, (Retry, Done, GiveUp, NeedCredentials)), action
            self.trace.append(_summary(action))
            if isinstance(action, Retry):
                self._check_retry(action, subst, req)
                cseq += 1
                req = RequestPrepared(method, uri, "call-1@example.com", cseq, body)
            elif isinstance(action, Done):
                if action.mutual:
                    info = [v for n, v in subst if n.lower() == "authentication-info"]
                    assert info, action
                    got = PURE.tokenize_params(info[0], 8192, 64).get("rspauth")
                    assert got == self._rspauth(req), ("wrong rspauth taken as mutual", info)
                if status >= 200:
                    return
            else:
                return


def _summary(action: Any) -> tuple[Any, ...]:
    slots = [n for c in type(action).__mro__ for n in getattr(c, "__slots__", ())]
    return (type(action).__name__, *(getattr(action, n) for n in slots))


def TestOneInput(data: bytes) -> None:
    number, method, uri, responses = _parse(text(data))
    traces = []
    for core in (PURE, FAST):
        if core is None:
            continue
        with use_core(core):
            sc = Scenario(number)
            sc.run(method, uri, responses)
            traces.append(sc.trace)
    assert all(t == traces[0] for t in traces), f"twins differ:\n{traces}"


if __name__ == "__main__":
    run(TestOneInput)
