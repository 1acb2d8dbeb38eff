"""Fuzzing of the public header parsers on the twin the library chose (the C one here).

``parse_challenges``, ``parse_credentials`` (+ ``require_digest``) and
``parse_authentication_info`` on one value each. Oracle: the only exceptions are the
library's ``RemoteProtocolError`` family (MalformedHeader, UnsupportedScheme); a parsed
object renders to a value that parses back to an equal object (headers.py: "For every
object, parse(render(x)) == x"), and the rendering holds no CR/LF.

This oracle found F1 (tests/test_fuzz_regressions.py): ``render()`` wrote the token
fields (algorithm, qop, nc, charset) of a *parsed* object unquoted without checking
them, so ``algorithm="MD5, stale=true"`` re-rendered as two parameters. Fixed; the
round trip is now asserted for every parsed object.

``parse_credentials`` has a short cut (``_impl.credential_fields``, the plain shape in
one pass) that must answer exactly as the tokenizer would: every value is parsed with
it and again with it turned off, and the two outcomes (every field, or the error's
class, message and position) must be equal.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import instrumented, run, text

with instrumented(__name__, python_coverage=True):
    from sipdigest import (
        _impl,
        parse_authentication_info,
        parse_challenges,
        parse_credentials,
        require_digest,
    )
    from sipdigest.errors import RemoteProtocolError

_CRLF = re.compile(r"[\r\n]")


def _challenges(value: str) -> None:
    try:
        chs = parse_challenges(value)
    except RemoteProtocolError:
        return
    for ch in chs:
        rendered = ch.render()
        assert not _CRLF.search(rendered), rendered
        again = parse_challenges(rendered)
        assert again == [ch], (value, rendered, again)


def _decline(value: str, max_length: int) -> None:
    return None


def _outcome(value: str) -> tuple[object, ...]:
    try:
        creds = parse_credentials(value)
    except RemoteProtocolError as e:
        return ("error", type(e).__name__, str(e), getattr(e, "position", None))
    return ("ok", creds._key())


def _credentials(value: str) -> None:
    shortcut = _outcome(value)
    saved = _impl.credential_fields
    _impl.credential_fields = _decline  # the general path: tokenizer and _from_item
    try:
        general = _outcome(value)
    finally:
        _impl.credential_fields = saved
    assert shortcut == general, (value, shortcut, general)
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
    again = parse_credentials(rendered)
    assert again == creds, (value, rendered, again)


def _info(value: str) -> None:
    try:
        info = parse_authentication_info(value)
    except RemoteProtocolError:
        return
    rendered = info.render()
    assert not _CRLF.search(rendered), rendered
    if rendered:  # an empty list renders as nothing, which is not a value
        again = parse_authentication_info(rendered)
        assert again == info, (value, rendered, again)


def TestOneInput(data: bytes) -> None:
    value = text(data)
    _challenges(value)
    _credentials(value)
    _info(value)


if __name__ == "__main__":
    run(TestOneInput)
