"""Fuzzing of the SIP message layer: ``parse_message`` and ``StreamParser``.

Oracle: ``SipMessageError`` is the only exception; a parsed message that serialises
(``to_bytes``) parses back to the same start line, headers (Content-Length aside) and
body; a stream cut into pieces (the first byte chooses where) fails or not exactly as the
whole stream fed at once, with the same messages (when it fails, the messages that the
failing ``feed`` call had framed are not returned, so the whole stream may have fewer).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import instrumented, run

with instrumented(__name__, python_coverage=True):
    from sipdigest.message import Request, SipMessageError, StreamParser, parse_message


def _key(msg: object) -> tuple[object, ...]:
    start = (msg.method, msg.uri) if isinstance(msg, Request) else (msg.status, msg.reason)  # type: ignore[attr-defined]
    headers = [(n, v) for n, v in msg.headers if n.lower() not in ("content-length", "l")]  # type: ignore[attr-defined]
    return (type(msg).__name__, start, headers, msg.body)  # type: ignore[attr-defined]


def _stream(chunks: list[bytes]) -> tuple[list[tuple[object, ...]], bool]:
    parser = StreamParser()
    out: list[tuple[object, ...]] = []
    try:
        for chunk in chunks:
            out += [_key(m) for m in parser.feed(chunk)]
    except SipMessageError:
        return out, True
    return out, False


def TestOneInput(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipMessageError:
        msg = None
    if msg is not None:
        try:
            wire = msg.to_bytes()
        except SipMessageError:
            wire = None
        if wire is not None:
            again = parse_message(wire)
            assert _key(again) == _key(msg), (data, wire)
    step = data[0] % 7 + 1 if data else 1
    whole = _stream([data])
    pieces = _stream([data[i : i + step] for i in range(0, len(data), step)] or [b""])
    # feed() raises for the whole call, so messages framed earlier in the same call are
    # not returned: with an error, the whole-stream messages are a prefix of the others
    if whole[1] and pieces[1]:
        assert pieces[0][: len(whole[0])] == whole[0], (step, whole, pieces)
    else:
        assert whole == pieces, (step, whole, pieces)


if __name__ == "__main__":
    run(TestOneInput)
