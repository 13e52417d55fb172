#!/usr/bin/env bash
# The figures of docs/PERFORMANCE.md: every scenario against soketi (A) and a fresh rtserver (B),
# alternating, with ../shared/rtbench/compare.sh (medians and B/A ratios).
#   bench/compare.sh [ROUNDS]          (default 2 rounds; results in /tmp/rtbench/results/)
# Needs: scripts/services up; build/rtserver and build/rtadmin (release); rtbench built with
#   make -C ../shared/rtbench BUILD=/tmp/rtbench ; soketi installed by
#   PEERS_DIR=/tmp/peers ../shared/peers/soketi.sh install ; jq.
# RT_BENCH_ENV="RT_X=1 ..." adds server settings; SCENARIOS="conns10k fanout1x5000 ..." picks.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
rounds=${1:-2}
export PEERS_DIR=${PEERS_DIR:-/tmp/peers}
work=$(mktemp -d /tmp/rt-compare.XXXXXX)
# shellcheck disable=SC1091
. "$repo/run/services.env"

# One database and app for every run of ours (each run restarts the server process).
db=rt_compare_$(date +%s)
psql "$RT_TEST_PG_URL" -qAtXc "CREATE DATABASE $db" >/dev/null
url=${RT_TEST_PG_URL%/*}/$db
openssl rand -hex 32 > "$work/master.key"
chmod 600 "$work/master.key"
export RT_DATABASE_URL=$url RT_MASTER_KEY_FILE=$work/master.key
"$repo/build/rtadmin" migrate >/dev/null
app=$("$repo/build/rtadmin" app create --name bench --backend-events-per-second 0 \
    --max-connections 100000 --client-events --json)
get() { echo "$app" | jq -r ".$1"; }

cat > "$work/realtime.env" <<ENV
NAME=realtime
PORT=6201
APP_ID=$(get id)
APP_KEY=$(get key)
APP_SECRET=$(get secret)
PID_FILE=$work/realtime.pid
RESTART_CMD='[ -f $work/realtime.pid ] && kill \$(cat $work/realtime.pid) 2>/dev/null; sleep 0.5; env -u RT_REDIS_URL RT_DATABASE_URL=$url RT_MASTER_KEY_FILE=$work/master.key RT_PORT=6201 RT_LOG_LEVEL=warn ${RT_BENCH_ENV:-} $repo/build/rtserver >$work/realtime.log 2>&1 & echo \$! > $work/realtime.pid'
READY_WAIT=1
ENV
cat > "$work/soketi.env" <<ENV
NAME=soketi
PORT=6101
APP_ID=app-id
APP_KEY=app-key
APP_SECRET=app-secret
PID_FILE=$PEERS_DIR/run/soketi-6101.pid
RESTART_CMD='env -u APP_ID -u APP_KEY -u APP_SECRET $shared/peers/soketi.sh stop >/dev/null 2>&1; env -u APP_ID -u APP_KEY -u APP_SECRET $shared/peers/soketi.sh start 6101 >/dev/null 2>&1'
READY_WAIT=2
ENV

declare -A scenario=(
  [conns10k]="conns -n 10000 -c 100 -d 5"
  [conns19k]="conns -n 19500 -c 100 -d 5"
  [fanout1x5000]="fanout -n 5000 -c 1 -r 20 -d 10"
  [fanout100x100]="fanout -n 10000 -c 100 -r 100 -d 10"
  [trigger16]="trigger -k 16 -d 10"
  [clientevents]="client-events -n 2000 -r 500 -d 10"
)
order=${SCENARIOS:-"conns10k conns19k fanout1x5000 fanout100x100 trigger16 clientevents"}
for name in $order; do
  echo "== $name: ${scenario[$name]}"
  # shellcheck disable=SC2086
  "$shared/rtbench/compare.sh" -r "$rounds" "$work/soketi.env" "$work/realtime.env" ${scenario[$name]} || true
done
[ -f "$work/realtime.pid" ] && kill "$(cat "$work/realtime.pid")" 2>/dev/null || true
env -u APP_ID -u APP_KEY -u APP_SECRET "$shared/peers/soketi.sh" stop >/dev/null 2>&1 || true
psql "$RT_TEST_PG_URL" -qAtXc "DROP DATABASE $db" >/dev/null || true
