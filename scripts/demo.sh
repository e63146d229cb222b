#!/usr/bin/env bash
# Sets up, builds and runs the demo: the seed README's examples, then its famous race run under
# ceramic-run, which finds the deadlock, explains it and draws it (build/demo/seed_race.svg), and
# last the simulator, which finds the same race without waiting for luck and replays it at will.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERAMIC_EXAMPLES=ON -DCERAMIC_TESTS=OFF \
  -DCERAMIC_BENCH=OFF -DCERAMIC_SANITIZE= >/dev/null
cmake --build build/release -j"$(nproc)" --target ceramic-example-hello ceramic-example-isolate_hang \
  ceramic-example-primes ceramic-example-seed_race ceramic-example-seed_race_sim ceramic-run \
  ceramic-trace ceramic-sim
for e in hello isolate_hang primes; do
  echo "== examples/$e.cpp"
  "./build/release/examples/ceramic-example-$e"
done
echo
echo "== examples/seed_race.cpp: A writes, B reads, main writes then reads; how often does main block?"
./build/release/examples/ceramic-example-seed_race 200
echo
echo "== the same race under ceramic-run, until it happens"
mkdir -p build/demo
rm -f build/demo/seed_race.trace
status=0
./build/release/detector/ceramic-run --dot build/demo/seed_race.dot --json build/demo/seed_race.json \
  --html build/demo/seed_race.html --junit build/demo/seed_race.junit.xml \
  --trace build/demo/seed_race.trace -- ./build/release/examples/ceramic-example-seed_race 100000 --block \
  || status=$?
if [ "$status" -eq 3 ]; then
  dot -Tsvg build/demo/seed_race.dot -o build/demo/seed_race.svg
  ./build/release/detector/ceramic-trace chrome build/demo/seed_race.trace -o build/demo/seed_race.perfetto.json
  echo
  echo "ceramic-run exited with 3 (deadlock). Look at:"
  echo "  build/demo/seed_race.html           the report to open: verdict, graph, timeline, text"
  echo "  build/demo/seed_race.junit.xml      the run as a failed JUnit test case, for CI"
  echo "  build/demo/seed_race.svg            the wait-for graph"
  echo "  build/demo/seed_race.json           the report, for machines"
  echo "  build/demo/seed_race.perfetto.json  the timeline (open in https://ui.perfetto.dev)"
else
  echo "the race did not happen in 100000 runs (exit status $status)"
fi
echo
echo "== the same race found by the simulator (examples/seed_race_sim.cpp), then replayed"
./build/release/examples/ceramic-example-seed_race_sim build/demo/seed_race_sim.dot
dot -Tsvg build/demo/seed_race_sim.dot -o build/demo/seed_race_sim.svg
echo "  build/demo/seed_race_sim.svg        the simulator's wait-for graph"
echo
echo "== the simulator's report files, as a CI job would keep them (ceramic-sim --html --junit)"
rm -f build/demo/seed_race_sim.html build/demo/seed_race_sim.junit.xml
./build/release/sim/ceramic-sim --progress off --html build/demo/seed_race_sim.html \
  --junit build/demo/seed_race_sim.junit.xml -- ./build/release/examples/ceramic-example-seed_race_sim \
  >/dev/null 2>&1 || true
echo "  build/demo/seed_race_sim.html       the simulator's report: replay line, graph, steps, coverage"
echo
echo "Open build/demo/seed_race.html in a browser: the seed race, found, explained and drawn."
