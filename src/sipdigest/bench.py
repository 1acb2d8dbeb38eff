"""``sipdigest bench``: sipdigest side by side with a hand-written baseline and with peers.

One module serves both the command and the pytest-benchmark suite in ``benchmarks/``:
the realistic inputs, the hand-written baseline (:class:`Baseline`), one small adapter
per implementation and operation (:func:`build_case`), a plain timing loop
(:func:`measure`), the scale, replay-window, memory and flood measurements, and the
table. Every adapter's result is checked before it is timed and again after.

Implementations: ``fast`` and ``pure`` are sipdigest's two twins (the pure one is
selected by re-pointing ``sipdigest._impl`` while a case is built and timed, so both run
in one process); ``baseline`` is what a competent engineer writes in an afternoon
(a regex parse, hashlib, ``hmac.compare_digest``; no nonce checks, no replay window);
the peers (``sippy``, ``httpx``, ``requests``, ``werkzeug``) are optional
(``pip install 'sipdigest[bench]'``) and a missing one is reported, never hidden.

Timing: for each operation and variant every implementation is calibrated to about
``round_ms`` per round, then the rounds are interleaved (A, B, C, A, B, C, ...) so that
load from other processes falls on all of them alike; the figure is the median per
call. Compare ratios measured in one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import hashlib
import hmac
import importlib
import itertools
import json
import operator
import os
import random
import re
import secrets
import sys
import time
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from . import __version__, _impl

__all__ = [
    "Baseline",
    "Case",
    "CheckFailed",
    "Unsupported",
    "Variant",
    "Result",
    "Report",
    "OPS",
    "IMPLS",
    "PEERS",
    "VARIANTS",
    "C_REFERENCE_NS",
    "C_RUN_BASELINE_NS",
    "build_case",
    "in_scope",
    "op_variants",
    "measure",
    "use_twin",
    "peer_status",
    "machine_info",
    "scale_case",
    "reorder_case",
    "store_case",
    "replay_memory",
    "flood_retained",
    "harness_overhead",
    "render",
    "render_markdown",
    "run",
    "add_parser",
]

# ---- what is measured ------------------------------------------------------------------

OPS: dict[str, str] = {
    "parse-challenge": "parse one challenge",
    "parse-challenges": "parse challenge list (2)",
    "parse-credentials": "parse credentials",
    "ha1": "HA1",
    "response": "response",
    "verify": "verify_credentials",
    "server-accept": "Server.handle -> Accept",
    "server-challenge": "Server.handle -> SendChallenge",
    "client-retry": "Client.handle 401 -> Retry",
}
PEERS = ("sippy", "httpx", "requests", "werkzeug")
IMPLS = ("fast", "pure", "baseline", *PEERS)
PEER_DISTRIBUTIONS = {
    "sippy": "sippy",
    "httpx": "httpx",
    "requests": "requests",
    "werkzeug": "Werkzeug",
}

#: C with OpenSSL, MD5 qop=auth, ns per operation: a fixed reference measured earlier on
#: the project's machine (verify / client answer / parse). NOT measured by this module.
C_REFERENCE_NS: dict[str, int] = {"verify": 525, "client-retry": 600, "parse-credentials": 145}
#: the hand-written baseline's figures from that same earlier run: dividing by them turns
#: the fixed C figures into speed-ups, comparable with this run's whatever the machine's load
C_RUN_BASELINE_NS: dict[str, int] = {
    "verify": 5500,
    "client-retry": 5100,
    "parse-credentials": 4100,
}

#: (operation, minimum speed-up of ``fast`` over the baseline) for MD5 qop=auth.
TARGETS = (("verify", 8.0), ("server-accept", 3.5), ("client-retry", 2.5))
C_FACTOR = 3.0  # every fast figure within 3x of the C reference
FLAT = 1.2  # Server.handle from 1 to the largest population

#: which operations each implementation can do at all (outside it: not a row, not a skip)
SCOPE: dict[str, frozenset[str]] = {
    "fast": frozenset(OPS),
    "pure": frozenset(OPS),
    "baseline": frozenset(OPS),
    "sippy": frozenset(OPS) - {"parse-challenges"},
    "httpx": frozenset({"parse-challenge", "client-retry"}),
    "requests": frozenset({"parse-challenge", "client-retry"}),
    "werkzeug": frozenset({"parse-challenge", "parse-credentials"}),
}
SCOPE_NOTES = {
    "sippy": "no challenge-list parser (one challenge per header value)",
    "httpx": "HTTP client only: challenge parse and client answer",
    "requests": "HTTP client only: challenge parse and client answer",
    "werkzeug": "header parser only: no digest arithmetic",
}


class Variant:
    """An algorithm and a qop; auth-int requests carry a 1 KiB body."""

    __slots__ = ("algorithm", "qop")

    def __init__(self, algorithm: str, qop: str) -> None:
        self.algorithm = algorithm
        self.qop = qop

    @property
    def label(self) -> str:
        return f"{self.algorithm} {self.qop}"

    @property
    def method(self) -> str:
        return "REGISTER" if self.qop == "auth" else "MESSAGE"

    @property
    def uri(self) -> str:
        return (
            "sip:example.com;transport=tcp"
            if self.qop == "auth"
            else "sip:bob@example.com;transport=tcp"
        )

    @property
    def body(self) -> bytes:
        return b"" if self.qop == "auth" else BODY_1K

    def __repr__(self) -> str:
        return f"Variant({self.label!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Variant) and (self.algorithm, self.qop) == (
            other.algorithm,
            other.qop,
        )

    def __hash__(self) -> int:
        return hash((self.algorithm, self.qop))


VARIANTS = tuple(
    Variant(a, q) for a in ("MD5", "SHA-256", "SHA-512-256") for q in ("auth", "auth-int")
)
MD5_AUTH = VARIANTS[0]


def op_variants(op: str) -> tuple[Variant, ...]:
    """HA1 does not depend on qop: one variant per algorithm; everything else: all six."""
    if op == "ha1":
        return tuple(v for v in VARIANTS if v.qop == "auth")
    return VARIANTS


def variant_label(op: str, variant: Variant) -> str:
    return variant.algorithm if op == "ha1" else variant.label


def in_scope(op: str, impl: str) -> bool:
    return op in SCOPE[impl]


# ---- realistic inputs -------------------------------------------------------------------

REALM, USER, PASSWORD = "example.com", "alice", "correct horse battery staple"
SECRET = b"sipdigest bench secret, 32 bytes"
OPAQUE = "a3f7c92e51d04b68"
CNONCE = "0a4f113b9c8d7e6f"
T0 = 1_700_000_000.0  # the hosts' clock at the start of the bench (seconds)
BODY_1K = (
    b"Hello Bob, this is a SIP MESSAGE with a text body of exactly one kibibyte. "
    + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 13
)[:1024]
CALL_ID = "a84b4c76e66710@pc33.example.com"


def _entropy(seed: int = 1) -> Callable[[int], bytes]:
    """Deterministic bytes: the bench replays exactly (nonces differ only by a counter)."""
    rng = random.Random(seed)
    return rng.randbytes


def credentials_value(variant: Variant, nonce: str, response: str, nc: str = "00000001",
                      cnonce: str = CNONCE, username: str = USER) -> str:  # fmt: skip
    """An Authorization value as UAs send it: ten parameters, ~280-310 bytes."""
    return (
        f'Digest username="{username}", realm="{REALM}", nonce="{nonce}", uri="{variant.uri}", '
        f'response="{response}", algorithm={variant.algorithm}, cnonce="{cnonce}", '
        f'opaque="{OPAQUE}", qop={variant.qop}, nc={nc}'
    )


def request_headers(method: str, auth: Optional[str], body: bytes = b"",
                    call_id: str = CALL_ID) -> list[tuple[str, str]]:  # fmt: skip
    """A realistic request's headers in wire order, with the credentials before User-Agent."""
    headers = [
        ("Via", "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport"),
        ("Max-Forwards", "70"),
        ("To", '"Alice" <sip:alice@example.com>'),
        ("From", '"Alice" <sip:alice@example.com>;tag=1928301774'),
        ("Call-ID", call_id),
        ("CSeq", f"2 {method}"),
        ("Contact", "<sip:alice@192.0.2.10:5060;transport=tcp>;expires=3600"),
    ]
    if auth is not None:
        headers.append(("Authorization", auth))
    headers.append(("User-Agent", "Linphone/5.2.0 (belle-sip/5.2.0)"))
    headers.append(("Content-Length", str(len(body))))
    return headers


def response_headers(challenge: str, method: str) -> list[tuple[str, str]]:
    """A 401's headers with one WWW-Authenticate value."""
    return [
        ("Via", "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060"),
        ("From", '"Alice" <sip:alice@example.com>;tag=1928301774'),
        ("To", '"Alice" <sip:alice@example.com>;tag=37GkEhwl6'),
        ("Call-ID", CALL_ID),
        ("CSeq", f"1 {method}"),
        ("WWW-Authenticate", challenge),
        ("Server", "sipdigest-bench"),
        ("Content-Length", "0"),
    ]


_NONCE_RE = re.compile(r'nonce="([^"]+)"')


class Inputs:
    """Everything one variant needs, made once: nonces come from a real Server."""

    def __init__(self, variant: Variant) -> None:
        from .digest import compute_ha1, compute_response
        from .events import RequestReceived
        from .policy import ServerPolicy
        from .server import Server

        self.variant = v = variant
        self.policy = ServerPolicy(
            realm=REALM, secret=SECRET, algorithms=(v.algorithm,), qop=(v.qop,), opaque=OPAQUE
        )
        self.minter = Server(self.policy, entropy=_entropy(7))
        self.challenge_event = RequestReceived(
            v.method, v.uri, request_headers(v.method, None, v.body), T0, v.body
        )
        self.challenge = self.mint_challenge(T0)
        self.nonce = _NONCE_RE.findall(self.challenge)[0]
        # a server offering two algorithms: the challenge list a client parses
        second = "MD5" if v.algorithm != "MD5" else "SHA-256"
        two = Server(
            ServerPolicy(realm=REALM, secret=SECRET, algorithms=(v.algorithm, second),
                         qop=(v.qop,), opaque=OPAQUE),
            entropy=_entropy(8),
        )  # fmt: skip
        action: Any = two.handle(self.challenge_event)
        self.challenges = ", ".join(value for _, value in action.headers)
        self.ha1 = compute_ha1(v.algorithm, USER, REALM, PASSWORD)
        self.ha1_table = {v.algorithm: self.ha1}
        self.users = {USER: self.ha1_table}
        self.response = compute_response(
            algorithm=v.algorithm, username=USER, realm=REALM, ha1=self.ha1, method=v.method,
            uri=v.uri, nonce=self.nonce, nc=1, cnonce=CNONCE, qop=v.qop, body=v.body,
        )  # fmt: skip
        self.value = credentials_value(v, self.nonce, self.response)
        self.request_headers = request_headers(v.method, self.value, v.body)
        self.response_headers = response_headers(self.challenge, v.method)
        self._accept: Optional[AcceptStream] = None

    def mint_challenge(self, now: float) -> str:
        from .events import RequestReceived

        ev = RequestReceived(
            self.variant.method, self.variant.uri, self.challenge_event.headers, now
        )
        action: Any = self.minter.handle(ev)
        return str(action.headers[0][1])

    def mint_nonce(self, now: float) -> str:
        return str(_NONCE_RE.findall(self.mint_challenge(now))[0])

    def accept_stream(self) -> AcceptStream:
        """The shared stream of fresh (nonce, nc) requests for Server.handle -> Accept."""
        if self._accept is None:
            self._accept = AcceptStream(self)
        return self._accept


_INPUTS: dict[Variant, Inputs] = {}


def inputs(variant: Variant) -> Inputs:
    found = _INPUTS.get(variant)
    if found is None:
        found = _INPUTS[variant] = Inputs(variant)
    return found


class AcceptStream:
    """RequestReceived events that a server accepts, each once: nonce-major, nc 1..per_nonce.

    With ``block`` > 1 the counts of each nonce arrive shuffled within blocks of that
    size (reordering inside the replay window). The list only grows; each consumer keeps
    its own position (:class:`Feed`), so one list feeds every implementation's server.
    Responses are computed with the core chosen at import (fast when built), whatever
    twin is being measured.
    """

    def __init__(self, inp: Inputs, per_nonce: int = 1000, block: int = 1, seed: int = 3) -> None:
        self.inp = inp
        self.items: list[Any] = []
        self.per_nonce = per_nonce
        self.block = block
        self._rng = random.Random(seed)
        self._pending: list[tuple[str, int]] = []
        self._minted = 0
        v = inp.variant
        core = _impl.core
        self._hid = {"MD5": core.MD5, "SHA-256": core.SHA256, "SHA-512-256": core.SHA512_256}[
            v.algorithm
        ]
        self._qcode = core.QOP_AUTH if v.qop == "auth" else core.QOP_AUTH_INT
        self._response = core.response

    def _next_pairs(self) -> None:
        nonce = self.inp.mint_nonce(T0 + self._minted * 1e-3)
        self._minted += 1
        counts = list(range(1, self.per_nonce + 1))
        if self.block > 1:
            for i in range(0, len(counts), self.block):
                chunk = counts[i : i + self.block]
                self._rng.shuffle(chunk)
                counts[i : i + self.block] = chunk
        self._pending = [(nonce, n) for n in reversed(counts)]

    def grow(self, n: int) -> None:
        from .events import RequestReceived

        inp, v = self.inp, self.inp.variant
        method, uri, body, ha1 = v.method, v.uri, v.body, inp.ha1
        for i in range(n):
            if not self._pending:
                self._next_pairs()
            nonce, count = self._pending.pop()
            nc = f"{count:08x}"
            cnonce = f"{len(self.items) + i:016x}"
            rsp = self._response(self._hid, ha1, method, uri, nonce, nc, cnonce, self._qcode, body)
            value = credentials_value(v, nonce, rsp, nc, cnonce)
            self.items.append(
                RequestReceived(method, uri, request_headers(method, value, body), T0 + 1.0, body)
            )


class Feed:
    """One consumer's position in a growing list of events."""

    def __init__(self, items: list[Any], grow: Callable[[int], None]) -> None:
        self._items = items
        self._grow = grow
        self._it = iter(items)
        self.next: Callable[[], Any] = self._it.__next__

    def ensure(self, calls: int) -> None:
        short = calls - operator.length_hint(self._it)
        if short > 0:
            self._grow(short + 16)


# ---- the hand-written baseline ---------------------------------------------------------

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_SPLIT = re.compile(r",\s*(?=[Dd][Ii][Gg][Ee][Ss][Tt]\s)")
_BASE_HASH: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": functools.partial(hashlib.new, "sha512_256"),
}


class Baseline:
    """What a competent engineer writes in an afternoon: a regex parse, hashlib and
    ``hmac.compare_digest``. No nonce checks, no replay window, no validation beyond
    what the arithmetic needs, no caching. Ratios are against these functions."""

    @staticmethod
    def parse(value: str) -> dict[str, str]:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise ValueError("not digest")
        return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}

    @staticmethod
    def parse_challenges(value: str) -> list[dict[str, str]]:
        return [Baseline.parse(part) for part in _SPLIT.split(value)]

    @staticmethod
    def h(algorithm: str, data: str | bytes) -> str:
        raw = data.encode() if isinstance(data, str) else data
        return str(_BASE_HASH[algorithm.upper()](raw).hexdigest())

    @staticmethod
    def ha1(algorithm: str, username: str, realm: str, password: str) -> str:
        return Baseline.h(algorithm, f"{username}:{realm}:{password}")

    @staticmethod
    def response(algorithm: str, ha1: str, method: str, uri: str, nonce: str, nc: str,
                 cnonce: str, qop: Optional[str], body: bytes = b"") -> str:  # fmt: skip
        h = Baseline.h
        if qop == "auth-int":
            ha2 = h(algorithm, f"{method}:{uri}:{h(algorithm, body)}")
        else:
            ha2 = h(algorithm, f"{method}:{uri}")
        if qop:
            return h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        return h(algorithm, f"{ha1}:{nonce}:{ha2}")

    @staticmethod
    def verify_params(p: Mapping[str, str], method: str, ha1: str, body: bytes = b"") -> bool:
        expected = Baseline.response(
            p.get("algorithm", "MD5"), ha1, method, p["uri"], p["nonce"], p.get("nc", ""),
            p.get("cnonce", ""), p.get("qop"), body,
        )  # fmt: skip
        return hmac.compare_digest(expected, p["response"])

    @staticmethod
    def verify(value: str, method: str, ha1: str, body: bytes = b"") -> bool:
        return Baseline.verify_params(Baseline.parse(value), method, ha1, body)

    @staticmethod
    def server(headers: Sequence[tuple[str, str]], method: str, body: bytes, realm: str,
               users: Mapping[str, Mapping[str, str]]) -> Optional[str]:  # fmt: skip
        """The accepted username, or None (the caller then sends a challenge)."""
        for name, value in headers:
            if name.lower() != "authorization":
                continue
            p = Baseline.parse(value)
            if p.get("realm") != realm:
                continue
            table = users.get(p.get("username", ""))
            if table is None:
                return None
            ha1 = table.get(p.get("algorithm", "MD5"))
            if ha1 is None or not Baseline.verify_params(p, method, ha1, body):
                return None
            return p["username"]
        return None

    @staticmethod
    def challenge(realm: str, algorithm: str, qop: str, opaque: str) -> str:
        nonce = secrets.token_urlsafe(33)
        return (
            f'Digest realm="{realm}", qop="{qop}", algorithm={algorithm}, nonce="{nonce}", '
            f'opaque="{opaque}"'
        )

    @staticmethod
    def server_challenge(headers: Sequence[tuple[str, str]], method: str, body: bytes, realm: str,
                         users: Mapping[str, Mapping[str, str]], algorithm: str, qop: str,
                         opaque: str) -> tuple[int, list[tuple[str, str]]]:  # fmt: skip
        if Baseline.server(headers, method, body, realm, users) is not None:
            return 200, []
        return 401, [("WWW-Authenticate", Baseline.challenge(realm, algorithm, qop, opaque))]

    @staticmethod
    def answer_401(www_authenticate: str, method: str, uri: str, username: str, password: str,
                   body: bytes = b"") -> str:  # fmt: skip
        """A minimal client: parse one challenge, build the Authorization value."""
        p = Baseline.parse(www_authenticate)
        realm, nonce = p["realm"], p["nonce"]
        algorithm = p.get("algorithm", "MD5")
        offered = [q.strip() for q in p.get("qop", "").split(",")]
        qop = "auth" if "auth" in offered else "auth-int" if "auth-int" in offered else None
        cnonce = os.urandom(8).hex()
        nc = "00000001"
        ha1 = Baseline.ha1(algorithm, username, realm, password)
        resp = Baseline.response(algorithm, ha1, method, uri, nonce, nc, cnonce, qop, body)
        opaque = f', opaque="{p["opaque"]}"' if "opaque" in p else ""
        tail = f', cnonce="{cnonce}", qop={qop}, nc={nc}' if qop else ""
        return (
            f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}", algorithm={algorithm}{tail}{opaque}'
        )

    @staticmethod
    def client(headers: Sequence[tuple[str, str]], method: str, uri: str, body: bytes,
               username: str, password: str) -> Optional[str]:  # fmt: skip
        for name, value in headers:
            if name.lower() == "www-authenticate" and value[:7].lower() == "digest ":
                return Baseline.answer_401(value, method, uri, username, password, body)
        return None


# ---- cases -----------------------------------------------------------------------------


class Unsupported(Exception):
    """This implementation cannot do this operation or variant (the message says why)."""


class CheckFailed(AssertionError):
    """An adapter's result is wrong: it is not timed."""


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Case:
    """One implementation doing one operation: ``fn()`` is one operation.

    ``check(result)`` raises :class:`CheckFailed` when a result is wrong; ``ensure(n)``
    makes sure ``n`` more calls have fresh input (servers refuse a replayed nonce-count);
    ``context()`` selects the twin while the case is built and timed.
    """

    def __init__(self, op: str, variant: Variant, impl: str, fn: Callable[[], object],
                 check: Callable[[object], None], *, twin: Optional[str] = None,
                 feed: Optional[Feed] = None, note: str = "") -> None:  # fmt: skip
        self.op = op
        self.variant = variant
        self.impl = impl
        self.fn = fn
        self.check = check
        self.twin = twin
        self.feed = feed
        self.note = note
        self.iterations = 1

    def ensure(self, calls: int) -> None:
        if self.feed is not None:
            self.feed.ensure(calls)

    def prefill(self, calls: int) -> None:
        """Input for all of :func:`measure`'s rounds, made before the first is timed."""
        self.ensure(calls)

    def context(self) -> contextlib.AbstractContextManager[None]:
        return use_twin(self.twin)

    def run_once(self) -> object:
        """One checked call (before and after timing)."""
        self.ensure(1)
        with self.context():
            result = self.fn()
        self.check(result)
        return result

    @property
    def label(self) -> str:
        return f"{self.op} {variant_label(self.op, self.variant)} {self.impl}"

    def __repr__(self) -> str:
        return f"Case({self.label!r})"


TWIN_FUNCTIONS = _impl.TWIN_FUNCTIONS  # every twin function, the machines' included


def _forced_pure() -> bool:
    return os.environ.get("SIPDIGEST_NO_EXTENSIONS", "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )


def twin_core(name: str) -> Any:
    """The module behind a twin; Unsupported when the extension is not there."""
    if name == "pure":
        from . import _pure

        return _pure
    if _forced_pure():
        raise Unsupported("SIPDIGEST_NO_EXTENSIONS is set: the C extension is not used")
    try:
        return importlib.import_module("sipdigest._fast")
    except ImportError as exc:
        raise Unsupported(f"the C extension is not built ({exc})") from None


@contextlib.contextmanager
def use_twin(name: Optional[str]) -> Iterator[None]:
    """Route every ``_impl`` core function to one twin (``None``: leave it as it is)."""
    if name is None:
        yield
        return
    core = twin_core(name)
    saved = {n: getattr(_impl, n) for n in TWIN_FUNCTIONS}
    try:
        for n in TWIN_FUNCTIONS:
            setattr(_impl, n, getattr(core, n))
        yield
    finally:
        for n, f in saved.items():
            setattr(_impl, n, f)


# -- checks shared by the adapters


def _check_fields(got: Mapping[str, Any], want: Mapping[str, Any], what: str) -> None:
    for key, value in want.items():
        found = got.get(key)
        if isinstance(found, str) and len(found) > 1 and found[0] == found[-1] == '"':
            found = found[1:-1]
        _expect(found == value, f"{what}: {key} is {found!r}, expected {value!r}")


def _challenge_fields(inp: Inputs) -> dict[str, Any]:
    v = inp.variant
    return {"realm": REALM, "nonce": inp.nonce, "algorithm": v.algorithm, "qop": v.qop,
            "opaque": OPAQUE}  # fmt: skip


def _credential_fields(inp: Inputs) -> dict[str, Any]:
    v = inp.variant
    return {"username": USER, "realm": REALM, "nonce": inp.nonce, "uri": v.uri,
            "response": inp.response, "algorithm": v.algorithm, "cnonce": CNONCE,
            "opaque": OPAQUE, "qop": v.qop, "nc": "00000001"}  # fmt: skip


def _check_answer(value: object, inp: Inputs, *, uri: Optional[str] = None) -> None:
    """A client's Authorization value: it verifies, for this challenge, and this URI."""
    from .digest import verify_credentials
    from .headers import parse_credentials

    _expect(isinstance(value, str), f"not a header value: {value!r}")
    assert isinstance(value, str)
    v = inp.variant
    creds = parse_credentials(value)
    _expect(creds.nonce == inp.nonce, "answer for another nonce")
    _expect(creds.uri == (v.uri if uri is None else uri), f"digest-uri {creds.uri!r}")
    _expect((creds.qop or "") == v.qop, f"qop {creds.qop!r}")
    _expect(verify_credentials(value, method=v.method, password=PASSWORD, body=v.body),
            "the answer does not verify")  # fmt: skip


def build_case(op: str, variant: Variant, impl: str) -> Case:
    """The adapter for ``impl`` doing ``op`` on ``variant``, checked once.

    Raises :class:`Unsupported` (with the reason) when ``impl`` cannot do it and
    :class:`CheckFailed` when it gives a wrong result.
    """
    if op not in OPS:
        raise ValueError(f"unknown operation {op!r}")
    if not in_scope(op, impl):
        raise Unsupported(f"{impl}: {SCOPE_NOTES.get(impl, 'not offered')}")
    inp = inputs(variant)
    if impl in ("fast", "pure"):
        twin_core(impl)
        with use_twin(impl):
            case = _sipdigest_case(op, inp, impl)
    elif impl == "baseline":
        case = _baseline_case(op, inp)
    else:
        case = _PEER_BUILDERS[impl](op, inp, _peer_module(impl))
    case.run_once()
    return case


def _sipdigest_case(op: str, inp: Inputs, twin: str) -> Case:
    from . import digest, headers
    from .actions import Accept, Retry, SendChallenge
    from .client import Client
    from .credentials import Credential
    from .events import CredentialsFound, CredentialsNotFound, RequestPrepared, ResponseReceived
    from .server import Server

    v = inp.variant
    fn: Callable[[], object]
    feed: Optional[Feed] = None
    note = ""

    if op == "parse-challenge":
        fn = functools.partial(headers.parse_challenges, inp.challenge)

        def check(r: Any) -> None:
            _expect(len(r) == 1, "one challenge")
            c = r[0]
            _check_fields({"realm": c.realm, "nonce": c.nonce, "algorithm": c.algorithm,
                           "qop": ",".join(c.qop), "opaque": c.opaque}, _challenge_fields(inp), op)  # fmt: skip

    elif op == "parse-challenges":
        fn = functools.partial(headers.parse_challenges, inp.challenges)

        def check(r: Any) -> None:
            _expect(
                len(r) == 2 and v.algorithm in {c.algorithm for c in r}, f"two challenges: {r!r}"
            )

    elif op == "parse-credentials":
        fn = functools.partial(headers.parse_credentials, inp.value)

        def check(r: Any) -> None:
            _check_fields(
                {n: getattr(r, n) for n in _credential_fields(inp)}, _credential_fields(inp), op
            )

    elif op == "ha1":
        fn = functools.partial(digest.compute_ha1, v.algorithm, USER, REALM, PASSWORD)

        def check(r: Any) -> None:
            _expect(r == inp.ha1, "HA1")

    elif op == "response":
        fn = functools.partial(
            digest.compute_response, algorithm=v.algorithm, username=USER, realm=REALM,
            ha1=inp.ha1, method=v.method, uri=v.uri, nonce=inp.nonce, nc=1, cnonce=CNONCE,
            qop=v.qop, body=v.body,
        )  # fmt: skip

        def check(r: Any) -> None:
            _expect(r == inp.response, "response")

    elif op == "verify":
        _expect(not digest.verify_credentials(inp.value, method="INVITE", ha1=inp.ha1, body=v.body),
                "verify_credentials accepts a wrong method")  # fmt: skip
        fn = functools.partial(
            digest.verify_credentials, inp.value, method=v.method, ha1=inp.ha1, body=v.body
        )

        def check(r: Any) -> None:
            _expect(r is True, "verify_credentials refuses a right answer")

    elif op == "server-accept":
        users = inp.users

        def lookup(lk: Any) -> Any:
            table = users.get(lk.username)
            return CredentialsNotFound(lk) if table is None else CredentialsFound(lk, ha1=table)

        server = Server(inp.policy, lookup=lookup, entropy=_entropy(11))
        stream = inp.accept_stream()
        feed = Feed(stream.items, stream.grow)
        handle, nxt = server.handle, feed.next

        def fn() -> object:
            return handle(nxt())

        def check(r: Any) -> None:
            _expect(type(r) is Accept and r.username == USER and r.algorithm == v.algorithm
                    and r.qop == v.qop, f"not accepted: {r!r}")  # fmt: skip

    elif op == "server-challenge":
        server = Server(inp.policy, entropy=_entropy(12))
        fn = functools.partial(server.handle, inp.challenge_event)

        def check(r: Any) -> None:
            _expect(type(r) is SendChallenge and r.status == 401 and len(r.headers) == 1,
                    f"not a challenge: {r!r}")  # fmt: skip
            (c,) = headers.parse_challenges(r.headers[0][1])
            _expect(
                c.algorithm == v.algorithm and c.qop == (v.qop,) and c.opaque == OPAQUE, "challenge"
            )

    elif op == "client-retry":
        client = Client([Credential(REALM, USER, PASSWORD)], entropy=_entropy(13))
        events = [
            ResponseReceived(401, inp.response_headers,
                             RequestPrepared(v.method, v.uri, f"{i:06d}-{CALL_ID}", 1, v.body))
            for i in range(1024)
        ]  # fmt: skip  # more requests than the client remembers: each 401 is a first one
        answer, upcoming = client.handle, itertools.cycle(events).__next__
        note = "Client keeps the HA1 per credential and realm; baseline and peers hash the password each time"

        def fn() -> object:
            return answer(upcoming())

        def check(r: Any) -> None:
            _expect(type(r) is Retry and len(r.headers) == 1 and r.headers[0][0] == "Authorization",
                    f"not a retry: {r!r}")  # fmt: skip
            _check_answer(r.headers[0][1], inp)

    else:  # pragma: no cover - OPS is closed
        raise ValueError(op)
    return Case(op, v, twin, fn, check, twin=twin, feed=feed, note=note)


def _baseline_case(op: str, inp: Inputs) -> Case:
    v = inp.variant
    fn: Callable[[], object]
    b = Baseline
    if op == "parse-challenge":
        fn = functools.partial(b.parse, inp.challenge)

        def check(r: Any) -> None:
            _check_fields(r, _challenge_fields(inp), op)

    elif op == "parse-challenges":
        fn = functools.partial(b.parse_challenges, inp.challenges)

        def check(r: Any) -> None:
            _expect(
                len(r) == 2 and v.algorithm in {c["algorithm"] for c in r}, f"two challenges: {r!r}"
            )

    elif op == "parse-credentials":
        fn = functools.partial(b.parse, inp.value)

        def check(r: Any) -> None:
            _check_fields(r, _credential_fields(inp), op)

    elif op == "ha1":
        fn = functools.partial(b.ha1, v.algorithm, USER, REALM, PASSWORD)

        def check(r: Any) -> None:
            _expect(r == inp.ha1, "HA1")

    elif op == "response":
        fn = functools.partial(b.response, v.algorithm, inp.ha1, v.method, v.uri, inp.nonce,
                               "00000001", CNONCE, v.qop, v.body)  # fmt: skip

        def check(r: Any) -> None:
            _expect(r == inp.response, "response")

    elif op == "verify":
        _expect(
            not b.verify(inp.value, "INVITE", inp.ha1, v.body), "baseline accepts a wrong method"
        )
        fn = functools.partial(b.verify, inp.value, v.method, inp.ha1, v.body)

        def check(r: Any) -> None:
            _expect(r is True, "baseline refuses a right answer")

    elif op == "server-accept":
        fn = functools.partial(b.server, inp.request_headers, v.method, v.body, REALM, inp.users)

        def check(r: Any) -> None:
            _expect(r == USER, f"baseline server: {r!r}")

    elif op == "server-challenge":
        fn = functools.partial(b.server_challenge, inp.challenge_event.headers, v.method, v.body,
                               REALM, inp.users, v.algorithm, v.qop, OPAQUE)  # fmt: skip

        def check(r: Any) -> None:
            from .headers import parse_challenges

            _expect(r[0] == 401, f"baseline challenge: {r!r}")
            (c,) = parse_challenges(r[1][0][1])
            _expect(c.algorithm == v.algorithm and c.qop == (v.qop,), "challenge")

    elif op == "client-retry":
        fn = functools.partial(
            b.client, inp.response_headers, v.method, v.uri, v.body, USER, PASSWORD
        )

        def check(r: Any) -> None:
            _check_answer(r, inp)

    else:  # pragma: no cover
        raise ValueError(op)
    return Case(op, v, "baseline", fn, check)


# -- peers

_PEER_IMPORTS = {
    "sippy": ("sippy.SipAuthorization", "sippy.SipWWWAuthenticate"),
    "httpx": ("httpx",),
    "requests": ("requests.auth", "requests.utils"),
    "werkzeug": ("werkzeug.datastructures",),
}


def peer_status() -> dict[str, dict[str, str]]:
    """Each peer: {"status": "ok" | "missing" | "broken", "version", "detail"}."""
    from importlib import metadata

    out: dict[str, dict[str, str]] = {}
    for peer in PEERS:
        try:
            version = metadata.version(PEER_DISTRIBUTIONS[peer])
        except metadata.PackageNotFoundError:
            out[peer] = {"status": "missing", "version": "",
                         "detail": "not installed: pip install 'sipdigest[bench]'"}  # fmt: skip
            continue
        try:
            for name in _PEER_IMPORTS[peer]:
                importlib.import_module(name)
        except Exception as exc:  # any import failure is reported, not hidden
            out[peer] = {"status": "broken", "version": version,
                         "detail": f"installed but does not import: {type(exc).__name__}: {exc}"}  # fmt: skip
            continue
        out[peer] = {"status": "ok", "version": version, "detail": ""}
    return out


_PEER_CACHE: dict[str, Any] = {}


def _peer_module(peer: str) -> Any:
    if peer in _PEER_CACHE:
        return _PEER_CACHE[peer]
    try:
        modules = [importlib.import_module(name) for name in _PEER_IMPORTS[peer]]
    except ImportError as exc:
        raise Unsupported(
            f"{peer} is not installed ({exc.name}): pip install 'sipdigest[bench]'"
        ) from None
    except Exception as exc:
        raise Unsupported(f"{peer} does not import: {type(exc).__name__}: {exc}") from None
    _PEER_CACHE[peer] = modules
    return modules


def _find(headers: Sequence[tuple[str, str]], lname: str) -> Optional[str]:
    for name, value in headers:
        if name.lower() == lname:
            return value
    return None


def _sippy_case(op: str, inp: Inputs, mods: Any) -> Case:
    auth_mod, www_mod = mods
    SipAuthorization, SipWWWAuthenticate = auth_mod.SipAuthorization, www_mod.SipWWWAuthenticate
    DigestCalcHA1, DigestCalcResponse = auth_mod.DigestCalcHA1, auth_mod.DigestCalcResponse
    v = inp.variant
    body_text = v.body.decode("ascii")  # sippy hashes str bodies
    fn: Callable[[], object]
    note = ""

    def sippy_fields(obj: Any, names: Sequence[str]) -> dict[str, Any]:
        got = {n: getattr(obj, n, None) for n in names}
        for name, value in obj.otherparams or ():
            got[name] = value
        qop = got.get("qop")
        if isinstance(qop, list):
            got["qop"] = ",".join(qop)
        return got

    if op == "parse-challenge":

        def fn() -> object:
            w = SipWWWAuthenticate(body=inp.challenge)
            w.parse()
            return w

        def check(r: Any) -> None:
            _check_fields(sippy_fields(r, ["realm", "nonce", "algorithm", "qop", "opaque"]),
                          _challenge_fields(inp), op)  # fmt: skip

    elif op == "parse-credentials":

        def fn() -> object:
            a = SipAuthorization(body=inp.value)
            a.parse()
            return a

        def check(r: Any) -> None:
            want = _credential_fields(inp)
            _check_fields(sippy_fields(r, list(want)), want, op)

    elif op == "ha1":
        fn = functools.partial(DigestCalcHA1, v.algorithm, USER, REALM, PASSWORD, inp.nonce, CNONCE)

        def check(r: Any) -> None:
            _expect(r == inp.ha1.encode(), "HA1")

    elif op == "response":
        ha1b = inp.ha1.encode()
        fn = functools.partial(DigestCalcResponse, v.algorithm, ha1b, inp.nonce, "00000001", CNONCE,
                               v.qop, v.method, v.uri, body_text)  # fmt: skip

        def check(r: Any) -> None:
            _expect(r == inp.response, "response")

    elif op == "verify":
        # SipAuthorization.verifyHA1 minus its nonce check (HashOracle), which would refuse a
        # nonce sippy did not issue: parse + recompute + compare, like verify_credentials.
        ha1b = inp.ha1.encode()
        note = "parse + recompute; sippy's own nonce check is in server-accept"

        def fn() -> object:
            a = SipAuthorization(body=inp.value)
            a.parse()
            return DigestCalcResponse(a.algorithm, ha1b, a.nonce, a.nc, a.cnonce, a.qop, v.method,
                                      a.uri, body_text) == a.response  # fmt: skip

        def check(r: Any) -> None:
            _expect(r is True, "sippy refuses a right answer")

    elif op == "server-accept":
        # sippy's own server path: a nonce from its HashOracle (AES + HMAC, 32 s life), then
        # SipAuthorization.verifyHA1, which checks that nonce. No nonce-count state.
        w = SipWWWAuthenticate(realm=REALM, algorithm=v.algorithm)
        nonce = w.nonce
        rsp = Baseline.response(
            v.algorithm, inp.ha1, v.method, v.uri, nonce, "00000001", CNONCE, v.qop, v.body
        )
        hdrs = request_headers(v.method, credentials_value(v, nonce, rsp), v.body)
        users = {USER: inp.ha1.encode()}
        note = "verifies its own AES nonce; keeps no nonce-count (replay) state"

        def fn() -> object:
            for name, value in hdrs:
                if name.lower() == "authorization":
                    a = SipAuthorization(body=value)
                    a.parse()
                    if a.realm != REALM:
                        continue
                    ha1 = users.get(a.username)
                    if ha1 is not None and a.verifyHA1(ha1, v.method, body_text):
                        return a.username
                    return None
            return None

        def check(r: Any) -> None:
            _expect(r == USER, f"sippy server: {r!r}")

    elif op == "server-challenge":
        plain = inp.challenge_event.headers

        def fn() -> object:
            for name, _ in plain:
                if name.lower() == "authorization":
                    return None
            w = SipWWWAuthenticate(realm=REALM, algorithm=v.algorithm)
            w.qop = (v.qop,)
            w.opaque = OPAQUE
            return str(w)

        def check(r: Any) -> None:
            from .headers import parse_challenges

            (c,) = parse_challenges(str(r))
            _expect(
                c.algorithm == v.algorithm and c.qop == (v.qop,) and c.opaque == OPAQUE,
                f"challenge {r!r}",
            )

    elif op == "client-retry":
        hdrs = inp.response_headers

        def fn() -> object:
            value = _find(hdrs, "www-authenticate")
            if value is None:
                return None
            w = SipWWWAuthenticate(body=value)
            w.parse()
            return str(w.genAuthHF(USER, PASSWORD, v.method, v.uri, body_text, qop=v.qop))

        def check(r: Any) -> None:
            _check_answer(r, inp)

    else:  # pragma: no cover - SCOPE excludes the rest
        raise Unsupported(f"sippy: {op}")
    return Case(op, v, "sippy", fn, check, note=note)


def _http_variant_check(peer: str, v: Variant) -> None:
    if v.algorithm == "SHA-512-256":
        raise Unsupported(f"{peer}: no SHA-512-256 (it knows SHA-512, a different algorithm)")
    if v.qop == "auth-int":
        raise Unsupported(f"{peer}: qop=auth-int is not implemented")


_HTTP_URI_NOTE = "HTTP-only: sends the URL path as digest-uri ({uri!r}), which a SIP server refuses"


def _httpx_case(op: str, inp: Inputs, mods: Any) -> Case:
    (httpx,) = mods
    v = inp.variant
    auth = httpx.DigestAuth(USER, PASSWORD)
    request = httpx.Request(v.method, v.uri)
    fn: Callable[[], object]
    note = ""
    if op == "parse-challenge":
        fn = functools.partial(auth._parse_challenge, request, None, inp.challenge)

        def check(r: Any) -> None:
            _check_fields({"realm": r.realm.decode(), "nonce": r.nonce.decode(), "algorithm": r.algorithm,
                           "qop": r.qop.decode(), "opaque": r.opaque.decode()}, _challenge_fields(inp), op)  # fmt: skip

    elif op == "client-retry":
        _http_variant_check("httpx", v)
        hdrs = inp.response_headers
        uri = request.url.raw_path.decode()
        note = _HTTP_URI_NOTE.format(uri=uri)

        def fn() -> object:  # DigestAuth.auth_flow's work on a 401, without the HTTP plumbing
            for name, value in hdrs:
                if name.lower() == "www-authenticate" and value.lower().startswith("digest "):
                    challenge = auth._parse_challenge(request, None, value)
                    return auth._build_auth_header(request, challenge)
            return None

        def check(r: Any) -> None:
            _check_answer(r, inp, uri=uri)

    else:  # pragma: no cover
        raise Unsupported(f"httpx: {op}")
    return Case(op, v, "httpx", fn, check, note=note)


def _requests_case(op: str, inp: Inputs, mods: Any) -> Case:
    requests_auth, requests_utils = mods
    parse_dict_header = requests_utils.parse_dict_header
    v = inp.variant
    fn: Callable[[], object]
    note = ""
    if op == "parse-challenge":

        def fn() -> object:  # HTTPDigestAuth.handle_401's parse
            pat = re.compile(r"digest ", flags=re.IGNORECASE)
            return parse_dict_header(pat.sub("", inp.challenge, count=1))

        def check(r: Any) -> None:
            _check_fields(r, _challenge_fields(inp), op)

    elif op == "client-retry":
        _http_variant_check("requests", v)
        auth = requests_auth.HTTPDigestAuth(USER, PASSWORD)
        auth.init_per_thread_state()
        state = auth._thread_local
        hdrs = inp.response_headers
        from urllib.parse import urlparse

        uri = urlparse(v.uri).path
        note = _HTTP_URI_NOTE.format(uri=uri)

        def fn() -> object:  # handle_401 + build_digest_header, without the HTTP plumbing
            value = _find(hdrs, "www-authenticate") or ""
            if "digest" in value.lower():
                pat = re.compile(r"digest ", flags=re.IGNORECASE)
                state.chal = parse_dict_header(pat.sub("", value, count=1))
                return auth.build_digest_header(v.method, v.uri)
            return None

        def check(r: Any) -> None:
            _check_answer(r, inp, uri=uri)

    else:  # pragma: no cover
        raise Unsupported(f"requests: {op}")
    return Case(op, v, "requests", fn, check, note=note)


def _werkzeug_case(op: str, inp: Inputs, mods: Any) -> Case:
    (ds,) = mods
    v = inp.variant
    fn: Callable[[], object]
    if op == "parse-challenge":
        fn = functools.partial(ds.WWWAuthenticate.from_header, inp.challenge)

        def check(r: Any) -> None:
            _expect(r.type == "digest", "scheme")
            _check_fields(r.parameters, _challenge_fields(inp), op)

    elif op == "parse-credentials":
        fn = functools.partial(ds.Authorization.from_header, inp.value)

        def check(r: Any) -> None:
            _expect(r.type == "digest", "scheme")
            _check_fields(r.parameters, _credential_fields(inp), op)

    else:  # pragma: no cover
        raise Unsupported(f"werkzeug: {op}")
    return Case(op, v, "werkzeug", fn, check)


_PEER_BUILDERS: dict[str, Callable[[str, Inputs, Any], Case]] = {
    "sippy": _sippy_case,
    "httpx": _httpx_case,
    "requests": _requests_case,
    "werkzeug": _werkzeug_case,
}


# ---- timing ----------------------------------------------------------------------------


class Result:
    """The timing of one case: per-call nanoseconds (median and inter-quartile range)."""

    __slots__ = ("op", "variant", "impl", "median_ns", "iqr_ns", "rounds", "iterations", "note")

    def __init__(self, op: str, variant: str, impl: str, median_ns: float, iqr_ns: float,
                 rounds: int, iterations: int, note: str = "") -> None:  # fmt: skip
        self.op = op
        self.variant = variant
        self.impl = impl
        self.median_ns = median_ns
        self.iqr_ns = iqr_ns
        self.rounds = rounds
        self.iterations = iterations
        self.note = note

    def as_dict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.__slots__}


def _summary(samples: Sequence[float]) -> tuple[float, float]:
    import statistics  # here, not at the top: `sipdigest` imports this module for every command

    if len(samples) < 2:
        return (samples[0] if samples else float("nan")), 0.0
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return statistics.median(samples), q[2] - q[0]


def _time(case: Case, iterations: int) -> int:
    """Nanoseconds for ``iterations`` calls (input made ready first, twin selected).

    The cyclic garbage collector is off while the calls run, as ``timeit`` does: the
    ready-made requests of the stateful cases would otherwise make every collection
    walk them, a cost that belongs to the bench, not to the code measured.
    """
    case.ensure(iterations)
    fn = case.fn
    loop = range(iterations)
    enabled = gc.isenabled()
    with case.context():
        gc.disable()
        try:
            start = time.perf_counter_ns()
            for _ in loop:
                fn()
            return time.perf_counter_ns() - start
        finally:
            if enabled:
                gc.enable()


def calibrate(case: Case, round_ns: int) -> int:
    """How many calls make one round of about ``round_ns``."""
    n = 1
    while True:
        elapsed = _time(case, n)
        if elapsed >= round_ns // 4 or n >= 1 << 22:
            break
        n *= 4 if elapsed < round_ns // 100 else 2
    per_call = max(elapsed / n, 1.0)
    return max(1, int(round_ns / per_call))


def measure(cases: Sequence[Case], rounds: int, round_ns: int) -> list[Result]:
    """Calibrate each case, then time them in interleaved rounds; check each after timing."""
    for case in cases:
        case.iterations = calibrate(case, round_ns)
    for case in cases:
        case.prefill((rounds + 1) * case.iterations + 2)
    samples: dict[int, list[float]] = {id(c): [] for c in cases}
    gc.collect()
    for r in range(rounds + 1):  # round 0 warms up
        order = list(cases[r % len(cases) :]) + list(cases[: r % len(cases)])
        for case in order:
            elapsed = _time(case, case.iterations)
            if r:
                samples[id(case)].append(elapsed / case.iterations)
    out = []
    for case in cases:
        case.run_once()  # still right after timing
        median, iqr = _summary(samples[id(case)])
        out.append(Result(case.op, variant_label(case.op, case.variant), case.impl, median, iqr,
                          rounds, case.iterations, case.note))  # fmt: skip
    return out


def harness_overhead(rounds: int = 41, round_ns: int = 500_000) -> dict[str, float]:
    """What the timing loop adds per call: a Python call, and a call plus ``next()``."""
    items = list(range(1 << 16))

    def nothing() -> object:
        return None

    it = itertools.cycle(items).__next__

    def with_next() -> object:
        return it()

    plain = Case("harness", MD5_AUTH, "call", nothing, lambda r: None)
    feed = Case("harness", MD5_AUTH, "call+next", with_next, lambda r: None)
    res = measure([plain, feed], rounds, round_ns)
    return {"call": res[0].median_ns, "call+next": res[1].median_ns}


# ---- scale, replay window, memory, flood ----------------------------------------------


class ScaleStream:
    """Requests spread over ``active`` nonces and users (MD5, qop=auth, MAC every request).

    The server's memo of verified nonces is off (``nonce_cache=0``) so that every
    population pays the same per-request work and only the size of the state differs:
    each request opens its nonce's MAC, finds its user among ``active`` users and updates
    its nonce's window in a replay store holding ``active`` nonces. Up to ``sample``
    nonces are real (minted, answered once with nc=1 before timing); the rest of the
    store is filled through its public ``check_and_record``. With one active nonce the
    nonce is replaced every ``per_nonce`` requests (store capacity 1).

    Requests are made from the stream's own copies of the names and HA1s, never from
    the server's user table: making a request must not bring the server's state into
    the cache just before the server reads it (that would hide the very misses the
    scale figures are about).
    """

    def __init__(
        self, active: int, sample: int = 10_000, per_nonce: int = 1000, seed: int = 5
    ) -> None:
        from collections import deque

        from .actions import Accept
        from .events import CredentialsFound, CredentialsNotFound, RequestReceived
        from .policy import ServerPolicy
        from .replay import MemoryReplayStore
        from .server import Server

        self.active = active
        v = self.variant = MD5_AUTH
        self.inp = inputs(v)
        self._rng = random.Random(seed)
        self.policy = ServerPolicy(realm=REALM, secret=SECRET, algorithms=("MD5",), qop=("auth",),
                                   opaque=OPAQUE, nonce_cache=0, replay_capacity=active)  # fmt: skip
        self.store = MemoryReplayStore(active)
        # the host's table: one MD5 HA1 (a str) per user, answered as the HA1 for the
        # algorithm the look-up names; a table of per-user mappings costs a host about
        # four more cache misses per request at 10,000 users and more (measured with
        # cachegrind), which is the host's choice, not the library's
        users: dict[str, str] = {}
        self.users = users

        def lookup(lk: Any) -> Any:
            ha1 = users.get(lk.username)
            return CredentialsNotFound(lk) if ha1 is None else CredentialsFound(lk, ha1=ha1)

        self.server = Server(
            self.policy, lookup=lookup, replay_store=self.store, entropy=_entropy(21)
        )
        self._minter = self.inp.minter
        core = _impl.core
        self._response = core.response
        self._hid, self._qcode = core.MD5, core.QOP_AUTH
        self._event = RequestReceived
        # ready-made requests, consumed from the left: a handled request is freed (as a
        # proxy frees the request it parsed), so later ones reuse its memory
        self.items: deque[Any] = deque()
        self.per_nonce = per_nonce
        self.sample = min(sample, active)
        # the client side's names and HA1s: equal to the server's, not the same objects
        self._names = [f"u{i:07d}" for i in range(self.sample)]
        self._ha1s = [Baseline.ha1("MD5", name, REALM, PASSWORD) for name in self._names]
        for i in range(self.sample):
            users[f"u{i:07d}"] = Baseline.ha1("MD5", self._names[i], REALM, PASSWORD)
        if active == 1:
            self._nonces: list[str] = []
            self._count = per_nonce
            self._minted = 0
            return
        self._nonces = [self.inp.mint_nonce(T0) for _ in range(self.sample)]
        # the rest of the population: users, and nonces in the replay store
        shared = self.inp.ha1
        for i in range(self.sample, active):
            users[f"u{i:07d}"] = shared
        raw = _entropy(22)(8 * (active - self.sample))
        record, expires = self.store.check_and_record, T0 + 300.0
        for i in range(0, len(raw), 8):
            record(raw[i : i + 8], 1, 128, T0, expires)
        # every real nonce answered once (nc=1), untimed
        handle = self.server.handle
        for i, nonce in enumerate(self._nonces):
            action = handle(self._request(i, nonce, 1, T0 + 1.0))
            _expect(type(action) is Accept, f"scale set-up: {action!r}")
        self._count = 1
        self._order = list(range(self.sample))
        self._pos = len(self._order)  # the next grow starts a pass

    def _request(self, i: int, nonce: str, count: int, now: float) -> Any:
        v = self.variant
        nc = f"{count:08x}"
        rsp = self._response(self._hid, self._ha1s[i], v.method, v.uri, nonce, nc, CNONCE,
                             self._qcode, b"")  # fmt: skip
        value = credentials_value(v, nonce, rsp, nc, CNONCE, username=self._names[i])
        return self._event(v.method, v.uri, request_headers(v.method, value), now)

    def grow(self, n: int) -> None:
        """Make exactly ``n`` more requests (both streams: the same number of objects)."""
        items = self.items
        goal = len(items) + n
        if self.active == 1:
            while len(items) < goal:
                if self._count >= self.per_nonce:  # a new nonce, a second later (store capacity 1)
                    self._minted += 1
                    self._nonces = [self.inp.mint_nonce(T0 + self._minted)]
                    self._count = 0
                self._count += 1
                items.append(
                    self._request(0, self._nonces[0], self._count, T0 + self._minted + 0.5)
                )
            return
        order, pos = self._order, self._pos
        while len(items) < goal:
            if pos == len(order):
                self._count += 1  # one more pass over the sample, in a new random order
                self._rng.shuffle(order)
                pos = 0
            i = order[pos]
            pos += 1
            items.append(self._request(i, self._nonces[i], self._count, T0 + 2.0))
        self._pos = pos


class ScaleCase(Case):
    """A scale case whose requests are made just before the round that handles them.

    A proxy handles the request it has just parsed: the request is in the cache, the
    server's state (user table, replay table) is wherever the traffic left it. Made all
    in advance, 10,000+ requests (~1.3 KB each, for each of the three populations) stream
    through the cache while they are handled and push the server's state of the larger
    populations out of it (L3 included) between two requests of one user: the figure
    then charges the library for the bench's own memory. So :meth:`prefill` (the
    up-front fill :func:`measure` asks for, all the rounds at once) makes nothing and
    each round's ``ensure(iterations)`` makes that round's requests, untimed, right
    before it. Every
    population gets exactly the same treatment (same number of requests made, the same
    way, at the same moment), so the figures differ only by the server's state, whose
    misses all stay in the measurement: the stream never reads the server's objects.

    ``just_in_time = False`` restores the fill in advance, for a timing loop that does
    not call ``ensure`` before each round (pytest-benchmark's).
    """

    just_in_time = True

    def prefill(self, calls: int) -> None:
        if not self.just_in_time:
            super().prefill(calls)


class _ExactFeed(Feed):
    """A :class:`Feed` over a deque that makes exactly the requests asked for."""

    def __init__(self, items: Any, grow: Callable[[int], None]) -> None:
        self._items = items
        self._grow = grow
        self.next = items.popleft

    def ensure(self, calls: int) -> None:
        short = calls - len(self._items)
        if short > 0:
            self._grow(short)


def scale_case(active: int, sample: int = 10_000, twin: Optional[str] = None) -> ScaleCase:
    """Server.handle -> Accept with ``active`` nonces and users (see :class:`ScaleStream`
    and :class:`ScaleCase`)."""
    from .actions import Accept

    with use_twin(twin):
        stream = ScaleStream(active, sample)
    feed = _ExactFeed(stream.items, stream.grow)
    handle, nxt = stream.server.handle, feed.next

    def fn() -> object:
        return handle(nxt())

    def check(r: Any) -> None:
        _expect(type(r) is Accept and r.username.startswith("u"), f"scale: {r!r}")

    case = ScaleCase("scale", MD5_AUTH, f"{active:,}", fn, check, twin=twin, feed=feed)
    case.run_once()
    return case


def reorder_case(block: int, twin: Optional[str] = None) -> Case:
    """Server.handle -> Accept with nonce-counts in order (block 1) or shuffled in blocks."""
    from .actions import Accept
    from .events import CredentialsFound
    from .server import Server

    inp = inputs(MD5_AUTH)
    with use_twin(twin):
        server = Server(inp.policy, lookup=lambda lk: CredentialsFound(lk, ha1=inp.ha1_table),
                        entropy=_entropy(31))  # fmt: skip
    stream = AcceptStream(inp, per_nonce=1024, block=block, seed=block)
    feed = Feed(stream.items, stream.grow)
    handle, nxt = server.handle, feed.next

    def fn() -> object:
        return handle(nxt())

    def check(r: Any) -> None:
        _expect(type(r) is Accept, f"reordered nc refused: {r!r}")

    name = "in order" if block <= 1 else f"shuffled in blocks of {block}"
    case = Case("replay-window", MD5_AUTH, name, fn, check, twin=twin, feed=feed)
    case.run_once()
    return case


def store_case(block: int) -> Case:
    """MemoryReplayStore.check_and_record alone, counts in order or shuffled in blocks."""
    from .replay import MemoryReplayStore

    store = MemoryReplayStore(65536)
    rng = random.Random(block)
    items: list[tuple[bytes, int]] = []
    keys = itertools.count()

    def grow(n: int) -> None:
        while n > 0:
            key = next(keys).to_bytes(8, "big")
            counts = list(range(1, 1025))
            if block > 1:
                for i in range(0, 1024, block):
                    chunk = counts[i : i + block]
                    rng.shuffle(chunk)
                    counts[i : i + block] = chunk
            items.extend((key, c) for c in counts)
            n -= 1024

    feed = Feed(items, grow)
    record, nxt = store.check_and_record, feed.next
    expires = T0 + 300.0

    def fn() -> object:
        key, nc = nxt()
        return record(key, nc, 128, T0, expires)

    def check(r: Any) -> None:
        _expect(r is True, "the store refused a count inside the window")

    name = "in order" if block <= 1 else f"shuffled in blocks of {block}"
    case = Case("replay-store", MD5_AUTH, name, fn, check, feed=feed)
    case.run_once()
    return case


def replay_memory(count: int = 100_000) -> dict[str, float]:
    """Bytes per tracked nonce in MemoryReplayStore (tracemalloc): fresh (one count seen),
    and with a full window (a count 127 below the highest marked: the widest bitmask).
    Keys are 8-byte ``bytes``, as the server's; the store's ring is included."""
    import tracemalloc

    from .replay import MemoryReplayStore

    raw = _entropy(41)(8 * count)
    expires = T0 + 300.0
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = MemoryReplayStore(count)
        record = store.check_and_record
        for i in range(0, len(raw), 8):
            record(raw[i : i + 8], 1, 128, T0, expires)
        gc.collect()
        fresh = tracemalloc.get_traced_memory()[0] - before
        for i in range(0, len(raw), 8):
            key = raw[i : i + 8]
            record(key, 200, 128, T0, expires)
            record(key, 73, 128, T0, expires)
        gc.collect()
        full = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    _expect(len(store) == count, "store size")
    return {"nonces": count, "fresh": fresh / count, "full_window": full / count}


def flood_retained(count: int = 100_000, twin: Optional[str] = None) -> dict[str, float]:
    """Bytes still allocated after ``count`` unauthenticated requests (none, forged, Basic)."""
    import tracemalloc

    from .actions import Reject, SendChallenge
    from .events import CredentialsFound, RequestReceived
    from .policy import ServerPolicy
    from .server import Server

    inp = inputs(MD5_AUTH)
    v = inp.variant
    with use_twin(twin):
        server = Server(inp.policy, lookup=lambda lk: CredentialsFound(lk, ha1=inp.ha1_table),
                        entropy=_entropy(51))  # fmt: skip
        other = Server(ServerPolicy(realm=REALM, secret=b"another secret, 32 bytes long!!!",
                                    algorithms=("MD5",), opaque=OPAQUE), entropy=_entropy(52))  # fmt: skip
        sent: Any = other.handle(inp.challenge_event)
        forged_nonce = _NONCE_RE.findall(sent.headers[0][1])[0]
        forged = credentials_value(v, forged_nonce, "0" * 32)
        shapes = [
            request_headers(v.method, None),
            request_headers(v.method, forged),
            request_headers(v.method, "Basic YWxpY2U6c2VjcmV0"),
        ]
        handle = server.handle

        def flood(n: int, start: float) -> Any:
            action = None
            for i in range(n):
                action = handle(RequestReceived(v.method, v.uri, shapes[i % 3], start + i * 1e-3))
                if type(action) is not SendChallenge and type(action) is not Reject:
                    raise CheckFailed(f"flood request not refused: {action!r}")
            return action

        flood(3_000, T0)  # warm every cache (templates, realm tag, counters)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            flood(count, T0 + 10.0)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    counters = server.counters()
    _expect(counters.get("accept", 0) == 0, "a flood request was accepted")
    return {
        "requests": count,
        "retained_bytes": after - before,
        "per_request": (after - before) / count,
    }


# ---- machine ----------------------------------------------------------------------------


def cpu_model() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info() -> dict[str, Any]:
    import platform
    import ssl

    import sipdigest

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "sipdigest": __version__,
        "implementation": sipdigest.IMPLEMENTATION,
        "openssl": ssl.OPENSSL_VERSION,
    }


# ---- the report ------------------------------------------------------------------------


class Report:
    """Everything one run measured; :func:`render` prints it, ``as_dict`` is the JSON."""

    def __init__(self) -> None:
        self.machine: dict[str, Any] = {}
        self.settings: dict[str, Any] = {}
        self.peers: dict[str, dict[str, str]] = {}
        self.results: list[Result] = []
        self.not_run: list[dict[str, str]] = []
        self.failed: list[dict[str, str]] = []
        self.scale: list[Result] = []
        self.replay: list[Result] = []
        self.memory: dict[str, float] = {}
        self.flood: dict[str, float] = {}
        self.harness: dict[str, float] = {}

    def get(self, op: str, variant: str, impl: str) -> Optional[float]:
        for r in self.results:
            if r.op == op and r.variant == variant and r.impl == impl:
                return r.median_ns
        return None

    def c_ratios(self, op: str) -> tuple[Optional[float], Optional[float]]:
        """fast / C for MD5 auth: raw (this run's ns over the fixed C ns), and normalised
        (this run's fast/baseline over the earlier run's C/baseline), which cancels the
        machine's speed and load between the two runs."""
        md5 = MD5_AUTH.label
        fast, base = self.get(op, md5, "fast"), self.get(op, md5, "baseline")
        ref, ref_base = C_REFERENCE_NS.get(op), C_RUN_BASELINE_NS.get(op)
        if not fast or not ref or not ref_base:
            return None, None
        raw = fast / ref
        return raw, ((fast / base) / (ref / ref_base) if base else None)

    def targets(self) -> list[dict[str, Any]]:
        """The issue's targets, judged on ratios from this run."""
        out: list[dict[str, Any]] = []
        md5 = MD5_AUTH.label
        for op, want in TARGETS:
            fast, base = self.get(op, md5, "fast"), self.get(op, md5, "baseline")
            if fast and base:
                out.append({"target": f"{OPS[op]} >= {want:g}x the baseline (MD5 auth)",
                            "value": f"{base / fast:.1f}x", "met": base / fast >= want})  # fmt: skip
        for op, ref in C_REFERENCE_NS.items():
            raw, normalised = self.c_ratios(op)
            if raw is not None:
                out.append({"target": f"{OPS[op]} within {C_FACTOR:g}x of C ({ref} ns, raw ns)",
                            "value": f"{raw:.2f}x", "met": raw <= C_FACTOR})  # fmt: skip
            if normalised is not None:
                out.append({"target": f"{OPS[op]} within {C_FACTOR:g}x of C (baseline-normalised)",
                            "value": f"{normalised:.2f}x", "met": normalised <= C_FACTOR})  # fmt: skip
        pure = [
            (r, self.get(r.op, r.variant, "baseline")) for r in self.results if r.impl == "pure"
        ]
        ratios = [(b / r.median_ns, r) for r, b in pure if b]
        if ratios:
            worst, r = min(ratios, key=lambda x: x[0])
            slower = sum(1 for x, _ in ratios if x < 1.0)
            out.append({"target": "the pure twin never slower than the baseline",
                        "value": f"slower in {slower} of {len(ratios)}; worst {worst:.2f}x ({OPS[r.op]}, {r.variant})",
                        "met": worst >= 1.0})  # fmt: skip
        if len(self.scale) >= 2:
            ratio = self.scale[-1].median_ns / self.scale[0].median_ns
            out.append({"target": f"flat scaling: {self.scale[-1].impl} vs {self.scale[0].impl} active <= {FLAT:g}x",
                        "value": f"{ratio:.2f}x", "met": ratio <= FLAT})  # fmt: skip
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "settings": self.settings,
            "peers": self.peers,
            "c_reference_ns": {
                "note": "C with OpenSSL, MD5 qop=auth: an earlier measurement, not this run",
                **C_REFERENCE_NS,
            },
            "c_run_baseline_ns": C_RUN_BASELINE_NS,
            "results": [r.as_dict() for r in self.results],
            "scale": [r.as_dict() for r in self.scale],
            "replay_window": [r.as_dict() for r in self.replay],
            "replay_memory": self.memory,
            "flood": self.flood,
            "harness_ns": self.harness,
            "targets": self.targets(),
            "not_run": self.not_run,
            "failed": self.failed,
        }


def _ns(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _x(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    out = []
    for i, row in enumerate([header, *rows]):
        cells = [
            str(c).ljust(w) if j < left else str(c).rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=False))
        ]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def render(report: Report) -> str:
    """The comparison as text tables: medians, speed-ups, scale, memory, targets."""
    m = report.machine
    lines = [
        f"sipdigest {m.get('sipdigest', __version__)} bench -- implementation in use: {m.get('implementation')}",
        f"CPU: {m.get('cpu')} ({m.get('cores')} cores); {m.get('python')}; {m.get('platform')}; {m.get('openssl')}",
    ]
    s = report.settings
    if s:
        lines.append(
            f"{s.get('rounds')} round{'' if s.get('rounds') == 1 else 's'} of ~{s.get('round_ms')} ms per figure{s.get('order', '')}; garbage "
            "collector off while timing (as timeit); median ns per operation (lower is better)."
        )
    peers = "; ".join(
        " ".join(x for x in (p, d["version"], d["status"]) if x)
        + (f" ({d['detail']})" if d["detail"] else "")
        for p, d in report.peers.items()
    )
    if peers:
        lines.append(f"Peers: {peers}")
    impls = [i for i in IMPLS if any(r.impl == i for r in report.results)]
    keys: list[tuple[str, str]] = []
    for r in report.results:
        if (r.op, r.variant) not in keys:
            keys.append((r.op, r.variant))
    if keys:
        lines += ["", "Median ns per operation"]
        rows = [[OPS[op], var, *(_ns(report.get(op, var, i)) for i in impls)] for op, var in keys]
        lines += _table(["operation", "variant", *impls], rows)
        lines += [
            "",
            "Speed-up against the hand-written baseline (baseline ns / ns; above 1 is faster)",
        ]
        others = [i for i in impls if i != "baseline"]
        rows = []
        for op, var in keys:
            base = report.get(op, var, "baseline")
            row = [OPS[op], var]
            for i in others:
                t = report.get(op, var, i)
                row.append(_x(base / t) if base and t else "-")
            raw, normalised = report.c_ratios(op) if var == MD5_AUTH.label else (None, None)
            row.append(f"{_x(raw)} of {C_REFERENCE_NS[op]}" if raw is not None else "")
            row.append(_x(normalised) if normalised is not None else "")
            rows.append(row)
        lines += _table(["operation", "variant", *others, "fast/C*", "fast/C norm.**"], rows)
        lines.append("*  C with OpenSSL (MD5 qop=auth): fixed figures measured earlier on the project's machine, "
                     "NOT in this run; fast ns / C ns (1x = as fast as C).")  # fmt: skip
        lines.append("** the same, normalised by each run's baseline: (fast / baseline here) / (C / baseline "
                     f"then, {', '.join(f'{OPS[o]} {n:,}' for o, n in C_RUN_BASELINE_NS.items())} ns).")  # fmt: skip
    notes = sorted({f"{'sipdigest' if r.impl in ('fast', 'pure') else r.impl}: {r.note}"
                    for r in report.results if r.note})  # fmt: skip
    if notes:
        lines += ["", "Notes:"] + [f"  {n}" for n in notes]
    h = report.harness
    if "call" in h and "call+next" in h:
        lines.append(f"  harness: every figure includes a Python call (~{h['call']:.0f} ns); "
                     f"Server.handle -> Accept also a next() on its list of requests (~{h['call+next']:.0f} ns together)")  # fmt: skip
    if report.scale:
        base = report.scale[0].median_ns
        lines += [
            "",
            "Scale: Server.handle -> Accept (MD5 auth, nonce MAC checked on every request) by active nonces and users",
        ]
        rows = [
            [r.impl, _ns(r.median_ns), _ns(r.iqr_ns), _x(r.median_ns / base)] for r in report.scale
        ]
        lines += _table(["active", "median ns", "iqr", "vs 1"], rows, left=1)
    if report.replay:
        lines += [
            "",
            "Replay window (window 128) under reordering: nonce-counts shuffled inside the window",
        ]
        groups: dict[str, list[Result]] = {}
        for r in report.replay:
            groups.setdefault(r.op, []).append(r)
        rows = []
        for op, rs in groups.items():
            first = rs[0].median_ns
            rows += [[op, r.impl, _ns(r.median_ns), _x(r.median_ns / first)] for r in rs]
        lines += _table(["measured", "nonce-counts", "median ns", "vs in order"], rows)
    if report.memory:
        mem = report.memory
        lines += ["", f"Replay store memory (tracemalloc, {mem['nonces']:,.0f} nonces, keys and ring included): "
                      f"{mem['fresh']:.0f} bytes per tracked nonce fresh, {mem['full_window']:.0f} with a full "
                      "128-count window"]  # fmt: skip
    if report.flood:
        f = report.flood
        lines.append(f"Flood: {f['requests']:,.0f} unauthenticated requests (no credentials, forged nonce, Basic) "
                     f"leave {f['retained_bytes']:,.0f} bytes allocated ({f['per_request']:.3f} per request)")  # fmt: skip
    targets = report.targets()
    if targets:
        lines += ["", "Targets (ratios from this run)"]
        lines += _table(["target", "value", "met"],
                        [[t["target"], t["value"], "yes" if t["met"] else "NO"] for t in targets], left=1)  # fmt: skip
    if report.not_run:
        lines += ["", "Not run:"]
        seen: dict[str, list[str]] = {}
        for item in report.not_run:
            seen.setdefault(item["reason"], []).append(f"{item['op']} {item['variant']}".strip())
        for reason, where in seen.items():
            shown = ", ".join(where[:4]) + (f", ... ({len(where)})" if len(where) > 4 else "")
            lines.append(f"  {reason} [{shown}]")
    if report.failed:
        lines += ["", "FAILED CHECKS (not timed):"]
        lines += [f"  {f['impl']} {f['op']} {f['variant']}: {f['error']}" for f in report.failed]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """The README's "Speed" section: ratios against the baseline and the C reference, the
    machine, and the command that reproduces it."""
    m, s = report.machine, report.settings
    impls = [i for i in IMPLS if i != "baseline" and any(r.impl == i for r in report.results)]
    out = [
        "## Speed",
        "",
        f"Measured by `{s.get('command', 'sipdigest bench')}` on {m.get('cpu')} ({m.get('cores')} cores), "
        f"{m.get('python')}, {m.get('platform')}, {m.get('openssl')}; sipdigest {m.get('sipdigest')}, "
        f"implementation in use: `{m.get('implementation')}`. Each figure is the median of "
        f"{s.get('rounds')} rounds{s.get('order', '')}; the machine was shared, so read the "
        "ratios, which come from one run, rather than the nanoseconds.",
        "",
        "Speed-up against the hand-written pure-Python baseline measured in the same run "
        "(baseline ns / ns: above 1x is faster). MD5, qop=auth:",
        "",
        "| operation | baseline ns | " + " | ".join(impls) + " | fast vs C: raw / normalised |",
        "|---|---:|" + "---:|" * len(impls) + "---:|",
    ]
    for op in OPS:
        base = report.get(op, variant_label(op, MD5_AUTH), "baseline")
        if base is None:
            continue
        cells = []
        for impl in impls:
            t = report.get(op, variant_label(op, MD5_AUTH), impl)
            cells.append(_x(base / t) if t else "-")
        raw, normalised = report.c_ratios(op)
        cref = f"{_x(raw)} / {_x(normalised)} of {C_REFERENCE_NS[op]} ns" if raw is not None else ""
        out.append(f"| {OPS[op]} | {_ns(base)} | " + " | ".join(cells) + f" | {cref} |")
    variants = [v for v in VARIANTS if any(r.variant == v.label for r in report.results)]
    if len(variants) > 1:
        out += [
            "",
            "sipdigest `fast` by algorithm and qop (auth-int with a 1 KiB body), speed-up against the baseline:",
            "",
            "| operation | " + " | ".join(v.label for v in variants) + " |",
            "|---|" + "---:|" * len(variants),
        ]
        for op in OPS:
            cells = []
            for v in variants:
                label = variant_label(op, v)
                fast, base = report.get(op, label, "fast"), report.get(op, label, "baseline")
                cells.append(_x(base / fast) if fast and base and label == v.label else "")
            if any(cells):
                out.append(f"| {OPS[op]} | " + " | ".join(cells) + " |")
    out += [
        "",
        "C: a C implementation hashing with OpenSSL, measured earlier on the project's machine and "
        f"NOT in this run ({', '.join(f'{OPS[o]} {n} ns' for o, n in C_REFERENCE_NS.items())}). "
        "Raw is this run's fast ns over those figures; normalised divides out the machine's load "
        "with the baseline measured alongside each: (fast / baseline here) / (C / baseline then, "
        f"{', '.join(f'{n:,}' for n in C_RUN_BASELINE_NS.values())} ns). 1x is as fast as C.",
    ]
    if report.scale:
        first = report.scale[0].median_ns
        out += ["", "Scale: `Server.handle` -> Accept (MD5 auth, nonce MAC checked on every request) "
                "costs, against one active nonce and user, "
                + ", ".join(f"{_x(r.median_ns / first)} with {r.impl}" for r in report.scale[1:]) + "."]  # fmt: skip
    if report.replay:
        pairs = [(a, b) for a, b in zip(report.replay[::2], report.replay[1::2], strict=False)]
        out.append("Replay window under reordering (counts shuffled inside the window), against in order: "
                   + ", ".join(f"{a.op} {_x(b.median_ns / a.median_ns)}" for a, b in pairs) + ".")  # fmt: skip
    if report.memory:
        mem = report.memory
        out.append(f"Memory per tracked nonce in the replay store: {mem['fresh']:.0f} bytes "
                   f"({mem['full_window']:.0f} with a full 128-count window), measured with tracemalloc.")  # fmt: skip
    if report.flood:
        f = report.flood
        out.append(f"A flood of {f['requests']:,.0f} unauthenticated requests leaves "
                   f"{f['retained_bytes']:,.0f} bytes allocated (challenging stores nothing).")  # fmt: skip
    out += [
        "",
        "Reproduce (about half a minute; peers are optional):",
        "",
        "```sh",
        "pip install -e '.[bench]'",
        "sipdigest bench            # --quick, --json, --markdown",
        "python -m pytest benchmarks --benchmark-columns=median,iqr,rounds   # the full pytest-benchmark suite",
        "```",
    ]
    return "\n".join(out)


# ---- the command ------------------------------------------------------------------------


def run(*, rounds: int = 41, round_ms: float = 0.5, impls: Sequence[str] = IMPLS,
        ops: Sequence[str] = tuple(OPS), variants: Sequence[Variant] = VARIANTS,
        scale: Sequence[int] = (1, 10_000, 1_000_000), extras: bool = True,
        memory_nonces: int = 100_000, flood_requests: int = 100_000,
        progress: Optional[Callable[[str], None]] = None) -> Report:  # fmt: skip
    """Measure everything and return the report (what ``sipdigest bench`` prints)."""
    say = progress or (lambda text: None)
    report = Report()
    report.machine = machine_info()
    report.settings = {"rounds": rounds, "round_ms": round_ms,
                       "order": ", implementations interleaved round by round"}  # fmt: skip
    report.peers = {p: d for p, d in peer_status().items() if p in impls}
    round_ns = int(round_ms * 1e6)
    for op in ops:
        for variant in op_variants(op):
            if variant not in variants:
                continue
            label = variant_label(op, variant)
            say(f"{OPS[op]} {label}")
            cases = []
            for impl in impls:
                if not in_scope(op, impl):
                    continue
                try:
                    cases.append(build_case(op, variant, impl))
                except Unsupported as exc:
                    report.not_run.append(
                        {"op": op, "variant": label, "impl": impl, "reason": str(exc)}
                    )
                except Exception as exc:  # a wrong peer is reported, not fatal
                    report.failed.append({"op": op, "variant": label, "impl": impl,
                                          "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
            if cases:
                report.results += measure(cases, rounds, round_ns)
    if extras:
        twin = "fast" if "fast" in impls and _fast_available() else "pure"
        say("harness overhead")
        report.harness = harness_overhead(rounds, round_ns)
        if scale:
            cases = []
            for active in scale:
                say(f"scale: {active:,} active nonces")
                cases.append(scale_case(active, twin=twin))
            report.scale = measure(cases, 3 * rounds, round_ns)  # small ratios: more rounds
            del cases
            gc.collect()
        say("replay window")
        pairs = ([reorder_case(1, twin), reorder_case(32, twin)], [store_case(1), store_case(32)])
        report.replay = [r for pair in pairs for r in measure(pair, 3 * rounds, round_ns)]
        say("memory")
        report.memory = replay_memory(memory_nonces)
        report.flood = flood_retained(flood_requests, twin)
    return report


def _fast_available() -> bool:
    try:
        twin_core("fast")
    except Unsupported:
        return False
    return True


def _cmd_bench(args: argparse.Namespace) -> int:
    rounds = args.rounds if args.rounds else (9 if args.quick else 41)
    round_ms = 0.5
    scale: tuple[int, ...] = ()
    if not args.no_scale:
        scale = (1, 10_000, 100_000) if args.quick else (1, 10_000, 1_000_000)
    impls = [i for i in IMPLS if not (args.no_peers and i in PEERS)]
    progress = (
        None
        if args.json or args.markdown
        else (lambda text: print(f"  ... {text}", file=sys.stderr, flush=True))
    )
    started = time.perf_counter()
    ops = tuple(OPS) if not args.ops else tuple(args.ops)
    report = run(rounds=rounds, round_ms=round_ms, impls=impls, ops=ops, scale=scale,
                 extras=not args.no_scale, progress=progress)  # fmt: skip
    report.settings["seconds"] = round(time.perf_counter() - started, 1)
    flags = [f for f, on in (("--quick", args.quick), (f"--rounds {args.rounds}", args.rounds),
                             (f"--ops {','.join(args.ops or ())}", args.ops),
                             ("--no-scale", args.no_scale), ("--no-peers", args.no_peers)) if on]  # fmt: skip
    report.settings["command"] = " ".join(["sipdigest bench", *flags])
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif args.markdown:
        print(render_markdown(report))
    else:
        print(render(report))
        print(f"\n{report.settings['seconds']} s. Reproduce: {report.settings['command']}"
              "  (full suite: python -m pytest benchmarks)")  # fmt: skip
    return 1 if report.failed else 0


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of rounds: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("rounds must be at least 1")
    return value


def _ops(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"operations are {', '.join(OPS)}")
    return names


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="time sipdigest against a hand-written baseline and peers; print the table",
        description="Time every operation on sipdigest's fast and pure twins, the hand-written "
        "baseline and the installed peers (pip install 'sipdigest[bench]'), interleaved in "
        "one run; print medians, speed-ups, scaling and memory.",
    )
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 20 s)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", action="store_true", help="print the README's Speed section")
    p.add_argument(
        "--rounds", type=_rounds, default=0, help="timed rounds per figure (default 41, quick 9)"
    )
    p.add_argument(
        "--ops", type=_ops, metavar="OP,...", help=f"only these operations ({', '.join(OPS)})"
    )
    p.add_argument(
        "--no-scale", action="store_true", help="skip scale, replay-window, memory and flood"
    )
    p.add_argument("--no-peers", action="store_true", help="only sipdigest and the baseline")
    p.set_defaults(_run=_cmd_bench)
