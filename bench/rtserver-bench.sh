#!/usr/bin/env bash
# Starts a fresh rtserver (release build, its own database and app) and runs one rtbench
# scenario against it, printing rtbench's output (its last line is the JSON result).
#   bench/rtserver-bench.sh conns -n 10000 -c 100 -d 10
#   bench/rtserver-bench.sh fanout -n 5000 -c 1 -r 20 -d 10
# Needs: scripts/services up, build/rtserver and build/rtadmin, and rtbench built with
#   make -C ../shared/rtbench BUILD=/tmp/rtbench   (RTBENCH overrides the binary's path).
# RT_BENCH_ENV="RT_X=1 RT_Y=2" passes extra settings to the server.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rtbench=${RTBENCH:-/tmp/rtbench/rtbench}
mode=$1
shift
# shellcheck disable=SC1091
. "$repo/run/services.env"
key_file=$(mktemp)
trap 'rm -f "$key_file"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
openssl rand -hex 32 > "$key_file"
chmod 600 "$key_file"
db=rt_bench_$(date +%s%N | tail -c 9)
psql "$RT_TEST_PG_URL" -qAtXc "CREATE DATABASE $db" >/dev/null
url=${RT_TEST_PG_URL%/*}/$db
export RT_DATABASE_URL=$url RT_MASTER_KEY_FILE=$key_file
"$repo/build/rtadmin" migrate >/dev/null
app=$("$repo/build/rtadmin" app create --name bench --backend-events-per-second 0 \
    --max-connections 100000 --client-events --json)
id=$(echo "$app" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
key=$(echo "$app" | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')
secret=$(echo "$app" | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
port=$(( 20000 + RANDOM % 20000 ))
# shellcheck disable=SC2086
env -u RT_REDIS_URL RT_PORT=$port RT_LOG_LEVEL=warn ${RT_BENCH_ENV:-} "$repo/build/rtserver" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
"$rtbench" "$mode" -p "$port" --app-id "$id" --key "$key" --secret "$secret" --pid "$pid" "$@"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
psql "$RT_TEST_PG_URL" -qAtXc "DROP DATABASE $db" >/dev/null
