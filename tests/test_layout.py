"""The architecture's promises, checked from the source: a pure core and a pinned API."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import sipdigest

SRC = Path(sipdigest.__file__).parent
SHELL = {
    "cli.py", "__main__.py", "message.py", "bench.py", "explain.py",
    "_net.py", "_netbase.py", "_net_registrar.py", "_net_serve.py", "_net_uac.py",
}  # fmt: skip
FORBIDDEN = {"socket", "asyncio", "selectors", "time", "random", "threading", "subprocess",
             "logging", "signal", "os"}
ALLOWED = {("_impl.py", "os")}  # the one place that reads SIPDIGEST_* at import


def test_core_modules_do_no_io_and_read_no_clock() -> None:
    offenders = []
    for path in sorted(SRC.glob("*.py")):
        if path.name in SHELL:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            for name in names:
                if name in FORBIDDEN and (path.name, name) not in ALLOWED:
                    offenders.append(f"{path.name} imports {name}")
                if name == "sipdigest" or (isinstance(node, ast.ImportFrom) and node.module in {"cli", "message"}):
                    offenders.append(f"{path.name} imports the shell")
    assert offenders == []


def test_core_never_imports_the_shell() -> None:
    for path in sorted(SRC.glob("*.py")):
        if path.name in SHELL:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                assert node.module not in {m.removesuffix(".py") for m in SHELL}, path.name


def test_public_contract_is_pinned() -> None:
    contract = {
        "compute_ha1", "compute_response", "compute_userhash", "verify_credentials",
        "parse_challenges", "parse_credentials", "parse_authentication_info",
        "Challenge", "Credentials", "AuthenticationInfo", "MalformedHeader",
        "RemoteProtocolError", "LocalProtocolError", "IMPLEMENTATION",
        # machines, events and actions named by the server and client issues
        "Server", "Client", "RequestReceived", "CredentialsFound", "CredentialsNotFound",
        "SendChallenge", "LookupCredentials", "Accept", "Exempt", "Reject",
        "RequestPrepared", "ResponseReceived", "CredentialsProvided",
        "AttachCredentials", "Retry", "NeedCredentials", "Done", "GiveUp",
    }
    assert contract <= set(sipdigest.__all__)
    for name in sipdigest.__all__:
        assert hasattr(sipdigest, name), name
    assert issubclass(sipdigest.MalformedHeader, sipdigest.RemoteProtocolError)


def test_implementation_choice_follows_the_environment() -> None:
    env = {**os.environ, "SIPDIGEST_NO_EXTENSIONS": "1"}
    env.pop("SIPDIGEST_REQUIRE_EXTENSIONS", None)
    out = subprocess.run(
        [sys.executable, "-c", "import sipdigest; print(sipdigest.IMPLEMENTATION)"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "pure"


def test_required_extension_is_the_one_loaded() -> None:
    if os.environ.get("SIPDIGEST_REQUIRE_EXTENSIONS", "") in ("", "0"):
        import pytest

        if os.environ.get("CI", "").lower() == "true" and not os.environ.get("SIPDIGEST_NO_EXTENSIONS"):
            raise AssertionError("CI runs the main suite with SIPDIGEST_REQUIRE_EXTENSIONS=1")
        pytest.skip("only meaningful with SIPDIGEST_REQUIRE_EXTENSIONS=1")
    assert sipdigest.IMPLEMENTATION == "fast"
    from sipdigest import _fast, _impl

    assert _impl.core is _fast
    assert _fast.__file__.endswith((".so", ".pyd"))
