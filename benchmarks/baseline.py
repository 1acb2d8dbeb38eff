"""The hand-written pure-Python baseline, as benchmarks import it.

It lives in ``sipdigest.bench.Baseline`` so that ``sipdigest bench`` (installed, without
this directory) measures the very same code: a regex parse, hashlib and
``hmac.compare_digest``; no nonce checks, no replay window, no validation beyond what
the arithmetic needs, no caching. Ratios in the README are against these functions.
"""

from __future__ import annotations

from sipdigest.bench import Baseline

parse = Baseline.parse
parse_challenges = Baseline.parse_challenges
ha1 = Baseline.ha1
response = Baseline.response
verify = Baseline.verify
server = Baseline.server
server_challenge = Baseline.server_challenge
answer_401 = Baseline.answer_401
client = Baseline.client

__all__ = [
    "Baseline",
    "answer_401",
    "client",
    "ha1",
    "parse",
    "parse_challenges",
    "response",
    "server",
    "server_challenge",
    "verify",
]
