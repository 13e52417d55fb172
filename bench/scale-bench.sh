#!/usr/bin/env bash
# The figures of docs/scaling.md: a fresh rtserver with RT_WORKERS=N (each worker a node of
# one cluster on a private redis-server), one rtbench scenario against it with CPU and RSS
# summed over the supervisor and its workers (--pid-tree), then every worker's bus counters.
#   bench/scale-bench.sh WORKERS MODE [rtbench options...]
#   bench/scale-bench.sh 6 conns -n 100000 -c 1000 -d 20
#   bench/scale-bench.sh 2 fanout -n 4000 -c 2000 -r 4000 -d 10
# Needs: scripts/services up (PostgreSQL), redis-server, build/rtserver and build/rtadmin
# (release), rtbench built with make -C ../shared/rtbench BUILD=/tmp/rtbench (RTBENCH
# overrides the binary's path). RT_BENCH_ENV="RT_X=1 ..." adds server settings;
# RTSERVER=path runs another build (e.g. an older one, for a before/after table).
# RT_BENCH_REDIS_CLUSTER_URL=redis://h:p,... runs the nodes on that Redis Cluster
# (RT_REDIS_CLUSTER=1, e.g. the one of scripts/services cluster-up) instead of a private
# redis-server; Redis CPU and bytes are then summed over its masters.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rtbench=${RTBENCH:-/tmp/rtbench/rtbench}
rtserver=${RTSERVER:-$repo/build/rtserver}
workers=$1
mode=$2
shift 2
# shellcheck disable=SC1091
. "${RT_RUN_DIR:-$repo/run}/services.env"
work=$(mktemp -d /tmp/rt-scale.XXXXXX)
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${redis_pid:-}" ] && [ -z "${RT_BENCH_REDIS_CLUSTER_URL:-}" ] && kill "$redis_pid" 2>/dev/null
    [ -n "${db:-}" ] && psql "$RT_TEST_PG_URL" -qAtXc "DROP DATABASE IF EXISTS $db" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
openssl rand -hex 32 > "$work/master.key"
chmod 600 "$work/master.key"
db=rt_scale_$(date +%s%N | tail -c 9)
psql "$RT_TEST_PG_URL" -qAtXc "CREATE DATABASE $db" >/dev/null
export RT_DATABASE_URL=${RT_TEST_PG_URL%/*}/$db RT_MASTER_KEY_FILE=$work/master.key
"$repo/build/rtadmin" migrate >/dev/null
app=$("$repo/build/rtadmin" app create --name bench --backend-events-per-second 0 \
    --max-connections 200000 --client-events --json)
field() { echo "$app" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
if [ -n "${RT_BENCH_REDIS_CLUSTER_URL:-}" ]; then
    redis_url=$RT_BENCH_REDIS_CLUSTER_URL cluster=1
    seed=${redis_url#redis://}
    seed=${seed%%,*}
    redis_ports=$(redis-cli -p "${seed##*:}" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ {split($2, a, "[:@]"); print a[2]}')
else
    redis_port=$(( 40000 + RANDOM % 10000 ))
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --maxclients 10000 >"$work/redis.log" 2>&1 &
    redis_pid=$!
    redis_url=redis://127.0.0.1:$redis_port cluster=0 redis_ports=$redis_port
fi
port=$(( 20000 + RANDOM % 20000 ))
# shellcheck disable=SC2086
env RT_REDIS_URL="$redis_url" RT_REDIS_CLUSTER=$cluster RT_WORKERS="$workers" RT_NODE_ID=700001 \
    RT_PORT=$port RT_LOG_LEVEL=warn ${RT_BENCH_ENV:-} "$rtserver" >"$work/rtserver.log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
sleep 1 # every worker ready, not only the one that answered
# Summed over the Redis processes (the masters of a cluster).
redis_info() { for p in $redis_ports; do redis-cli -p "$p" INFO "$1" | sed -n "s/^$2:\([0-9.]*\).*/\1/p"; done | awk '{s += $1} END {printf "%.3f\n", s}'; }
redis_cpu() { redis_info cpu used_cpu_user_main_thread | awk -v s="$(redis_info cpu used_cpu_sys_main_thread)" '{print int(($1 + s) * 1000)}'; }
redis_out() { redis_info stats total_net_output_bytes | cut -d. -f1; }
redis_before=$(redis_cpu) redis_out_before=$(redis_out)
declare -A redis_each
for p in $redis_ports; do redis_each[$p]=$(redis_ports=$p redis_cpu); done
"$rtbench" "$mode" -p "$port" --app-id "$(field id)" --key "$(field key)" \
    --secret "$(field secret)" --pid "$pid" --pid-tree "$@"
echo "redis-server during the run ($(echo $redis_ports | wc -w) process(es)): CPU $(( $(redis_cpu) - redis_before )) ms ($(for p in $redis_ports; do printf '%s ' "$(( $(redis_ports=$p redis_cpu) - ${redis_each[$p]} ))"; done)ms each), sent $(( ($(redis_out) - redis_out_before) / 1024 )) KB"
# Each new HTTP connection may land on another worker: ask until every node answered.
declare -A seen
for _ in $(seq $(( workers * 40 ))); do
    m=$(curl -s "http://127.0.0.1:$port/metrics") || continue
    node=$(echo "$m" | sed -n 's/^rt_node_info{node="\([0-9]*\)".*/\1/p')
    [ -n "$node" ] && [ -z "${seen[$node]:-}" ] || continue
    seen[$node]=1
    echo "worker node=$node $(echo "$m" | grep -E '^rt_(cluster_bus_messages_(in|out)_total|cluster_bus_routes|connections|messages_out_total) ' | tr '\n' ' ')"
    [ "${#seen[@]}" -ge "$workers" ] && break
done
grep -v '^$' "$work/rtserver.log" | tail -5 >&2 || true
