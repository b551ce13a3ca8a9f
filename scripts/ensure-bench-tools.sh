#!/usr/bin/env bash
# Makes sure the benchmarks' tools are present: the test tools (AWS CLI, moto_server for
# the peer figures) and wrk, the load generator, from Debian's packages. Without wrk the
# benchmarks fall back to autocannon, which costs more CPU per request on shared cores.
set -euo pipefail
bash "$(dirname "$0")/ensure-test-tools.sh" >/dev/null
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing the load generator from Debian: wrk"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk || echo "wrk could not be installed; the benchmarks will use autocannon"
fi
