"""The server machine: ``Server(policy).handle(event) -> action`` (RFC 3261 §22, RFC 7616).

Strategy. A request is read once, in a fixed order that decides which outcome wins:
find our credentials (§22.3: every Authorization/Proxy-Authorization value is scanned
for this realm; the others are left alone) -> algorithm known -> nonce genuine (a MAC,
see ``nonce.py``) -> algorithm and qop are the ones the nonce was issued for -> digest-uri
-> look the user up (two-phase, or the synchronous ``lookup`` callable) -> response
(constant time) -> only then expiry (RFC 7616 §3.3: stale=true only when the digest
was right) -> replay window (``replay.py``, recorded only after the digest verified)
-> Accept. Challenging stores nothing, so a flood of unauthenticated requests costs
no memory. Failures that a client can fix get a fresh challenge; the rest get a Reject.

The hot path avoids per-request Python work: everything the policy decides is
precomputed in ``__init__``; one twin call (``find_credentials``) finds the first
credentials header and reads its plain shape into a fixed tuple (``scan_credentials``:
no dict, no name strings), and anything unusual goes through the tokenizer exactly as
before (``_search``), so every error and reason is unchanged; the look-up state rides
in one tuple in ``LookupCredentials._ctx``; a nonce whose digest verified once keeps
its decoded payload in a bounded memo (``nonce_cache``: a reused nonce skips the MAC,
and nothing enters it before a digest verified); the replay table is C arrays
(``replay.py``); a challenge's headers are minted and assembled in one twin call
(``mint_challenges``) from per-realm templates, with random ids drawn from ``entropy``
64 at a time. The core never logs; ``counters()`` is the monitoring surface.

Choices where the RFCs are silent (each also noted where it is made):
- Several values for our realm: the first one is used (a client sends one per realm).
  A value that cannot be tokenized is skipped, and is a 400 only when no value for our
  realm is found; Basic (never accepted) then wins: a Digest challenge, BASIC_REFUSED.
- Unknown user, wrong password, and a user without an HA1 for the algorithm chosen all
  cost one digest computation and give the same wire shape (UNKNOWN_USER,
  WRONG_RESPONSE, UNSUPPORTED_ALGORITHM differ only in ``reason``).
- ``opaque``: strict when the policy sets one (missing or different -> 400); ignored
  when it does not. ``userhash=true`` that was not offered -> 400.
- A nonce issued for another realm (multi-domain host) -> BINDING_MISMATCH challenge.
- A repeated, too old or evicted nonce-count, and a second use in one-time mode, are
  all REPLAY with stale=true (the client retries with the fresh nonce at no cost).
  A ``replay_window`` above 4096 counts is used as 4096 (older counts are refused).
- With a password, the HA1 is computed over the realm string the client sent (what it
  hashed: matters with the ``realm_prefix`` quirk); a stored HA1 is used as given.
- Authentication-Info: rspauth over the request's body for auth-int (RFC 2617
  §3.2.3); the proxy role names it Proxy-Authentication-Info (RFC 7615 §4).
- The ACK memory matches (realm, Call-ID, CSeq number, From tag) and the exact
  credentials value; it never consumes the entry (2xx ACKs are retransmitted).
"""

from __future__ import annotations

import math
import re
from typing import Callable, Mapping, Union

from . import _impl
from ._pure_server import _SMALL_NC  # the usual counts, without a regex
from ._state import ExpiringMemory, dialog_key
from .actions import (
    Accept,
    Action,
    CheckReplay,
    Exempt,
    LookupCredentials,
    Reason,
    Reject,
    SendChallenge,
)
from .digest import ALGORITHMS, SHA512_256, SHA512_256_SESS, Algorithm
from .errors import LocalProtocolError, MalformedHeader, RemoteProtocolError
from .events import CredentialsFound, CredentialsNotFound, ReplayChecked, RequestReceived
from .headers import MAX_HEADER_LENGTH, MAX_PARAMS, AuthenticationInfo, _decode_ext_value, _quote
from .nonce import (
    _PAYLOAD,
    ALGORITHM_CODE,
    ALGORITHM_CODES,
    BIND_CALL_ID,
    BIND_FROM_TAG,
    BIND_SOURCE,
    ID_LEN,
    PAYLOAD_LEN,
    POOL_SIZE,
    QOP_AUTH,
    QOP_AUTH_INT,
    VERSION,
    NonceBox,
    now_ms,
    qop_bits,
)
from .policy import ServerPolicy
from .replay import MemoryReplayStore, ReplayStore

__all__ = ["Server", "Lookup"]

Lookup = Callable[[LookupCredentials], Union[CredentialsFound, CredentialsNotFound]]

_QOP_NONE, _QOP_AUTH, _QOP_AUTH_INT = _impl.QOP_NONE, _impl.QOP_AUTH, _impl.QOP_AUTH_INT
_QOPS = {
    "auth": (_QOP_AUTH, QOP_AUTH, "auth"),
    "auth-int": (_QOP_AUTH_INT, QOP_AUTH_INT, "auth-int"),
}
# Header names that are certainly not ours, so most headers cost one set look-up.
_COMMON = frozenset(
    n
    for base in (
        "Via From To Call-ID CSeq Contact Max-Forwards Expires Content-Length Content-Type "
        "User-Agent Allow Supported Route Record-Route Require Accept Server Date Event Subject"
    ).split()
    for n in (base, base.lower(), base.upper())
)
_NC8 = re.compile(r"[0-9a-fA-F]{8}").fullmatch
_unpack = _PAYLOAD.unpack
_QTOK = (None, "auth", "auth-int")
_MAX_WINDOW = 4096  # by qop code
_Scanned = tuple[str, str, str, str, int, int, str, str, int, bool, Union[str, None]]


class _Tokens(dict):  # type: ignore[type-arg]
    """Algorithm token -> nonce code; any case (RFC 7616 §3.3 tokens), absent means MD5."""

    def __missing__(self, token: object) -> int | None:
        if type(token) is str and token.isascii():
            found = ALGORITHMS.get(token.upper())
            if found is not None:
                return ALGORITHM_CODE[found.token]
        return None


_ALGORITHM_TOKENS = _Tokens({None: ALGORITHM_CODE["MD5"]})
_ALGORITHM_TOKENS.update((a.token, ALGORITHM_CODE[a.token]) for a in ALGORITHMS.values())
_COUNTED = ("accept", "exempt", "challenge", "reject", "lookup", "check_replay")
_SERVER_REASONS = (
    Reason.NO_CREDENTIALS, Reason.REALM_MISMATCH, Reason.BASIC_REFUSED, Reason.UNSUPPORTED_ALGORITHM,
    Reason.FORGED_NONCE, Reason.STALE, Reason.WRONG_RESPONSE, Reason.UNKNOWN_USER, Reason.REPLAY,
    Reason.DOWNGRADE, Reason.BINDING_MISMATCH, Reason.URI_MISMATCH, Reason.MALFORMED,
)  # fmt: skip
_FAILED = "authentication failed"  # one detail for wrong password and unknown user
_BASE_TOKEN = {a.token: a.token.removesuffix("-sess") for a in ALGORITHM_CODES}
_HEX = frozenset("0123456789abcdefABCDEF")
# an Enum member read from its class costs more than the rest of a handle() line
_NO_CREDENTIALS = Reason.NO_CREDENTIALS


def _window(policy: ServerPolicy) -> int:
    """The nonce-count window, at most 4096 counts: wider would cost the replay table
    512 bytes a nonce for reordering no transport produces (older counts are refused)."""
    return min(policy.replay_window, _MAX_WINDOW)


def _uri_key(uri: str) -> str:
    """A URI without parameters or headers, scheme and host in lower case ("loose")."""
    scheme, colon, rest = uri.strip().partition(":")
    if not colon:
        return uri.strip().lower()
    rest = rest.split("?", 1)[0]
    user, at, host = rest.rpartition("@")
    return f"{scheme.lower()}:{user}{at}{host.split(';', 1)[0].lower()}"


class Server:
    """One Sans-IO Digest server (registrar/UAS role: 401; proxy role: 407).

    ``lookup``, when given, answers ``LookupCredentials`` synchronously so that
    ``handle(RequestReceived)`` returns the final action directly. ``entropy(n)`` gives
    random bytes (default ``secrets.token_bytes``); ``replay_store`` replaces the
    in-memory nonce-count store.
    """

    __slots__ = tuple(
        """
        _acks _algs _auth_info _bind _box _ch_name _counts _exempt _external _memo
        _info_name _lname _lookup _memo_get _names _nextnonce _offered _offered_codes _opaque _passwords _phrase _policy
        _prefix _q_decimal _q_ha1b _q_noqop _q_prefix _q_trunc _q_upper _qbits _realm
        _record _reject_wrong _secret _status _store _tag _templates _token _ttl_ms
        _uri_mode _userhash _window
        """.split()
    )

    def __init__(
        self,
        policy: ServerPolicy,
        *,
        lookup: Lookup | None = None,
        entropy: Callable[[int], bytes] | None = None,
        replay_store: ReplayStore | None = None,
    ) -> None:
        if not isinstance(policy, ServerPolicy):
            raise LocalProtocolError("Server needs a ServerPolicy")
        self._policy = policy
        self._lookup = lookup
        self._box = NonceBox(policy.secret, policy.old_secrets, entropy)
        self._secret = policy.secret
        self._tag = self._box.tag(policy.realm)
        if replay_store is None and not policy.external_replay:
            replay_store = MemoryReplayStore(policy.replay_capacity, _window(policy))
        self._store = replay_store
        self._record = None if replay_store is None else replay_store.check_and_record
        self._memo: ExpiringMemory[str, tuple[int, int, int, int, bytes, bytes]] | None = None
        if policy.nonce_cache:
            if type(policy.nonce_cache) is not int or policy.nonce_cache < 0:
                raise LocalProtocolError("nonce_cache is a count of nonces (0: none)")
            self._memo = ExpiringMemory(policy.nonce_cache, math.inf)
        # the memo's table read directly on the hot path (ExpiringMemory.peek, inlined)
        self._memo_get = None if self._memo is None else self._memo._table.get
        self._acks: ExpiringMemory[tuple[str | None, ...], tuple[str, str, str, str | None]]
        try:
            self._acks = ExpiringMemory(policy.ack_capacity, policy.ack_ttl)
        except (TypeError, ValueError):
            raise LocalProtocolError("ack_capacity and ack_ttl must be positive") from None
        self._counts = dict.fromkeys(_COUNTED + tuple(r.value for r in _SERVER_REASONS), 0)
        self._token = object()  # identifies this server's look-ups and replay checks
        self._realm = policy.realm
        proxy = policy.role == "proxy"
        self._status, self._phrase = (
            (407, "Proxy Authentication Required") if proxy else (401, "Unauthorized")
        )
        self._ch_name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        cred = "Proxy-Authorization" if proxy else "Authorization"
        self._lname = cred.lower()
        self._names = frozenset((cred, cred.lower(), cred.upper()))
        # RFC 3261 §20.6 defines only Authentication-Info (sent by a UAS for Authorization).
        # A proxy answering Proxy-Authorization uses Proxy-Authentication-Info (RFC 7615 §4)
        # so that a UAC never mistakes it for the UAS's mutual authentication.
        self._info_name = "Proxy-Authentication-Info" if proxy else "Authentication-Info"
        self._offered = tuple((a, ALGORITHM_CODE[a.token]) for a in policy.offered)  # RFC 8760 §2.4
        self._qbits = qop_bits(policy.qop)
        self._offered_codes = frozenset(code for _, code in self._offered)
        self._passwords = False
        self._ttl_ms = int(policy.nonce_ttl * 1000)
        self._bind = (
            (BIND_CALL_ID if policy.bind_call_id else 0)
            | (BIND_FROM_TAG if policy.bind_from_tag else 0)
            | (BIND_SOURCE if policy.bind_source else 0)
        )
        self._window = 0 if policy.one_time_nonce else _window(policy)
        self._external = policy.external_replay
        self._templates: dict[str, tuple[tuple[str, str, str, int], ...]] = {}
        self._exempt = frozenset(policy.exempt_methods) | {"ACK", "CANCEL"}  # RFC 3261 §22.1
        self._userhash = policy.userhash
        self._opaque = policy.opaque
        quirks = policy.quirks
        mode = policy.uri_check
        if "uri_off" in quirks:
            mode = "off"
        elif "uri_loose" in quirks and mode == "exact":
            mode = "loose"
        self._uri_mode = mode
        self._reject_wrong = policy.reject_wrong_credentials
        self._auth_info = policy.auth_info
        self._nextnonce = policy.nextnonce
        self._q_upper = "uppercase_hex" in quirks
        self._q_decimal = "decimal_nc" in quirks
        self._q_prefix = "realm_prefix" in quirks
        self._q_ha1b = "ha1b" in quirks
        self._q_trunc = "truncated_sha512" in quirks
        self._q_noqop = "no_qop" in quirks
        self._prefix = policy.realm_prefix
        self._algs = _ALGORITHM_TOKENS

    # ---- public surface ------------------------------------------------------------

    @property
    def policy(self) -> ServerPolicy:
        return self._policy

    def counters(self) -> dict[str, int]:
        """A snapshot: outcome names and ``Reason`` values -> how often they happened."""
        return dict(self._counts)

    def __repr__(self) -> str:
        return f"Server(realm={self._realm!r}, role={self._policy.role!r})"

    def handle(self, event: object) -> Action:
        """Feed one event; get exactly one action. Raises only ``LocalProtocolError``."""
        kind = type(event)
        if kind is RequestReceived:
            ev: RequestReceived = event  # type: ignore[assignment]
            method = ev.method
            if method in self._exempt:
                return self._exempt_request(ev, method)
            realm = ev.realm or self._realm
            # RFC 3261 §22.3: every value of our header is scanned for our realm; the
            # usual request takes one call: its first credentials header found and scanned
            # for the plain shape (see _request). A request without one is challenged
            # right here: it is the flood case, so it costs the fewest Python frames.
            try:
                found = _impl.find_credentials(ev.headers, self._lname, realm, 0, MAX_HEADER_LENGTH)
                if found is not None and found[0] < 0:
                    return self._challenge(ev, realm, _NO_CREDENTIALS, False)
            except (TypeError, ValueError, AttributeError):
                raise LocalProtocolError(
                    "headers must be a sequence of (name, value) str pairs"
                ) from None
            return self._request(ev, realm, found)
        if kind is CredentialsFound or kind is CredentialsNotFound:
            lk = event.lookup  # type: ignore[attr-defined]
            ctx = lk._ctx if type(lk) is LookupCredentials else None
            if type(ctx) is not tuple or ctx[0] is not self._token:
                raise LocalProtocolError("this server did not issue that LookupCredentials")
            return self._verify(ctx, event)  # type: ignore[arg-type]
        if kind is ReplayChecked:
            ck = event.check  # type: ignore[attr-defined]
            ctx = ck._ctx if type(ck) is CheckReplay else None
            if type(ctx) is not tuple or ctx[0] is not self._token:
                raise LocalProtocolError("this server did not issue that CheckReplay")
            _, ev, realm, value, name, algorithm, qop, headers, quirks = ctx
            if not event.fresh:  # type: ignore[attr-defined]
                return self._challenge(ev, realm, Reason.REPLAY, True)
            self._counts["accept"] += 1
            if ev.method == "INVITE":
                self._remember(ev, realm, value, name, algorithm, qop)
            return Accept(name, realm, algorithm, qop, headers, quirks)
        raise LocalProtocolError(f"Server cannot handle {kind.__name__}")

    # ---- request -------------------------------------------------------------------

    def _request(
        self, ev: RequestReceived, realm: str, found: tuple[int, str | None, _Scanned | None] | None
    ) -> Action:
        """A request with credentials headers; ``found`` is ``find_credentials``'s answer
        (the plain shape scanned; a value scan_credentials answers for is one the
        tokenizer reads the same way, for this realm); _search reads everything else."""
        quirks: tuple[str, ...] = ()
        try:
            if found is not None and found[2] is not None:
                value: str = found[1]  # type: ignore[assignment]
                fields: _Scanned | None = found[2]
            else:
                searched = self._search(ev, realm, 0 if found is None else found[0])
                if type(searched) is not tuple:
                    return searched  # type: ignore[return-value]
                value, fields, p, quirks = searched
        except (TypeError, ValueError, AttributeError):
            raise LocalProtocolError(
                "headers must be a sequence of (name, value) str pairs"
            ) from None
        try:
            if fields is not None:
                username, nonce, uri, response, code, qcode, nc, cnonce, count, userhash, opaque = (
                    fields
                )
                bit = qcode  # QOP_AUTH / QOP_AUTH_INT are the nonce's qop bits too
                qtok = _QTOK[qcode]
                crealm = realm
            else:
                read = self._read(p, quirks)
                if type(read) is not tuple:
                    return self._challenge(ev, realm, Reason.UNSUPPORTED_ALGORITHM, False)
                username, nonce, uri, response, code, qcode, bit, qtok, nc, cnonce, count, \
                    userhash, opaque, quirks = read  # fmt: skip
                crealm = p["realm"]
            if userhash and not self._userhash:
                raise MalformedHeader("userhash=true although the challenge did not offer it")
            # RFC 7616 §3.3: opaque "SHOULD be returned by the client unchanged". Strict: when we
            # sent one it must come back byte for byte; when we did not, whatever comes is ignored.
            if self._opaque is not None and opaque != self._opaque:
                raise MalformedHeader("opaque is not the challenge's")
            memo_get = self._memo_get
            memo = memo_get(nonce) if memo_get is not None else None
            if memo is not None:  # this exact nonce verified before: its payload is known
                acode, qbits, flags, issued, rid, tag = memo[1]
                sidx = 0
            elif (payload := _impl.open_nonce(self._secret, nonce, PAYLOAD_LEN)) is not None:
                version, acode, qbits, flags, issued, rid, tag = _unpack(payload)
                sidx = 0
                if version != VERSION:  # pragma: no cover - only a newer node could sign one
                    return self._challenge(ev, realm, Reason.FORGED_NONCE, False)
            else:
                opened = self._box.open(nonce)  # an old secret's nonce, or not ours
                if opened is None:
                    return self._challenge(ev, realm, Reason.FORGED_NONCE, False)
                acode, qbits, flags, issued, rid, tag, sidx = opened
            if flags or sidx or self._bind or realm is not self._realm:
                if self._bind & ~flags:  # a nonce bound to less than this policy asks
                    return self._challenge(ev, realm, Reason.BINDING_MISMATCH, False)
                call_id, _, from_tag = dialog_key(ev.headers) if flags & 3 else (None, None, None)
                want = self._box.tag(
                    realm,
                    call_id if flags & BIND_CALL_ID else None,
                    from_tag if flags & BIND_FROM_TAG else None,
                    ev.source if flags & BIND_SOURCE else None,
                    sidx,
                )
            else:
                want = self._tag
            # The tag is no secret (it is readable in the nonce and sealed by its MAC), so a
            # plain comparison leaks nothing useful.
            if tag != want:
                return self._challenge(ev, realm, Reason.BINDING_MISMATCH, False)
            if acode != code:  # the nonce was issued for another algorithm
                return self._reject(
                    403, "Forbidden", Reason.DOWNGRADE, "algorithm differs from the challenge's"
                )
            if code not in self._offered_codes:  # genuine, but this policy no longer offers it
                return self._reject(
                    403, "Forbidden", Reason.DOWNGRADE, "algorithm not offered by this server"
                )
            if qcode and not self._qbits & bit:  # likewise for the qop
                return self._reject(
                    403, "Forbidden", Reason.DOWNGRADE, "qop not offered by this server"
                )
            if not qcode:
                if qbits:  # the RFC 2069 form although qop was offered
                    if not self._q_noqop:
                        return self._reject(
                            403, "Forbidden", Reason.DOWNGRADE, "no qop although qop was offered"
                        )
                    quirks += ("no_qop",)
            elif not qbits & bit:
                return self._reject(
                    403, "Forbidden", Reason.DOWNGRADE, "qop differs from the challenge's"
                )
            if uri != ev.uri:
                mode = self._uri_mode
                if mode == "exact":
                    return self._reject(
                        400, "Bad Request", Reason.URI_MISMATCH, "digest-uri is not the Request-URI"
                    )
                if mode == "loose":
                    if _uri_key(uri) != _uri_key(ev.uri):
                        return self._reject(
                            400,
                            "Bad Request",
                            Reason.URI_MISMATCH,
                            "digest-uri is not the Request-URI",
                        )
                    quirks += ("uri_loose",)
                else:
                    quirks += ("uri_off",)
        except RemoteProtocolError as exc:
            return self._reject(400, "Bad Request", Reason.MALFORMED, str(exc))
        alg = ALGORITHM_CODES[code]
        ctx = (self._token, ev, realm, value, username, userhash, alg, nonce, uri, response,
               qcode, qtok, nc, cnonce, count, qbits, flags, issued, rid, tag, sidx, quirks,
               crealm, memo is not None)  # fmt: skip
        lk = LookupCredentials(realm, username, userhash, alg.token, ctx)
        if self._lookup is None:
            self._counts["lookup"] += 1
            return lk
        answer = self._lookup(lk)
        kind = type(answer)
        if (
            kind is not CredentialsFound and kind is not CredentialsNotFound
        ) or answer.lookup is not lk:
            raise LocalProtocolError(
                "lookup must answer CredentialsFound/CredentialsNotFound(lookup)"
            )
        return self._verify(ctx, answer)

    def _search(self, ev: RequestReceived, realm: str, start: int) -> Action | tuple:  # type: ignore[type-arg]
        """The general scan of the credentials headers from ``start``: (value, scanned
        fields or None, tokenized params, quirks) of the first value for our realm, or
        the action when there is none (Basic refused, malformed, other realm, none)."""
        common, names, lname = _COMMON, self._names, self._lname
        scan = _impl.scan_credentials
        error: str | None = None
        basic = other = False
        quirks: tuple[str, ...] = ()
        p: dict[str, str] = {}
        headers = ev.headers
        try:
            for n, value in headers[start:] if start else headers:
                if n in common or (n not in names and n.lower() != lname):
                    continue
                fields = scan(value, realm, MAX_HEADER_LENGTH)
                if fields is not None:
                    return value, fields, p, quirks
                try:
                    items = _impl.tokenize(value, MAX_HEADER_LENGTH, MAX_PARAMS)
                except RemoteProtocolError as exc:
                    error = error or str(exc)
                    continue
                if len(items) != 1:
                    error = error or "one header value holds one set of credentials"
                    continue
                scheme, token68, p = items[0]
                if scheme != "Digest" and scheme.lower() != "digest":
                    basic = basic or scheme.lower() == "basic"  # never accepted, for any realm
                    continue
                r = p.get("realm")
                if r != realm:
                    if r is None:
                        error = error or "Digest credentials without realm"
                        continue
                    if not (self._q_prefix and r == self._prefix + realm):
                        other = True
                        continue
                    quirks = ("realm_prefix",)
                if token68 is not None:
                    error = error or "Digest credentials take parameters, not token68"
                    continue
                return value, None, p, quirks
            if basic:
                return self._challenge(ev, realm, Reason.BASIC_REFUSED, False)
            if error is not None:
                return self._reject(400, "Bad Request", Reason.MALFORMED, error)
            why = Reason.REALM_MISMATCH if other else Reason.NO_CREDENTIALS
            return self._challenge(ev, realm, why, False)
        except (TypeError, ValueError, AttributeError):
            raise LocalProtocolError(
                "headers must be a sequence of (name, value) str pairs"
            ) from None

    def _read(self, p: dict[str, str], quirks: tuple[str, ...]) -> tuple | None:  # type: ignore[type-arg]
        """The fields of a tokenized value, as ``scan_credentials`` gives them plus the
        qop bit and token, and the quirks; None for an unregistered algorithm."""
        try:
            username = p["username"]
            nonce = p["nonce"]
            uri = p["uri"]
            response = p["response"]
        except KeyError:
            username, nonce, uri, response = _required(p)
        else:
            if "username*" in p:
                raise MalformedHeader("both username and username* (RFC 7616 §3.4.4)")
        code = self._algs[p.get("algorithm")]
        if code is None:  # not in the IANA registry (RFC 7616 §6.1, RFC 8760 §2)
            return None
        qop = p.get("qop")
        if qop is None:
            qcode, bit, qtok, nc, cnonce, count = _QOP_NONE, 0, None, "", "", 1
        else:
            q = _QOPS.get(qop) or _QOPS.get(qop.lower())
            if q is None:
                raise MalformedHeader(f"unknown qop value {qop[:32]!r}")
            qcode, bit, qtok = q
            try:
                nc = p["nc"]
                cnonce = p["cnonce"]
            except KeyError:
                raise MalformedHeader("qop without nc and cnonce (RFC 7616 §3.4)") from None
            count = _SMALL_NC.get(nc, 0)
            if count:
                pass
            elif _NC8(nc) is not None:  # nc-value = 8LHEX (RFC 7616 §3.4)
                count = int(nc, 16)
            elif (
                self._q_decimal
                and len(nc) <= 10
                and nc.isascii()
                and nc.isdigit()
                and int(nc) <= 0xFFFFFFFF
            ):
                count = int(nc)
                quirks += ("decimal_nc",)
            else:
                raise MalformedHeader(f"nc must be 8 hex digits, got {nc[:16]!r}")
        userhash = p["userhash"].lower() == "true" if "userhash" in p else False
        return (username, nonce, uri, response, code, qcode, bit, qtok, nc, cnonce, count,
                userhash, p.get("opaque"), quirks)  # fmt: skip

    # ---- verification --------------------------------------------------------------

    def _verify(self, ctx: tuple, answer: Union[CredentialsFound, CredentialsNotFound]) -> Action:  # type: ignore[type-arg]
        (_, ev, realm, value, username, userhash, alg, nonce, uri, response, qcode, qtok, nc,
         cnonce, count, qbits, flags, issued, rid, tag, sidx, quirks, crealm, hit) = ctx  # fmt: skip
        hid = alg.hash_id
        method, body = ev.method, ev.body
        if self._q_upper and not response.islower() and response.lower() != response:
            response = response.lower()
            quirks += ("uppercase_hex",)
        if isinstance(answer, CredentialsNotFound):
            # the same work and the same wire shape as a wrong password (no user enumeration):
            # the HA1 a password would cost (when this host answers with passwords), then
            # the response
            dummy = (
                _impl.ha1(hid, username, crealm, "") if self._passwords else "0" * alg.hex_length
            )
            self._check(hid, dummy, method, uri, nonce, nc, cnonce, qcode, body, response)
            return self._fail(ev, realm, Reason.UNKNOWN_USER)
        confirmed = answer.username
        password = answer.password
        self._passwords = password is not None  # what an unknown user's dummy work mimics
        table = answer.ha1
        ha1: str | None = None
        if isinstance(table, str):  # the HA1 for the algorithm the look-up named
            ha1 = table
        elif table:
            ha1 = table.get(_BASE_TOKEN[alg.token])
            if ha1 is None:
                ha1 = _stored(table, alg)
        if ha1 is not None and (not isinstance(ha1, str) or len(ha1) != alg.hex_length):
            raise LocalProtocolError(f"an HA1 for {alg.token} is {alg.hex_length} hex digits")
        user = username
        if userhash:
            if confirmed is not None:
                user = confirmed
            elif password is not None and ha1 is None:
                raise LocalProtocolError(
                    "a userhash look-up answered with a password needs username="
                )
        if ha1 is None:
            if password is None:
                if table is None:
                    raise LocalProtocolError("CredentialsFound needs a password or ha1")
                # no HA1 for the algorithm the client chose: the wire shape of a failure
                self._check(
                    hid, "0" * alg.hex_length, method, uri, nonce, nc, cnonce, qcode, body, response
                )
                return self._fail(ev, realm, Reason.UNSUPPORTED_ALGORITHM)
            ha1 = _impl.ha1(hid, user, crealm, password)  # over the realm the client hashed
        elif ha1.isascii():  # str.islower() costs more than lower() on ASCII
            ha1 = ha1.lower()
        elif not ha1.islower() and not ha1.isdigit():
            ha1 = ha1.lower()
        stored = ha1
        if alg.sess:
            ha1 = _impl.ha1_sess(hid, ha1, nonce, cnonce)
        try:
            ok = _impl.check_response(hid, ha1, method, uri, nonce, nc, cnonce, qcode, body, response)
        except (UnicodeError, TypeError):
            ok = self._check(hid, ha1, method, uri, nonce, nc, cnonce, qcode, body, response)
        if not ok:
            if table and not _HEX.issuperset(stored):
                raise LocalProtocolError(f"an HA1 for {alg.token} is {alg.hex_length} hex digits")
            found = self._retry_quirks(
                answer, alg, user, crealm, method, uri, nonce, nc, cnonce, qcode, body, response
            )
            if found is None:
                return self._fail(ev, realm, Reason.WRONG_RESPONSE)
            ha1, hid, quirk = found
            quirks += (quirk,)
        # RFC 7616 §3.3: stale=true says the digest was right but the nonce is not valid
        try:
            expired = issued + self._ttl_ms <= ev.now * 1000
        except TypeError:
            raise LocalProtocolError("now must be a number of seconds") from None
        if expired or sidx:
            return self._challenge(ev, realm, Reason.STALE, True)
        if not hit and self._memo is not None:  # genuine, fresh, and its digest verified
            self._memo.put(nonce, (ALGORITHM_CODE[alg.token], qbits, flags, issued, rid, tag), 0.0)
        if not qcode:
            count = 1  # RFC 2069 form: no nonce-count, so the nonce is single-use (window 0)
        expires = (issued + self._ttl_ms) / 1000.0
        headers: tuple[tuple[str, str], ...] = ()
        if self._auth_info:
            issue = (ALGORITHM_CODE[alg.token], qbits, flags, tag)
            headers = self._info(ev, hid, ha1, uri, nonce, nc, cnonce, qcode, qtok, issue)
        name = username if confirmed is None else confirmed
        if self._external:
            self._counts["check_replay"] += 1
            state = (self._token, ev, realm, value, name, alg.token, qtok, headers, quirks)
            return CheckReplay(rid, count, self._window if qcode else 0, expires, state)
        if not self._record(rid, count, self._window if qcode else 0, ev.now, expires):  # type: ignore[misc]
            return self._challenge(ev, realm, Reason.REPLAY, True)
        self._counts["accept"] += 1
        if method == "INVITE":
            self._remember(ev, realm, value, name, alg.token, qtok)
        return Accept(name, realm, alg.token, qtok, headers, quirks)

    def _check(self, hid: int, ha1: str, method: str, uri: str, nonce: str, nc: str,
               cnonce: str, qcode: int, body: bytes, received: str) -> bool:  # fmt: skip
        try:
            ok: bool = _impl.check_response(
                hid, ha1, method, uri, nonce, nc, cnonce, qcode, body, received
            )
            return ok
        except UnicodeError:  # a lone surrogate in the request line cannot match anything
            return False
        except TypeError:
            raise LocalProtocolError("method must be str and body bytes") from None

    def _retry_quirks(self, answer: CredentialsFound, alg: Algorithm, user: str, crealm: str,
                      method: str, uri: str, nonce: str, nc: str, cnonce: str, qcode: int,
                      body: bytes, response: str) -> tuple[str, int, str] | None:  # fmt: skip
        """The named quirks that change the HA1: ha1b (Q10) and truncated SHA-512 (Q9)."""
        hid = alg.hash_id
        if self._q_ha1b and answer.ha1b:
            alt = _stored(answer.ha1b, alg)
            if alt is not None:
                if alg.sess:
                    alt = _impl.ha1_sess(hid, alt, nonce, cnonce)
                if self._check(hid, alt, method, uri, nonce, nc, cnonce, qcode, body, response):
                    return alt, hid, "ha1b"
        if self._q_trunc and answer.password is not None and alg in (SHA512_256, SHA512_256_SESS):
            tid = _impl.SHA512_TRUNC
            alt = _impl.ha1(tid, user, crealm, answer.password)
            if alg.sess:
                alt = _impl.ha1_sess(tid, alt, nonce, cnonce)
            if self._check(tid, alt, method, uri, nonce, nc, cnonce, qcode, body, response):
                return alt, tid, "truncated_sha512"
        return None

    def _info(self, ev: RequestReceived, hid: int, ha1: str, uri: str, nonce: str, nc: str,
              cnonce: str, qcode: int, qtok: str | None, issue: tuple[int, int, int, bytes]) -> tuple[tuple[str, str], ...]:  # fmt: skip
        """Authentication-Info (RFC 7616 §3.5): rspauth is the response with an empty method.

        With auth-int, RFC 7616 leaves open which body; we hash the request's body, as
        RFC 2617 §3.2.3 does ("the same entity-body as the request"), so a client can
        check rspauth before it has read the response's body.
        """
        rsp = _impl.response(hid, ha1, "", uri, nonce, nc, cnonce, qcode, ev.body)
        nextnonce = None
        if self._nextnonce:
            acode, qbits, flags, tag = issue  # for the same algorithm, qop and binding
            nextnonce = self._box.mint(acode, qbits, flags, now_ms(ev.now), tag)
        info = AuthenticationInfo(
            nextnonce=nextnonce, qop=qtok, rspauth=rsp,
            cnonce=cnonce if qcode else None, nc=nc if qcode else None,
        )  # fmt: skip
        return ((self._info_name, info.render()),)

    # ---- outcomes ------------------------------------------------------------------

    def _remember(self, ev: RequestReceived, realm: str, value: str, username: str,
                  algorithm: str, qop: str | None) -> None:  # fmt: skip
        """Remember an accepted INVITE for the ACK of its 2xx (RFC 3261 §22.1)."""
        key = dialog_key(ev.headers)
        if None not in key:
            self._acks.put((realm, *key), (value, username, algorithm, qop), ev.now)

    def _exempt_request(self, ev: RequestReceived, method: str) -> Action:
        # RFC 3261 §22.1: ACK and CANCEL are never challenged. An ACK that carries the
        # credentials accepted for its INVITE (same Call-ID, CSeq number, From tag) is
        # accepted as that INVITE was, even if the nonce expired or the nc repeats.
        if method == "ACK" and self._acks:
            try:
                key = dialog_key(ev.headers)
                found = (
                    self._acks.get((ev.realm or self._realm, *key), ev.now)
                    if None not in key
                    else None
                )
                if found is not None:
                    names, lname = self._names, self._lname
                    for n, v in ev.headers:
                        if (n in names or n.lower() == lname) and v == found[0]:
                            self._counts["accept"] += 1
                            return Accept(found[1], ev.realm or self._realm, found[2], found[3])
            except (TypeError, ValueError, AttributeError):
                raise LocalProtocolError(
                    "headers must be a sequence of (name, value) str pairs"
                ) from None
        self._counts["exempt"] += 1
        return Exempt(method)

    def _fail(self, ev: RequestReceived, realm: str, reason: Reason) -> Action:
        if self._reject_wrong:
            return self._reject(403, "Forbidden", reason, _FAILED)
        return self._challenge(ev, realm, reason, False)

    def _reject(self, status: int, phrase: str, reason: Reason, detail: str) -> Reject:
        counts = self._counts
        counts["reject"] += 1
        counts[reason.value] += 1
        return Reject(status, phrase, reason, detail)

    def _challenge(
        self, ev: RequestReceived, realm: str, reason: Reason, stale: bool
    ) -> SendChallenge:
        """One challenge per offered algorithm, strongest first, each with its own nonce."""
        now = ev.now
        if type(now) is float and -9e15 < now < 9e15:  # now_ms's common case, inlined
            issued = int(now * 1000)
        else:
            issued = now_ms(now)
        bind = self._bind
        if bind:
            call_id, _, from_tag = dialog_key(ev.headers)
            tag = self._box.tag(
                realm,
                call_id if bind & BIND_CALL_ID else None,
                from_tag if bind & BIND_FROM_TAG else None,
                ev.source if bind & BIND_SOURCE else None,
            )
        elif realm is self._realm:
            tag = self._tag
        else:
            tag = self._box.tag(realm)
        templates = self._templates.get(realm) or self._make_templates(realm)
        box = self._box
        pos = box._pos  # NonceBox.random_id, inlined: the pool is passed as is
        if pos + ID_LEN * len(templates) > POOL_SIZE:
            pos = box.refill()
        box._pos = pos + ID_LEN * len(templates)
        # every nonce's payload, MAC and surrounding text, in one call
        headers = _impl.mint_challenges(self._secret, self._ch_name, templates, stale,
                                        self._qbits, bind, issued, box._pool, pos, tag)  # fmt: skip
        counts = self._counts
        counts["challenge"] += 1
        counts[reason._value_] += 1  # the plain attribute: Enum.value is a slow property
        return SendChallenge(self._status, self._phrase, headers, reason, stale)

    def _make_templates(self, realm: str) -> tuple[tuple[str, str, str, int], ...]:
        """The text around the nonce, in ``Challenge.render`` order (RFC 7616 §3.3)."""
        policy = self._policy
        qop = f', qop="{",".join(policy.qop)}"' if policy.qop else ""
        opaque = f", opaque={_quote(policy.opaque)}" if policy.opaque is not None else ""
        uh = ", userhash=true" if policy.userhash else ""
        out = tuple(
            (f"Digest realm={_quote(realm)}{qop}, algorithm={alg.token}, nonce=\"",
             f'"{opaque}{uh}', f'"{opaque}, stale=true{uh}', code)
            for alg, code in self._offered
        )  # fmt: skip
        if len(self._templates) < 64:  # realms come from the host, but stay bounded
            self._templates[realm] = out
        return out


def _required(p: dict[str, str]) -> tuple[str, str, str, str]:
    """username (or username*, RFC 7616 §3.4.4 / RFC 5987), nonce, uri, response."""
    username = p.get("username")
    star = p.get("username*")
    if star is not None:
        if username is not None:
            raise MalformedHeader("both username and username* (RFC 7616 §3.4.4)")
        username = _decode_ext_value(star)
    fields = (username, p.get("nonce"), p.get("uri"), p.get("response"))
    if None in fields:
        missing = [
            n
            for n, v in zip(("username", "nonce", "uri", "response"), fields, strict=False)
            if v is None
        ]
        raise MalformedHeader(f"Digest credentials without {', '.join(missing)}")
    return fields  # type: ignore[return-value]


def _stored(table: Mapping[str, str] | None, alg: Algorithm) -> str | None:
    """The stored HA1 for ``alg`` (its -sess variant uses the plain one), lower case."""
    if not table:
        return None
    base = alg.token.removesuffix("-sess")
    value = table.get(base)
    if value is None:
        for token, v in table.items():
            if isinstance(token, str) and token.upper() in (base.upper(), alg.token.upper()):
                value = v
                break
        else:
            return None
    if isinstance(value, bytes):  # tolerated although the type says str
        value = value.decode("ascii", "replace")
    if not isinstance(value, str) or len(value) != alg.hex_length or not _HEX.issuperset(value):
        raise LocalProtocolError(f"an HA1 for {alg.token} is {alg.hex_length} hex digits")
    return value if value.islower() or value.isdigit() else value.lower()
