"""Regenerate the seed corpora in fuzz/corpus/<target>/ from real headers.

Sources: the captured exchanges in tests/captures/ (SIPp and sngrep traces), the
Kamailio/SIPp/sipsak headers quoted in tests/interop/NOTES.md, and the examples of
RFC 2617 §3.5, RFC 3261 §20/§22, RFC 7616 §3.9 and RFC 8760 §3, plus a few hand-made
shapes that reach the paths real headers do not (token68, several challenges in one
value, quoted-pair, folded lines, username*, userhash, non-ASCII in each PEP 393
kind). Seeds are named by content hash, so rerunning this is idempotent:
``python fuzz/make_corpus.py`` (it only adds files; crash reproducers that were added
by hand next to the seeds stay).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
_HEADER = re.compile(
    r"(WWW-Authenticate|Proxy-Authenticate|Authorization|Proxy-Authorization|"
    r"Authentication-Info|Proxy-Authentication-Info):\s*(.*?)\s*(?:\(.*\))?\s*$"
)

RFC_CHALLENGES = [
    # RFC 2617 §3.5
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    # RFC 7616 §3.9.1 (SHA-256 and MD5 for the same realm)
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    # RFC 7616 §3.9.2 (userhash, charset)
    'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, '
    'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
    'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
    # RFC 3261 §20.44 and §22.4
    'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", '
    'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5',
    'Digest realm="biloxi.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    # RFC 8760 §3 style: several algorithms, strongest first, in one value
    'Digest realm="example.com", algorithm=SHA-512-256, nonce="a1", qop="auth", '
    'Digest realm="example.com", algorithm=SHA-256, nonce="a2", qop="auth", '
    'Digest realm="example.com", algorithm=MD5, nonce="a3", qop="auth"',
    # shapes real peers send
    'Basic realm="example.com", Digest realm="example.com", nonce="n", qop=auth',
    'Negotiate YIIB+wYJKoZIhvcSAQICAQBuggHqMIIB5qADAgEFoQMCAQ6iBwMFACAAAACjggEB==',
    'Digest realm="ex\\"am\\\\ple.com",\r\n nonce="n\r\n1", qop="auth", algorithm=md5',
    'digest REALM=example.com, NONCE=abc, QOP="auth", ALGORITHM=sha-256-SESS, stale=TRUE',
    'Digest realm="réalm ünï", nonce="n", qop="auth"',
    'Digest realm="\u65e5\u672c", nonce="n\u0100", qop="auth"',
    'Digest realm="\U0001f600", nonce="n", qop="auth"',
    ',, Digest  realm = "example.com" ,nonce="n",, qop=auth ,',
]

RFC_CREDENTIALS = [
    # RFC 2617 §3.5
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    # RFC 7616 §3.9.1
    'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", '
    'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
    'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
    'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    # RFC 7616 §3.9.2 (userhash) and a username* form (§3.4.4)
    'Digest username="488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec", '
    'realm="api@example.org", uri="/doe.json", algorithm=SHA-512-256, '
    'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, '
    'cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, '
    'response="ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd", '
    'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", userhash=true',
    "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", "
    'uri="/doe.json", algorithm=SHA-256, nonce="n", nc=00000001, cnonce="c", qop=auth, '
    'response="0"',
    # RFC 3261 §22.4 (no qop, RFC 2069 form)
    'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="sip:bob@biloxi.com", response="245f23415f11432b3434341c022"',
    'Basic YWxpY2U6d29uZGVybGFuZA==',
]

RFC_INFO = [
    'nextnonce="47364c23432d2e131a5fb210812c", qop=auth, '
    'rspauth="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", nc=00000001',
    'rspauth="a1", qop="auth-int", nc=00000002, cnonce="x\\"y"',
]


# The reproducers of the findings (tests/test_fuzz_regressions.py, F1 and F2, fixed), as
# seeds: every CI run replays them through the targets' oracles.
FINDINGS = {
    "headers": [
        'Digest realm="a", nonce="n", algorithm="MD5, stale=true"',
        'qop="auth, rspauth=0000", nc="1 2"',
    ],
    "verify": [
        'Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", '
        'response="$RESPONSE", algorithm=MD5-sess',
    ],
}


def _write(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)  # noqa: S324 - a name


def _harvest() -> tuple[list[str], list[str], list[str], list[bytes]]:
    challenges, credentials, infos, messages = [], [], [], []
    files = sorted((ROOT / "tests" / "captures").iterdir())
    files.append(ROOT / "tests" / "interop" / "NOTES.md")
    files += sorted((ROOT / "tests" / "interop" / "assets").iterdir())
    for path in files:
        body = path.read_text("utf-8", "replace")
        for line in body.splitlines():
            m = _HEADER.search(line.strip().strip("`"))
            if not m or "[" in m.group(2):  # SIPp [field] placeholders are not values
                continue
            name, value = m.group(1), m.group(2).strip("`")
            if name.endswith("Authenticate"):
                challenges.append(value)
            elif name.endswith("Info"):
                infos.append(value)
            else:
                credentials.append(value)
        if path.parent.name == "captures":
            for block in re.split(r"\n(?=(?:[A-Z]+ \S+ SIP/2\.0|SIP/2\.0 \d{3} ))", body):
                block = block.strip("\n")
                if block.startswith(("SIP/2.0", "REGISTER", "INVITE", "ACK", "BYE", "OPTIONS")):
                    head = block.split("\n\n", 1)[0]
                    messages.append(head.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    return (
        sorted(set(challenges)) + RFC_CHALLENGES,
        sorted(set(credentials)) + RFC_CREDENTIALS,
        sorted(set(infos)) + RFC_INFO,
        messages,
    )


def _as_script(value: str, policy: int, header: str = "Authorization") -> str:
    """A server script: the value answered for our realm with a real nonce and response."""
    value = re.sub(r'realm="[^"]*"', 'realm="example.com"', value)
    alg = re.search(r"algorithm=([A-Za-z0-9-]+)", value)
    ref = f"$NONCE:{alg.group(1).upper()}" if alg else "$NONCE:MD5"
    value = re.sub(r'nonce="[^"]*"', f'nonce="{ref}"', value, count=1)
    value = re.sub(r'response="[^"]*"', 'response="$RESPONSE"', value)
    value = re.sub(r'uri="[^"]*"', 'uri="sip:example.com"', value)
    value = re.sub(r'username="[^"]*"', 'username="alice"', value)
    value = re.sub(r',\s*opaque="[^"]*"', "", value)
    if policy == 1:
        value += ', opaque="op\\"aq\\\\ue"'
    base = (
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\n"
        'From: "Alice" <sip:alice@example.com>;tag=1928301774\n'
        "Call-ID: a84b4c76e66710@pc33.example.com\nCSeq: 2 REGISTER\n"
    )
    return f"@ {policy}\n>>> REGISTER sip:example.com +1\n{base}{header}: {value}\n"


SERVER_SCRIPTS = [
    # downgrades, each correctly computed for what it claims: algorithm swap, -sess
    # switch, qop removed, auth where only auth-int was offered
    "@ 0\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-256", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5, cnonce="c", qop=auth, nc=00000001\n',
    "@ 1\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-256", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=SHA-256-sess, cnonce="c", qop=auth, '
    'nc=00000001, opaque="op\\"aq\\\\ue"\n',
    "@ 0\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:MD5", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5\n',
    "@ 4\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:MD5", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5, cnonce="c", qop=auth, nc=00000001\n',
    # replay, then the same credentials with the next nc, then an old nc
    "@ 0\n>>> REGISTER sip:example.com +1\nCall-ID: a84b4c76e66710@pc33.example.com\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:MD5", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5, cnonce="c1", qop=auth, nc=00000002\n'
    ">>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:MD5", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5, cnonce="c1", qop=auth, nc=00000002\n'
    ">>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:MD5", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=MD5, cnonce="c1", qop=auth, nc=00000001\n',
    # every algorithm and auth-int, opaque and userhash (policy 1)
    "@ 1\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-512-256-sess", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=SHA-512-256-sess, cnonce="c", '
    'qop=auth-int, nc=00000001, opaque="op\\"aq\\\\ue"\n',
    "@ 1\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="e714bf7dde243fc2061a4e3d877edc0d", realm="example.com", '
    'nonce="$NONCE:MD5", uri="sip:example.com", response="$RESPONSE", algorithm=MD5, '
    'cnonce="c", qop=auth, nc=00000001, userhash=true, opaque="op\\"aq\\\\ue"\n',
    # RFC 2069 form and one-time nonces (policy 2)
    "@ 2\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE", '
    'uri="sip:example.com", response="$RESPONSE"\n'
    ">>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="alice", realm="example.com", nonce="$NONCE", '
    'uri="sip:example.com", response="$RESPONSE"\n',
    # proxy with binding (policy 3): a changed Call-ID, then the right one
    "@ 3\n>>> INVITE sip:bob@example.com +1\nCall-ID: other@example.com\n"
    'From: "Alice" <sip:alice@example.com>;tag=1928301774\nCSeq: 1 INVITE\n'
    'Proxy-Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-256", '
    'uri="sip:bob@example.com", response="$RESPONSE", algorithm=SHA-256, cnonce="c", qop=auth, nc=00000001\n'
    ">>> INVITE sip:bob@example.com +1\nCall-ID: a84b4c76e66710@pc33.example.com\n"
    'From: "Alice" <sip:alice@example.com>;tag=1928301774\nCSeq: 1 INVITE\n'
    'Proxy-Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-256", '
    'uri="sip:bob@example.com", response="$RESPONSE", algorithm=SHA-256, cnonce="c", qop=auth, nc=00000001\n'
    ">>> ACK sip:bob@example.com +0.1\nCall-ID: a84b4c76e66710@pc33.example.com\n"
    'From: "Alice" <sip:alice@example.com>;tag=1928301774\nCSeq: 1 ACK\n'
    'Proxy-Authorization: Digest username="alice", realm="example.com", nonce="$NONCE:SHA-256", '
    'uri="sip:bob@example.com", response="$RESPONSE", algorithm=SHA-256, cnonce="c", qop=auth, nc=00000001\n',
    # two-phase look-up and external replay (policy 4)
    "@ 4\n>>> REGISTER sip:example.com +1\n"
    'Authorization: Digest username="bob", realm="example.com", nonce="$NONCE", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=SHA-256, cnonce="c", qop=auth-int, nc=00000001\n'
    ">>> REGISTER sip:example.com +400\n"
    'Authorization: Digest username="bob", realm="example.com", nonce="$NONCE", '
    'uri="sip:example.com", response="$RESPONSE", algorithm=SHA-256, cnonce="c", qop=auth-int, nc=00000002\n',
    # quirks (policy 5)
    "@ 5\n>>> REGISTER sip:example.com;transport=udp +1\n"
    'Authorization: Digest username="alice", realm="sip.example.com", nonce="$NONCE:MD5", '
    'uri="SIP:Example.COM", response="$RESPONSE", algorithm=md5, cnonce="c", qop=auth, nc=1\n',
    # username*, a second realm's value first, Basic alongside (policy 6: one-time, ACK memory)
    "@ 6\n>>> INVITE sip:bob@example.com +1\nCall-ID: x@y\nCSeq: 7 INVITE\nFrom: <sip:a@b>;tag=t\n"
    'Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\n'
    'Authorization: Digest username="alice", realm="other.example", nonce="x", uri="u", response="r"\n'
    "Authorization: Digest username*=UTF-8''%C3%BCn%C3%AF, realm=\"example.com\", "
    'nonce="$NONCE", uri="sip:bob@example.com", response="$RESPONSE", algorithm=SHA-256, '
    'cnonce="c", qop=auth, nc=00000001\n'
    ">>> ACK sip:bob@example.com +0.5\nCall-ID: x@y\nCSeq: 7 ACK\nFrom: <sip:a@b>;tag=t\n"
    "Authorization: Digest username*=UTF-8''%C3%BCn%C3%AF, realm=\"example.com\", "
    'nonce="$NONCE", uri="sip:bob@example.com", response="$RESPONSE", algorithm=SHA-256, '
    'cnonce="c", qop=auth, nc=00000001\n',
]

CLIENT_SCRIPTS = [
    "@ 1\n>>> INVITE sip:bob@example.com\n<<< 407\n"
    'Proxy-Authenticate: Digest realm="other.example", qop="auth", algorithm=MD5, nonce="p1"\n'
    'WWW-Authenticate: Digest realm="example.com", qop="auth,auth-int", algorithm=SHA-256, nonce="w1"\n'
    "<<< 401\n"
    'WWW-Authenticate: Digest realm="example.com", qop="auth", algorithm=SHA-256, nonce="w2", stale=true\n'
    "<<< 200\nAuthentication-Info: rspauth=\"$RSPAUTH\", qop=auth, nc=$NC, cnonce=\"$CNONCE\", "
    'nextnonce="w3"\n',
    "@ 0\n<<< 401\n"
    'WWW-Authenticate: Digest realm="asked.example", nonce="q1", qop="auth"\n'
    'WWW-Authenticate: Digest realm="example.com", nonce="q2"\n<<< 200\n',
    "@ 2\n<<< 401\n"
    'WWW-Authenticate: Digest realm="example.com", nonce="z1", algorithm=SHA256, qop="auth-int"\n'
    "<<< 401\n"
    'WWW-Authenticate: Digest realm="example.com", nonce="z2", algorithm=SHA256, qop="auth-int"\n',
    "@ 0\n<<< 401\nWWW-Authenticate: Basic realm=\"example.com\"\n"
    'WWW-Authenticate: Digest realm="example.com", nonce="m", algorithm=MD5-sess\n',
]


def main() -> None:
    challenges, credentials, infos, messages = _harvest()
    for value in challenges:
        for target in ("tokenize", "headers"):
            _write(target, value.encode())
        _write("client", f"<<< 401\nWWW-Authenticate: {value}\n".encode())
        proxy = f"@ 1\n>>> INVITE sip:bob@example.com\n<<< 407\nProxy-Authenticate: {value}\n"
        _write("client", proxy.encode())
    for value in credentials:
        for target in ("tokenize", "headers", "verify"):
            _write(target, value.encode())
        _write("verify", re.sub(r'response="[^"]*"', 'response="$RESPONSE"', value).encode())
        for policy in (0, 1, 5):
            _write("server", _as_script(value, policy).encode())
        _write("server", _as_script(value, 3, "Proxy-Authorization").encode())
    for value in infos:
        for target in ("tokenize", "headers"):
            _write(target, value.encode())
    for script in SERVER_SCRIPTS:
        _write("server", script.encode())
    for script in CLIENT_SCRIPTS:
        _write("client", script.encode())
    for msg in messages:
        _write("message", msg)
        _write("message", msg + msg)  # two messages on one stream
    # core: hash id/qop byte, then fields separated by 0xFF
    for i, value in enumerate(credentials[:8] + challenges[:4]):
        fields = [bytes([i * 3 % 20])] + [p.encode() for p in value.split(", ")[:7]]
        _write("core", b"\xff".join(fields))
    _write("core", b"\x05\xffha1\xffnonce\xffcnonce")
    for target, values in FINDINGS.items():
        for value in values:
            _write(target, value.encode())


if __name__ == "__main__":
    main()
