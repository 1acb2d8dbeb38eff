"""Choose the twin core: the C extension when it is there, the pure-Python one otherwise.

``SIPDIGEST_NO_EXTENSIONS=1`` (or an interpreter other than CPython) forces the pure
twin; ``SIPDIGEST_REQUIRE_EXTENSIONS=1`` (set in CI) makes a missing or broken
extension an ImportError instead of a quiet fallback. This is the one core module that
reads the environment, once, at import.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from . import _pure, _pure_client, _pure_server
from ._pure import MD5, QOP_AUTH, QOP_AUTH_INT, QOP_NONE, SHA256, SHA512_256, SHA512_TRUNC
from ._pure import _b as as_bytes


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _choose() -> tuple[ModuleType, str]:
    if _truthy("SIPDIGEST_NO_EXTENSIONS") or sys.implementation.name != "cpython":
        if _truthy("SIPDIGEST_REQUIRE_EXTENSIONS"):
            raise ImportError("SIPDIGEST_REQUIRE_EXTENSIONS is set but extensions are disabled")
        return _pure, "pure"
    try:
        from . import _fast  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        if _truthy("SIPDIGEST_REQUIRE_EXTENSIONS"):
            raise
        return _pure, "pure"
    return _fast, "fast"


core, IMPLEMENTATION = _choose()

if TYPE_CHECKING:  # both twins have these signatures; _fast.pyi says so too
    from ._pure import (
        check_response,
        credential_fields,
        ha1,
        ha1_sess,
        hexdigest,
        hmac_sha256,
        mint_nonce,
        open_nonce,
        response,
        tokenize,
        tokenize_params,
        verify_fast,
    )
else:
    tokenize = core.tokenize
    tokenize_params = core.tokenize_params
    hexdigest = core.hexdigest
    ha1 = core.ha1
    ha1_sess = core.ha1_sess
    response = core.response
    check_response = core.check_response
    hmac_sha256 = core.hmac_sha256
    mint_nonce = core.mint_nonce
    open_nonce = core.open_nonce
    verify_fast = core.verify_fast
    credential_fields = core.credential_fields

#: Twin functions of the machines, listed by their pure modules' ``__all__``.
MACHINE_TWINS: tuple[str, ...] = (*_pure_server.__all__, *_pure_client.__all__)

if TYPE_CHECKING:
    from ._pure_client import *  # noqa: F403
    from ._pure_server import *  # noqa: F403
else:
    for _name in MACHINE_TWINS:
        globals()[_name] = getattr(core, _name)

#: The functions both twins expose with identical results; tests and fuzz targets
#: iterate over this one list.
TWIN_FUNCTIONS = (
    "tokenize",
    "tokenize_params",
    "hexdigest",
    "ha1",
    "ha1_sess",
    "response",
    "check_response",
    "hmac_sha256",
    "mint_nonce",
    "open_nonce",
    "verify_fast",
    "credential_fields",
    *MACHINE_TWINS,
)

__all__ = [
    "TWIN_FUNCTIONS",
    "IMPLEMENTATION",
    "core",
    "as_bytes",
    "MD5",
    "SHA256",
    "SHA512_256",
    "SHA512_TRUNC",
    "QOP_NONE",
    "QOP_AUTH",
    "QOP_AUTH_INT",
    "tokenize",
    "tokenize_params",
    "hexdigest",
    "ha1",
    "ha1_sess",
    "response",
    "check_response",
    "hmac_sha256",
    "mint_nonce",
    "open_nonce",
    "verify_fast",
    "credential_fields",
]
