"""Type stubs for the C twin; the signatures are those of ``sipdigest._pure``."""

from typing import Final, TypeAlias, Union

from ._pure import CredentialFields
from ._pure_client import *  # noqa: F403
from ._pure_server import *  # noqa: F403

_Text: TypeAlias = Union[str, bytes]
_Params: TypeAlias = dict[str, str]
_Item: TypeAlias = tuple[str, Union[str, None], _Params]

MD5: Final[int]
SHA256: Final[int]
SHA512_256: Final[int]
SHA512_TRUNC: Final[int]
QOP_NONE: Final[int]
QOP_AUTH: Final[int]
QOP_AUTH_INT: Final[int]
MAC_LEN: Final[int]

def tokenize(value: str, max_length: int, max_params: int) -> list[_Item]: ...
def tokenize_params(value: str, max_length: int, max_params: int) -> _Params: ...
def hexdigest(hash_id: int, data: bytes) -> str: ...
def ha1(hash_id: int, username: _Text, realm: _Text, password: _Text) -> str: ...
def ha1_sess(hash_id: int, ha1: _Text, nonce: _Text, cnonce: _Text) -> str: ...
def response(
    hash_id: int,
    ha1: _Text,
    method: _Text,
    uri: _Text,
    nonce: _Text,
    nc: _Text,
    cnonce: _Text,
    qop: int,
    body: bytes,
) -> str: ...
def check_response(
    hash_id: int,
    ha1: _Text,
    method: _Text,
    uri: _Text,
    nonce: _Text,
    nc: _Text,
    cnonce: _Text,
    qop: int,
    body: bytes,
    received: str,
) -> bool: ...
def hmac_sha256(key: bytes, data: bytes) -> bytes: ...
def mint_nonce(key: bytes, payload: bytes) -> str: ...
def open_nonce(key: bytes, nonce: str, payload_len: int) -> Union[bytes, None]: ...
def verify_fast(value: str, method: _Text, ha1: object, password: object, body: bytes) -> int: ...
def credential_fields(value: str, max_length: int) -> Union[CredentialFields, None]: ...
def _sha256_hardware(allow: bool) -> bool: ...
def sha256_on_hardware() -> bool: ...

