#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser and of both machines (docs/HARDENING.md).
#
#   scripts/fuzz.sh [SECONDS]      SECONDS of fuzzing in total (default 60), split evenly
#                                  across the targets; the build comes on top (~20 s)
#   FUZZ_TARGETS="server client"   only these targets (default: all seven)
#   FUZZ_WORK=DIR                  build, working corpora and crash files (fuzz/.work)
#
# Build mode: the C extension is compiled by clang with the flags of setup.py's
# SIPDIGEST_SANITIZE=1 mode (-O1 -g -fsanitize=address,undefined) plus
# -fsanitize=fuzzer-no-link (libFuzzer's coverage counters and comparison hooks), into
# FUZZ_WORK/lib, from a copy of the tree, so the in-place build of the other engineers
# is never touched. At run time the ASan+libFuzzer runtime that the atheris wheel ships
# (asan_with_fuzzer.so, it includes the UBSan handlers) is LD_PRELOADed, as atheris
# documents for native extensions, with PYTHONMALLOC=malloc so that PyMem buffers are
# checked too. Python code is instrumented by atheris (instrument_imports).
# Each target runs on the seeds in fuzz/corpus/<target>/ plus FUZZ_WORK/corpus/<target>/
# (where new inputs go); a crash leaves FUZZ_WORK/artifacts/<target>-crash-*, printed at
# the end, and the script exits 1. Reproduce one with
#   SIPDIGEST_FUZZ_REPLAY=1 PYTHONPATH=src python fuzz/fuzz_<target>.py FILE
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOTAL=${1:-60}
TARGETS=${FUZZ_TARGETS:-"tokenize headers verify core server client message"}
WORK=${FUZZ_WORK:-$ROOT/fuzz/.work}
PY=${PYTHON:-python3}
started=$(date +%s)
mkdir -p "$WORK"

echo "== fuzz: toolchain (clang, compiler-rt, atheris) =="
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
clang_rt=$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.asan_static-x86_64.a 2>/dev/null | head -1 || true)
[ -n "$clang_rt" ] || need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! "$PY" -c 'import atheris' 2>/dev/null; then
  "$PY" -m pip install -q atheris
fi
ATHERIS_DIR=$("$PY" -c 'import atheris; print(atheris.path())')
ASAN_RT="$ATHERIS_DIR/asan_with_fuzzer.so"
[ -f "$ASAN_RT" ] || { echo "atheris ships no $ASAN_RT" >&2; exit 2; }
echo "clang: $(clang --version | head -1); atheris: $("$PY" -c 'import importlib.metadata as m; print(m.version("atheris"))')"

echo "== fuzz: sanitized build into $WORK/lib =="
rm -rf "$WORK/tree" "$WORK/lib" "$WORK/build"
mkdir -p "$WORK/tree"
cp -r setup.py pyproject.toml README.md src "$WORK/tree/"
find "$WORK/tree/src" \( -name '*.so' -o -name '_fast.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +
(
  cd "$WORK/tree"
  CC=clang LDSHARED="clang -shared" \
    CFLAGS="-fsanitize=fuzzer-no-link" LDFLAGS="-fsanitize=fuzzer-no-link" \
    SIPDIGEST_SANITIZE=1 SIPDIGEST_REQUIRE_EXTENSIONS=1 \
    "$PY" setup.py -q build --build-base "$WORK/build" --build-lib "$WORK/lib" >"$WORK/build.log" 2>&1
) || { tail -30 "$WORK/build.log" >&2; exit 2; }

# only the Python processes get the sanitizer runtime (not grep, ls, ...)
san=(env LD_PRELOAD="$ASAN_RT" PYTHONMALLOC=malloc PYTHONPATH="$WORK/lib"
     ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:symbolize=1:quarantine_size_mb=64"
     UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" SIPDIGEST_REQUIRE_EXTENSIONS=1)
"${san[@]}" "$PY" - "$WORK/lib" <<'EOF'
import sys
from sipdigest import _impl, _fast
assert _impl.IMPLEMENTATION == "fast", _impl.IMPLEMENTATION
assert _fast.__file__.startswith(sys.argv[1]), _fast.__file__
print("extension under test:", _fast.__file__)
EOF

n=$(echo $TARGETS | wc -w)
per=$(( TOTAL / n )); [ "$per" -ge 1 ] || per=1
echo "== fuzz: $n targets x ${per}s =="
failed=()
for t in $TARGETS; do
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts"
  log="$WORK/$t.log"
  echo "-- $t"
  if "${san[@]}" "$PY" "fuzz/fuzz_$t.py" -max_total_time="$per" -timeout=20 -rss_limit_mb=8192 \
      -max_len=4096 -dict=fuzz/digest.dict -print_final_stats=1 \
      -artifact_prefix="$WORK/artifacts/$t-" \
      "$WORK/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::new_units_added)|cov: .*ft: " "$log" \
      | tail -3 | sed 's/^/   /' || true
  else
    echo "   FINDING in $t (log: $log)"
    grep -E -A25 "ERROR: AddressSanitizer|runtime error|Uncaught Python exception" "$log" \
      | head -40 | sed 's/^/   /' || tail -40 "$log"
    ls "$WORK/artifacts/$t-"* 2>/dev/null | sed 's/^/   artifact: /' || true
    failed+=("$t")
  fi
done
echo "== fuzz: done in $(( $(date +%s) - started ))s; findings in: ${failed[*]:-none} =="
[ ${#failed[@]} -eq 0 ]
