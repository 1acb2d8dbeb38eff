"""The client machine's private pieces: reading and choosing challenges, the rspauth
check, the state records, cnonces and rendering.

Strategy: the hot path (a 401 answered with a Retry) touches only what it needs. A
first challenge of the usual shape (one header, one plain Digest challenge, a realm with
a credential) is read by the ``plain_challenge`` twin into one fixed-order tuple and
answered inline by ``Client.handle`` without lists or dicts; anything else is tokenized
straight into ``{name: value}`` dicts (no ``Challenge`` objects), grouped per (header
kind, realm) in server order. Everything that does not change between two uses of a
nonce (the quoted realm, nonce and opaque, the algorithm label, the qop, the username
part and the HA1) is rendered once into a :class:`NonceEntry`, so answering or reusing
it is one ``render_answer`` call (digest and header value at once). Every value that reaches a header came through the
tokenizer (no CR/LF, no control characters) and is re-quoted with quoted-pair for ``"``
and ``\\``; host-given values (username, Request-URI) are checked before use.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Union

from . import _impl
from .credentials import Credential
from .digest import ALGORITHMS, SHA512_256_TRUNCATED, Algorithm
from .errors import LocalProtocolError, MalformedHeader
from .events import RequestPrepared
from .headers import MAX_HEADER_LENGTH, MAX_PARAMS, _check_text, _encode_ext_value, _quote
from .policy import ClientPolicy

__all__ = [
    "KIND_WWW",
    "KIND_PROXY",
    "HEADER_NAMES",
    "Params",
    "Group",
    "Choice",
    "Chooser",
    "true_param",
    "check_request",
    "check_info",
    "read_challenges",
    "quoted",
    "identity",
    "NonceEntry",
    "Sent",
    "Chain",
    "FirstAnswer",
    "chain_of",
    "CnonceSource",
]

#: Header kinds: a WWW-Authenticate challenge is answered in Authorization, a
#: Proxy-Authenticate one in Proxy-Authorization (RFC 3261 §22.2, §22.3).
KIND_WWW, KIND_PROXY = 0, 1
HEADER_NAMES = ("Authorization", "Proxy-Authorization")
_KINDS = {"www-authenticate": KIND_WWW, "proxy-authenticate": KIND_PROXY}

Params = dict[str, str]
Group = tuple[int, str]  # (header kind, realm)


def read_challenges(
    headers: Iterable[tuple[str, str]],
) -> tuple[dict[Group, list[Params]], Optional[list[str]], Optional[list[str]]]:
    """The Digest challenges of a response grouped per (kind, realm), in message order.

    Returns (groups, errors, other schemes), the last two None when empty. A header
    line that does not tokenize, or a Digest challenge without realm or nonce, is left
    out and described in ``errors``, so the good challenges can still be answered.
    """
    groups: dict[Group, list[Params]] = {}
    errors: Optional[list[str]] = None
    others: Optional[list[str]] = None
    for name, value in headers:
        if len(name) not in (16, 18):  # the two names' lengths: most headers stop here
            continue
        kind = _KINDS.get(name.lower())
        if kind is None:
            continue
        if type(value) is not str:
            raise LocalProtocolError(f"header {name} has a {type(value).__name__} value")
        try:
            items = _impl.tokenize(value, MAX_HEADER_LENGTH, MAX_PARAMS)
        except MalformedHeader as exc:
            errors = (errors or []) + [f"{name}: {exc}"]
            continue
        for scheme, token68, params in items:
            if scheme != "Digest" and scheme.lower() != "digest":
                others = (others or []) + [scheme]
                continue
            realm = params.get("realm")
            if token68 is not None or realm is None or "nonce" not in params:
                errors = (errors or []) + [f"{name}: Digest challenge without realm or nonce"]
                continue
            found = groups.get((kind, realm))
            if found is None:
                groups[(kind, realm)] = [params]
            else:
                found.append(params)
    return groups, errors, others


#: SHA-512-256-sess computed with truncated SHA-512 (the ``truncated_sha512`` quirk).
_TRUNCATED_SESS = Algorithm("SHA-512-256-sess", _impl.SHA512_TRUNC, True, 3, 64)
#: Spelling variants read under the ``algorithm_aliases`` quirk: a registered token with
#: its "-", "_" and "/" removed ("SHA256", "SHA512/256", "MD5SESS"). A token naming
#: another hash ("SHA" is SHA-1, "SHA-512" is full SHA-512) is still refused.
_ALIAS_KEYS = {tok.replace("-", ""): alg for tok, alg in ALGORITHMS.items()}
_CACHE_SIZE = 256

#: A chosen challenge: its parameters, the algorithm to compute with, the qop, the
#: quirks it needed.
Choice = tuple[Params, Algorithm, Optional[str], tuple[str, ...]]


def _alias_key(token: str) -> str:
    return token.upper().replace("-", "").replace("_", "").replace("/", "")


def true_param(value: Optional[str]) -> bool:
    """A boolean auth-param: RFC 2617 §3.2.1 reads anything but "true" (any case) as false."""
    return value is not None and value.lower() == "true"


def check_request(req: RequestPrepared) -> None:
    """Host-given values that reach a header or a hash; a bad one is host misuse."""
    uri = req.uri
    if type(uri) is not str or not uri.isprintable():
        raise LocalProtocolError("the Request-URI must be printable text")
    if type(req.method) is not str or not isinstance(req.body, (bytes, bytearray)):
        raise LocalProtocolError("method must be str and body bytes")


class Chooser:
    """Which challenge of a realm to answer: the policy's tables, built once.

    Its table maps the registry tokens the policy allows (upper case and as registered,
    so the usual spelling needs no ``upper()``) to what to compute with: the truncated
    SHA-512 twin under the ``truncated_sha512`` quirk.
    """

    __slots__ = ("_algs", "_aliases", "_prefer_int", "_can", "judged")

    def __init__(self, policy: ClientPolicy) -> None:
        truncated = "truncated_sha512" in policy.quirks
        algs: dict[str, Algorithm] = {}
        for token, alg in ALGORITHMS.items():
            if policy.allows(alg):
                registered = alg
                if truncated and alg.hash_id == _impl.SHA512_256:
                    alg = _TRUNCATED_SESS if alg.sess else SHA512_256_TRUNCATED
                algs[token] = algs[registered.token] = alg
        self._algs = algs
        self._aliases = (
            {k: algs[a.token] for k, a in _ALIAS_KEYS.items() if a.token in algs}
            if "algorithm_aliases" in policy.quirks
            else {}
        )
        self._prefer_int = policy.prefer_auth_int
        self._can: dict[tuple[Credential, str], bool] = {}  # Credential.can_answer, cached
        self.judged: dict[
            tuple[Optional[str], Optional[str], Credential],
            tuple[Algorithm, Optional[str], tuple[str, ...]],
        ] = {}

    def pick(self, plist: list[Params], cred: Optional[Credential]) -> Union[Choice, str]:
        """The topmost challenge of one realm this client may answer (RFC 8760 §2.4),
        or why every challenge was skipped. Without a credential (the realm is still to
        be asked for) only the policy decides."""
        why = ""
        for params in plist:
            found = self.judge(params.get("algorithm"), params.get("qop"), cred)
            if isinstance(found, str):
                why = found
                continue
            alg, qop, quirks = found
            return params, alg, qop, quirks
        return why or "no acceptable challenge"

    def judge(
        self, label: Optional[str], offered: Optional[str], cred: Optional[Credential]
    ) -> Union[tuple[Algorithm, Optional[str], tuple[str, ...]], str]:
        """(algorithm, qop, quirks) to answer one challenge with, or why it cannot be."""
        quirks: tuple[str, ...] = ()
        if label is None:
            alg = self._algs.get("MD5")  # RFC 7616 §3.3: absent means MD5
            label = "MD5"
        else:
            alg = self._algs.get(label)
            if alg is None:
                alg = self._algs.get(label.upper())
            if alg is None and self._aliases:
                alg = self._aliases.get(_alias_key(label))
                quirks = ("algorithm_aliases",)
        if alg is None:
            known = label.upper() in ALGORITHMS
            return f"algorithm {label[:32]!r} is {'refused by the policy' if known else 'unknown'}"
        if alg.hash_id == _impl.SHA512_TRUNC:
            quirks += ("truncated_sha512",)
        if offered is None or offered == "auth":
            qop = offered
        else:
            tokens = {t.strip(" \t").lower() for t in offered.split(",")} - {""}
            if not tokens:
                qop = None  # qop="" reads as no qop, as headers.Challenge does
            elif "auth-int" in tokens and (self._prefer_int or "auth" not in tokens):
                qop = "auth-int"
            elif "auth" in tokens:
                qop = "auth"
            else:
                return f"qop {offered[:32]!r} offers nothing known"
        if qop is None and alg.sess:
            return f"{alg.token} needs a cnonce, which only a qop challenge allows"
        if cred is not None and not self.can_answer(cred, alg):
            return f"the stored HA1s of {cred.username!r} cannot answer {alg.token}"
        return alg, qop, quirks

    def judge_cached(
        self, label: Optional[str], offered: Optional[str], cred: Credential
    ) -> Optional[tuple[Algorithm, Optional[str], tuple[str, ...]]]:
        """:meth:`judge` for the client's fast path: None when it cannot answer (the
        general path then says why). Answers are remembered per (label, qop, credential)
        in :attr:`judged`, which the client reads first; only short qop values are kept
        (the server chooses them)."""
        found = self.judge(label, offered, cred)
        if type(found) is str:
            return None
        assert not isinstance(found, str)
        if offered is None or len(offered) <= 32:
            if len(self.judged) >= _CACHE_SIZE:
                self.judged.clear()
            self.judged[(label, offered, cred)] = found
        return found

    def can_answer(self, cred: Credential, alg: Algorithm) -> bool:
        """``cred.can_answer(alg)``, cached per (credential, algorithm)."""
        can = self._can.get((cred, alg.token))
        if can is None:
            if len(self._can) >= _CACHE_SIZE:
                self._can.clear()
            can = self._can[(cred, alg.token)] = cred.can_answer(alg)
        return can


def check_info(
    www: list[tuple[Group, Sent]], value: str, body: bytes
) -> tuple[str, str, Optional[Group], Optional[str]]:
    """Check the rspauth of an Authentication-Info value against the credentials sent.

    Returns ("match" | "absent" | "mismatch", detail, the (kind, realm) it belongs to
    when known, its nextnonce). RFC 7616 §3.5: rspauth is computed like the
    request-digest "except that the method is empty", with the HA1, nonce, nc, cnonce,
    qop and digest-uri of the credentials sent (and, for auth-int, the response body).
    """
    try:
        params = _impl.tokenize_params(value, MAX_HEADER_LENGTH, MAX_PARAMS)
    except MalformedHeader as exc:
        return "mismatch", f"malformed Authentication-Info: {exc}", None, None
    cnonce = params.get("cnonce")
    candidates = [(g, s) for g, s in www if cnonce is None or s[6] == cnonce]
    rspauth = params.get("rspauth")
    if rspauth is None:
        matched = candidates[0][0] if len(candidates) == 1 else None
        return "absent", "Authentication-Info without rspauth", matched, params.get("nextnonce")
    for group, (_, nonce, hash_id, ha1, uri, nc, cn, code, _) in candidates:
        if _impl.check_response(hash_id, ha1, "", uri, nonce, nc, cn, code, body, rspauth):
            return "match", "", group, params.get("nextnonce")
    return "mismatch", "rspauth does not match the credentials sent", None, None


def quoted(value: str) -> str:
    """A quoted-string for a value the tokenizer or a check already cleared."""
    if '"' in value or "\\" in value:
        return _quote(value)
    return f'"{value}"'


def identity(username: str, realm: str, userhash_alg: Optional[Algorithm]) -> str:
    """The username parameter: plain, ``username*`` (RFC 7616 §3.4.4) or the userhash."""
    _check_text("username", username)
    if userhash_alg is not None:
        data = b"%s:%s" % (username.encode("utf-8"), realm.encode("utf-8"))
        return f'username="{_impl.hexdigest(userhash_alg.hash_id, data)}"'
    if not username.isascii():
        return f"username*={_encode_ext_value(username)}"
    return f"username={quoted(username)}"


_QOP_CODES = {None: _impl.QOP_NONE, "auth": _impl.QOP_AUTH, "auth-int": _impl.QOP_AUTH_INT}


class NonceEntry:
    """One cached challenge for preemptive reuse, keyed by (kind, realm) in the client.

    ``nc`` counts the uses of ``nonce`` (RFC 7616 §3.4: a new nonce restarts at 1).
    Everything that does not change between two uses is rendered once: ``head`` is
    ", realm=..., nonce=..., uri=", and ``mid``, ``tail`` and ``end`` are what
    ``render_answer`` puts around the cnonce and the nc (the algorithm label, opaque,
    qop and userhash). ``owner`` is the credential ``ha1`` and ``start`` ("Digest
    username=...", then ``head``) were made for, so a reused entry skips the look-up.
    """

    __slots__ = (
        "realm", "nonce", "alg", "hash_id", "qop", "qop_code", "nc", "userhash", "quirks",
        "head", "mid", "tail", "end", "owner", "ha1", "start",
    )  # fmt: skip

    def __init__(
        self,
        realm: str,
        nonce: str,
        alg: Algorithm,
        label: Optional[str],
        qop: Optional[str],
        opaque: Optional[str],
        userhash: bool,
        quirks: tuple[str, ...],
    ) -> None:
        self.realm = realm
        self.nonce = nonce
        self.alg = alg
        self.hash_id = alg.hash_id
        self.qop = qop
        self.qop_code = _QOP_CODES[qop]
        self.nc = 0
        self.userhash = userhash
        self.quirks = quirks
        self.owner: Optional[Credential] = None
        self.ha1 = self.start = ""
        plain = f"{realm}{nonce}{opaque}"
        if '"' not in plain and "\\" not in plain:  # the usual case: nothing to escape
            self.head = f', realm="{realm}", nonce="{nonce}", uri='
            opaque_part = "" if opaque is None else f', opaque="{opaque}"'
        else:
            self.head = f", realm={quoted(realm)}, nonce={quoted(nonce)}, uri="
            opaque_part = "" if opaque is None else f", opaque={quoted(opaque)}"
        algorithm = "" if label is None else f", algorithm={label}"
        userhash_part = ", userhash=true" if userhash else ""
        if qop is None:  # RFC 2069 form: no cnonce, no nc (empty strings are passed)
            self.mid = self.tail = ""
            self.end = f"{algorithm}{opaque_part}{userhash_part}"
        else:
            self.mid = f'{algorithm}, cnonce="'
            self.tail = f'"{opaque_part}, qop={qop}, nc='
            self.end = userhash_part

    def renewed(self, nonce: str) -> NonceEntry:
        """The same challenge with the server's ``nextnonce`` (RFC 7616 §3.5): nc restarts."""
        new = NonceEntry.__new__(NonceEntry)
        for name in NonceEntry.__slots__:
            setattr(new, name, getattr(self, name))
        new.nonce = nonce
        new.nc = 0
        new.head = f", realm={quoted(self.realm)}, nonce={quoted(nonce)}, uri="
        new.owner = None  # ``start`` holds the old nonce
        return new


#: One credentials value as sent, kept for failure detection and the rspauth check:
#: (credential, nonce, hash id, effective HA1 (the session HA1 for -sess), digest-uri,
#: nc text, cnonce, qop code, sent preemptively?). A plain tuple: one is made per answer.
Sent = tuple[Credential, str, int, str, str, str, str, int, bool]


class Chain:
    """Per-request state, keyed by (Call-ID, method): the retry keeps both, not the CSeq.

    ``sent`` holds the credentials of the latest attempt per (kind, realm); ``headers``
    the exact header pairs of that attempt (copied into the ACK of a 2xx INVITE).
    ``assumed_stale`` and ``quirks`` start as empty tuples, replaced when they grow
    (rare), so a chain costs a handful of attribute stores.
    """

    __slots__ = (
        "retries", "sent", "headers", "awaiting", "cseq", "pending", "missing",
        "assumed_stale", "quirks",
    )  # fmt: skip

    def __init__(
        self,
        cseq: int,
        sent: dict[Group, Sent],
        headers: tuple[tuple[str, str], ...],
        retries: int = 0,
        awaiting: bool = False,
    ):
        self.retries = retries
        self.sent = sent
        self.headers = headers
        self.awaiting = awaiting  # a Retry was issued and its response has not come yet
        self.cseq = cseq
        self.pending: object = None  # the ResponseReceived waiting for CredentialsProvided
        self.missing: tuple[str, ...] = ()
        self.assumed_stale: tuple[Group, ...] = ()  # Q1: "stale once" already used
        self.quirks: tuple[str, ...] = ()

    def add_quirks(self, quirks: Iterable[str]) -> None:
        self.quirks = tuple(sorted(set(self.quirks).union(quirks)))


#: A request the client's fast path answered once and nothing has read since: (CSeq,
#: (kind, realm), the first eight fields of what was sent (its ``Sent`` less the
#: "preemptive" flag, false here), the Retry's headers, the quirks the answer needed). The
#: client stores it in place of that request's :class:`Chain` (one tuple costs less to
#: make and to evict than a Chain with its one-entry ``sent`` dict) and every read of
#: its chains goes through :func:`chain_of`.
FirstAnswer = tuple[
    int, Group, Credential, str, int, str, str, str, str, int,
    tuple[tuple[str, str], ...], tuple[str, ...],
]  # fmt: skip


def chain_of(found: Union[Chain, FirstAnswer]) -> Chain:
    """The :class:`Chain` a stored value stands for: itself, or the one a
    :data:`FirstAnswer` records (``Chain(cseq, {group: sent}, headers, 1, True)``)."""
    if isinstance(found, Chain):
        return found
    sent: Sent = (*found[2:10], False)
    chain = Chain(found[0], {found[1]: sent}, found[10], 1, True)
    if found[11]:
        chain.add_quirks(found[11])
    return chain


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: Bytes 0..247 map to the 62 characters four times each; 248..255 are dropped
#: (rejection sampling), so every character is equally likely.
_TABLE = bytes(_ALPHABET[i % 62] for i in range(248)) + bytes(8)
_REJECTED = bytes(range(248, 256))


class CnonceSource:
    """cnonces of ``length`` characters from [A-Za-z0-9], drawn from ``entropy``.

    Entropy is fetched in chunks, mapped and cut into cnonces ahead of use; ``take``
    is the bound ``pop`` of that list (it raises IndexError when it runs dry: call
    :meth:`refill` then). A cnonce is public (it travels in the clear); only its
    unpredictability matters, and ahead-of-use ones are no more exposed than the
    client's other state.
    """

    __slots__ = ("_entropy", "_length", "_chunk", "_rest", "_ready", "take")

    def __init__(self, entropy: Callable[[int], bytes], length: int) -> None:
        self._entropy = entropy
        self._length = length
        self._chunk = max(256, 4 * length)
        self._rest = ""  # mapped characters not yet cut into a cnonce
        self._ready: list[str] = []
        self.take = self._ready.pop

    def refill(self) -> str:
        """Draw more entropy; return one cnonce and keep the others ready."""
        n = self._length
        chars = self._rest
        while len(chars) < n:
            raw = self._entropy(self._chunk)
            if not isinstance(raw, (bytes, bytearray)) or len(raw) != self._chunk:
                raise LocalProtocolError(f"entropy({self._chunk}) must return {self._chunk} bytes")
            chars += bytes(raw).translate(_TABLE, _REJECTED).decode("ascii")
        count = len(chars) // n
        self._rest = chars[count * n :]
        self._ready.extend(chars[i * n : (i + 1) * n] for i in range(count - 1, 0, -1))
        return chars[:n]  # the oldest characters first: take() pops from the end
