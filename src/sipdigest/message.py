"""A minimal SIP message layer for the command line and the tests (not a SIP stack).

Strategy: split the head from the body at the first empty line, decode the head
strictly as UTF-8, unfold continuation lines, and keep headers as an ordered list of
``(name, value)`` pairs exactly as received; meaning (compact forms, case, comma lists)
is applied only when reading through :meth:`get`/:meth:`get_all`. Every malformed
input, on any path, surfaces as :class:`SipMessageError` and nothing else, and every
size is bounded so a hostile peer cannot make us buffer without limit. Randomness
(branches, tags, Call-IDs) is always supplied by the caller so builders stay pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "MAX_HEADER_LINES", "MAX_MESSAGE_BYTES", "Request", "Response", "SipMessageError",
    "StreamParser", "build_request", "build_response", "parse_message", "parse_trace",
]  # fmt: skip

MAX_MESSAGE_BYTES = 64 * 1024
MAX_HEADER_LINES = 200

#: RFC 3261 §7.3.3 (and the RFCs that added more): compact form -> full name.
_COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
    "v": "via", "o": "event", "u": "allow-events", "r": "refer-to", "b": "referred-by",
    "x": "session-expires", "y": "identity",
}  # fmt: skip
#: RFC 3261 §7.3.1: only headers whose grammar is a comma list may be comma-joined.
#: Credentials and challenges are deliberately absent: their parameters use commas.
_LIST_HEADERS = frozenset({
    "via", "contact", "route", "record-route", "allow", "supported", "require",
    "proxy-require", "unsupported", "allow-events",
})  # fmt: skip

_TCHARS = r"[A-Za-z0-9!%'*+\-.^_`|~]+"
_TOKEN = re.compile(_TCHARS)
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters other than HT
# RFC 3261 §7.1: "The SIP-Version string is case-insensitive".
_REQUEST_LINE = re.compile(rf"({_TCHARS}) ([^\s\x00-\x1f\x7f]+) SIP/2\.0", re.I)
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9]{2}) ([^\x00-\x08\x0a-\x1f\x7f]*)", re.I)
_LENGTH = re.compile(r"[0-9]{1,9}")
_LIST_ITEM = re.compile(r'(?:"(?:[^"\\]|\\.)*"|<[^>]*>|[^,])+')


class SipMessageError(ValueError):
    """The bytes (or the values given to a builder) do not make an acceptable message."""


def _canon(name: str) -> str:
    """Lower-cased full header name, so compact and long forms compare equal."""
    low = name.lower()
    return _COMPACT.get(low, low)


def _split_list(value: str) -> list[str]:
    """Split a comma list, ignoring commas inside quoted strings and ``<...>``."""
    return [item.strip() for item in _LIST_ITEM.findall(value) if item.strip()]


class _Message:
    """Header access and serialisation shared by :class:`Request` and :class:`Response`."""

    headers: list[tuple[str, str]]
    body: bytes

    def _start_line(self) -> str:
        raise NotImplementedError

    def get(self, name: str) -> str | None:
        """First value (the top-most element of a list header such as Via), or None."""
        values = self.get_all(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """Every value in wire order; comma lists split only where the grammar allows."""
        key = _canon(name)
        values = [value for hname, value in self.headers if _canon(hname) == key]
        if key not in _LIST_HEADERS:
            return values
        return [item for v in values for item in (_split_list(v) if v.strip() != "*" else [v])]

    def _check(self) -> None:
        """Refuse what would not survive the wire (header injection, bad names)."""
        start = self._start_line()
        if _CTL.search(start):
            raise SipMessageError(f"control character in start line {start!r}")
        for name, value in self.headers:
            if not _TOKEN.fullmatch(name):
                raise SipMessageError(f"invalid header name {name!r}")
            if _CTL.search(value):
                raise SipMessageError(f"control character in {name} value {value!r}")

    def to_bytes(self) -> bytes:
        """Wire form with CRLF endings; Content-Length is always rewritten from the body."""
        self._check()
        lines, placed = [self._start_line()], False
        for name, value in self.headers:
            if _canon(name) != "content-length":
                lines.append(f"{name}: {value}")
            elif not placed:  # the first one keeps its place and spelling, the rest go
                lines.append(f"{name}: {len(self.body)}")
                placed = True
        if not placed:
            lines.append(f"Content-Length: {len(self.body)}")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SipMessageError(f"header text cannot be encoded as UTF-8: {exc}") from None
        return head + bytes(self.body)


@dataclass
class Request(_Message):
    """A SIP request; ``headers`` keeps wire order and the names as received."""

    method: str
    uri: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    version: str = "SIP/2.0"

    def _start_line(self) -> str:
        if not _TOKEN.fullmatch(self.method):
            raise SipMessageError(f"invalid method {self.method!r}")
        if not self.uri or any(ch.isspace() for ch in self.uri):
            raise SipMessageError(f"invalid Request-URI {self.uri!r}")
        return f"{self.method} {self.uri} {self.version}"


@dataclass
class Response(_Message):
    """A SIP response; ``headers`` keeps wire order and the names as received."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    version: str = "SIP/2.0"

    def _start_line(self) -> str:
        if not isinstance(self.status, int) or not 100 <= self.status <= 699:
            raise SipMessageError(f"invalid status code {self.status!r}")
        return f"{self.version} {self.status} {self.reason}"


def _check_size(n: int) -> None:
    if n > MAX_MESSAGE_BYTES:
        raise SipMessageError(f"message larger than {MAX_MESSAGE_BYTES} bytes")


def _find_head_end(buf: bytes | bytearray, start: int = 0) -> tuple[int, int] | None:
    """(end of head, start of body) at the first empty line (CRLF or bare LF), or None."""
    hits = [(i, i + len(s)) for s in (b"\n\n", b"\n\r\n") if (i := buf.find(s, start)) >= 0]
    if not hits:
        return None
    end, body = min(hits)
    return end + 1, body


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Start line and unfolded headers of a head (which holds no empty line)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipMessageError(f"header section is not valid UTF-8: {exc.reason}") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SipMessageError("empty message")
    if len(lines) - 1 > MAX_HEADER_LINES:
        raise SipMessageError(f"more than {MAX_HEADER_LINES} header lines")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if _CTL.search(line):
            raise SipMessageError(f"control character in header line {line[:80]!r}")
        if line[:1] in (" ", "\t"):
            # RFC 3261 §7.3.1: a line starting with whitespace continues the previous
            # header; the folding "is equivalent to a single SP character".
            if not headers:
                raise SipMessageError("continuation line before the first header")
            name, value = headers[-1]
            headers[-1] = (name, " ".join(filter(None, (value, line.strip(" \t")))))
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _TOKEN.fullmatch(name):
            raise SipMessageError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip(" \t")))
    return lines[0], headers


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    """The declared body length; conflicting or non-numeric values are errors."""
    values = {v for n, v in headers if _canon(n) == "content-length"}
    if not values:
        return None
    if len(values) > 1:
        raise SipMessageError(f"conflicting Content-Length values {sorted(values)!r}")
    value = values.pop()
    if not _LENGTH.fullmatch(value):
        raise SipMessageError(f"invalid Content-Length {value!r}")
    return int(value)


def _build(start: str, headers: list[tuple[str, str]], body: bytes) -> Request | Response:
    """Turn a start line into the right message type."""
    if m := _STATUS_LINE.fullmatch(start):
        return Response(int(m.group(1)), m.group(2), headers, body)
    if m := _REQUEST_LINE.fullmatch(start):
        return Request(m.group(1), m.group(2), headers, body)
    raise SipMessageError(f"malformed start line {start[:80]!r}")


def parse_message(data: bytes) -> Request | Response:
    """Parse one datagram: leading CRLF keep-alives are skipped, and a datagram that
    ends without the empty line is taken as all head (lenient, as UDP peers are)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_message() needs bytes, not {type(data).__name__}")
    data = bytes(data)
    _check_size(len(data))
    data = data.lstrip(b"\r\n")
    found = _find_head_end(data)
    head, rest = (data[: found[0]], data[found[1] :]) if found else (data, b"")
    start, headers = _parse_head(head)
    length = _content_length(headers)
    # RFC 3261 §18.3: "If the transport packet ends before the end of the message body,
    # this is considered an error"; without Content-Length the body ends the datagram.
    if length is not None:
        if len(rest) < length:
            raise SipMessageError(f"body has {len(rest)} bytes, Content-Length says {length}")
        rest = rest[:length]
    return _build(start, headers, rest)


class StreamParser:
    """Frames messages on a stream (TCP/TLS) by their Content-Length.

    After an error the stream cannot be resynchronised: every later ``feed`` raises
    again, and the caller should close the connection.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes already searched for the end of the head
        self._pending: tuple[str, list[tuple[str, str]], int, int] | None = None
        self._failed: str | None = None

    def feed(self, data: bytes) -> list[Request | Response]:
        """Buffer ``data`` and return every message it completes, in order."""
        if self._failed is not None:
            raise SipMessageError(f"stream already failed: {self._failed}")
        self._buf += data
        try:
            return self._drain()
        except SipMessageError as exc:
            self._failed = str(exc)
            self._buf.clear()
            raise

    def _drain(self) -> list[Request | Response]:
        out: list[Request | Response] = []
        while True:
            if self._pending is None:
                if self._buf.startswith((b"\r", b"\n")):  # CRLF keep-alives between messages
                    del self._buf[: len(self._buf) - len(self._buf.lstrip(b"\r\n"))]
                    self._scanned = 0
                found = _find_head_end(self._buf, max(0, self._scanned - 2))
                if found is None:
                    self._scanned = len(self._buf)
                    _check_size(len(self._buf))
                    return out
                start, headers = _parse_head(bytes(self._buf[: found[0]]))
                length = _content_length(headers)
                if length is None:  # RFC 3261 §18.3: "MUST be used with stream transports"
                    raise SipMessageError("Content-Length is mandatory on streams")
                _check_size(found[1] + length)
                self._pending = (start, headers, found[1], length)
            start, headers, offset, length = self._pending
            if len(self._buf) < offset + length:
                return out
            body = bytes(self._buf[offset : offset + length])
            del self._buf[: offset + length]
            self._pending, self._scanned = None, 0
            out.append(_build(start, headers, body))


def _has_tag(address: str) -> bool:
    """Whether a From/To value carries a ``tag`` parameter (after any ``<...>``)."""
    params = address[address.rfind(">") + 1 :] if "<" in address else address
    return re.search(r";\s*tag\s*=", params, re.I) is not None


def build_response(
    request: Request,
    status: int,
    reason: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    to_tag: str | None = None,
) -> Response:
    """A response with the headers RFC 3261 §8.2.6.2 copies, then ``headers``.

    Headers missing from the request are left out, so a 400 can still answer it.
    """
    out = [("Via", via) for via in request.get_all("Via")]
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.get(name)
        if value is None:
            continue
        if name == "To" and to_tag and not _has_tag(value):
            value = f"{value};tag={to_tag}"
        out.append((name, value))
    out.extend(headers)
    response = Response(status, reason, out, bytes(body))
    response._check()
    return response


def _name_addr(uri: str) -> str:
    return uri if "<" in uri or uri == "*" else f"<{uri}>"


def build_request(
    method: str,
    uri: str,
    *,
    via_host: str,
    via_port: int,
    transport: str,
    branch: str,
    from_uri: str,
    from_tag: str,
    to_uri: str,
    call_id: str,
    cseq: int,
    contact: str | None = None,
    expires: int | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    max_forwards: int = 70,
) -> Request:
    """A well-formed request; the caller supplies the branch, tag and Call-ID randomness."""
    if not branch or not from_tag or not call_id:
        raise SipMessageError("branch, from_tag and call_id must not be empty")
    if not 0 <= cseq < 2**31:  # RFC 3261 §8.1.1.5: "MUST be less than 2**31"
        raise SipMessageError(f"CSeq number {cseq} out of range")
    if not 0 <= via_port <= 65535 or not 0 <= max_forwards <= 255:
        raise SipMessageError("via_port or max_forwards out of range")
    if not _TOKEN.fullmatch(transport):
        raise SipMessageError(f"invalid transport {transport!r}")
    if ":" in via_host and not via_host.startswith("["):
        via_host = f"[{via_host}]"  # an IPv6 reference, RFC 3261 §25.1
    if not branch.startswith("z9hG4bK"):  # RFC 3261 §8.1.1.7: the magic cookie
        branch = "z9hG4bK" + branch
    out = [
        ("Via", f"SIP/2.0/{transport.upper()} {via_host}:{via_port};branch={branch};rport"),
        ("Max-Forwards", str(max_forwards)),
        ("From", f"{_name_addr(from_uri)};tag={from_tag}"),
        ("To", _name_addr(to_uri)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact is not None:
        out.append(("Contact", _name_addr(contact)))
    if expires is not None:
        out.append(("Expires", str(expires)))
    out.append(("User-Agent", "sipdigest"))
    out.extend(headers)
    request = Request(method, uri, out, bytes(body))
    request._check()
    return request


_TRACE_START = re.compile(r"[A-Z][A-Z0-9._!%*+`'~-]* \S+ SIP/2\.0|SIP/2\.0 [0-9]{3} .*")


def parse_trace(text: str) -> list[Request | Response]:
    """Every SIP message found in a text capture (sipp -trace_msg, sngrep, pasted).

    Captures may rewrite line endings, so the head is rebuilt with CRLF and the body
    re-joined with CRLF (what SDP uses) up to Content-Length. Anything that does not
    parse is skipped: a capture is evidence to mine, not protocol input to police.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_trace() needs str, not {type(text).__name__}")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    found: list[Request | Response] = []
    i = 0
    while i < len(lines):
        if not _TRACE_START.fullmatch(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and not _TRACE_START.fullmatch(lines[j]):
            j += 1
        k = j + 1 if j < len(lines) and not lines[j].strip() else j  # first body line
        try:
            head = "".join(f"{line}\r\n" for line in lines[i:j]).encode(errors="surrogateescape")
            length = _content_length(_parse_head(head)[1]) or 0
            body = bytearray()
            while k < len(lines) and len(body) < length <= MAX_MESSAGE_BYTES:
                body += lines[k].encode(errors="surrogateescape") + b"\r\n"
                k += 1
            found.append(parse_message(head + b"\r\n" + bytes(body[:length])))
        except (SipMessageError, UnicodeError):
            i += 1
            continue
        i = k
    return found
