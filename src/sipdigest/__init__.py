"""sipdigest: SIP Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760), Sans-IO.

The public contract is ``__all__``; a test pins it.
"""

from __future__ import annotations

from ._impl import IMPLEMENTATION
from .actions import (
    Accept,
    Action,
    AttachCredentials,
    CheckReplay,
    Done,
    Exempt,
    GiveUp,
    LookupCredentials,
    NeedCredentials,
    Reason,
    Reject,
    Retry,
    SendChallenge,
)
from .client import Client
from .credentials import ANY_REALM, Credential, CredentialSet
from .digest import (
    ALGORITHMS,
    MD5,
    MD5_SESS,
    SHA256,
    SHA256_SESS,
    SHA512_256,
    SHA512_256_SESS,
    Algorithm,
    compute_ha1,
    compute_response,
    compute_rspauth,
    compute_userhash,
    get_algorithm,
    verify_credentials,
)
from .errors import (
    LocalProtocolError,
    MalformedHeader,
    RemoteProtocolError,
    SipDigestError,
    UnsupportedAlgorithm,
    UnsupportedScheme,
)
from .events import (
    CredentialsFound,
    CredentialsNotFound,
    CredentialsProvided,
    Event,
    ReplayChecked,
    RequestPrepared,
    RequestReceived,
    ResponseReceived,
)
from .headers import (
    AuthenticationInfo,
    Challenge,
    Credentials,
    parse_authentication_info,
    parse_challenge_headers,
    parse_challenges,
    parse_credentials,
    require_digest,
)
from .policy import CLIENT_QUIRKS, SERVER_QUIRKS, ClientPolicy, ServerPolicy
from .replay import MemoryReplayStore, ReplayStore
from .server import Server

__version__ = "0.1.0"

__all__ = [
    "IMPLEMENTATION",
    "__version__",
    # digest math
    "Algorithm",
    "ALGORITHMS",
    "MD5",
    "MD5_SESS",
    "SHA256",
    "SHA256_SESS",
    "SHA512_256",
    "SHA512_256_SESS",
    "get_algorithm",
    "compute_ha1",
    "compute_response",
    "compute_rspauth",
    "compute_userhash",
    "verify_credentials",
    # headers
    "Challenge",
    "Credentials",
    "AuthenticationInfo",
    "parse_challenges",
    "parse_challenge_headers",
    "parse_credentials",
    "parse_authentication_info",
    "require_digest",
    # machines
    "Server",
    "Client",
    "ServerPolicy",
    "ClientPolicy",
    "SERVER_QUIRKS",
    "CLIENT_QUIRKS",
    "Credential",
    "CredentialSet",
    "ANY_REALM",
    "ReplayStore",
    "MemoryReplayStore",
    # events
    "Event",
    "RequestReceived",
    "CredentialsFound",
    "CredentialsNotFound",
    "ReplayChecked",
    "RequestPrepared",
    "ResponseReceived",
    "CredentialsProvided",
    # actions
    "Action",
    "Reason",
    "SendChallenge",
    "LookupCredentials",
    "CheckReplay",
    "Accept",
    "Exempt",
    "Reject",
    "AttachCredentials",
    "Retry",
    "NeedCredentials",
    "Done",
    "GiveUp",
    # errors
    "SipDigestError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "MalformedHeader",
    "UnsupportedAlgorithm",
    "UnsupportedScheme",
]
