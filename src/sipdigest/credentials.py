"""Client-side credentials, kept per realm.

The authentication username is not the SIP user and the realm is not the SIP domain
(REFERENCE pains 9 and 10), so a credential names both explicitly. A secret is a
password or stored HA1s per algorithm; an HA1 for MD5 forces MD5 (it cannot answer a
SHA-256 challenge). The wildcard realm ``"*"`` exists only when asked for by name.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Union

from .digest import Algorithm, get_algorithm
from .errors import LocalProtocolError

__all__ = ["Credential", "CredentialSet", "ANY_REALM"]

#: The wildcard realm. Use ``Credential(realm=ANY_REALM, ...)`` to send these
#: credentials to any realm that asks: an explicit opt-in, never a default.
ANY_REALM = "*"

Secret = Union[str, bytes]


class Credential:
    """A username and a secret for one realm (or, explicitly, for any realm)."""

    __slots__ = ("realm", "username", "_password", "_ha1")

    def __init__(
        self,
        realm: str,
        username: str,
        password: Optional[Secret] = None,
        ha1: Optional[Mapping[str, str]] = None,
    ) -> None:
        if password is None and not ha1:
            raise LocalProtocolError("a credential needs a password or at least one HA1")
        if password is not None and ha1:
            raise LocalProtocolError("give a password or HA1s, not both")
        self.realm = realm
        self.username = username
        self._password = password
        stored: dict[str, str] = {}
        for token, value in (ha1 or {}).items():
            alg = get_algorithm(token)
            base = alg.token.removesuffix("-sess")
            if len(value) != alg.hex_length or not all(c in "0123456789abcdefABCDEF" for c in value):
                raise LocalProtocolError(f"HA1 for {alg.token} must be {alg.hex_length} hex digits")
            stored[base] = value.lower()
        self._ha1 = stored

    @property
    def password(self) -> Optional[Secret]:
        return self._password

    def can_answer(self, algorithm: Algorithm) -> bool:
        """True if this secret can compute ``algorithm`` (a password can do any)."""
        return self._password is not None or algorithm.token.removesuffix("-sess") in self._ha1

    def ha1_for(self, algorithm: Algorithm) -> Optional[str]:
        """The stored HA1 for ``algorithm`` (None when a password is kept instead)."""
        return self._ha1.get(algorithm.token.removesuffix("-sess"))

    def __repr__(self) -> str:
        kind = "password" if self._password is not None else f"ha1[{','.join(self._ha1)}]"
        return f"Credential(realm={self.realm!r}, username={self.username!r}, secret=<{kind}>)"


class CredentialSet:
    """Credentials by realm; exact realm first, then the explicit wildcard."""

    __slots__ = ("_by_realm",)

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        self._by_realm: dict[str, Credential] = {}
        for c in credentials:
            self.add(c)

    def add(self, credential: Credential) -> None:
        self._by_realm[credential.realm] = credential

    def remove(self, realm: str) -> None:
        self._by_realm.pop(realm, None)

    def for_realm(self, realm: str) -> Optional[Credential]:
        found = self._by_realm.get(realm)
        if found is None:
            found = self._by_realm.get(ANY_REALM)
        return found

    def __len__(self) -> int:
        return len(self._by_realm)

    def __repr__(self) -> str:
        return f"CredentialSet(realms={sorted(self._by_realm)!r})"
