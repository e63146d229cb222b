#!/usr/bin/env bash
# Sets up, builds and runs the demo: the seed README's examples, then its famous race.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERAMIC_TESTS=OFF -DCERAMIC_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target ceramic-example-hello ceramic-example-isolate_hang \
  ceramic-example-primes ceramic-example-seed_race
for e in hello isolate_hang primes; do
  echo "== examples/$e.cpp"
  "./build/examples/ceramic-example-$e"
done
echo "== examples/seed_race.cpp (A writes, B reads, main writes then reads)"
./build/examples/ceramic-example-seed_race 100
