#!/usr/bin/env bash
# Installs what ceramic needs to build, test and draw, on Debian 12. Idempotent: installs only
# what is missing (so it needs root, or sudo, only the first time).
set -euo pipefail
packages=(cmake g++ clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev graphviz gcovr
          nlohmann-json3-dev libcli11-dev libxml2-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
