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

# cgroup v2: this host's cgroup2 has no memory/cpu/pids controllers, so the
# cgroup tests run again inside a qemu VM that boots a pure cgroup2
# (tests/vm/README.md).  The plain build: TCG makes every exec slow.
rm -f build/cgroup-v2-junit.xml
vm_rc=0
QUILT_BUILD_DIR=$PWD/build QUILT_SOURCE_DIR=$PWD QUILT_CGROUP_BACKEND=cgroup_v2,cgroup \
PYTHONDONTWRITEBYTECODE=1 tests/vm/run-in-vm.sh --timeout 1500 --rw "$PWD/build" -- \
  /usr/bin/python3 -m pytest -v -p no:cacheprovider --junitxml=build/cgroup-v2-junit.xml \
  tests/integration/test_cgroup.py || vm_rc=$?
if [ "$vm_rc" = 77 ]; then
  echo "cgroup v2 VM suite skipped: qemu cannot run here"
elif [ "$vm_rc" != 0 ]; then
  echo "cgroup v2 VM suite failed (rc=$vm_rc)"
  status=1
fi

# One closing line over both runs, counting single test cases: cmocka's
# per-file totals from each unit test's output, pytest's from its JUnit file.
python3 - build-asan/tests/integration/junit.xml build/cgroup-v2-junit.xml "$vm_rc" build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, re, sys, os
import xml.etree.ElementTree as ET
junit, vm_junit, vm_rc, logs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
passed = failed = skipped = 0
for path in logs:
    for line in open(path):
        t = json.loads(line)
        if t.get("name") == "integration":
            continue
        out = t.get("stdout", "")
        ran = re.search(r"^\[==========\] (\d+) test\(s\) run", out, re.M)
        ok = len(re.findall(r"^\[       OK \] ", out, re.M))
        if ran:
            passed += ok
            failed += int(ran.group(1)) - ok
            if t.get("result") not in ("OK", "EXPECTEDFAIL") and int(ran.group(1)) == ok:
                failed += 1     # crashed or leaked after its cases passed
        elif t.get("result") == "SKIP":
            skipped += 1
        elif t.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
def junit_counts(path):
    n = f = s = 0
    for suite in ET.parse(path).getroot().iter("testsuite"):
        n += int(suite.get("tests", 0)); f += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        s += int(suite.get("skipped", 0))
    return n - f - s, f, s
if os.path.exists(junit):
    p, f, s = junit_counts(junit); passed += p; failed += f; skipped += s
else:
    failed += 1   # the integration suite did not run
if os.path.exists(vm_junit):
    p, f, s = junit_counts(vm_junit); passed += p; failed += f; skipped += s
    if vm_rc not in ("0", "77") and f == 0:
        failed += 1
elif vm_rc == "77":
    skipped += 1
else:
    failed += 1   # the VM suite did not report
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
