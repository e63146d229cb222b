#!/usr/bin/env bash
# README's simulator test fails on purpose (ctest: docs.sim_replay): this script expects the
# failure, finds in its message the very replay line that the README shows, runs that line, and
# expects the same deadlock again.
#   sim_replay.sh PATH/TO/tests
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "docs.sim_replay: $*" >&2; exit 1; }
cd "$(dirname "$1")"
[ "$(basename "$1")" = tests ] || fail "expected the binary to be called tests"

status=0
timeout 50 ./tests >explore.out 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat explore.out; fail "the test exited with $status, not 1 (failed)"; }
python3 "$here/../../scripts/doc_examples.py" --same "$here/expected/sim_seed_race_test.txt" explore.out

# The replay line, as the README shows it, must be the one the failure printed.
line=$(sed -n 's|^//   \(CERAMIC_SIM_REPLAY=.*\)$|\1|p' "$here/sim_seed_race_test.cpp")
[ -n "$line" ] || fail "no replay line in sim_seed_race_test.cpp"
grep -qxF "  $line" explore.out || { cat explore.out; fail "the failure did not print: $line"; }

status=0
timeout 50 bash -c "$line" >replay.out 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat replay.out; fail "the replay exited with $status, not 1"; }
send=$(grep -n 'chan.send(2);' "$here/sim_seed_race_test.cpp" | cut -d: -f1)
grep -q "deadlock in schedule 0 after 5 steps" replay.out &&
  grep -q "main (pid [0-9]*) is blocked in send at sim_seed_race_test.cpp:$send " replay.out ||
  { cat replay.out; fail "the replay did not deadlock at the same send"; }
rm -f explore.out replay.out
echo "docs.sim_replay: found, and replayed by the line the README shows"
