"""The client machine: a UA, a B2BUA leg or a test tool answering digest challenges.

Sans-IO: the host reports events and gets one action back from :meth:`Client.handle`.

- ``RequestPrepared`` (a new request, not a retry) -> ``AttachCredentials``: the cached
  nonce of every realm that challenged before, reused with nc+1 (preemptive); the
  INVITE's exact values for the ACK of a 2xx; nothing for CANCEL.
- ``ResponseReceived`` -> ``Retry`` / ``Done`` / ``GiveUp`` / ``NeedCredentials``.
- ``CredentialsProvided`` -> ``Retry`` (or ``NeedCredentials`` for realms still
  missing, or ``GiveUp``).

A 401 or 407 is answered in ONE retry: per (header kind, realm) the topmost challenge
the policy and the credential can answer (RFC 8760 §2.4: the server's order decides),
one credentials value per realm, WWW-Authenticate in Authorization and
Proxy-Authenticate in Proxy-Authorization, whichever status carried them (RFC 3261
§16.7 lets a forking proxy aggregate both). Every challenged realm must be answered
for the request to pass, so a realm without credentials stops the retry: the client
asks (``NeedCredentials``) or gives up, and never sends anything anywhere meanwhile.

Failure state lives per request, keyed by (Call-ID, method): the retry carries the
same Call-ID and method and a new CSeq (RFC 3261 §22.2), so the key survives it, and
a challenge on one request (a SUBSCRIBE) never marks another's (a REGISTER's)
credentials wrong (jitsi#665). Within a request it is per realm: credentials sent in
answer to a challenge and challenged again without ``stale=true`` are refused, except
that a *new* nonce counts as stale once (Q1, ``stale_without_flag``). A refused
credential is remembered per realm and not sent again until the application provides
another one. Preemptively sent credentials that draw a challenge are not a failure
(the nonce may have expired: Metaswitch/sprout#1217).

The host sends a ``Retry`` with its headers and hands in the response with
``request`` describing the retry; it does not report the retry as ``RequestPrepared``
(if it does, while the retry is outstanding, the Retry's headers come back unchanged).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from typing import Any, Callable, Iterable, Optional, Union, overload

from . import _impl
from ._client_state import (
    HEADER_NAMES,
    KIND_WWW,
    Chain,
    Choice,
    Chooser,
    CnonceSource,
    FirstAnswer,
    Group,
    NonceEntry,
    Params,
    Sent,
    chain_of,
    check_info,
    check_request,
    identity,
    read_challenges,
    true_param,
)
from .actions import AttachCredentials, Done, GiveUp, NeedCredentials, Reason, Retry
from .credentials import Credential, CredentialSet
from .digest import Algorithm
from .errors import LocalProtocolError
from .events import CredentialsProvided, RequestPrepared, ResponseReceived
from .headers import MAX_HEADER_LENGTH, MAX_PARAMS
from .policy import ClientPolicy

__all__ = ["Client"]

Action = Union[AttachCredentials, Retry, NeedCredentials, Done, GiveUp]
Header = tuple[str, str]

_SECRETS_CACHE_SIZE = 256
_NONE = _impl.QOP_NONE
_new = object.__new__
# nc text: formatting an int costs ~2,000 instructions, two look-ups and a join ~150, so
# counts below 0x10000 are spelled from tables (the high six digits, the low two)
_NC_TEXT = tuple(f"{n:08x}" for n in range(256))
_NC_HIGH = tuple(f"{n:06x}" for n in range(256))
_HEX2 = tuple(f"{n:02x}" for n in range(256))


def _evict(table: OrderedDict[Any, Any], size: int) -> None:
    while len(table) > size:
        table.popitem(last=False)


class Client:
    """One client machine for any number of concurrent requests.

    ``credentials`` may be a :class:`CredentialSet`, which the client keeps (the host may
    add to it later) and extends with what ``CredentialsProvided`` brings.
    ``entropy(n)`` returns n random bytes; the cnonces come from it.
    """

    def __init__(
        self,
        credentials: Union[Iterable[Credential], CredentialSet],
        policy: ClientPolicy = ClientPolicy(),  # noqa: B008 - frozen, never mutated
        entropy: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if not isinstance(policy, ClientPolicy):
            raise LocalProtocolError("policy must be a ClientPolicy")
        self.credentials = (
            credentials if isinstance(credentials, CredentialSet) else CredentialSet(credentials)
        )
        self.policy = policy
        self._chooser = Chooser(policy)
        self._judged = self._chooser.judged
        self._memory = policy.request_memory
        self._nonces: OrderedDict[Group, NonceEntry] = OrderedDict()
        # (Call-ID, method) -> its Chain, or the FirstAnswer handle's first retry stored (read
        # through _chain or chain_of, which make the Chain)
        self._chains: OrderedDict[tuple[str, str], Union[Chain, FirstAnswer]] = OrderedDict()
        self._acks: OrderedDict[tuple[str, int], tuple[Header, ...]] = OrderedDict()
        self._refused: dict[str, Credential] = {}  # realm -> the credential refused there
        # (credential, realm, hash id, userhash) -> (HA1, rendered username parameter)
        self._secrets: dict[tuple[Credential, str, int, bool], tuple[str, str]] = {}
        self._cnonces = CnonceSource(entropy, policy.cnonce_length)
        self._new_cnonce: Callable[[], str] = self._cnonces.take  # IndexError when dry
        # bound now: the twin chosen when the client is made
        self._render = _impl.render_answer
        self._plain = _impl.plain_challenge
        self._ha1_sess = _impl.ha1_sess
        self._printable_uri = ""  # the last Request-URI found printable (checked once)

    # ---- dispatch -----------------------------------------------------------------------

    @overload
    def handle(self, event: RequestPrepared) -> AttachCredentials: ...
    @overload
    def handle(self, event: ResponseReceived) -> Union[Retry, Done, GiveUp, NeedCredentials]: ...
    @overload
    def handle(self, event: CredentialsProvided) -> Union[Retry, GiveUp, NeedCredentials]: ...

    def handle(
        self, event: Union[RequestPrepared, ResponseReceived, CredentialsProvided]
    ) -> Action:
        """Turn one event into one action. Raises only :class:`LocalProtocolError`."""
        if type(event) is not ResponseReceived:
            if isinstance(event, ResponseReceived):
                return self._on_response(event)
            if type(event) is RequestPrepared or isinstance(event, RequestPrepared):
                return self._on_request(event)
            if isinstance(event, CredentialsProvided):
                return self._on_provided(event)
            raise LocalProtocolError(f"a Client does not handle {type(event).__name__}")
        # The hot path, in this one frame: a first 401/407 of a request (no chain yet),
        # with host values of the exact types, one plain challenge (read by the
        # plain_challenge twin), a realm we hold an unrefused credential for, answerable
        # as is. With no chain yet there is no failure state, no retry count and no
        # other realm to carry over, so this is _on_challenge and _retry for one pick,
        # minus the lists and dicts. Anything else, or any doubt, goes the general way
        # (_on_response, which then does every check and says why), before any state
        # has changed.
        req = event.request
        status = event.status
        if (status != 401 and status != 407) or type(req) is not RequestPrepared:
            return self._on_response(event)
        method = req.method
        uri = req.uri
        if not (
            type(method) is str
            and type(uri) is str
            and type(req.body) is bytes
            and (uri == self._printable_uri or self._printable(uri))
            and method != "ACK"
            and method != "CANCEL"
        ):
            return self._on_response(event)
        key = (req.call_id, method)
        if key in self._chains:
            return self._on_response(event)
        plain = self._plain(event.headers, MAX_HEADER_LENGTH, MAX_PARAMS)
        if plain is None:
            return self._on_response(event)
        kind, realm, nonce, label, offered, opaque, userhash = plain
        creds = self.credentials
        # CredentialSet.for_realm without its frame (a subclass's own is called)
        cred = creds._by_realm.get(realm) if type(creds) is CredentialSet else None
        if cred is None:
            cred = creds.for_realm(realm)
            if cred is None:
                return self._on_response(event)
        if self._refused and self._refused.get(realm) is cred:
            return self._on_response(event)
        found = self._judged.get((label, offered, cred))
        if found is None:
            found = self._chooser.judge_cached(label, offered, cred)
            if found is None:
                return self._on_response(event)
        alg, qop, quirks = found
        if qop is None:
            return self._on_response(event)  # RFC 2069 form: rare, _retry answers it
        group = (kind, realm)
        nonces = self._nonces
        entry = nonces.get(group)
        if entry is None or entry.nonce != nonce or entry.alg is not alg or entry.qop != qop:
            label = None if label is None else alg.token
            entry = NonceEntry(realm, nonce, alg, label, qop, opaque, true_param(userhash), quirks)
            nonces[group] = entry
            if len(nonces) > self.policy.nonce_cache_size:
                nonces.popitem(last=False)
        else:
            nonces.move_to_end(group)  # the same nonce again: nc keeps counting
        # _answer, inlined for the qop case (tests hold both byte-identical)
        if entry.owner is not cred:
            self._own(entry, cred)
        ha1 = entry.ha1
        # _count, inlined
        n = entry.nc = entry.nc + 1
        try:
            cnonce = self._new_cnonce()
        except IndexError:
            cnonce = self._cnonces.refill()
        if n < 256:
            nc = _NC_TEXT[n]
        elif n < 0x10000:
            nc = _NC_HIGH[n >> 8] + _HEX2[n & 0xFF]
        else:
            nc = f"{n:08x}"
        hash_id = entry.hash_id
        if alg.sess:
            ha1 = self._ha1_sess(hash_id, ha1, nonce, cnonce)
        code = entry.qop_code
        value = self._render(
            hash_id, ha1, method, uri, nonce, nc, cnonce, code, req.body,
            entry.start, entry.mid, entry.tail, entry.end,
        )  # fmt: skip
        headers = ((HEADER_NAMES[kind], value),)
        chains = self._chains
        # the Chain(req.cseq, {group: sent}, headers, 1, True) this stands for is made
        # when something reads it (chain_of); most are evicted unread
        chains[key] = (
            req.cseq, group, cred, nonce, hash_id, ha1, uri, nc, cnonce, code, headers, quirks,
        )  # fmt: skip
        if len(chains) > self._memory:
            chains.popitem(last=False)
        retry = _new(Retry)  # Retry(headers) without the Python __init__ frame
        retry.headers = headers
        return retry


    def _printable(self, uri: str) -> bool:
        """``uri.isprintable()``, remembering the last printable one (a str, immutable)."""
        if uri.isprintable():
            self._printable_uri = uri
            return True
        return False

    # ---- RequestPrepared --------------------------------------------------------------

    def _on_request(self, req: RequestPrepared) -> AttachCredentials:
        method = req.method
        if method == "ACK":
            # RFC 3261 §22.1: "UACs creating an ACK message will duplicate all of the
            # Authorization and Proxy-Authorization header field values that appeared in
            # the INVITE to which the ACK corresponds." (and §13.2.2.4)
            return AttachCredentials(self._acks.get((req.call_id, req.cseq), ()))
        if method == "CANCEL":
            # RFC 3261 §9.1 lists what a CANCEL copies from the request it cancels
            # (Request-URI, Call-ID, To, From, CSeq number, Via, Route): no credentials.
            # §22.1: servers "MUST NOT attempt to challenge CANCEL requests since these
            # requests cannot be resubmitted" and accept them from the same hop.
            return AttachCredentials(())
        key = (req.call_id, method)
        chain = self._chain(key)
        if chain is not None and chain.awaiting and req.cseq > chain.cseq:
            return AttachCredentials(chain.headers)  # the host reported the retry itself
        headers: list[Header] = []
        sent: dict[Group, Sent] = {}
        quirks: set[str] = set()
        if self._nonces:
            check_request(req)
            for group in list(self._nonces):
                self._reuse(group, req, headers, sent, quirks)
        self._chains.pop(key, None)  # a new request starts a new chain
        if not headers:
            return AttachCredentials(())
        chain = self._new_chain(key, req.cseq, sent, tuple(headers))
        if quirks:
            chain.add_quirks(quirks)
        return AttachCredentials(chain.headers)

    def _reuse(
        self,
        group: Group,
        req: RequestPrepared,
        headers: list[Header],
        sent: dict[Group, Sent],
        quirks: set[str],
    ) -> None:
        """Preemptive credentials for a cached nonce (nc+1), when still usable."""
        entry = self._nonces[group]
        cred = self._credential(entry.realm)
        if cred is None or not self._chooser.can_answer(cred, entry.alg) or entry.nc >= 0xFFFFFFFF:
            return
        quirks.update(entry.quirks)
        headers.append(self._answer(group, cred, entry, req, sent, True))

    # ---- ResponseReceived -------------------------------------------------------------

    def _on_response(self, ev: ResponseReceived) -> Union[Retry, Done, GiveUp, NeedCredentials]:
        status = ev.status
        req = ev.request
        if type(req) is not RequestPrepared and not isinstance(req, RequestPrepared):
            raise LocalProtocolError("ResponseReceived.request must be the request it answers")
        method = req.method
        if status == 401 or status == 407:
            if method == "ACK" or method == "CANCEL":
                # RFC 3261 §22.1: ACK and CANCEL are never challenged and cannot be resubmitted
                return GiveUp(Reason.NOT_RETRIED, detail=f"{method} is never retried")
            uri = req.uri
            if (
                type(uri) is not str
                or type(method) is not str
                or not uri.isprintable()
                or type(req.body) is not bytes
            ):
                check_request(req)
            key = (req.call_id, method)
            chain = self._chain(key)  # made only when a Retry or a question needs it
            if chain is not None:
                self._chains.move_to_end(key)
                chain.awaiting = False
                chain.cseq = req.cseq
            return self._on_challenge(chain, key, ev)
        if type(status) is not int:
            raise LocalProtocolError("status must be an int")
        if status < 200:
            return Done(status)
        found = self._chains.pop((req.call_id, method), None)
        if found is None:
            return Done(status)
        chain = chain_of(found)
        if status < 300:
            return self._on_success(chain, ev)
        if status == 403:
            # Metaswitch/sprout#1217: a reused nonce may be refused with 403 instead of a
            # fresh challenge; forget the nonces used preemptively so the next request
            # starts with a challenge.
            for group, s in chain.sent.items():
                if s[8]:
                    self._nonces.pop(group, None)
        return Done(status, quirks=chain.quirks)

    def _on_success(self, chain: Chain, ev: ResponseReceived) -> Union[Done, GiveUp]:
        req = ev.request
        if req.method == "INVITE" and chain.headers:
            self._acks[(req.call_id, req.cseq)] = chain.headers
            _evict(self._acks, self._memory)
        www = [(g, s) for g, s in chain.sent.items() if g[0] == KIND_WWW]
        if not www:  # no Authorization sent: nothing the UAS could prove
            return Done(ev.status, quirks=chain.quirks)
        info = None
        for name, value in ev.headers:
            if len(name) == 19 and name.lower() == "authentication-info":
                if type(value) is not str:
                    raise LocalProtocolError("header values must be str")
                info = value
                break
        outcome, detail = "absent", "the 2xx carries no Authentication-Info rspauth"
        if info is not None:
            # auth-int: the request's body, as the server hashes it (RFC 2617 §3.2.3)
            outcome, detail, matched, nextnonce = check_info(www, info, ev.request.body)
            entry = None if matched is None else self._nonces.get(matched)
            if matched is not None and entry is not None and nextnonce is not None:
                self._nonces[matched] = entry.renewed(nextnonce)  # RFC 7616 §3.5
        if outcome != "match" and self.policy.require_rspauth:
            return GiveUp(Reason.RSPAUTH_MISMATCH, realm=www[0][0][1], detail=detail)
        if outcome == "mismatch":
            chain.add_quirks(("rspauth_mismatch",))  # visible in Done, fatal only if required
        return Done(ev.status, mutual=outcome == "match", quirks=chain.quirks)

    # ---- challenges -------------------------------------------------------------------

    def _on_challenge(
        self, chain: Optional[Chain], key: tuple[str, str], ev: ResponseReceived
    ) -> Union[Retry, GiveUp, NeedCredentials]:
        groups, errors, others = read_challenges(ev.headers)
        if not groups:
            self._chains.pop(key, None)
            if errors:
                return GiveUp(Reason.MALFORMED, detail="; ".join(errors))
            offered = ", ".join(others) if others else "no challenge"
            return GiveUp(
                Reason.NO_SUPPORTED_CHALLENGE,
                detail=f"{offered} offered; only Digest is answered (never Basic)",
            )
        picks: list[tuple[Group, Credential, Choice]] = []
        missing: list[str] = []
        assumed: list[Group] = []
        for_realm = self.credentials.for_realm
        refused = self._refused
        for group, plist in groups.items():
            realm = group[1]
            cred = for_realm(realm)
            if refused and cred is not None and refused.get(realm) is cred:
                cred = None  # refused here: never sent again until replaced
            found = self._chooser.pick(plist, cred)
            if isinstance(found, str):  # nothing the policy (or this credential's HA1s) can answer
                self._chains.pop(key, None)
                return GiveUp(Reason.NO_SUPPORTED_CHALLENGE, realm=realm, detail=found)
            if cred is None:
                missing.append(realm)
                continue
            prev = None if chain is None else chain.sent.get(group)
            if prev is not None and prev[0] is cred and not prev[8]:
                # credentials we sent in answer to a challenge are challenged again
                assert chain is not None
                if not true_param(found[0].get("stale")):
                    new_nonce = all(p["nonce"] != prev[1] for p in plist)
                    once = self.policy.stale_without_flag and group not in chain.assumed_stale
                    if not (new_nonce and once):
                        return self._refuse(key, group, cred)
                    assumed.append(group)  # Q1: a registrar that omits stale=true
            picks.append((group, cred, found))
        if chain is not None and chain.retries >= self.policy.max_retries:
            self._chains.pop(key, None)
            return GiveUp(
                Reason.TOO_MANY_RETRIES,
                realm=picks[0][0][1] if picks else None,
                detail=f"{chain.retries} retries already sent for this request",
            )
        if missing:
            if self.policy.ask_for_credentials:
                if chain is None:
                    chain = self._new_chain(key, ev.request.cseq)
                chain.pending = ev
                chain.missing = tuple(missing)
                return NeedCredentials(chain.missing)
            self._chains.pop(key, None)
            return GiveUp(
                Reason.NO_CREDENTIALS_FOR_REALM,
                realm=missing[0],
                detail=f"no credentials for realm {', '.join(missing)}",
            )
        return self._retry(chain, key, groups, picks, assumed, ev.request)

    def _retry(
        self,
        chain: Optional[Chain],
        key: tuple[str, str],
        groups: dict[Group, list[Params]],
        picks: list[tuple[Group, Credential, Choice]],
        assumed: list[Group],
        req: RequestPrepared,
    ) -> Retry:
        headers: list[Header] = []
        sent: dict[Group, Sent] = {}
        used: Optional[set[str]] = None  # quirks needed
        nonces = self._nonces
        for group, cred, (params, alg, qop, quirks) in picks:
            nonce = params["nonce"]
            entry = nonces.get(group)
            if entry is None or entry.nonce != nonce or entry.alg is not alg or entry.qop != qop:
                label = None if params.get("algorithm") is None else alg.token
                opaque = params.get("opaque")
                userhash = true_param(params.get("userhash"))
                entry = NonceEntry(group[1], nonce, alg, label, qop, opaque, userhash, quirks)
                nonces[group] = entry
                if len(nonces) > self.policy.nonce_cache_size:
                    nonces.popitem(last=False)
            else:
                nonces.move_to_end(group)  # the same nonce again: nc keeps counting
            if quirks:
                used = set(quirks) if used is None else used.union(quirks)
            headers.append(self._answer(group, cred, entry, req, sent, False))
        if chain is not None and chain.sent:
            # Realms answered before and not challenged now still need their credentials
            # (a proxy that accepted ours stays on the path): reuse their nonce, nc+1.
            used = used or set()
            for group in chain.sent:
                if group not in groups and group in nonces:
                    self._reuse(group, req, headers, sent, used)
        if chain is None:
            chain = self._new_chain(key, req.cseq, sent, tuple(headers))
        else:
            chain.sent = sent
            chain.headers = tuple(headers)
            chain.pending = None
        if assumed:
            chain.assumed_stale += tuple(assumed)
            used = (used or set()) | {"stale_without_flag"}
        chain.retries += 1
        chain.awaiting = True
        if used:
            chain.add_quirks(used)
        return Retry(chain.headers)

    def _new_chain(
        self,
        key: tuple[str, str],
        cseq: int,
        sent: Optional[dict[Group, Sent]] = None,
        headers: tuple[Header, ...] = (),
    ) -> Chain:
        chains = self._chains
        chain = chains[key] = Chain(cseq, {} if sent is None else sent, headers)
        if len(chains) > self._memory:
            chains.popitem(last=False)
        return chain

    def _chain(self, key: tuple[str, str]) -> Optional[Chain]:
        """The chain of ``key``, a stored FirstAnswer made into its Chain (in its place)."""
        found = self._chains.get(key)
        if found is None or isinstance(found, Chain):
            return found
        chain = self._chains[key] = chain_of(found)
        return chain

    def _refuse(self, key: tuple[str, str], group: Group, cred: Credential) -> GiveUp:
        realm = group[1]
        self._refused[realm] = cred
        if len(self._refused) > self._memory:
            self._refused.pop(next(iter(self._refused)))
        self._nonces.pop(group, None)
        self._chains.pop(key, None)
        return GiveUp(
            Reason.CREDENTIALS_REFUSED, realm=realm, detail=f"credentials for realm {realm} refused"
        )

    # ---- CredentialsProvided ----------------------------------------------------------

    def _on_provided(self, ev: CredentialsProvided) -> Union[Retry, GiveUp, NeedCredentials]:
        for key in reversed(self._chains):
            chain = self._chains[key]
            # a FirstAnswer waits for no credentials
            if isinstance(chain, Chain) and chain.pending is not None and ev.realm in chain.missing:
                break
        else:
            raise LocalProtocolError(
                f"CredentialsProvided for realm {ev.realm!r}, but no NeedCredentials asked for it"
            )
        self.credentials.add(Credential(ev.realm, ev.username, ev.password, ev.ha1))
        self._refused.pop(ev.realm, None)
        pending = chain.pending
        assert isinstance(pending, ResponseReceived)
        chain.pending = None
        chain.missing = ()
        return self._on_challenge(chain, key, pending)

    # ---- computing ----------------------------------------------------------------------

    def _credential(self, realm: str) -> Optional[Credential]:
        """The credential for ``realm`` unless it was refused there (never a guess)."""
        cred = self.credentials.for_realm(realm)
        if cred is not None and self._refused.get(realm) is cred:
            return None
        return cred

    def _answer(
        self,
        group: Group,
        cred: Credential,
        entry: NonceEntry,
        req: RequestPrepared,
        sent: dict[Group, Sent],
        preemptive: bool,
    ) -> Header:
        """One credentials value for ``entry`` (nc+1, a fresh cnonce) as a header pair."""
        if entry.owner is not cred:
            self._own(entry, cred)
        ha1 = entry.ha1
        uri = req.uri
        nonce = entry.nonce
        hash_id = entry.hash_id
        if entry.qop is None:
            # RFC 2069 form: no qop, so no nc and no cnonce (RFC 7616 §3.4.1)
            value = self._render(
                hash_id, ha1, req.method, uri, nonce, "", "", _NONE, req.body,
                entry.start, "", "", entry.end,
            )  # fmt: skip
            sent[group] = (cred, nonce, hash_id, ha1, uri, "", "", _NONE, preemptive)
            return HEADER_NAMES[group[0]], value
        nc, cnonce = self._count(entry)
        if entry.alg.sess:
            ha1 = self._ha1_sess(hash_id, ha1, nonce, cnonce)
        code = entry.qop_code
        value = self._render(
            hash_id, ha1, req.method, uri, nonce, nc, cnonce, code, req.body,
            entry.start, entry.mid, entry.tail, entry.end,
        )  # fmt: skip
        sent[group] = (cred, nonce, hash_id, ha1, uri, nc, cnonce, code, preemptive)
        return HEADER_NAMES[group[0]], value

    def _count(self, entry: NonceEntry) -> tuple[str, str]:
        """The next nonce-count of ``entry`` (8 hex digits) and a fresh cnonce."""
        n = entry.nc = entry.nc + 1
        try:
            cnonce = self._new_cnonce()
        except IndexError:  # the batch of cnonces drawn from the entropy is used up
            cnonce = self._cnonces.refill()
        if n < 256:
            return _NC_TEXT[n], cnonce
        if n < 0x10000:
            return _NC_HIGH[n >> 8] + _HEX2[n & 0xFF], cnonce
        return f"{n:08x}", cnonce

    def _own(self, entry: NonceEntry, cred: Credential) -> None:
        """Give ``entry`` the HA1 and the rendered start ("Digest username=...") of ``cred``."""
        ha1, ident = self._secret(cred, entry.realm, entry.alg, entry.userhash)
        entry.ha1 = ha1
        entry.start = f"Digest {ident}{entry.head}"
        entry.owner = cred

    def _secret(
        self, cred: Credential, realm: str, alg: Algorithm, userhash: bool
    ) -> tuple[str, str]:
        """The HA1 (stored, or computed once from the password) and the username part."""
        found = self._secrets.get((cred, realm, alg.hash_id, userhash))
        if found is not None:
            return found
        ha1 = cred.ha1_for(alg)
        if ha1 is None:
            password = cred.password
            assert password is not None  # can_answer() held
            ha1 = _impl.ha1(alg.hash_id, cred.username, realm, password)
        found = (ha1, identity(cred.username, realm, alg if userhash else None))
        if len(self._secrets) >= _SECRETS_CACHE_SIZE:
            self._secrets.clear()
        self._secrets[(cred, realm, alg.hash_id, userhash)] = found
        return found
