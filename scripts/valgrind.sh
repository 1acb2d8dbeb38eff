#!/usr/bin/env bash
# valgrind memcheck over the C extension (docs/HARDENING.md). About 4 minutes.
#
#   scripts/valgrind.sh            the test subset + the leak-growth check
#   VALGRIND_PART=suite|leaks      only one of the two
#   VALGRIND_WORK=DIR              build and logs (default fuzz/.work/valgrind)
#
# 1. A representative subset of the test suite (twins, vectors, digest, nonce, server,
#    client; the compiled twin's parameters only, and without the long randomised
#    loops, which part 2 covers) runs under memcheck with PYTHONMALLOC=malloc, so every
#    object and PyMem buffer is a malloc block valgrind can see. CPython and glibc
#    noise (uninitialised-value reports inside the interpreter, AVX2 wmemcmp
#    over-reads) is not suppressed one by one: the log is read, and the run fails on
#    any error record (invalid read/write/free, uninitialised value, overlap, bad
#    syscall parameter) that has a frame in _fast.c, _fast.pyx or _sdhash.h, or on a
#    "definitely lost" leak whose allocation stack passes through them.
# 2. Leak growth: every _fast function (all PEP 393 kinds, the PyMem buffer paths,
#    the error paths) is called in a loop N and 10N times: under valgrind, the bytes
#    "definitely lost" + "indirectly lost" must not grow with N; natively, with a
#    larger N, neither the traced Python memory (tracemalloc) nor the RSS may grow. A
#    positive control leaks one object per iteration and must be caught.
# The extension is built with -g into VALGRIND_WORK from a copy of the tree (the same
# -O3 as a normal build), so nothing in src/ is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${VALGRIND_WORK:-$ROOT/fuzz/.work/valgrind}
PART=${VALGRIND_PART:-all}
PY=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)')  # the binary, not a shim
started=$(date +%s)
command -v valgrind >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
echo "== valgrind: $(valgrind --version); python: $PY =="

echo "== valgrind: build with -g into $WORK/lib =="
rm -rf "$WORK/tree" "$WORK/lib" "$WORK/build"
mkdir -p "$WORK/tree"
cp -r setup.py pyproject.toml README.md src "$WORK/tree/"
find "$WORK/tree/src" \( -name '*.so' -o -name '_fast.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +
(cd "$WORK/tree" && CFLAGS="-g -fno-omit-frame-pointer" SIPDIGEST_REQUIRE_EXTENSIONS=1 \
  "$PY" setup.py -q build --build-base "$WORK/build" --build-lib "$WORK/lib" >"$WORK/build.log" 2>&1) \
  || { tail -30 "$WORK/build.log" >&2; exit 2; }
export PYTHONPATH="$WORK/lib" SIPDIGEST_REQUIRE_EXTENSIONS=1 PYTHONMALLOC=malloc
"$PY" -c 'import sys; from sipdigest import _fast; assert _fast.__file__.startswith(sys.argv[1]), _fast.__file__' "$WORK/lib"

cat >"$WORK/python.supp" <<'EOF'
{
   glibc-avx2-wmemcmp-overread-in-unicode-compare
   Memcheck:Addr32
   fun:__wmemcmp_avx2_movbe
}
EOF
VG=(valgrind --tool=memcheck --num-callers=40 --suppressions="$WORK/python.supp")

# Reads a memcheck log; exits 1 if any error or definite leak touches the extension.
cat >"$WORK/judge.py" <<'EOF'
import re, sys
OURS = re.compile(r"_fast\.(c|pyx)|_sdhash\.h|sipdigest/_fast\.cpython")
KINDS = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free",
         "Conditional jump", "Use of uninitialised", "Source and destination overlap",
         "Syscall param", "Argument 'size'")
text = open(sys.argv[1], errors="replace").read()
blocks = re.split(r"\n==\d+== \n", text)
ours, other = [], 0
for b in blocks:
    head = re.sub(r"^==\d+== ", "", b.strip().splitlines()[0]) if b.strip() else ""
    leak = "definitely lost in loss record" in b
    if head.startswith(KINDS) or leak:
        if OURS.search(b):
            ours.append(b)
        else:
            other += 1
summary = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
lost = re.findall(r"definitely lost: ([\d,]+) bytes", text)
print(f"   memcheck: {len(ours)} error records in the extension; {other} elsewhere "
      f"(CPython/glibc noise, not judged); ERROR SUMMARY {summary}; definitely lost {lost}")
for b in ours[:5]:
    print(b)
sys.exit(1 if ours else 0)
EOF

status=0
if [ "$PART" = all ] || [ "$PART" = suite ]; then
  echo "== valgrind: test subset under memcheck =="
  slow='never_contradicts or twins_well_formed or regex_tier or test_response_twins or test_tokenize_twins or test_ha1_twins or test_hmac_twins or test_hexdigest_twins or garbage_twins or cache_twins'
  set +e
  "${VG[@]}" --log-file="$WORK/suite.%p.log" "$PY" -m pytest -q -p no:cacheprovider \
    tests/test_twins.py tests/test_vectors.py tests/test_digest.py tests/test_nonce.py \
    tests/test_server.py tests/test_client.py -k "not ($slow or pure)" >"$WORK/suite.out" 2>&1
  rc=$?
  set -e
  tail -1 "$WORK/suite.out"
  [ "$rc" -eq 0 ] || { echo "   the tests failed under valgrind (rc=$rc)"; tail -30 "$WORK/suite.out"; status=1; }
  for log in "$WORK"/suite.*.log; do "$PY" "$WORK/judge.py" "$log" || status=1; done
fi

if [ "$PART" = all ] || [ "$PART" = leaks ]; then
  echo "== valgrind: leak growth of every _fast function (N and 10N calls) =="
  cat >"$WORK/exercise.py" <<'EOF'
"""Call every _fast function, every path, N times; print what leak checks need."""
import base64, gc, hashlib, hmac, os, sys, tracemalloc
from sipdigest import _fast as f
from sipdigest.errors import MalformedHeader

KEY = b"0123456789abcdef0123456789abcdef"
PAYLOAD = bytes(range(26))
NONCE = f.mint_nonce(KEY, PAYLOAD)
BIG_NONCE = f.mint_nonce(KEY, bytes(300))
GOOD = f.response(0, f.ha1(0, "alice", "example.com", "wonderland"), "REGISTER",
                  "sip:example.com", NONCE, "00000001", "c", 1, b"")
PLAIN = ('Digest username="alice", realm="example.com", nonce="%s", uri="sip:example.com", '
         'response="%s", algorithm=MD5, cnonce="c", qop=auth, nc=00000001' % (NONCE, GOOD))
BAD_VALUES = ['Digest realm="unterminated', "Digest a=1, a=2", "", " , ",
              "Digest " + "a=1," * 70, "x" * 9000, 'Digest realm="\x01"', 'Digest x="\ud800"',
              "Digest realm=a b", 'Basic abc==, x=1']
LEAKED = []
KEYS = [b"", b"k", KEY, bytes(range(64)), bytes(range(65)), b"x" * 128, b"y" * 129, b"z" * 300]
KEYS += [b"key-%d" % j for j in range(12)]


def expect(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError(f"{fn.__name__}{args!r:.80} did not raise {exc.__name__}")


def battery(i, leak=False):
    s = str(i)
    f.tokenize('Digest realm="r%s", nonce="n", qop="auth", algorithm=MD5' % s, 8192, 64)
    f.tokenize('Digest realm="\\"e\\\\sc%s\\"", x="%s"' % (s, "\xe9" * 300), 8192, 64)
    f.tokenize('Digest realm="\u65e5\u672c%s", uri="\U0001f600%s\r\n"' % (s, "\u0100" * 300), 8192, 64)
    f.tokenize("Basic dXNlcjpwYXNz==, Digest realm=x%s, Negotiate abc" % s, 8192, 64)
    for bad in BAD_VALUES:
        expect(MalformedHeader, f.tokenize, bad, 8192, 64)
        try:
            f.tokenize_params(bad, 8192, 64)  # some are fine as a bare list ("", " , ")
        except MalformedHeader:
            pass
    expect(MalformedHeader, f.tokenize, "Digest a=1, b=2, c=3", 8192, 2)
    expect(TypeError, f.tokenize, b"bytes", 1, 1)
    f.tokenize_params('rspauth="%s", qop=auth, nextnonce="\\"%s"' % (s, "\u0100" * 300), 8192, 64)
    for h in range(4):
        f.hexdigest(h, b"data" + s.encode())
    f.hexdigest(1, "text\u65e5" + s)
    expect(ValueError, f.hexdigest, 9, b"")
    expect(TypeError, f.hexdigest, 0, 5)
    f.ha1(0, "u", "r", "p" + s)
    f.ha1(2, b"u", b"r", b"p" * 200)
    expect(UnicodeEncodeError, f.ha1, 0, "\udcff", "r", "p")
    f.ha1_sess(1, "a" * 64, "n" + s, "c")
    for q, body in ((0, b""), (1, b""), (2, b"v=0\r\n" * 100)):
        r = f.response(1, "a" * 64, "REGISTER", "sip:x", "n" + s, "00000001", "c", q, body)
        assert f.check_response(1, "a" * 64, "REGISTER", "sip:x", "n" + s, "00000001", "c", q, body, r)
    f.check_response(0, "a" * 32, "M", "u", "n", "1", "c", 1, b"", "\xe9" * 32)
    f.check_response(0, "a" * 32, "M", "u", "n", "1", "c", 1, b"", "short")
    expect(TypeError, f.check_response, 0, "a" * 32, "M", "u", "n", "1", "c", 1, b"", 5)
    expect(ValueError, f.response, 0, "a", "M", "u", "n", "1", "c", 7, b"")
    f.hmac_sha256(b"k" * 100, b"d" + s.encode())
    f.hmac_sha256("k", "d")
    for k in KEYS:  # more keys than the C midstate cache has slots, and uncached lengths
        assert f.hmac_sha256(k, s.encode()) == hmac.new(k, s.encode(), hashlib.sha256).digest()
    n = f.mint_nonce(KEY, PAYLOAD)
    f.mint_nonce(KEY, bytes(300) + s.encode())
    assert f.open_nonce(KEY, n, 26) == PAYLOAD
    assert f.open_nonce(KEY, BIG_NONCE, 300) is not None
    assert f.open_nonce(KEY, n[:-1] + ("A" if n[-1] != "A" else "B"), 26) is None
    assert f.open_nonce(KEY, "\xe9" * 56, 26) is None
    assert f.open_nonce(KEY, "", -16) is None
    expect(TypeError, f.open_nonce, KEY, b"x", 26)
    assert f.verify_fast(PLAIN, "REGISTER", None, "wonderland", b"") == 1
    assert f.verify_fast(PLAIN, "REGISTER", None, "wrong" + s, b"") == 0
    f.verify_fast(PLAIN, "REGISTER", "A" * 32, None, b"")
    f.verify_fast(PLAIN.replace("MD5", "MD5-sess"), b"REGISTER", None, b"pw", b"")
    f.verify_fast(PLAIN.replace("qop=auth", "qop=auth-int"), "INVITE", None, "pw", b"body")
    f.verify_fast(PLAIN + ", x=" + s, "REGISTER", None, "\udcff", b"")
    f.verify_fast(PLAIN.replace("alice", "\xe9"), "REGISTER", None, "pw", b"")
    f.verify_fast("Digest " + ", ".join("p%d=%d" % (k, k) for k in range(70)), "M", None, "p", b"")
    expect(TypeError, f.verify_fast, b"x", "M", None, "p", b"")
    if leak:  # positive control: one object per iteration that nothing can free
        LEAKED.append(("leak" + s) * 8)


def run(n, leak=False):
    for i in range(n):
        battery(i, leak)


def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


mode, n = sys.argv[1], int(sys.argv[2])
if mode == "valgrind":  # memcheck measures at exit
    run(n)
    print(f"ran {n} iterations")
else:  # native: traced memory and RSS after N, then after 10N more
    leak = mode == "control"
    run(200, leak)
    gc.collect()
    tracemalloc.start()
    run(n, leak)
    gc.collect()
    t1, r1 = tracemalloc.get_traced_memory()[0], rss()
    run(10 * n, leak)
    gc.collect()
    t2, r2 = tracemalloc.get_traced_memory()[0], rss()
    print(f"{mode}: N={n}: traced {t1} -> {t2} bytes (+{t2 - t1}), RSS {r1} -> {r2} (+{r2 - r1})")
    grew = t2 - t1 > 64 * 1024 or r2 - r1 > 4 * 1024 * 1024
    if leak != grew:
        print("   FAIL: " + ("a leak the check missed" if leak else "memory grows with N"))
        sys.exit(1)
EOF
  declare -A lost
  for n in 50 500; do
    "${VG[@]}" --leak-check=full --show-leak-kinds=definite,indirect --log-file="$WORK/leaks.$n.log" \
      "$PY" "$WORK/exercise.py" valgrind "$n" >"$WORK/leaks.$n.out" 2>&1 || { cat "$WORK/leaks.$n.out"; status=1; }
    d=$(grep -oE "definitely lost: [0-9,]+ bytes" "$WORK/leaks.$n.log" | grep -oE "[0-9,]+" | tr -d , | tail -1)
    i=$(grep -oE "indirectly lost: [0-9,]+ bytes" "$WORK/leaks.$n.log" | grep -oE "[0-9,]+" | tr -d , | tail -1)
    lost[$n]=$(( ${d:-0} + ${i:-0} ))
    echo "   N=$n: $(cat "$WORK/leaks.$n.out"); definitely+indirectly lost ${lost[$n]} bytes"
    "$PY" "$WORK/judge.py" "$WORK/leaks.$n.log" || status=1
  done
  if [ $(( lost[500] - lost[50] )) -gt 1024 ]; then
    echo "   FAIL: lost memory grows with the number of calls (${lost[50]} -> ${lost[500]})"; status=1
  fi
  echo "== leak growth natively (tracemalloc, RSS), and the positive control =="
  env -u PYTHONMALLOC "$PY" "$WORK/exercise.py" native 2000 || status=1
  env -u PYTHONMALLOC "$PY" "$WORK/exercise.py" control 2000 || status=1
fi
echo "== valgrind: done in $(( $(date +%s) - started ))s: $([ $status -eq 0 ] && echo clean || echo FAILED) =="
exit $status
