"""The ``sipdigest`` command line: the only place (with the network shell) that does I/O.

Subcommands live in small functions registered in ``_COMMANDS``; the heavier ones
(``serve``, ``register``, ``request``, ``explain``, ``bench``) are imported lazily from
their own modules so ``sipdigest response`` starts fast. Secrets never come from argv:
a password is read from an environment variable or a file (``-`` for stdin).
Exit status: 0 success, 1 a failure the command reports (e.g. a malformed header),
2 a usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, NoReturn, Optional, Sequence

from . import __version__
from .digest import compute_ha1, compute_response, compute_userhash, get_algorithm
from .errors import SipDigestError, UnsupportedAlgorithm
from .headers import Credentials, parse_authentication_info, parse_challenges, parse_credentials

__all__ = ["main", "UsageError", "read_secret", "add_secret_options"]


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def add_secret_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """--password-env / --password-file (and --ha1-file): secrets stay out of argv."""
    p.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    p.add_argument("--password-file", metavar="FILE", help="read the password from FILE ('-' for stdin)")
    p.add_argument(
        "--ha1-file", metavar="FILE",
        help="read stored HA1s from FILE instead of a password: lines ALGORITHM:HEX "
        "(e.g. SHA-512-256:...), or one bare HEX (32 digits: MD5, 64: SHA-256)",
    )  # fmt: skip
    p.set_defaults(_secret_required=required)


def read_secret(args: argparse.Namespace) -> tuple[Optional[str], Optional[dict[str, str]]]:
    """(password, HA1s by algorithm) from the options; SIPDIGEST_PASSWORD is the fallback.

    HA1s are keyed by the plain algorithm token (a -sess variant uses its plain HA1);
    a bare HA1, whose algorithm the file does not say, by "".
    """
    given = [o for o in ("password_env", "password_file", "ha1_file") if getattr(args, o, None)]
    if len(given) > 1:
        raise UsageError("give only one of --password-env, --password-file, --ha1-file")
    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise UsageError(f"environment variable {args.password_env} is not set")
        return value, None
    if args.password_file or args.ha1_file:
        path = args.password_file or args.ha1_file
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text") from None
        text = text.rstrip("\r\n")
        if args.password_file:
            return text, None
        return None, parse_ha1_text(text, path)
    if "SIPDIGEST_PASSWORD" in os.environ:
        return os.environ["SIPDIGEST_PASSWORD"], None
    if getattr(args, "_secret_required", True):
        raise UsageError("a password is needed: --password-env VAR, --password-file FILE or SIPDIGEST_PASSWORD")
    return None, None


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_ha1_text(text: str, path: str) -> dict[str, str]:
    """``ALGORITHM:HEX`` lines (``#`` comments, blank lines ignored), or one bare HEX.

    A bare HA1 (the older form of this option) is keyed by "": 64 digits cannot say
    whether they are SHA-256 or SHA-512-256, so the caller decides (``response`` uses it
    for --algorithm; ``register`` takes 32 digits as MD5 and 64 as SHA-256).
    """
    table: dict[str, str] = {}
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(lines) == 1 and ":" not in lines[0]:
        bare = lines[0]
        if len(bare) not in (32, 64) or not _HEX_DIGITS.issuperset(bare):
            raise UsageError(f"{path} does not hold an HA1 (32 or 64 hex digits)")
        return {"": bare.lower()}
    for number, line in enumerate(lines, 1):
        token, _, hexa = line.partition(":")
        try:
            alg = get_algorithm(token.strip())
        except UnsupportedAlgorithm:
            raise UsageError(f"{path}: line {number}: unknown algorithm {token.strip()[:32]!r}") from None
        hexa = hexa.strip()
        if len(hexa) != alg.hex_length or not _HEX_DIGITS.issuperset(hexa):
            raise UsageError(f"{path}: line {number}: an HA1 for {alg.token} is {alg.hex_length} hex digits")
        base = alg.token.removesuffix("-sess")
        if base in table:
            raise UsageError(f"{path}: line {number}: a second HA1 for {base}")
        table[base] = hexa.lower()
    if not table:
        raise UsageError(f"{path} does not hold an HA1")
    return table


# ---- response ------------------------------------------------------------------------


def _cmd_response(args: argparse.Namespace) -> int:
    password, ha1 = read_secret(args)
    alg = get_algorithm(args.algorithm)
    body = b""
    if args.body_file:
        try:
            with open(args.body_file, "rb") as f:
                body = f.read()
        except OSError as exc:
            raise UsageError(f"cannot read {args.body_file}: {exc.strerror}") from None
    qop = None if args.qop == "none" else args.qop
    if qop and not args.cnonce:
        raise UsageError("--cnonce is required with --qop")
    if alg.sess and not args.cnonce:
        raise UsageError(f"--cnonce is required with {alg.token}")
    if ha1 is not None:
        base = alg.token.removesuffix("-sess")
        found = ha1.get(base, ha1.get(""))
        if found is None or len(found) != alg.hex_length:
            has = ", ".join(k or f"a bare {len(v)}-digit HA1" for k, v in ha1.items())
            raise UsageError(f"--ha1-file holds no HA1 for {base} (it has {has})")
        stored = found
    else:
        stored = compute_ha1(alg, args.username, args.realm, password or "")
    response = compute_response(
        algorithm=alg, username=args.username, realm=args.realm, ha1=stored,
        method=args.method, uri=args.uri, nonce=args.nonce,
        nc=args.nc if qop else None, cnonce=args.cnonce, qop=qop, body=body,
    )  # fmt: skip
    userhash = compute_userhash(alg, args.username, args.realm)
    creds = Credentials(
        username=userhash if args.userhash else args.username,
        realm=args.realm, nonce=args.nonce, uri=args.uri, response=response,
        algorithm=alg.token, cnonce=args.cnonce, opaque=args.opaque, qop=qop,
        nc=args.nc if qop else None, userhash=args.userhash,
    )  # fmt: skip
    header = "Proxy-Authorization" if args.proxy else "Authorization"
    if args.json:
        print(json.dumps({"ha1": stored, "response": response, "userhash": userhash,
                          "header": header, "value": creds.render()}, indent=2))  # fmt: skip
    else:
        print(f"HA1:       {stored}")
        print(f"userhash:  {userhash}")
        print(f"response:  {response}")
        print(f"{header}: {creds.render()}")
    return 0


def _nc(text: str) -> int:
    try:
        value = int(text, 16) if text.lower().startswith("0x") or len(text) == 8 else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a nonce count: {text!r}") from None
    if not 0 < value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("nc must be between 1 and 0xffffffff")
    return value


def _add_response(sub: Any) -> None:
    p = sub.add_parser("response", help="compute HA1, response and userhash; print the Authorization value")
    p.add_argument("--algorithm", default="MD5", help="MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256(-sess)")
    p.add_argument("--username", required=True)
    p.add_argument("--realm", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--uri", required=True, help="the Request-URI, exactly as sent")
    p.add_argument("--nonce", required=True)
    p.add_argument("--qop", choices=["auth", "auth-int", "none"], default="auth")
    p.add_argument("--nc", type=_nc, default=1, help="nonce count (decimal, 0x.. or 8 hex digits)")
    p.add_argument("--cnonce")
    p.add_argument("--opaque")
    p.add_argument("--body-file", help="the message body, for qop=auth-int")
    p.add_argument("--userhash", action="store_true", help="send H(username:realm) as the username")
    p.add_argument("--proxy", action="store_true", help="label the header Proxy-Authorization")
    p.add_argument("--json", action="store_true")
    add_secret_options(p)
    p.set_defaults(_run=_cmd_response)


# ---- parse ---------------------------------------------------------------------------

_KINDS = {
    "www-authenticate": "challenge",
    "proxy-authenticate": "challenge",
    "authorization": "credentials",
    "proxy-authorization": "credentials",
    "authentication-info": "auth-info",
    "proxy-authentication-info": "auth-info",
}


def _fields(obj: Any) -> dict[str, Any]:
    out = {name: getattr(obj, name) for name in obj.__slots__}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items() if v not in (None, False, (), {})}


def _cmd_parse(args: argparse.Namespace) -> int:
    text = args.value if args.value != "-" else sys.stdin.read().strip()
    kind = args.kind
    name, sep, rest = text.partition(":")
    if sep and name.strip().lower() in _KINDS:
        kind = kind or _KINDS[name.strip().lower()]
        text = rest.strip()
    if kind is None:
        raise UsageError("say --kind challenge|credentials|auth-info or prefix the header name")
    try:
        if kind == "challenge":
            result: Any = [_fields(c) for c in parse_challenges(text)]
        elif kind == "credentials":
            result = _fields(parse_credentials(text))
        else:
            result = _fields(parse_authentication_info(text))
    except SipDigestError as exc:
        print(f"sipdigest parse: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _add_parse(sub: Any) -> None:
    p = sub.add_parser("parse", help="print a digest header's fields as JSON")
    p.add_argument("value", help="a header value, or 'Name: value', or - for stdin")
    p.add_argument("--kind", choices=["challenge", "credentials", "auth-info"])
    p.set_defaults(_run=_cmd_parse)


# ---- lazily imported subcommands -------------------------------------------------------

_LAZY: dict[str, str] = {}  # subcommand -> module providing add_parser(sub)
_EAGER: list[Callable[[Any], None]] = [_add_response, _add_parse]


def _lazy_modules() -> list[str]:
    return ["sipdigest._net", "sipdigest.explain", "sipdigest.bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sipdigest", description="SIP Digest authentication tools")
    parser.add_argument("--version", action="version", version=f"sipdigest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _EAGER:
        add(sub)
    import importlib

    for name in _lazy_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real error inside the module: show it
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            raise UsageError("sipdigest: a command is required (try --help)")
        return int(args._run(args))
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SipDigestError as exc:
        print(f"sipdigest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
