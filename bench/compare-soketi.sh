#!/usr/bin/env bash
# Runs the same rtbench scenarios against a local rtserver and then (never at the same time)
# against soketi on 127.0.0.1:6101, and prints markdown tables side by side.
#   bench/compare-soketi.sh [rtbench options…]      e.g. --scenarios connect --connections 8000
# Needs: scripts/services up, a built build/rtserver, `npm install` in bench/.
# OUT (default /tmp/rtbench) keeps the JSON results; SOKETI_SH points at the peer script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
soketi=${SOKETI_SH:-$here/../../shared/peers/soketi.sh}
out=${OUT:-/tmp/rtbench}
export PEERS_DIR=${PEERS_DIR:-/tmp/peers}
mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)

echo "load before Realtime run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
node "$here/rtbench.mjs" --local --name Realtime --json "$@" > "$out/realtime-$stamp.json"

"$soketi" install >/dev/null
"$soketi" start 6101 >&2
trap '"$soketi" stop >&2' EXIT
sleep 1
echo "load before soketi run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
node "$here/rtbench.mjs" --host 127.0.0.1 --port 6101 --app-id app-id --key app-key --secret app-secret \
  --server-pid "$(cat "$PEERS_DIR/run/soketi-6101.pid")" --name soketi --json "$@" > "$out/soketi-$stamp.json"

node "$here/compare.mjs" "$out/realtime-$stamp.json" "$out/soketi-$stamp.json"
echo "results: $out/realtime-$stamp.json $out/soketi-$stamp.json" >&2
