"""Tests for the minimal SIP message layer (sipdigest.message)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipdigest.message import (
    MAX_HEADER_LINES,
    MAX_MESSAGE_BYTES,
    Request,
    Response,
    SipMessageError,
    StreamParser,
    build_request,
    build_response,
    parse_message,
    parse_trace,
)


def crlf(text: str) -> bytes:
    """Write samples with LF for readability, send them with CRLF."""
    return text.replace("\n", "\r\n").encode()


REGISTER = crlf(
    "REGISTER sip:example.com SIP/2.0\n"
    "v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\n"
    "Max-Forwards: 70\n"
    "t: Bob <sip:bob@example.com>\n"
    "f: Bob <sip:bob@example.com>;tag=456248\n"
    "i: 843817637684230@998sdasdh09\n"
    "CSeq: 1826 REGISTER\n"
    "m: <sip:bob@192.0.2.10>;expires=7200\n"
    "l: 0\n"
    "\n"
)

CHALLENGE = crlf(
    "SIP/2.0 401 Unauthorized\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10\n"
    "From: Bob <sip:bob@example.com>;tag=456248\n"
    "To: Bob <sip:bob@example.com>;tag=2493k59kd\n"
    "Call-ID: 843817637684230@998sdasdh09\n"
    "CSeq: 1826 REGISTER\n"
    'WWW-Authenticate: Digest realm="example.com",\n'
    '   qop="auth", algorithm=SHA-256,\n'
    '\tnonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque=""\n'
    'WWW-Authenticate: Digest realm="example.com", qop="auth", algorithm=MD5,'
    ' nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque=""\n'
    "Content-Length: 0\n"
    "\n"
)

SDP = crlf(
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.1\n"
    "s=-\n"
    "c=IN IP4 192.0.2.1\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0\n"
)

INVITE = (
    crlf(
        "INVITE sip:bob@example.com SIP/2.0\n"
        "Via: SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK721e4.1\n"
        "Via: SIP/2.0/TCP proxy1.example.com:5060;branch=z9hG4bKnashds8.1,"
        " SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8;received=192.0.2.1\n"
        "Max-Forwards: 68\n"
        "To: Bob <sip:bob@example.com>\n"
        "From: Alice <sip:alice@example.com>;tag=1928301774\n"
        "Call-ID: a84b4c76e66710@pc33.example.com\n"
        "CSeq: 314159 INVITE\n"
        'Contact: "Liddell, Alice" <sip:alice@192.0.2.1;transport=tcp>\n'
        'Authorization: Digest username="alice", realm="example.com", nonce="abc",'
        ' uri="sip:bob@example.com", response="6629fae49393a05397450978507c4ef1"\n'
        "c: application/sdp\n"
        f"Content-Length: {len(SDP)}\n"
        "\n"
    )
    + SDP
)

SAMPLES = [REGISTER, CHALLENGE, INVITE]


# --- parsing real-looking messages -------------------------------------------------


def test_register_with_compact_headers() -> None:
    msg = parse_message(REGISTER)
    assert isinstance(msg, Request)
    assert (msg.method, msg.uri, msg.version) == ("REGISTER", "sip:example.com", "SIP/2.0")
    assert msg.headers[0] == ("v", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport")
    assert msg.get("Via") == msg.get("v") == msg.get("VIA") == msg.headers[0][1]
    assert msg.get("call-id") == "843817637684230@998sdasdh09"
    assert msg.get("From") == "Bob <sip:bob@example.com>;tag=456248"
    assert msg.get("to") == "Bob <sip:bob@example.com>"
    assert msg.get_all("Contact") == ["<sip:bob@192.0.2.10>;expires=7200"]
    assert msg.get("Content-Length") == "0"
    assert msg.get("Subject") is None
    assert msg.get_all("Subject") == []
    assert msg.body == b""


def test_challenge_with_folded_www_authenticate_stays_whole() -> None:
    msg = parse_message(CHALLENGE)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (401, "Unauthorized")
    challenges = msg.get_all("www-authenticate")
    assert challenges == [
        'Digest realm="example.com", qop="auth", algorithm=SHA-256,'
        ' nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque=""',
        'Digest realm="example.com", qop="auth", algorithm=MD5,'
        ' nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque=""',
    ]
    assert msg.get("WWW-Authenticate") == challenges[0]


def test_invite_vias_contacts_and_body() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    assert msg.get_all("Via") == [
        "SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK721e4.1",
        "SIP/2.0/TCP proxy1.example.com:5060;branch=z9hG4bKnashds8.1",
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8;received=192.0.2.1",
    ]
    assert msg.get("Via") == "SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK721e4.1"
    # The comma inside the quoted display name does not split the Contact.
    assert msg.get_all("m") == ['"Liddell, Alice" <sip:alice@192.0.2.1;transport=tcp>']
    # Credentials carry commas of their own: never split.
    [auth] = msg.get_all("Authorization")
    assert auth.startswith('Digest username="alice"') and auth.endswith('ef1"')
    assert msg.get("Content-Type") == "application/sdp"
    assert msg.body == SDP


def test_comma_lists_split_outside_quotes_and_brackets() -> None:
    msg = Request(
        "REGISTER",
        "sip:example.com",
        [
            ("Contact", '<sip:a@h1;x=1,2>;q=0.5, "b, \\"B\\"" <sip:b@h2>,sip:c@h3'),
            ("Contact", "*"),
            ("Proxy-Authorization", 'Digest realm="a", nonce="b"'),
            ("Route", "<sip:p1;lr>,<sip:p2;lr>"),
        ],
    )
    assert msg.get_all("contact") == [
        "<sip:a@h1;x=1,2>;q=0.5",
        '"b, \\"B\\"" <sip:b@h2>',
        "sip:c@h3",
        "*",
    ]
    assert msg.get_all("Proxy-Authorization") == ['Digest realm="a", nonce="b"']
    assert msg.get_all("route") == ["<sip:p1;lr>", "<sip:p2;lr>"]


def test_bare_lf_any_case_names_whitespace_and_keepalives() -> None:
    raw = (
        b"\r\n\r\n\nOPTIONS sip:example.com SIP/2.0\n"
        b"call-ID  :  abc \n"
        b"cSeq:1 OPTIONS\n"
        b"X-Empty:\n"
        b"Subject: a\n"
        b" \t b\n"
        b"\n"
        b"body"
    )
    msg = parse_message(raw)
    assert isinstance(msg, Request)
    assert msg.headers == [
        ("call-ID", "abc"),
        ("cSeq", "1 OPTIONS"),
        ("X-Empty", ""),
        ("Subject", "a b"),
    ]
    assert msg.get("CALL-ID") == "abc"
    assert msg.get("s") == "a b"
    assert msg.body == b"body"  # no Content-Length: the body ends the datagram


def test_sip_version_is_case_insensitive_and_utf8_headers() -> None:
    msg = parse_message("SIP/2.0 200 Très bien\r\nSubject: café\r\n\r\n".encode())
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason, msg.get("subject")) == (200, "Très bien", "café")
    req = parse_message(b"ACK sip:a@b sip/2.0\r\n\r\n")
    assert isinstance(req, Request) and req.version == "SIP/2.0"
    empty_reason = parse_message(b"SIP/2.0 180 \r\n\r\n")
    assert isinstance(empty_reason, Response) and empty_reason.reason == ""


def test_message_without_final_empty_line_is_accepted_as_a_datagram() -> None:
    msg = parse_message(b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n")
    assert isinstance(msg, Request) and msg.get("CSeq") == "1 OPTIONS" and msg.body == b""


# --- Content-Length ------------------------------------------------------------------


def test_content_length_truncates_the_body() -> None:
    msg = parse_message(b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 5\r\n\r\nhello, trailing junk")
    assert msg.body == b"hello"


def test_content_length_compact_and_repeated_equal_values() -> None:
    msg = parse_message(b"MESSAGE sip:a SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nhiya")
    assert msg.body == b"hi"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (b"Content-Length: 10\r\n", b"short"),
        (b"Content-Length: abc\r\n", b""),
        (b"Content-Length: -1\r\n", b""),
        (b"Content-Length: \xd9\xa3\r\n", b"abc"),  # Arabic-Indic digit three
        (b"Content-Length: 99999999999999999999\r\n", b""),
        (b"Content-Length: 1\r\nl: 2\r\n", b"ab"),
    ],
)
def test_bad_content_length_is_an_error(headers: bytes, body: bytes) -> None:
    with pytest.raises(SipMessageError):
        parse_message(b"MESSAGE sip:a SIP/2.0\r\n" + headers + b"\r\n" + body)


def test_to_bytes_sets_content_length_in_place() -> None:
    msg = Request(
        "MESSAGE",
        "sip:a@b",
        [("Call-ID", "x"), ("l", "999"), ("CSeq", "1 MESSAGE"), ("Content-Length", "7")],
        b"hello",
    )
    assert msg.to_bytes() == (
        b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nl: 5\r\nCSeq: 1 MESSAGE\r\n\r\nhello"
    )
    bare = Response(200, "OK", [("Call-ID", "x")])
    assert bare.to_bytes() == b"SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("raw", SAMPLES)
def test_round_trip(raw: bytes) -> None:
    msg = parse_message(raw)
    assert parse_message(msg.to_bytes()) == msg
    unfolded = raw.replace(b",\r\n   qop", b", qop").replace(b",\r\n\tnonce", b", nonce")
    assert msg.to_bytes() == unfolded


@pytest.mark.parametrize(
    "msg",
    [
        Request("REGISTER", "sip:a", [("Via", "x\r\nInjected: yes")]),
        Request("REGISTER", "sip:a", [("Bad Name", "x")]),
        Request("REG ISTER", "sip:a"),
        Request("REGISTER", "sip:a b"),
        Response(99, "Low"),
        Response(200, "OK\r\nInjected: yes"),
        Request("REGISTER", "sip:a", [("Subject", "\ud800")]),
    ],
)
def test_to_bytes_refuses_what_would_not_survive_the_wire(msg: Request | Response) -> None:
    with pytest.raises(SipMessageError):
        msg.to_bytes()


# --- errors and limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"REGISTER sip:example.com\r\n\r\n",
        b"REGISTER sip:example.com SIP/3.0\r\n\r\n",
        b"REGISTER  sip:example.com SIP/2.0\r\n\r\n",
        b"REG/ISTER sip:example.com SIP/2.0\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 700 Huh\r\n\r\n",
        b"SIP/2.0 200\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nNo colon here\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\n: no name\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nBad Name: x\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\n folded: first\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nSubject: \xff\xfe\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nSubject: a\x00b\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nSubject: a\rb\r\n\r\n",
    ],
)
def test_malformed_messages_raise_sip_message_error(raw: bytes) -> None:
    with pytest.raises(SipMessageError):
        parse_message(raw)


def test_invalid_utf8_in_body_is_fine() -> None:
    msg = parse_message(b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\n\xff\xfe")
    assert msg.body == b"\xff\xfe"


def test_parse_message_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        parse_message("REGISTER sip:a SIP/2.0\r\n\r\n")  # type: ignore[arg-type]


def sized_message(total: int) -> bytes:
    head = b"MESSAGE sip:a SIP/2.0\r\nContent-Length: %05d\r\n\r\n"
    body_len = total - len(head % 0)
    return head % body_len + b"x" * body_len


def test_size_limit_is_64_kib() -> None:
    ok = sized_message(MAX_MESSAGE_BYTES)
    assert len(ok) == MAX_MESSAGE_BYTES
    assert len(parse_message(ok).body) == MAX_MESSAGE_BYTES - 48
    with pytest.raises(SipMessageError, match="larger than"):
        parse_message(sized_message(MAX_MESSAGE_BYTES + 1))


def test_header_line_limit() -> None:
    def with_lines(n: int) -> bytes:
        return b"OPTIONS sip:a SIP/2.0\r\n" + b"X-H: v\r\n" * (n - 1) + b" folded\r\n\r\n"

    assert len(parse_message(with_lines(MAX_HEADER_LINES)).headers) == MAX_HEADER_LINES - 1
    with pytest.raises(SipMessageError, match="header lines"):
        parse_message(with_lines(MAX_HEADER_LINES + 1))


# --- StreamParser ------------------------------------------------------------------------


STREAM = b"\r\n\r\n" + INVITE + b"\r\n" + CHALLENGE + b"\r\n\r\n" + REGISTER
EXPECTED = [parse_message(INVITE), parse_message(CHALLENGE), parse_message(REGISTER)]


def test_stream_messages_split_at_every_byte_boundary() -> None:
    for cut in range(len(STREAM) + 1):
        parser = StreamParser()
        assert parser.feed(STREAM[:cut]) + parser.feed(STREAM[cut:]) == EXPECTED, cut


def test_stream_fed_one_byte_at_a_time() -> None:
    parser = StreamParser()
    out = []
    for i in range(len(STREAM)):
        out += parser.feed(STREAM[i : i + 1])
    assert out == EXPECTED


def test_stream_two_messages_in_one_chunk_and_keepalives_only() -> None:
    parser = StreamParser()
    assert parser.feed(b"\r\n\r\n") == []
    assert parser.feed(REGISTER + CHALLENGE + b"\r\n") == EXPECTED[2:0:-1]
    assert parser.feed(b"\r\n") == []
    assert parser.feed(INVITE[:10]) == []
    assert parser.feed(INVITE[10:]) == EXPECTED[:1]


def test_stream_lf_only_message() -> None:
    parser = StreamParser()
    [msg] = parser.feed(b"MESSAGE sip:a SIP/2.0\nContent-Length: 3\n\nabc")
    assert msg.body == b"abc"


def test_stream_requires_content_length_and_stays_failed() -> None:
    parser = StreamParser()
    with pytest.raises(SipMessageError, match="mandatory"):
        parser.feed(b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n")
    with pytest.raises(SipMessageError, match="already failed"):
        parser.feed(REGISTER)


def test_stream_bounds_an_unfinished_header_section() -> None:
    parser = StreamParser()
    parser.feed(b"OPTIONS sip:a SIP/2.0\r\n")
    chunk = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    with pytest.raises(SipMessageError, match="larger than"):
        for _ in range(MAX_MESSAGE_BYTES // len(chunk) + 1):
            parser.feed(chunk)


def test_stream_bounds_the_declared_body() -> None:
    parser = StreamParser()
    with pytest.raises(SipMessageError, match="larger than"):
        parser.feed(b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 70000\r\n\r\n")
    ok = StreamParser()
    assert ok.feed(sized_message(MAX_MESSAGE_BYTES)) == [parse_message(sized_message(65536))]


def test_stream_malformed_head_is_an_error() -> None:
    with pytest.raises(SipMessageError):
        StreamParser().feed(b"GARBAGE\r\nContent-Length: 0\r\n\r\n")


# --- builders ----------------------------------------------------------------------------


def test_build_response_copies_headers_and_adds_to_tag() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    response = build_response(
        request,
        401,
        "Unauthorized",
        [("WWW-Authenticate", 'Digest realm="example.com", nonce="n"')],
        to_tag="8321234356",
    )
    assert response.headers == [
        ("Via", "SIP/2.0/UDP proxy2.example.com:5060;branch=z9hG4bK721e4.1"),
        ("Via", "SIP/2.0/TCP proxy1.example.com:5060;branch=z9hG4bKnashds8.1"),
        ("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8;received=192.0.2.1"),
        ("From", "Alice <sip:alice@example.com>;tag=1928301774"),
        ("To", "Bob <sip:bob@example.com>;tag=8321234356"),
        ("Call-ID", "a84b4c76e66710@pc33.example.com"),
        ("CSeq", "314159 INVITE"),
        ("WWW-Authenticate", 'Digest realm="example.com", nonce="n"'),
    ]
    assert (response.status, response.reason, response.body) == (401, "Unauthorized", b"")
    assert parse_message(response.to_bytes()).get_all("Via") == request.get_all("Via")


def test_build_response_keeps_an_existing_to_tag_and_compact_forms() -> None:
    request = parse_message(
        REGISTER.replace(b"t: Bob <sip:bob@example.com>", b"t: <sip:b@x>;TAG=1")
    )
    assert isinstance(request, Request)
    response = build_response(request, 200, "OK", body=b"hi", to_tag="new")
    assert response.get("To") == "<sip:b@x>;TAG=1"
    assert response.get("Call-ID") == "843817637684230@998sdasdh09"
    assert response.body == b"hi"
    no_tag = build_response(request, 100, "Trying")
    assert no_tag.get("to") == "<sip:b@x>;TAG=1"


def test_build_response_without_to_tag_and_with_tag_in_uri_only() -> None:
    request = Request(
        "OPTIONS", "sip:a", [("To", "<sip:b@x;tag=uri-param>"), ("CSeq", "1 OPTIONS")]
    )
    assert (
        build_response(request, 200, "OK", to_tag="t").get("To") == "<sip:b@x;tag=uri-param>;tag=t"
    )
    assert build_response(request, 200, "OK").get("To") == "<sip:b@x;tag=uri-param>"
    bare = Request("OPTIONS", "sip:a", [("To", "sip:b@x")])
    assert build_response(bare, 200, "OK", to_tag="t").get("To") == "sip:b@x;tag=t"


def test_build_response_validates() -> None:
    request = parse_message(REGISTER)
    assert isinstance(request, Request)
    with pytest.raises(SipMessageError):
        build_response(request, 1000, "Nope")
    with pytest.raises(SipMessageError):
        build_response(request, 200, "OK", [("X", "a\r\nb")])


def test_build_request_shape() -> None:
    request = build_request(
        "REGISTER",
        "sip:example.com",
        via_host="192.0.2.10",
        via_port=5060,
        transport="udp",
        branch="abc123",
        from_uri="sip:alice@example.com",
        from_tag="ft",
        to_uri="Alice <sip:alice@example.com>",
        call_id="cid@host",
        cseq=2,
        contact="sip:alice@192.0.2.10:5060",
        expires=3600,
        headers=[("Supported", "path"), ("X-Test", "1")],
        body=b"hello",
    )
    assert request.headers == [
        ("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc123;rport"),
        ("Max-Forwards", "70"),
        ("From", "<sip:alice@example.com>;tag=ft"),
        ("To", "Alice <sip:alice@example.com>"),
        ("Call-ID", "cid@host"),
        ("CSeq", "2 REGISTER"),
        ("Contact", "<sip:alice@192.0.2.10:5060>"),
        ("Expires", "3600"),
        ("User-Agent", "sipdigest"),
        ("Supported", "path"),
        ("X-Test", "1"),
    ]
    wire = request.to_bytes()
    assert wire.startswith(b"REGISTER sip:example.com SIP/2.0\r\nVia: ")
    assert wire.endswith(b"X-Test: 1\r\nContent-Length: 5\r\n\r\nhello")
    assert parse_message(wire) == Request(
        "REGISTER", "sip:example.com", [*request.headers, ("Content-Length", "5")], b"hello"
    )


def test_build_request_minimal_branch_prefix_and_ipv6() -> None:
    request = build_request(
        "OPTIONS",
        "sip:example.com",
        via_host="2001:db8::1",
        via_port=5061,
        transport="TLS",
        branch="z9hG4bKalready",
        from_uri="sip:a@example.com",
        from_tag="t",
        to_uri="sip:example.com",
        call_id="c",
        cseq=1,
        max_forwards=0,
    )
    assert request.get("Via") == "SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKalready;rport"
    assert request.get("Max-Forwards") == "0"
    assert request.get("Contact") is None and request.get("Expires") is None
    assert [n for n, _ in request.headers] == [
        "Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "User-Agent",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"branch": ""},
        {"from_tag": ""},
        {"cseq": 2**31},
        {"cseq": -1},
        {"via_port": 70000},
        {"max_forwards": 256},
        {"transport": "U DP"},
        {"call_id": "a\r\nInjected: 1"},
        {"headers": [("X", "a\nb")]},
        {"method": "BAD METHOD"},
    ],
)
def test_build_request_refuses_bad_values(change: dict[str, object]) -> None:
    args: dict[str, object] = dict(
        method="REGISTER", uri="sip:example.com", via_host="h", via_port=5060,
        transport="UDP", branch="b", from_uri="sip:a@h", from_tag="t", to_uri="sip:a@h",
        call_id="c", cseq=1,
    )  # fmt: skip
    args.update(change)
    with pytest.raises(SipMessageError):
        build_request(**args)  # type: ignore[arg-type]


# --- parse_trace ---------------------------------------------------------------------------

SIPP_TRACE = (
    "----------------------------------------------- 2024-01-01 12:00:00.000000\n"
    f"UDP message sent ({len(REGISTER)} bytes):\n\n"
    + REGISTER.decode()
    + "\n----------------------------------------------- 2024-01-01 12:00:00.010000\n"
    f"UDP message received [{len(CHALLENGE)}] bytes :\n\n" + CHALLENGE.decode() + "\n"
)


def test_parse_trace_sipp_trace_msg() -> None:
    assert parse_trace(SIPP_TRACE) == [parse_message(REGISTER), parse_message(CHALLENGE)]


def test_parse_trace_sipp_tcp_read_holding_two_messages() -> None:
    # Over TCP one read, hence one trace block, can hold several messages back to back.
    both = INVITE + CHALLENGE
    trace = (
        "----------------------------------------------- 2024-01-01\t12:00:00.000000\n"
        f"TCP message received [{len(both)}] bytes :\n\n{both.decode()}\n"
    )
    assert parse_trace(trace) == [parse_message(INVITE), parse_message(CHALLENGE)]


def test_parse_trace_with_lf_line_endings_and_a_body() -> None:
    trace = SIPP_TRACE + "------ 2024-01-01 12:00:01.000000\nUDP message sent:\n\n"
    trace = (trace + INVITE.decode() + "\n\n").replace("\r\n", "\n")
    found = parse_trace(trace)
    assert found == [parse_message(REGISTER), parse_message(CHALLENGE), parse_message(INVITE)]
    assert found[2].body == SDP


def test_parse_trace_bare_pasted_messages_and_sngrep_style() -> None:
    text = (
        "Some notes from the ticket.\n"
        "2024/01/01 12:00:00.000000 192.0.2.10:5060 -> 192.0.2.1:5060\n"
        + REGISTER.decode()
        + "\n\n=====\n"
        "2024/01/01 12:00:00.001000 192.0.2.1:5060 -> 192.0.2.10:5060\n"
        + CHALLENGE.decode()
        + "SIP/2.0 200 OK\nCall-ID: x\n"  # pasted straight after, no Content-Length
        "OPTIONS sip:b SIP/2.0\nCall-ID: y\n"  # and the next starts without a blank line
    )
    found = parse_trace(text)
    assert found[:2] == [parse_message(REGISTER), parse_message(CHALLENGE)]
    assert found[2:] == [
        Response(200, "OK", [("Call-ID", "x")]),
        Request("OPTIONS", "sip:b", [("Call-ID", "y")]),
    ]


def test_parse_trace_skips_what_does_not_parse() -> None:
    text = (
        "REGISTER sip:a SIP/2.0\nnot a header\n\n"
        "INVITE sip:a SIP/2.0\nContent-Length: 500\n\nshort body\n\n"
        "SIP/2.0 999 Nope\n\n" + REGISTER.decode()
    )
    assert parse_trace(text) == [parse_message(REGISTER)]
    assert parse_trace("") == []
    assert parse_trace("no SIP here\n") == []


def test_parse_trace_sipfrag_body_is_not_a_message() -> None:
    frag = "SIP/2.0 200 OK\r\n"
    text = (
        "NOTIFY sip:a SIP/2.0\nEvent: refer\nContent-Type: message/sipfrag\n"
        f"Content-Length: {len(frag)}\n\n{frag}"
    )
    [notify] = parse_trace(text)
    assert isinstance(notify, Request) and notify.body == frag.encode()


def test_parse_trace_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        parse_trace(SIPP_TRACE.encode())  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_sip_message_error(data: bytes) -> None:
    try:
        parse_message(data)
    except SipMessageError:
        pass


mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "dup"]),
    st.integers(min_value=0),
    st.binary(min_size=1, max_size=8),
)


def mutate(raw: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    buf = bytearray(raw)
    for kind, where, blob in ops:
        pos = where % (len(buf) + 1)
        if kind == "flip" and pos < len(buf):
            buf[pos] ^= blob[0] or 1
        elif kind == "insert":
            buf[pos:pos] = blob
        elif kind == "delete":
            del buf[pos : pos + len(blob)]
        else:
            buf[pos:pos] = buf[pos : pos + 40]
    return bytes(buf)


@FUZZ
@given(st.sampled_from(SAMPLES), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_messages_raise_only_sip_message_error(
    raw: bytes, ops: list[tuple[str, int, bytes]]
) -> None:
    data = mutate(raw, ops)
    try:
        msg = parse_message(data)
    except SipMessageError:
        return
    # Whatever parses also serialises, and is a fixed point once Content-Length is set.
    normal = parse_message(msg.to_bytes())
    assert parse_message(normal.to_bytes()) == normal


@FUZZ
@given(
    st.sampled_from(SAMPLES),
    st.lists(mutation, max_size=3),
    st.lists(st.integers(min_value=0, max_value=3000), max_size=6),
)
def test_stream_parser_raises_only_sip_message_error(
    raw: bytes, ops: list[tuple[str, int, bytes]], cuts: list[int]
) -> None:
    data = mutate(raw + CHALLENGE, ops)
    parser = StreamParser()
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    try:
        for a, b in itertools.pairwise(bounds):
            parser.feed(data[a:b])
    except SipMessageError:
        pass


@FUZZ
@given(st.text(max_size=500) | st.sampled_from(SAMPLES).map(lambda raw: raw.decode()))
def test_parse_trace_never_raises(text: str) -> None:
    assert all(isinstance(m, (Request, Response)) for m in parse_trace(text))


@FUZZ
@given(st.lists(st.sampled_from(SAMPLES), max_size=4), st.text(max_size=50))
def test_parse_trace_finds_pasted_messages(raws: list[bytes], junk: str) -> None:
    noise = "# " + junk.replace("\r", "").replace("\n", " ")
    text = "".join(f"{noise}\n{raw.decode()}\n" for raw in raws)
    assert parse_trace(text) == [parse_message(raw) for raw in raws]


header_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30
).map(str.strip)
header_name = st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,15}", fullmatch=True).filter(
    lambda n: n.lower() not in ("l", "content-length")
)


@FUZZ
@given(
    st.one_of(
        st.builds(
            Request,
            st.from_regex(r"[A-Z]{1,10}", fullmatch=True),
            st.from_regex(r"sip:[a-z0-9@.:;=]{1,20}", fullmatch=True),
        ),
        st.builds(Response, st.integers(100, 699), header_text),
    ),
    st.lists(st.tuples(header_name, header_text), max_size=8),
    st.binary(max_size=100),
)
def test_round_trip_property(
    msg: Request | Response, headers: list[tuple[str, str]], body: bytes
) -> None:
    msg.headers, msg.body = headers, body
    parsed = parse_message(msg.to_bytes())
    assert parsed.headers == [*headers, ("Content-Length", str(len(body)))]
    assert parsed.body == body
    assert parsed == type(msg)(**{**vars(msg), "headers": parsed.headers})
