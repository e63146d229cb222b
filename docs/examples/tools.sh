#!/usr/bin/env bash
# The guide's tool commands, run as the docs show them (ctest: docs.tools). The blocks between
# the [doc:...] markers are what the docs show; the rest checks what they claim.
#   tools.sh TOOLS_DIR EXAMPLES_DIR
set -euo pipefail
tools=$(cd "$1" && pwd)
examples=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
same() { python3 "$here/../../scripts/doc_examples.py" --same "$here/expected/$1" "$2"; }
fail() { echo "docs.tools: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$examples/seed_race_forced" "$examples/cycle" "$examples/hello" .
export PATH="$tools:$PATH"
# Every wait is bounded: a hang fails the test, it never stalls ctest.
ceramic-run() { timeout 30 "$tools/ceramic-run" "$@"; }

# The forced seed race: a deadlock every time.
{
# [doc:run]
status=0
ceramic-run --dot race.dot --json race.json --trace race.trace -- ./seed_race_forced || status=$?
echo "ceramic-run exited with $status"   # 3: deadlock found, reported, process tree killed
dot -Tsvg race.dot -o race.svg           # draw the wait-for graph
# [/doc:run]
} 2>race.report >race.out
[ "$status" -eq 3 ] || fail "ceramic-run on the forced race exited with $status, not 3"
line=$(grep -n 'chan.send(2);' "$here/seed_race_forced.cpp" | cut -d: -f1)
grep -q "is blocked in send at seed_race_forced.cpp:$line " race.report ||
  fail "the report does not name the blocked send at seed_race_forced.cpp:$line"
same seed_race_forced.report.txt race.report
same seed_race_forced.dot race.dot
grep -q '<svg' race.svg || fail "dot did not draw an SVG"
python3 - "$line" <<'PY'
import json, sys
r = json.load(open("race.json"))
assert r["deadlock"] and r["kind"] == "no live peer", r
stuck = r["stuck"][0]
site = stuck["site"]
assert stuck["op"] == "send" and site["file"].endswith("/seed_race_forced.cpp") and site["line"] == int(sys.argv[1]), stuck
PY

# The kept trace, read after the fact.
status=0
{
# [doc:trace]
ceramic-trace dump race.trace                           # processes, channels, events
ceramic-trace chrome race.trace -o race.perfetto.json   # a timeline for https://ui.perfetto.dev
ceramic-trace analyze race.trace --dot saved.dot || status=$?   # 3: the saved state is deadlocked
# [/doc:trace]
} >trace.out 2>&1
[ "$status" -eq 3 ] || fail "ceramic-trace analyze exited with $status, not 3"
grep -q '^threads:' trace.out && grep -q '^channels:' trace.out || fail "no dump"
python3 -c 'import json; json.load(open("race.perfetto.json"))' || fail "chrome: not JSON"
grep -q 'digraph' saved.dot || fail "analyze --dot wrote no graph"

# A wait-for cycle.
status=0
ceramic-run --dot cycle.dot -- ./cycle 2>cycle.report || status=$?
[ "$status" -eq 3 ] || fail "ceramic-run on the cycle exited with $status, not 3"
same cycle.report.txt cycle.report
same cycle.dot cycle.dot

# No deadlock: ceramic-run exits with the program's own status.
status=0
{
# [doc:status]
ceramic-run -- ./hello                          # prints the program's output; exits 0
ceramic-run --quiet -- sh -c 'exit 7' || status=$?   # 7: the program's status
# [/doc:status]
} >status.out 2>&1
[ "$status" -eq 7 ] || fail "ceramic-run passed on status $status, not 7"
grep -q 'parent received: hello' status.out || fail "hello's output is missing"
grep -q 'exited with status 0 after .* s, no deadlock' status.out || fail "no summary line"
echo "docs.tools: every command behaved as the docs say"
