#!/usr/bin/env bash
# test.sh — build Quilt twice (plain, and with ASan/UBSan) and run the
# whole test suite: cmocka unit tests in both builds, the integration
# tests (real daemon, real namespaces, as root) in the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the tests create real namespaces and mounts" >&2; exit 1; }
bash scripts/install-deps.sh

[ -d build ] || meson setup build
ninja -C build
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
meson test -C build --suite unit --print-errorlogs || status=1
meson test -C build-asan --print-errorlogs --timeout-multiplier 2 || status=1

# One closing line over both runs.
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
