#!/usr/bin/env bash
# Line and branch coverage of ceramic by its own tests (docs/coverage.md).
#
#   scripts/coverage.sh [--min-core-lines PCT]
#
# Builds with gcc --coverage -O0 -fprofile-update=atomic in build/coverage, runs the tests
# (ctest, every label but leaks: threads, procs, detector, sim, goker, docs; the install_consumer test is
# not built, it tests packaging and its consumer would have to link gcov's runtime), then
# reports per top-level folder (core/, detector/, sim/) with gcovr: a table on stdout, a
# browsable report in build/coverage/html/index.html.
# --min-core-lines PCT (or CERAMIC_COVERAGE_MIN_CORE=PCT): exit 1 when core/'s line coverage is
# below PCT. A failing test fails the script before any report.
set -euo pipefail
cd "$(dirname "$0")/.."
min_core=${CERAMIC_COVERAGE_MIN_CORE:-}
while [ $# -gt 0 ]; do
  case $1 in
    --min-core-lines) min_core=$2; shift 2 ;;
    --min-core-lines=*) min_core=${1#*=}; shift ;;
    *) echo "usage: $0 [--min-core-lines PCT]" >&2; exit 2 ;;
  esac
done
command -v gcovr >/dev/null || { echo "coverage: gcovr is missing (bash scripts/setup.sh)" >&2; exit 2; }
jobs=$(nproc)
dir=build/coverage

echo "== $dir"
mkdir -p "$dir"
# Children that end with _exit() must write their counters too (scripts/coverage_exit.cpp).
# The object's name carries its source's hash, so that a change relinks every executable.
exit_obj=$PWD/$dir/coverage_exit-$(sha1sum scripts/coverage_exit.cpp | cut -c1-12).o
[ -f "$exit_obj" ] || g++ -O2 -c scripts/coverage_exit.cpp -o "$exit_obj"
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O0 --coverage -fprofile-update=atomic" \
  -DCMAKE_EXE_LINKER_FLAGS="--coverage -Wl,--wrap=_exit $exit_obj" \
  -DCERAMIC_BENCH=OFF -DCERAMIC_INSTALL=OFF >/dev/null
cmake --build "$dir" -j"$jobs"
built=$SECONDS
# Counts from this run only (the build ran the test binaries to list their tests).
find "$dir" -name '*.gcda' -delete
# gcov's own complaints (a counter file it could not merge) go to a file, not into the output
# that tests compare with the docs; they are counted below.
export GCOV_ERROR_FILE=$PWD/$dir/gcov-errors.log
rm -f "$GCOV_ERROR_FILE"
# The random-program test of the simulator's DFS reduction runs 25 seeds, as under ASan, not
# 100: at -O0 with counters 100 take longer than its ctest timeout (the same code runs).
# The leak corpus (label leaks) is left out: it runs ceramic-run and the simulator on programs
# whose code the detector, sim and procs labels already reach, and would add minutes at -O0.
CERAMIC_TEST_SEEDS=25 ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE leaks
tested=$SECONDS
if [ -s "$GCOV_ERROR_FILE" ]; then
  echo "coverage: warning: gcov could not merge $(wc -l <"$GCOV_ERROR_FILE") counter files" \
       "(see $GCOV_ERROR_FILE): the figures below undercount"
fi

echo "== coverage of core/, detector/, sim/ (gcovr)"
rm -rf "$dir/html" && mkdir -p "$dir/html"
# Branches: those only an exception can take, and those gcc proves unreachable, are left out;
# every other branch gcc emits counts, so the figure is strict rather than flattering.
# (gcovr 5.2 hangs when a worker thread fails: bounded, so that CI never waits on it.)
timeout 600 gcovr --root . --object-directory "$dir" -j "$jobs" \
  --filter 'core/' --filter 'detector/' --filter 'sim/' --exclude 'detector/fuzz/' \
  --exclude-directories "$dir/CMakeFiles" \
  --exclude-throw-branches --exclude-unreachable-branches \
  --json-summary "$dir/summary.json" \
  --html-details "$dir/html/index.html" --html-title "ceramic coverage" "$dir"

echo "coverage: build $((built))s, tests $((tested - built))s, report $((SECONDS - tested))s"
python3 - "$dir/summary.json" "$min_core" <<'PY'
import json, sys
summary, min_core = json.load(open(sys.argv[1])), sys.argv[2]
folders = {}
for f in summary["files"]:
    top = f["filename"].split("/")[0] + "/"
    t = folders.setdefault(top, [0, 0, 0, 0])
    t[0] += f["line_covered"]; t[1] += f["line_total"]
    t[2] += f["branch_covered"]; t[3] += f["branch_total"]
pct = lambda c, n: 100.0 * c / n if n else 100.0
print(f"{'folder':<10} {'lines':>20} {'branches':>20}")
for top in ("core/", "detector/", "sim/"):
    lc, lt, bc, bt = folders.get(top, [0, 0, 0, 0])
    print(f"{top:<10} {lc:>6}/{lt:<6} {pct(lc, lt):5.1f}% {bc:>6}/{bt:<6} {pct(bc, bt):5.1f}%")
print("html: build/coverage/html/index.html")
if min_core:
    got = pct(folders.get("core/", [0, 0])[0], folders.get("core/", [0, 0])[1])
    if got < float(min_core):
        print(f"coverage: core/ line coverage {got:.1f}% is below the minimum {min_core}%")
        sys.exit(1)
    print(f"coverage: core/ line coverage {got:.1f}% >= {min_core}%")
PY
