"""Fuzzing of the public header parsers on the twin the library chose (the C one here).

``parse_challenges``, ``parse_credentials`` (+ ``require_digest``) and
``parse_authentication_info`` on one value each. Oracle: the only exceptions are the
library's ``RemoteProtocolError`` family (MalformedHeader, UnsupportedScheme); a parsed
object renders to a value that parses back to an equal object (headers.py: "For every
object, parse(render(x)) == x"), and the rendering holds no CR/LF.

Known finding F1 (tests/test_fuzz_regressions.py): ``render()`` writes the token-typed
fields (algorithm, qop, nc, charset) of a *parsed* object unquoted without checking
them, so ``algorithm="MD5, stale=true"`` re-renders as two parameters. Until it is
fixed, the round trip is only asserted for objects whose token fields are tokens.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPORT_KNOWN, instrumented, run, text

with instrumented(__name__, python_coverage=True):
    from sipdigest import (
        parse_authentication_info,
        parse_challenges,
        parse_credentials,
        require_digest,
    )
    from sipdigest.errors import RemoteProtocolError

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
_CRLF = re.compile(r"[\r\n]")


def _tokens_ok(obj: object, names: tuple[str, ...]) -> bool:
    """F1 filter: every token-typed field is absent or a token."""
    return REPORT_KNOWN or all(
        getattr(obj, n, None) is None or bool(_TOKEN.fullmatch(getattr(obj, n))) for n in names
    )


def _challenges(value: str) -> None:
    try:
        chs = parse_challenges(value)
    except RemoteProtocolError:
        return
    for ch in chs:
        rendered = ch.render()
        assert not _CRLF.search(rendered), rendered
        qop_ok = REPORT_KNOWN or all(_TOKEN.fullmatch(q) for q in ch.qop)
        if _tokens_ok(ch, ("algorithm", "charset")) and qop_ok:
            again = parse_challenges(rendered)
            assert again == [ch], (value, rendered, again)


def _credentials(value: str) -> None:
    try:
        creds = parse_credentials(value)
    except RemoteProtocolError:
        return
    try:
        require_digest(creds)
    except RemoteProtocolError:
        return
    rendered = creds.render()
    assert not _CRLF.search(rendered), rendered
    if _tokens_ok(creds, ("algorithm", "qop", "nc")):
        again = parse_credentials(rendered)
        assert again == creds, (value, rendered, again)


def _info(value: str) -> None:
    try:
        info = parse_authentication_info(value)
    except RemoteProtocolError:
        return
    rendered = info.render()
    assert not _CRLF.search(rendered), rendered
    if rendered and _tokens_ok(info, ("qop", "nc")):
        again = parse_authentication_info(rendered)
        assert again == info, (value, rendered, again)


def TestOneInput(data: bytes) -> None:
    value = text(data)
    _challenges(value)
    _credentials(value)
    _info(value)


if __name__ == "__main__":
    run(TestOneInput)
